/**
 * ScaledObject admission (scaledjob-auth-webhook-chart.md §3.2, scaledobject.md §2.18 C-100..C-106).
 * The static checks are the shared ones of @keda-ts/api and @keda-ts/scaling (the controller runs
 * the same functions); the lookups read the in-memory indexes.
 */
import { isDeepStrictEqual } from 'node:util';
import {
  Annotations,
  EventReason,
  checkFallback,
  checkNameLengths,
  checkReplicaCountBounds,
  checkScalingModifiers,
  checkTriggerMetricTypes,
  effectiveScaleTargetRef,
  gvkString,
  hpaNameFor,
  isUsingModifiers,
  parsePauseAnnotations,
  validateScaledObject,
  validateTriggers,
  type Problem,
  type ScaledObject,
} from '@keda-ts/api';
import { checkFormula, otherHpaMessage, otherScaledObjectMessage, transfersHpa } from '@keda-ts/scaling';
import type { HpaIndex, LimitRangeIndex, ScaledObjectIndex } from './indexes';
import { isPositiveQuantity } from './indexes';
import { allow, deny, type AdmissionRequest, type Verdict } from './review';
import { checkTriggerMetadata } from './triggers';

/** A container of a pod template, as far as resource requests go. */
export interface ContainerLike {
  name?: string;
  resources?: {
    requests?: Record<string, string | number>;
    limits?: Record<string, string | number>;
  };
}

/** Reads the pod-template containers of apps/v1 Deployments and StatefulSets. */
export interface WorkloadReader {
  /** Rejects with an Error whose message is shown to the user (e.g. `deployments.apps "x" not found`). */
  containers(namespace: string, kind: 'Deployment' | 'StatefulSet', name: string): Promise<ContainerLike[]>;
}

export interface ScaledObjectLookups {
  scaledObjects: ScaledObjectIndex;
  hpas: HpaIndex;
  limitRanges: LimitRangeIndex;
  workloads: WorkloadReader;
}

/** Counts of §3.6 (keda_webhook_scaled_object_validation*_total). */
export interface ValidationRecorder {
  validation(namespace: string, action: string): void;
  error(namespace: string, action: string, reason: string): void;
}

/** Records Kubernetes Events (an `EventRecorder` of @keda-ts/k8s, reporting as `keda-admission`). */
export interface AdmissionEventSink {
  emit(
    regarding: { apiVersion?: string; kind?: string; metadata?: { name?: string; namespace?: string; uid?: string } },
    event: { type: 'Normal' | 'Warning'; reason: string; note: string },
  ): void;
}


export const POLLING_INTERVAL_WARNING =
  'PollingInterval is configured but is not relevant. PollingInterval is only relevant when minReplicaCount = 0 or idleReplicaCount = 0 or useCachedMetrics is enabled';
export const COOLDOWN_PERIOD_WARNING =
  'CooldownPeriod is configured but is not relevant. CooldownPeriod is only relevant when minReplicaCount = 0 or idleReplicaCount = 0';

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const finalizersOf = (obj: unknown): readonly unknown[] => {
  const f = isRecord(obj) && isRecord(obj['metadata']) ? obj['metadata']['finalizers'] : undefined;
  return Array.isArray(f) ? f : [];
};

/**
 * True for an update that only removes finalizers (spec unchanged): KEDA does not validate it, so
 * an object that became invalid can still be deleted. `exactlyOneToZero` is the ScaledJob /
 * TriggerAuthentication variant (finalizers go from exactly 1 to 0).
 */
export function isFinalizerRemoval(req: AdmissionRequest, exactlyOneToZero = false): boolean {
  if (req.operation !== 'UPDATE' || !isRecord(req.object) || !isRecord(req.oldObject)) return false;
  const before = finalizersOf(req.oldObject).length;
  const after = finalizersOf(req.object).length;
  const shrank = exactlyOneToZero ? before === 1 && after === 0 : after < before;
  return shrank && isDeepStrictEqual(req.object['spec'], req.oldObject['spec']);
}

