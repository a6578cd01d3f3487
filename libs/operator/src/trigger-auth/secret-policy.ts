/**
 * Which Secrets trigger authentication never hands to a scaler, and which namespaces may use a
 * ClusterTriggerAuthentication. Pure; the resolver applies both (docs/security.md, "Credential
 * scoping").
 */
import type { SecretObject } from './types';

/** On a Secret, in any namespace: `"true"` means no TriggerAuthentication, ClusterTriggerAuthentication or workload env may resolve it. */
export const NOT_FOR_TRIGGERS_LABEL = 'keda-ts.dev/not-for-triggers';

/**
 * On a ClusterTriggerAuthentication: comma-separated namespace names that may refer to it. Absent:
 * usable from every namespace (KEDA's behaviour). Present but empty: usable from none.
 */
export const ALLOWED_NAMESPACES_ANNOTATION = 'keda-ts.dev/allowed-namespaces';

export const HELM_RELEASE_SECRET_TYPE = 'helm.sh/release.v1';
export const HELM_RELEASE_SECRET_PREFIX = 'sh.helm.release.v1.';
export const SERVICE_ACCOUNT_TOKEN_SECRET_TYPE = 'kubernetes.io/service-account-token';
/** The controller's `--cert-secret-name` default. */
export const DEFAULT_CERT_SECRET_NAME = 'kedaorg-certs';

export interface SecretPolicy {
  /**
   * Namespaces whose Secrets get every exclusion (the controller's own namespace and the cluster
   * object namespace). Under KEDA_RESTRICT_SECRET_ACCESS every Secret is read from one of them.
   */
  protectedNamespaces: ReadonlySet<string>;
  /** `--cert-secret-name`. */
  certSecretName: string;
}

/**
 * Why the Secret `namespace/name` must not be resolved, or undefined when it may be. `secret` is
 * the object read (its type and labels), or undefined when only the name is known yet (then only
 * the name rules apply, so a refused Secret need not even be read).
 */
export function refusedSecretReason(policy: SecretPolicy, namespace: string, name: string, secret?: SecretObject): string | undefined {
  if (secret?.metadata?.labels?.[NOT_FOR_TRIGGERS_LABEL] === 'true') return `it is labelled ${NOT_FOR_TRIGGERS_LABEL}=true`;
  if (!policy.protectedNamespaces.has(namespace)) return undefined;
  if (name === policy.certSecretName) return "it is the controller's certificate Secret";
  if (name.startsWith(HELM_RELEASE_SECRET_PREFIX) || secret?.type === HELM_RELEASE_SECRET_TYPE) return 'it is a Helm release Secret';
  if (secret?.type === SERVICE_ACCOUNT_TOKEN_SECRET_TYPE) return `it is a service account token Secret (type ${SERVICE_ACCOUNT_TOKEN_SECRET_TYPE})`;
  return undefined;
}

/**
 * The namespaces a ClusterTriggerAuthentication may be used from: undefined means all (no
 * annotation). Linear in the annotation's length; exact names only.
 */
export function allowedNamespaces(annotations: Record<string, string> | undefined): ReadonlySet<string> | undefined {
  const value = annotations?.[ALLOWED_NAMESPACES_ANNOTATION];
  if (value === undefined) return undefined;
  return new Set(value.split(',').map((s) => s.trim()).filter(Boolean));
}

/** Why `namespace` may not use the ClusterTriggerAuthentication `name`, or undefined when it may. */
export function clusterTriggerAuthRefusal(name: string, annotations: Record<string, string> | undefined, namespace: string): string | undefined {
  const allowed = allowedNamespaces(annotations);
  if (!allowed || allowed.has(namespace)) return undefined;
  return `ClusterTriggerAuthentication "${name}" may not be used from namespace "${namespace}": it is not listed in its annotation ${ALLOWED_NAMESPACES_ANNOTATION}`;
}
