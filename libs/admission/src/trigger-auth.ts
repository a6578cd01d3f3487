/** TriggerAuthentication / ClusterTriggerAuthentication admission (§3.4): identical checks. */
import { validateKind, type TriggerAuthenticationSpec } from '@keda-ts/api';
import { allow, deny, type AdmissionRequest, type Verdict } from './review';
import { decodeObject, isFinalizerRemoval } from './scaledobject';

/** KEDA's validateSpec: podIdentity rules per provider, then oauth2 (skipped for other providers: a KEDA quirk). */
export function checkTriggerAuthenticationSpec(spec: TriggerAuthenticationSpec): { error?: string; warnings: string[] } {
  const warnings: string[] = [];
  const credential = (spec as { hashiCorpVault?: { credential?: { token?: string; tokenFrom?: unknown } } }).hashiCorpVault
    ?.credential;
  if (credential?.token) {
    warnings.push(
      'spec.hashiCorpVault.credential.token is deprecated; use spec.hashiCorpVault.credential.tokenFrom.secretKeyRef instead',
    );
    if (credential.tokenFrom != null) {
      warnings.push('spec.hashiCorpVault.credential.tokenFrom.secretKeyRef takes precedence over spec.hashiCorpVault.credential.token');
    }
  }
  const pi = spec.podIdentity;
  if (pi) {
    switch (pi.provider) {
      case 'azure-workload':
        if (pi.identityId === '') {
          return { error: 'identityId of PodIdentity should not be empty. If it\'s set, identityId has to be different than ""', warnings };
        }
        if (pi.identityAuthorityHost) {
          if (!pi.identityTenantId) {
            return {
              error: 'identityTenantID of PodIdentity should not be nil or empty when identityAuthorityHost of PodIdentity is set',
              warnings,
            };
          }
        } else if (pi.identityTenantId === '') {
          return {
            error: 'identityTenantId of PodIdentity should not be empty. If it\'s set, identityTenantId has to be different than ""',
            warnings,
          };
        }
        break;
      case 'aws':
        if (pi.roleArn && pi.identityOwner === 'workload') {
          return { error: "roleArn of PodIdentity can't be set if KEDA isn't identityOwner", warnings };
        }
        if (pi.externalID && !pi.roleArn) return { error: 'externalID of PodIdentity requires roleArn to be set', warnings };
        break;
      default:
        return { warnings };
    }
  }
  const oauth2 = spec.oauth2 as { type?: string; clientId?: string; tokenUrl?: string } | undefined;
  if (oauth2) {
    if (oauth2.type !== 'clientCredentials') {
      return { error: `oauth2.type must be 'clientCredentials', got '${oauth2.type ?? ''}'`, warnings };
    }
    if (!oauth2.clientId) return { error: 'oauth2.clientId is required when oauth2 is configured', warnings };
    if (!oauth2.tokenUrl) return { error: 'oauth2.tokenUrl is required when oauth2 is configured', warnings };
    if (!isHttpUrl(oauth2.tokenUrl)) return { error: 'oauth2.tokenUrl must be a valid http or https URL', warnings };
  }
  return { warnings };
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.host !== '';
  } catch {
    return false;
  }
}

export class TriggerAuthenticationValidator {
  constructor(private readonly kind: 'TriggerAuthentication' | 'ClusterTriggerAuthentication') {}

  validate(req: AdmissionRequest): Verdict {
    if (req.operation !== 'CREATE' && req.operation !== 'UPDATE') return allow();
    const decoded = decodeObject(req, this.kind);
    if ('verdict' in decoded) return decoded.verdict;
    if (isFinalizerRemoval(req, true)) return allow();
    const schema = validateKind(this.kind, decoded.obj, { unknownFields: 'ignore' });
    if (!schema.valid) {
      const detail = schema.errors.slice(0, 5).map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('; ');
      return deny(`invalid ${this.kind}: ${detail}`, 'invalid-schema');
    }
    const result = checkTriggerAuthenticationSpec((decoded.obj['spec'] ?? {}) as TriggerAuthenticationSpec);
    return result.error ? { ...deny(result.error, 'invalid-spec'), warnings: result.warnings } : allow(result.warnings);
  }
}
