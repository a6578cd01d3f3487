import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { AuthPodIdentity, ClusterTriggerAuthentication, ScaledJob, ScaledObject, TriggerAuthentication } from '@keda-ts/api';
import { authParamsFromSpec, type AuthSpecContext } from './auth-params';
import { containerEnv, containerEnvReferences, pickContainer, type AuthSnapshot, type EnvScope, type Lookup } from './container-env';
import { clusterTriggerAuthRefusal, DEFAULT_CERT_SECRET_NAME, refusedSecretReason, type SecretPolicy } from './secret-policy';
import {
  referenceKey,
  TriggerAuthError,
  type AuthObjectReader,
  type AuthReference,
  type PodTemplate,
  type ResolvedTriggerAuth,
  type ScalableForAuth,
  type ServiceAccountObject,
} from './types';

export interface TriggerAuthResolverOptions {
  /** Namespace of ClusterTriggerAuthentication objects' Secrets/ConfigMaps (KEDA_CLUSTER_OBJECT_NAMESPACE). */
  clusterObjectNamespace: string;
  /** KEDA_RESTRICT_SECRET_ACCESS: Secrets only from `clusterObjectNamespace`. */
  restrictSecretAccess?: boolean;
  /** --filepath-auth-root-path; `filePath` is refused without it. */
  filePathAuthRootPath?: string;
  /** KEDA_BOUND_SERVICE_ACCOUNT_TOKEN_EXPIRY in seconds (default 3600). */
  boundServiceAccountTokenExpirySeconds?: number;
  /** Audiences of `boundServiceAccountToken` tokens (--bound-service-account-token-audience); empty: the API server's default. */
  boundServiceAccountTokenAudiences?: readonly string[];
  /**
   * The controller's own namespace (POD_NAMESPACE): its Secrets, like those of
   * `clusterObjectNamespace`, never resolve when they are the certificate Secret, a Helm release
   * or a service account token (secret-policy.ts). Default: `clusterObjectNamespace`.
   */
  controllerNamespace?: string;
  /** --cert-secret-name (default kedaorg-certs). */
  certSecretName?: string;
  logger?: { warn(obj: object, msg?: string): void };
}

/** The ScaledObject side: the pod template is the scale target's (`spec.template`), looked up by the caller. */
export function scalableFromScaledObject(so: ScaledObject, podTemplate: PodTemplate | undefined): ScalableForAuth {
  return {
    kind: 'ScaledObject',
    namespace: so.metadata?.namespace ?? '',
    name: so.metadata?.name ?? '',
    podTemplate,
    envSourceContainerName: so.spec.scaleTargetRef.envSourceContainerName,
    triggers: so.spec.triggers.map((t) => ({ authenticationRef: t.authenticationRef })),
  };
}

/** The ScaledJob side: the pod template is `spec.jobTargetRef.template`. */
export function scalableFromScaledJob(sj: ScaledJob): ScalableForAuth {
  return {
    kind: 'ScaledJob',
    namespace: sj.metadata?.namespace ?? '',
    name: sj.metadata?.name ?? '',
    podTemplate: sj.spec.jobTargetRef?.template as PodTemplate | undefined,
    envSourceContainerName: sj.spec.envSourceContainerName,
    triggers: sj.spec.triggers.map((t) => ({ authenticationRef: t.authenticationRef })),
  };
}

/** The pod template of a workload object (`spec.template` of a Deployment, StatefulSet, ...). */
export function podTemplateOf(workload: unknown): PodTemplate | undefined {
  return (workload as { spec?: { template?: PodTemplate } } | undefined)?.spec?.template;
}

const decodeSecret = (data: Record<string, string> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));

/** A DNS-1123 subdomain, as the names of Secrets, ConfigMaps and ServiceAccounts are. */
const isObjectName = (name: string): boolean => name.length <= 253 && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name);

const refused = (reason: string): Lookup => ({ problem: `not usable for trigger authentication: ${reason}`, refused: true });