/** Decodes the request object as a `kind`, or explains why it cannot be (answered with code 400). */
export function decodeObject(req: AdmissionRequest, kind: string): { obj: Record<string, unknown> } | { verdict: Verdict } {
  const obj = req.object;
  if (!isRecord(obj)) return { verdict: deny(`could not decode the ${kind}: request.object must be an object`, 'bad-request', 400) };
  if (obj['kind'] !== kind) {
    return { verdict: deny(`expected a ${kind}, got kind ${JSON.stringify(String(obj['kind']).slice(0, 64))}`, 'bad-request', 400) };
  }
  return { obj };
}

const schemaMessage = (errors: readonly { path: string; message: string }[]) =>
  errors.slice(0, 5).map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('; ');

const first = (problems: readonly Problem[]) => problems[0]?.message;

/** The C-106 admission warnings. */
export function scaledObjectWarnings(so: ScaledObject): string[] {
  const spec = so.spec;
  const warnings: string[] = [];
  const minAboveZero = spec.minReplicaCount != null && spec.minReplicaCount > 0;
  if (!minAboveZero || spec.idleReplicaCount != null) return warnings;
  if (spec.pollingInterval != null && !spec.triggers.some((t) => t.useCachedMetrics)) warnings.push(POLLING_INTERVAL_WARNING);
  if (spec.cooldownPeriod != null) warnings.push(COOLDOWN_PERIOD_WARNING);
  return warnings;
}

export class ScaledObjectValidator {
  constructor(
    private readonly lookups: ScaledObjectLookups,
    private readonly recorder?: ValidationRecorder,
    /** Where the C-106 warnings are also recorded as Normal `KEDAScalerInfo` events. */
    private readonly events?: AdmissionEventSink,
  ) {}

  async validate(req: AdmissionRequest): Promise<Verdict> {
    if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return allow();
    const decoded = decodeObject(req, 'ScaledObject');
    if ('verdict' in decoded) return decoded.verdict;
    if (isFinalizerRemoval(req)) return allow();

    const namespace = req.namespace || (isRecord(decoded.obj['metadata']) ? String(decoded.obj['metadata']['namespace'] ?? '') : '');
    const action = req.operation === 'CREATE' ? 'create' : 'update';
    this.recorder?.validation(namespace, action);
    const verdict = await this.check(decoded.obj, namespace, req.dryRun);
    if (!verdict.allowed && verdict.reason) this.recorder?.error(namespace, action, verdict.reason);
    return verdict;
  }

