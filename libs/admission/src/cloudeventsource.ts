/**
 * CloudEventSource / ClusterCloudEventSource admission (KEDA apis/eventing/v1alpha1/cloudeventsource_webhook.go):
 * included and excluded event types are exclusive and must be KEDA's types. keda-ts also asks for
 * exactly one destination and an absolute http(s) URI, which KEDA only finds out when it emits.
 */
import { CLOUD_EVENT_TYPES, validateEventingKind, type CloudEventSourceSpec, type EventingKind } from '@keda-ts/api';
import { allow, deny, type AdmissionRequest, type Verdict } from './review';
import { decodeObject, isFinalizerRemoval } from './scaledobject';

const KNOWN_TYPES: ReadonlySet<string> = new Set(CLOUD_EVENT_TYPES);
const shown = (value: unknown) => String(value).slice(0, 128);

/** KEDA's validateSpec, then the destination checks. Returns the error message, if any. */
export function checkCloudEventSourceSpec(spec: CloudEventSourceSpec): string | undefined {
  const sub = spec.eventSubscription ?? {};
  const included = sub.includedEventTypes as unknown[] | null | undefined;
  const excluded = sub.excludedEventTypes as unknown[] | null | undefined;
  if (excluded != null && included != null) return 'setting included types and excluded types at the same time is not supported';
  for (const t of excluded ?? []) {
    if (!KNOWN_TYPES.has(t as string)) return `excludedEventType: ${shown(t)} in cloudeventsource/clustercloudeventsource spec is not supported`;
  }
  for (const t of included ?? []) {
    if (!KNOWN_TYPES.has(t as string)) return `includedEventType: ${shown(t)} in cloudeventsource/clustercloudeventsource spec is not supported`;
  }
  const d = spec.destination ?? {};
  const set = [d.http != null, d.azureEventGridTopic != null].filter(Boolean).length;
  if (set === 0) return 'no destination is defined in cloudeventsource/clustercloudeventsource spec: set destination.http or destination.azureEventGridTopic';
  if (set > 1) return 'only one destination can be set in cloudeventsource/clustercloudeventsource spec: destination.http or destination.azureEventGridTopic';
  const url = d.http ? d.http.uri : d.azureEventGridTopic?.endpoint;
  const field = d.http ? 'destination.http.uri' : 'destination.azureEventGridTopic.endpoint';
  if (!isHttpUrl(url)) return `${field} must be an absolute http or https URL`;
  if (d.azureEventGridTopic && !spec.authenticationRef) return 'destination.azureEventGridTopic needs an authenticationRef that supplies accessKey';
  return undefined;
}

function isHttpUrl(s: unknown): boolean {
  if (typeof s !== 'string') return false;
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '' && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}

export class CloudEventSourceValidator {
  constructor(private readonly kind: EventingKind) {}

  validate(req: AdmissionRequest): Verdict {
    if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return allow();
    const decoded = decodeObject(req, this.kind);
    if ('verdict' in decoded) return decoded.verdict;
    if (isFinalizerRemoval(req, true)) return allow();
    const schema = validateEventingKind(this.kind, decoded.obj, { unknownFields: 'ignore' });
    if (!schema.valid) {
      const detail = schema.errors.slice(0, 5).map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('; ');
      return deny(`invalid ${this.kind}: ${detail}`, 'invalid-schema');
    }
    const error = checkCloudEventSourceSpec((decoded.obj['spec'] ?? {}) as CloudEventSourceSpec);
    return error ? deny(error, 'invalid-spec') : allow();
  }
}