/**
 * Resolves `resolvedEnv` and per-trigger auth params of a ScaledObject or ScaledJob (KEDA spec §2).
 * Reads go through the given {@link AuthObjectReader}; the merge itself is pure (auth-params.ts,
 * container-env.ts).
 */
export class TriggerAuthResolver {
  private readonly secretPolicy: SecretPolicy;

  constructor(
    private readonly reader: AuthObjectReader,
    private readonly options: TriggerAuthResolverOptions,
  ) {
    this.secretPolicy = {
      protectedNamespaces: new Set([options.clusterObjectNamespace, options.controllerNamespace || options.clusterObjectNamespace]),
      certSecretName: options.certSecretName || DEFAULT_CERT_SECRET_NAME,
    };
  }

  /** Throws {@link TriggerAuthError} when the scalers must not be built; messages hold no values. */
  async resolve(scalable: ScalableForAuth): Promise<ResolvedTriggerAuth> {
    const { clusterObjectNamespace, restrictSecretAccess } = this.options;
    const owner = `${scalable.kind} ${scalable.namespace}/${scalable.name}`;
    const references = new Map<string, AuthReference>();
    const refer = (r: AuthReference) => references.set(referenceKey(r), r);
    const envScope: EnvScope = {
      namespace: scalable.namespace,
      secretsAllowed: !restrictSecretAccess || scalable.namespace === clusterObjectNamespace,
      owner,
    };

    // 1. The TriggerAuthentications / ClusterTriggerAuthentications.
    const specs = await Promise.all(
      scalable.triggers.map(async (trigger, index) => {
        const ref = trigger.authenticationRef;
        if (!ref?.name || !scalable.namespace) return undefined;
        const kind = ref.kind || 'TriggerAuthentication';
        if (kind !== 'TriggerAuthentication' && kind !== 'ClusterTriggerAuthentication') {
          this.warn(owner, index, `unknown trigger auth kind "${kind}"`);
          return undefined;
        }
        const cluster = kind === 'ClusterTriggerAuthentication';
        refer({ kind, namespace: cluster ? '' : scalable.namespace, name: ref.name });
        let obj: TriggerAuthentication | ClusterTriggerAuthentication | undefined;
        try {
          obj = cluster
            ? await this.reader.clusterTriggerAuthentication(ref.name)
            : await this.reader.triggerAuthentication(scalable.namespace, ref.name);
        } catch (err) {
          this.warn(owner, index, `${kind} "${ref.name}" could not be read: ${(err as Error).message}`);
          return undefined;
        }
        if (!obj) {
          // KEDA only logs this; the scaler is built with empty auth params.
          this.warn(owner, index, `${kind} "${ref.name}" not found`);
          return undefined;
        }
        // keda-ts: a CTA may be limited to some namespaces; nothing of it is read for another.
        const refusal = cluster ? clusterTriggerAuthRefusal(ref.name, obj.metadata?.annotations, scalable.namespace) : undefined;
        if (refusal) throw new TriggerAuthError(`${owner} trigger ${index}: ${refusal}`);
        const objectNamespace = cluster ? clusterObjectNamespace : scalable.namespace;
        return {
          refKind: kind,
          refName: ref.name,
          spec: obj.spec ?? {},
          objectNamespace,
          secretNamespace: restrictSecretAccess ? clusterObjectNamespace : objectNamespace,
        } as const;
      }),
    );

    // 2. Every Secret and ConfigMap needed, read once.
    const container = pickContainer(scalable.podTemplate, scalable.envSourceContainerName);
    const needed: AuthReference[] = [...containerEnvReferences(container, envScope)];
    const serviceAccounts: AuthReference[] = [];
    for (const s of specs) {
      if (!s) continue;
      if (s.spec.env?.length)
        for (const c of scalable.podTemplate?.spec?.containers ?? []) needed.push(...containerEnvReferences(c, envScope));
      for (const r of s.spec.configMapTargetRef ?? []) needed.push({ kind: 'ConfigMap', namespace: s.objectNamespace, name: r.name });
      for (const r of s.spec.secretTargetRef ?? []) needed.push({ kind: 'Secret', namespace: s.secretNamespace, name: r.name });
      const oauthSecret = s.spec.oauth2?.clientSecret?.valueFrom?.secretKeyRef?.name;
      if (oauthSecret) needed.push({ kind: 'Secret', namespace: s.secretNamespace, name: oauthSecret });
      const p = s.spec.podIdentity;
      if ((p?.provider === 'aws' && p.identityOwner === 'workload' && !p.roleArn) || p?.provider === 'aws-eks')
        serviceAccounts.push({ kind: 'ServiceAccount', namespace: scalable.namespace, name: scalable.podTemplate?.spec?.serviceAccountName || 'default' });
    }
    const snapshot = await this.readAll(needed);
    let tokensExpireAt: number | undefined;
    const tokenExpires = (at: number) => {
      tokensExpireAt = Math.min(tokensExpireAt ?? at, at);
    };
    needed.forEach(refer);
    const accounts = new Map<string, ServiceAccountObject | undefined>();
    for (const sa of serviceAccounts) {
      refer(sa);
      accounts.set(sa.name, await this.reader.serviceAccount(sa.namespace, sa.name).catch(() => undefined));
    }

    // 3. The pure part.
    let resolvedEnv: Record<string, string> = {};
    if (scalable.envSourceContainerName && !container && scalable.podTemplate)
      throw new TriggerAuthError(`${owner}: envSourceContainerName "${scalable.envSourceContainerName}" is not a container of the scale target`);
    if (container) resolvedEnv = containerEnv(container, envScope, snapshot);

    const params: Record<string, string>[] = [];
    const identities: AuthPodIdentity[] = [];
    for (const [index, s] of specs.entries()) {
      if (!s) {
        params[index] = {};
        identities[index] = { provider: 'none' };
        continue;
      }
      const ctx: AuthSpecContext = {
        refKind: s.refKind,
        refName: s.refName,
        objectNamespace: s.objectNamespace,
        secretNamespace: s.secretNamespace,
        podTemplate: scalable.podTemplate,
        envScope,
        filePathParams: s.spec.filePath && s.refKind === 'ClusterTriggerAuthentication' ? await this.readFilePath(s.spec.filePath) : undefined,
        serviceAccountTokens: await this.tokens(s.objectNamespace, s.spec.boundServiceAccountToken ?? [], refer, tokenExpires),
        workloadServiceAccount: accounts.get(scalable.podTemplate?.spec?.serviceAccountName || 'default'),
      };
      let result;
      try {
        result = authParamsFromSpec(s.spec, ctx, snapshot);
      } catch (err) {
        throw new TriggerAuthError(`${owner} trigger ${index}: ${(err as Error).message}`);
      }
      for (const w of result.warnings) this.warn(owner, index, w);
      params[index] = result.params;
      identities[index] = result.podIdentity;
    }
    return {
      resolvedEnv,
      authParams: (i) => ({ ...(params[i] ?? {}) }),
      podIdentity: (i) => identities[i] ?? { provider: 'none' },
      references: [...references.values()],
      authenticationKind: (i) => specs[i]?.refKind,
      tokensExpireAt,
    };
  }