  /** Every check in turn; the first failure is returned (KEDA returns one error too). */
  private async check(obj: Record<string, unknown>, namespace: string, dryRun: boolean): Promise<Verdict> {
    const schema = validateScaledObject(obj, { unknownFields: 'ignore' });
    if (!schema.valid) return deny(`invalid ScaledObject: ${schemaMessage(schema.errors)}`, 'invalid-schema');
    const so = obj as unknown as ScaledObject;
    const name = so.metadata?.name ?? '';

    const staticChecks: [string, () => Problem[]][] = [
      ['incorrect-replicas', () => checkReplicaCountBounds(so)],
      ['incorrect-triggers', () => [...validateTriggers(so.spec.triggers), ...checkTriggerMetricTypes(so.spec.triggers)]],
      ['scaling-modifiers-fallback', () => checkFallback(so).filter((p) => p.field.endsWith('.behavior'))],
      ['incorrect-fallback', () => checkFallback(so).filter((p) => !p.field.endsWith('.behavior'))],
      ['scaling-modifiers', () => [...checkScalingModifiers(so), ...checkFormula(so)]],
      ['name-too-long', () => checkNameLengths(so).filter((p) => !p.message.startsWith('HPA name'))],
      ['hpa-name-too-long', () => checkNameLengths(so).filter((p) => p.message.startsWith('HPA name'))],
      ['incorrect-annotations', () => parsePauseAnnotations(so.metadata?.annotations).problems],
    ];
    for (const [reason, run] of staticChecks) {
      const message = first(run());
      if (message) return deny(message, reason);
    }

    const metadata = checkTriggerMetadata(
      so.spec.triggers,
      { kind: 'ScaledObject', namespace, name },
      isUsingModifiers(so),
    );
    if (metadata.findings[0]) return deny(metadata.findings[0].message, metadata.findings[0].reason);

    const target = effectiveScaleTargetRef(so);
    const gvk = gvkString(target);
    const { scaledObjects, hpas } = this.lookups;
    const otherSo = scaledObjects.otherForTarget(namespace, gvk, target.name, name);
    if (otherSo) {
      return deny(otherScaledObjectMessage(so, otherSo), 'other-scaled-object');
    }
    const hpaName = hpaNameFor(so);
    const otherHpaOwner = scaledObjects.otherForHpaName(namespace, hpaName, name);
    if (otherHpaOwner) {
      return deny(`the HPA '${hpaName}' is already managed by the ScaledObject '${otherHpaOwner}'`, 'other-scaled-object-hpa');
    }
    const transfer = so.metadata?.annotations?.[Annotations.TransferHpaOwnership] === 'true';
    for (const hpa of hpas.forTarget(namespace, gvk, target.name)) {
      if (hpa.ignored) continue;
      if (hpa.owners.some((o) => o.kind === 'ScaledObject' && o.name === name)) continue;
      if (transfersHpa(so, hpa.name)) continue;
      return transfer
        ? deny(
            `the existing hpa '${hpa.name}' for workload '${target.name}' of type '${gvk}' must be specified by name in advanced settings to enable ownership transfer`,
            'transfer-ownership-missing-hpa-name',
          )
        : deny(otherHpaMessage(so, hpa.name), 'other-hpa');
    }

    if (!dryRun) {
      const resources = await this.checkResources(so, namespace, target);
      if (resources) return resources;
    }
    const warnings = scaledObjectWarnings(so);
    // KEDA records its C-106 warnings as events too (scaledobject.md §2.18). Not for a dry run: the
    // webhook declares sideEffects None, so a dry run must leave nothing behind.
    if (!dryRun) {
      const regarding = { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name, namespace, uid: so.metadata?.uid } };
      for (const note of warnings) this.events?.emit(regarding, { type: 'Normal', reason: EventReason.KEDAScalerInfo, note });
    }
    return allow([...warnings, ...metadata.warnings]);
  }

  /** C-103: cpu/memory triggers need requests on the target's containers; cpu/memory only needs min > 0. */
  private async checkResources(
    so: ScaledObject,
    namespace: string,
    target: ReturnType<typeof effectiveScaleTargetRef>,
  ): Promise<Verdict | undefined> {
    const resourceTriggers = so.spec.triggers.filter((t) => t.type === 'cpu' || t.type === 'memory');
    if (resourceTriggers.length === 0) return undefined;
    if (target.group !== 'apps' || (target.kind !== 'Deployment' && target.kind !== 'StatefulSet')) return undefined;
    let containers: ContainerLike[];
    try {
      containers = await this.lookups.workloads.containers(namespace, target.kind, target.name);
    } catch (err) {
      return deny(err instanceof Error ? err.message : String(err), 'target-lookup');
    }
    for (const trigger of resourceTriggers) {
      const resource = trigger.type;
      const containerName = trigger.metadata?.['containerName'];
      for (const c of containers) {
        if (containerName && c.name !== containerName) continue;
        const set =
          isPositiveQuantity(c.resources?.requests?.[resource]) || isPositiveQuantity(c.resources?.limits?.[resource]);
        if (!set && !this.lookups.limitRanges.hasDefault(namespace, resource)) {
          return deny(
            `the scaledobject has a ${resource} trigger but the container ${c.name ?? ''} doesn't have the ${resource} request defined`,
            'missing-requests',
          );
        }
      }
    }
    if (resourceTriggers.length === so.spec.triggers.length && !isUsingModifiers(so) && !so.spec.minReplicaCount) {
      return deny(
        'scaledobject has only cpu/memory triggers AND minReplica is 0 (scale to zero doesn\'t work in this case)',
        'scale-to-zero-requirements-not-met',
      );
    }
    return undefined;
  }
}
