import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { readClusterInfo } from './state';
import { runKubectl } from '../control-plane';

export { k8s };

/** A KubeConfig for the run's cluster. */
export function kubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(readClusterInfo().kubeconfig);
  return kc;
}

/** kubectl against the run's cluster; resolves with stdout. */
export function kubectl(args: string[], input?: string): Promise<string> {
  const info = readClusterInfo();
  return runKubectl(info.kubectl, info.kubeconfig, args, input);
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** What is awaited, for the timeout message (a function is called only then). */
  description: string | (() => string);
}

/**
 * Polls `probe` until it returns something other than undefined/false. On timeout the error
 * names what was awaited and the last value or error seen.
 */
export async function waitFor<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, opts: WaitOptions): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      last = value;
    } catch (err) {
      last = err instanceof Error ? err.message : err;
    }
    if (Date.now() > deadline) {
      const what = typeof opts.description === 'function' ? opts.description() : opts.description;
      throw new Error(`timed out after ${opts.timeoutMs ?? 60_000} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 500));
  }
}

/** Parses multi-document YAML into objects, skipping empty documents. */
export function parseYaml(text: string): k8s.KubernetesObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as k8s.KubernetesObject | null)
    .filter((o): o is k8s.KubernetesObject => o !== null && typeof o === 'object');
}

/** Server-side applies every document of `manifest` (YAML text or objects); `namespace` fills in where missing. */
export async function apply(
  kc: k8s.KubeConfig,
  manifest: string | k8s.KubernetesObject | k8s.KubernetesObject[],
  namespace?: string,
): Promise<k8s.KubernetesObject[]> {
  const objects = typeof manifest === 'string' ? parseYaml(manifest) : Array.isArray(manifest) ? manifest : [manifest];
  const client = k8s.KubernetesObjectApi.makeApiClient(kc);
  const applied: k8s.KubernetesObject[] = [];
  for (const obj of objects) {
    const spec = { ...obj, metadata: { ...obj.metadata } };
    if (namespace && !spec.metadata.namespace && !CLUSTER_SCOPED_KINDS.has(spec.kind ?? '')) spec.metadata.namespace = namespace;
    applied.push(
      await client.patch(spec, undefined, undefined, 'keda-ts-e2e', true, k8s.PatchStrategy.ServerSideApply),
    );
  }
  return applied;
}

/** Kinds `apply` never puts in a namespace. */
const CLUSTER_SCOPED_KINDS = new Set([
  'Namespace', 'Node', 'PersistentVolume', 'StorageClass', 'PriorityClass', 'ClusterRole', 'ClusterRoleBinding',
  'CustomResourceDefinition', 'APIService', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration',
  'ClusterTriggerAuthentication',
]);

/** Reads an object, or undefined when it does not exist. */
export async function readObject<T extends k8s.KubernetesObject>(
  kc: k8s.KubeConfig,
  ref: { apiVersion: string; kind: string; name: string; namespace?: string },
): Promise<T | undefined> {
  const client = k8s.KubernetesObjectApi.makeApiClient(kc);
  try {
    return (await client.read({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace } })) as T;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** Waits until `status.conditions[type].status` equals `status`; resolves with the object. */
export async function waitForCondition<T extends k8s.KubernetesObject>(
  kc: k8s.KubeConfig,
  ref: { apiVersion: string; kind: string; name: string; namespace?: string },
  type: string,
  status = 'True',
  timeoutMs = 60_000,
): Promise<T> {
  return waitFor(
    async () => {
      const obj = await readObject<T>(kc, ref);
      const conditions = ((obj as { status?: { conditions?: Condition[] } } | undefined)?.status?.conditions ?? []) as Condition[];
      return conditions.some((c) => c.type === type && c.status === status) ? obj : undefined;
    },
    { timeoutMs, description: `${ref.kind} ${ref.namespace ? ref.namespace + '/' : ''}${ref.name} condition ${type}=${status}` },
  );
}

/** Deletes an object if it exists. */
export async function deleteObject(
  kc: k8s.KubeConfig,
  ref: { apiVersion: string; kind: string; name: string; namespace?: string },
): Promise<void> {
  const client = k8s.KubernetesObjectApi.makeApiClient(kc);
  try {
    await client.delete({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, namespace: ref.namespace } });
  } catch (err) {
    if ((err as { code?: number }).code !== 404) throw err;
  }
}