  private warn(owner: string, triggerIndex: number, message: string): void {
    this.options.logger?.warn({ scalableObject: owner, triggerIndex }, `trigger authentication: ${message}`);
  }

  private async readAll(refs: AuthReference[]): Promise<AuthSnapshot> {
    const found = new Map<string, Lookup>();
    await Promise.all(
      refs.map(async (r) => {
        const key = referenceKey(r);
        if (found.has(key)) return;
        found.set(key, { problem: 'not read' });
        // A Secret refused by its name is not even read; nor is a name no object can have (a "/" in it).
        const byName = !isObjectName(r.name)
          ? `"${r.name.slice(0, 64)}" is not a valid ${r.kind} name`
          : r.kind === 'Secret'
            ? refusedSecretReason(this.secretPolicy, r.namespace, r.name)
            : undefined;
        if (byName) {
          found.set(key, refused(byName));
          return;
        }
        try {
          const obj = r.kind === 'Secret' ? await this.reader.secret(r.namespace, r.name) : await this.reader.configMap(r.namespace, r.name);
          const reason = r.kind === 'Secret' && obj ? refusedSecretReason(this.secretPolicy, r.namespace, r.name, obj) : undefined;
          if (reason) {
            found.set(key, refused(reason));
            return;
          }
          found.set(
            key,
            obj ? { data: r.kind === 'Secret' ? decodeSecret(obj.data) : { ...(obj.data ?? {}) } } : { problem: 'not found' },
          );
        } catch (err) {
          found.set(key, { problem: `could not be read: ${(err as Error).message}` });
        }
      }),
    );
    const lookup = (kind: 'Secret' | 'ConfigMap', namespace: string, name: string): Lookup =>
      found.get(referenceKey({ kind, namespace, name })) ?? {
        problem: kind === 'Secret' && this.options.restrictSecretAccess ? 'not readable: KEDA_RESTRICT_SECRET_ACCESS is set' : 'not read',
      };
    return {
      secret: (namespace, name) => lookup('Secret', namespace, name),
      configMap: (namespace, name) => lookup('ConfigMap', namespace, name),
    };
  }

