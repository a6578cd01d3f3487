/**
 * Cluster-side state of the webhook: informers (list+watch, no per-admission list) for
 * ScaledObjects, HPAs and LimitRanges feeding the indexes, a GET of the target workload for
 * the cpu/memory request check (one request per such admission, independent of the object count),
 * and a dry-run create of a ScaledJob's Job (one request per ScaledJob create or template change).
 * The caches keep only what the indexes read (see trimScaledObjectForIndex, trimHpaForIndex): with
 * 10,000 ScaledObjects and their HPAs the full objects would be most of the webhook's memory.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { Annotations, type ScaledObject } from '@keda-ts/api';
import { KubeApiError, KubeClient, Watched, dropManagedFields } from '@keda-ts/k8s';
import { KEDA_TS_VERSION, type Logger } from '@keda-ts/runtime';
import { HpaIndex, LimitRangeIndex, ScaledObjectIndex, type HpaLike, type LimitRangeLike } from './indexes';
import { JOB_DRY_RUN_TIMEOUT_MS, KubeJobTemplateChecker } from './job-template';
import type { ContainerLike, ScaledObjectLookups, WorkloadReader } from './scaledobject';

export class KubeWorkloadReader implements WorkloadReader {
  constructor(private readonly client: KubeClient) {}

  async containers(namespace: string, kind: 'Deployment' | 'StatefulSet', name: string): Promise<ContainerLike[]> {
    const resource = kind === 'Deployment' ? 'deployments' : 'statefulsets';
    const path = `/apis/apps/v1/namespaces/${encodeURIComponent(namespace)}/${resource}/${encodeURIComponent(name)}`;
    try {
      const obj = await this.client.get<{ spec?: { template?: { spec?: { containers?: ContainerLike[] } } } }>(path);
      return obj.spec?.template?.spec?.containers ?? [];
    } catch (err) {
      // The API server's own message, e.g. `deployments.apps "x" not found` (what KEDA returns).
      if (err instanceof KubeApiError && err.apiMessage) throw new Error(err.apiMessage, { cause: err });
      throw err;
    }
  }
}

interface Trimmable {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    annotations?: Record<string, string>;
    ownerReferences?: readonly { kind?: string; name?: string }[];
  };
}
type Spec = Record<string, unknown> | undefined;

/**
 * The object identity the cache needs (name, namespace, uid, resourceVersion). A new small object,
 * not the decoded one with properties deleted: V8 turns objects with deleted properties into larger
 * dictionary-mode objects, and the decoded one can then be collected whole.
 */
function identity(obj: Trimmable): Trimmable & { metadata: NonNullable<Trimmable['metadata']>; spec?: Spec } {
  const m = obj.metadata ?? {};
  return { apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion } };
}

/**
 * A ScaledObject as the indexes read it: its target and its HPA name (C-100, C-101). The rest
 * (triggers, status, annotations...) stays out of the cache; with 10,000 ScaledObjects it would be
 * most of the memory.
 */
export function trimScaledObjectForIndex<T extends Trimmable>(obj: T): T {
  const trimmed = identity(obj);
  const spec = (obj as { spec?: Spec }).spec;
  if (spec) {
    const advanced = spec['advanced'] as { horizontalPodAutoscalerConfig?: { name?: string } } | undefined;
    const hpaName = advanced?.horizontalPodAutoscalerConfig?.name;
    trimmed.spec = { scaleTargetRef: spec['scaleTargetRef'], ...(hpaName ? { advanced: { horizontalPodAutoscalerConfig: { name: hpaName } } } : {}) };
  }
  return trimmed as T;
}

/** An HPA as the index reads it (C-102): target, owners (kind and name) and the ownership-validation annotation. */
export function trimHpaForIndex<T extends Trimmable>(obj: T): T {
  const trimmed = identity(obj);
  const owners = obj.metadata?.ownerReferences;
  if (owners) trimmed.metadata.ownerReferences = owners.map((o) => ({ kind: o.kind, name: o.name }));
  const ownership = obj.metadata?.annotations?.[Annotations.HpaOwnershipValidation];
  if (ownership !== undefined) trimmed.metadata.annotations = { [Annotations.HpaOwnershipValidation]: ownership };
  const spec = (obj as { spec?: Spec }).spec;
  if (spec) trimmed.spec = { scaleTargetRef: spec['scaleTargetRef'] };
  return trimmed as T;
}

/**
 * Objects per list page. A decoded page is garbage once trimmed; pages of 100 keep each one under
 * the young generation's size, so it dies there instead of filling (and growing) the old space.
 */
const LIST_PAGE_SIZE = 100;

export interface ClusterCachesOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  qps?: number;
  burst?: number;
  /** The version label of the Jobs the controller creates (for the dry run of a ScaledJob's Job). */
  kedaVersion?: string;
}

export class ClusterCaches {
  readonly client: KubeClient;
  readonly lookups: ScaledObjectLookups;
  /** The API server's check of a ScaledJob's Job template (a dry-run create, bounded). */
  readonly jobTemplates: KubeJobTemplateChecker;
  private readonly informers: Watched<never>[] = [];
  private readonly jobClient: KubeClient;

  constructor(options: ClusterCachesOptions) {
    const { kubeConfig, logger } = options;
    this.client = new KubeClient(kubeConfig, { qps: options.qps ?? 20, burst: options.burst ?? 30 });
    const scaledObjects = new ScaledObjectIndex();
    const hpas = new HpaIndex();
    const limitRanges = new LimitRangeIndex();
    const so = new Watched<ScaledObject>(kubeConfig, this.client, { path: '/apis/keda.sh/v1alpha1/scaledobjects', logger, transform: trimScaledObjectForIndex, pageSize: LIST_PAGE_SIZE });
    so.on((type, obj) => scaledObjects.apply(type, obj));
    const hpa = new Watched<HpaLike & { metadata?: { name?: string; namespace?: string } }>(kubeConfig, this.client, {
      path: '/apis/autoscaling/v2/horizontalpodautoscalers',
      logger,
      transform: trimHpaForIndex,
      pageSize: LIST_PAGE_SIZE,
    });
    hpa.on((type, obj) => hpas.apply(type, obj));
    const lr = new Watched<LimitRangeLike & { metadata?: { name?: string; namespace?: string } }>(kubeConfig, this.client, {
      path: '/api/v1/limitranges',
      logger,
      transform: dropManagedFields,
    });
    lr.on((type, obj) => limitRanges.apply(type, obj));
    this.informers.push(so as unknown as Watched<never>, hpa as unknown as Watched<never>, lr as unknown as Watched<never>);
    this.lookups = { scaledObjects, hpas, limitRanges, workloads: new KubeWorkloadReader(this.client) };
    // Its own client: a request timeout of its own, so that a slow API server cannot hold an admission.
    this.jobClient = new KubeClient(kubeConfig, { qps: options.qps ?? 20, burst: options.burst ?? 30, requestTimeoutMs: JOB_DRY_RUN_TIMEOUT_MS });
    this.jobTemplates = new KubeJobTemplateChecker(this.jobClient, { kedaVersion: options.kedaVersion ?? KEDA_TS_VERSION });
  }

  async start(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.start()));
  }

  get synced(): boolean {
    return this.informers.every((i) => i.hasSynced);
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
    this.client.close();
    this.jobClient.close();
  }
}
