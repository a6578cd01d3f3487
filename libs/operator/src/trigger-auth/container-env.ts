/**
 * The env of a scale target's container as KEDA resolves it for `<param>FromEnv` and for
 * TriggerAuthentication `env[]`: every `envFrom` first, then every `env` entry in order. Pure: the
 * Secrets and ConfigMaps come from an {@link AuthSnapshot} read beforehand.
 */
import { RefusedSecretError, TriggerAuthError, type AuthReference, type EnvContainer, type PodTemplate } from './types';

/**
 * The data of one object, or why there is none (never holding a value). `refused`: the object
 * exists but must not be used (secret-policy.ts); an error even where a missing one is not.
 */
export type Lookup = { data: Record<string, string> } | { problem: string; refused?: boolean };

/** Secrets (decoded) and ConfigMaps already read. */
export interface AuthSnapshot {
  secret(namespace: string, name: string): Lookup;
  configMap(namespace: string, name: string): Lookup;
}

/** What env resolution may read. */
export interface EnvScope {
  namespace: string;
  /** False under KEDA_RESTRICT_SECRET_ACCESS when the workload is outside the KEDA namespace. */
  secretsAllowed: boolean;
  /** For error messages, e.g. `ScaledObject ns/name`. */
  owner: string;
}

/** The named container, or the first one when `name` is empty. */
export function pickContainer(template: PodTemplate | undefined, name?: string): EnvContainer | undefined {
  const containers = template?.spec?.containers ?? [];
  return name ? containers.find((c) => c.name === name) : containers[0];
}

/**
 * Kubernetes `$(VAR)` expansion: a known VAR is replaced, an unknown one is left as written, `$$`
 * is an escaped `$`.
 */
export function expandEnvValue(value: string, env: Record<string, string>): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c !== '$' || i + 1 >= value.length) {
      out += c;
      continue;
    }
    const next = value[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const close = value.indexOf(')', i + 2);
      if (close < 0) {
        out += value.slice(i);
        break;
      }
      const name = value.slice(i + 2, close);
      out += Object.hasOwn(env, name) ? env[name] : value.slice(i, close + 1);
      i = close;
    } else {
      out += c;
    }
  }
  return out;
}

/** Secrets and ConfigMaps that the env of `container` reads. */
export function containerEnvReferences(container: EnvContainer | undefined, scope: EnvScope): AuthReference[] {
  const refs: AuthReference[] = [];
  for (const from of container?.envFrom ?? []) {
    if (from.configMapRef?.name) refs.push({ kind: 'ConfigMap', namespace: scope.namespace, name: from.configMapRef.name });
    if (from.secretRef?.name && scope.secretsAllowed) refs.push({ kind: 'Secret', namespace: scope.namespace, name: from.secretRef.name });
  }
  for (const e of container?.env ?? []) {
    const cm = e.valueFrom?.configMapKeyRef;
    const secret = e.valueFrom?.secretKeyRef;
    if (cm?.name) refs.push({ kind: 'ConfigMap', namespace: scope.namespace, name: cm.name });
    if (secret?.name && scope.secretsAllowed) refs.push({ kind: 'Secret', namespace: scope.namespace, name: secret.name });
  }
  return refs;
}

/**
 * The env of `container`. A missing non-optional source is an error (the scalers are not built);
 * optional ones are skipped. `fieldRef` and `resourceFieldRef` are skipped, as KEDA does: there is
 * no pod to read them from. Secret sources are skipped when `scope.secretsAllowed` is false.
 */
export function containerEnv(container: EnvContainer, scope: EnvScope, snapshot: AuthSnapshot): Record<string, string> {
  const env: Record<string, string> = {};
  const where = `container "${container.name}" of ${scope.owner}`;
  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    if (!ref) continue;
    const isSecret = !from.configMapRef;
    if (isSecret && !scope.secretsAllowed) continue;
    const found = isSecret ? snapshot.secret(scope.namespace, ref.name ?? '') : snapshot.configMap(scope.namespace, ref.name ?? '');
    if ('problem' in found) {
      if (ref.optional && !found.refused) continue;
      throw new (found.refused ? RefusedSecretError : TriggerAuthError)(`${where}: envFrom ${isSecret ? 'secretRef' : 'configMapRef'} "${ref.name ?? ''}": ${found.problem}`);
    }
    for (const [key, value] of Object.entries(found.data)) env[`${from.prefix ?? ''}${key}`] = value;
  }
  for (const e of container.env ?? []) {
    const from = e.valueFrom;
    if (!from) {
      env[e.name] = expandEnvValue(e.value ?? '', env);
      continue;
    }
    const keyRef = from.secretKeyRef ?? from.configMapKeyRef;
    if (!keyRef) continue; // fieldRef, resourceFieldRef
    const isSecret = !!from.secretKeyRef;
    if (isSecret && !scope.secretsAllowed) continue;
    const found = isSecret ? snapshot.secret(scope.namespace, keyRef.name ?? '') : snapshot.configMap(scope.namespace, keyRef.name ?? '');
    const kind = isSecret ? 'secretKeyRef' : 'configMapKeyRef';
    if ('problem' in found || !Object.hasOwn(found.data, keyRef.key)) {
      if (keyRef.optional && !('problem' in found && found.refused)) continue;
      const problem = 'problem' in found ? found.problem : `has no key "${keyRef.key}"`;
      throw new ('problem' in found && found.refused ? RefusedSecretError : TriggerAuthError)(`${where}: env "${e.name}" valueFrom.${kind} "${keyRef.name ?? ''}": ${problem}`);
    }
    env[e.name] = found.data[keyRef.key];
  }
  return env;
}