  private async readFilePath(filePath: string): Promise<{ params: Record<string, string> } | { problem: string }> {
    const root = this.options.filePathAuthRootPath;
    if (!root) return { problem: 'needs the operator flag --filepath-auth-root-path' };
    if (isAbsolute(filePath) || filePath.split(/[\\/]/).includes('..'))
      return { problem: 'must be a relative path without ".."' };
    try {
      const parsed: unknown = JSON.parse(await readFile(join(root, filePath), 'utf8'));
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== 'string'))
        return { problem: 'must hold a JSON object of string values' };
      return { params: parsed as Record<string, string> };
    } catch (err) {
      // Only the error code: a JSON parse message could quote file content.
      return { problem: `could not be read (${(err as NodeJS.ErrnoException).code ?? 'invalid JSON'})` };
    }
  }

  private async tokens(
    namespace: string,
    refs: { serviceAccountName: string }[],
    refer: (r: AuthReference) => void,
    expires: (atMs: number) => void,
  ): Promise<Record<string, string>> {
    const tokens: Record<string, string> = {};
    for (const { serviceAccountName } of refs) {
      if (serviceAccountName in tokens) continue;
      tokens[serviceAccountName] = '';
      refer({ kind: 'ServiceAccount', namespace, name: serviceAccountName });
      if (!this.reader.serviceAccountToken || !isObjectName(serviceAccountName)) continue;
      try {
        if (!(await this.reader.serviceAccount(namespace, serviceAccountName))) continue;
        const expirySeconds = this.options.boundServiceAccountTokenExpirySeconds ?? 3600;
        const requestedAt = Date.now();
        const issued = await this.reader.serviceAccountToken(namespace, serviceAccountName, expirySeconds, this.options.boundServiceAccountTokenAudiences);
        const token = typeof issued === 'string' ? issued : issued.token;
        tokens[serviceAccountName] = token;
        if (!token) continue;
        // The API server may shorten the lifetime (--service-account-max-token-expiration): trust its answer.
        const stated = typeof issued === 'string' ? NaN : Date.parse(issued.expirationTimestamp ?? '');
        expires(Number.isFinite(stated) ? stated : requestedAt + expirySeconds * 1000);
      } catch {
        // KEDA leaves the parameter empty; authParamsFromSpec logs it.
      }
    }
    return tokens;
  }
}
