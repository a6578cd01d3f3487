import type { AuthPodIdentity, ClusterTriggerAuthentication, TriggerAuthentication } from '@keda-ts/api';

/** The parts of a core/v1 container that env resolution reads. */
export interface EnvContainer {
  name: string;
  env?: {
    name: string;
    value?: string;
    valueFrom?: {
      secretKeyRef?: { name?: string; key: string; optional?: boolean };
      configMapKeyRef?: { name?: string; key: string; optional?: boolean };
      fieldRef?: unknown;
      resourceFieldRef?: unknown;
    };
  }[];
  envFrom?: {
    prefix?: string;
    configMapRef?: { name?: string; optional?: boolean };
    secretRef?: { name?: string; optional?: boolean };
  }[];
}

/** The parts of a core/v1 PodTemplateSpec that authentication reads. */
export interface PodTemplate {
  spec?: { containers?: EnvContainer[]; serviceAccountName?: string };
}

/**
 * What authentication needs to know about a ScaledObject or ScaledJob. Build it with
 * `scalableFromScaledObject` / `scalableFromScaledJob`.
 */
export interface ScalableForAuth {
  kind: 'ScaledObject' | 'ScaledJob';
  namespace: string;
  name: string;
  /** Pod template of the scale target (ScaledJob: `spec.jobTargetRef.template`); undefined when unknown. */
  podTemplate?: PodTemplate;
  /** `envSourceContainerName`; empty means the first container. */
  envSourceContainerName?: string;
  /** One entry per trigger, in trigger order. */
  triggers: { authenticationRef?: { name: string; kind?: string } }[];
}

export interface SecretObject {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  /** `kubernetes.io/service-account-token`, `helm.sh/release.v1`, ... (secret-policy.ts refuses some). */
  type?: string;
  /** base64 values, as the API server returns them. */
  data?: Record<string, string>;
}

export interface ConfigMapObject {
  metadata?: { name?: string; namespace?: string };
  data?: Record<string, string>;
}

export interface ServiceAccountObject {
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
}

/**
 * Where the resolver reads objects from: informer caches in the controller
 * (`InformerAuthReader`), direct GETs elsewhere (`ApiAuthReader`). `undefined` = not found.
 * A rejected promise is a read failure (forbidden, unreachable); its message must not hold values.
 */
export interface AuthObjectReader {
  triggerAuthentication(namespace: string, name: string): Promise<TriggerAuthentication | undefined>;
  clusterTriggerAuthentication(name: string): Promise<ClusterTriggerAuthentication | undefined>;
  secret(namespace: string, name: string): Promise<SecretObject | undefined>;
  configMap(namespace: string, name: string): Promise<ConfigMapObject | undefined>;
  serviceAccount(namespace: string, name: string): Promise<ServiceAccountObject | undefined>;
  /**
   * TokenRequest for `boundServiceAccountToken`; resolves with the token (and, when the API server
   * says it, when it expires). `audiences` empty: the API server's default audience.
   */
  serviceAccountToken?(namespace: string, name: string, expirationSeconds: number, audiences?: readonly string[]): Promise<string | IssuedToken>;
}

/** A token from a TokenRequest. */
export interface IssuedToken {
  token: string;
  /** `status.expirationTimestamp` (RFC 3339). */
  expirationTimestamp?: string;
}

/** An object the resolution of one scalable object read (or tried to read). */
export interface AuthReference {
  kind: 'TriggerAuthentication' | 'ClusterTriggerAuthentication' | 'Secret' | 'ConfigMap' | 'ServiceAccount';
  /** Empty for ClusterTriggerAuthentication. */
  namespace: string;
  name: string;
}

export const referenceKey = (r: AuthReference): string => `${r.kind}/${r.namespace}/${r.name}`;

/** The outcome for one scalable object. */
export interface ResolvedTriggerAuth {
  /** Env of the `envSourceContainerName` (or first) container, for `<param>FromEnv`. */
  resolvedEnv: Record<string, string>;
  /** Auth params of trigger `triggerIndex` ({} without authenticationRef). */
  authParams(triggerIndex: number): Record<string, string>;
  /** Pod identity of trigger `triggerIndex` (provider `none` without one). */
  podIdentity(triggerIndex: number): AuthPodIdentity;
  /** Every object read, so that changes to them can rebuild the scalers. */
  references: AuthReference[];
  /** Kind of the trigger's authenticationRef, when it resolved to one (scalers see it as `authenticationKind`). */
  authenticationKind?(triggerIndex: number): 'TriggerAuthentication' | 'ClusterTriggerAuthentication' | undefined;
  /**
   * When the first `boundServiceAccountToken` token expires (ms since the epoch); the scalers must
   * be rebuilt before then. Undefined without tokens.
   */
  tokensExpireAt?: number;
}

/**
 * Authentication that cannot be resolved: the scalers must not be built. Messages name the object,
 * the field and the key, never a value.
 */
export class TriggerAuthError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TriggerAuthError';
  }
}

/** A Secret that trigger authentication must not use was referenced (secret-policy.ts). Always fails the trigger. */
export class RefusedSecretError extends TriggerAuthError {
  constructor(message: string) {
    super(message);
    this.name = 'RefusedSecretError';
  }
}
