import {
  API_GROUP,
  API_VERSION,
  Annotations,
  ConditionStatus,
  ConditionType,
  getCondition,
  type ScaledObject,
} from '@keda-ts/api';
import { EventRecorder, KubeClient, PodReader, Watched, WorkQueue } from '@keda-ts/k8s';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '@keda-ts/runtime';
import { isDeepDerivative, type HorizontalPodAutoscaler } from '@keda-ts/scaling';
import type { ScalerRegistry } from '@keda-ts/scalers';
import { ScaledObjectPoller } from './scaledobject-poller';
import { ScaledObjectReconciler } from './scaledobject-reconciler';
import { ScaleLoops } from './scale-loops';
import { ScalersCache } from './scalers-cache';
import { resolveScaleTarget, resolveTargetEnv, type ScaleTarget } from './scale-target';
import { ScaledObjectMetricsProvider } from './metrics-provider';
import { noopOperatorMetrics, type OperatorMetricsRecorder } from './prometheus';

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  registry: ScalerRegistry;
  kedaVersion: string;
  /** Namespaces to watch; empty watches all (WATCH_NAMESPACE). */
  watchNamespaces?: string[];
  /** Only ScaledObjects with these labels (WATCH_LABEL_SELECTOR). */
  labelSelector?: string;
  qps?: number;
  burst?: number;
  /** Default HTTP timeout of scalers (KEDA_HTTP_DEFAULT_TIMEOUT). */
  httpTimeoutMs?: number;
  /** Upper bound of one metric read in the scale loop. */
  metricTimeoutMs?: number;
  now?: () => Date;
  onRequest?: (method: string, path: string) => void;
  /** How late each scale-loop tick ran against its plan (keda_internal_scale_loop_latency_seconds). */
  onScaleLoopLag?: (key: string, lagMs: number) => void;
  /** Prometheus metrics (KEDA's names); default: none recorded. */
  metrics?: OperatorMetricsRecorder;
}

const PAUSE_KEYS = [
  Annotations.Paused,
  Annotations.PausedReplicas,
  Annotations.PausedScaleIn,
  Annotations.PausedScaleOut,
  Annotations.ForceActivation,
];

interface WorkloadObject {
  metadata?: { name?: string; namespace?: string };
  spec?: { replicas?: number };
}

const keyOf = (obj: { metadata?: { namespace?: string; name?: string } }) => `${obj.metadata?.namespace}/${obj.metadata?.name}`;

/** C-2: which ScaledObject updates deserve a reconcile. */
export function scaledObjectChangeMatters(old: ScaledObject | undefined, obj: ScaledObject): boolean {
  if (!old) return true;
  if (old.metadata?.generation !== obj.metadata?.generation) return true;
  if (PAUSE_KEYS.some((k) => old.metadata?.annotations?.[k] !== obj.metadata?.annotations?.[k])) return true;
  if (Boolean(old.metadata?.deletionTimestamp) !== Boolean(obj.metadata?.deletionTimestamp)) return true;
  const readyBefore = getCondition(old.status?.conditions, ConditionType.Ready)?.status === ConditionStatus.True;
  const readyNow = getCondition(obj.status?.conditions, ConditionType.Ready)?.status === ConditionStatus.True;
  return !readyBefore && readyNow;
}

/** C-3: which changes of an owned HPA deserve a reconcile of its ScaledObject. */
export function hpaChangeMatters(old: HorizontalPodAutoscaler | undefined, obj: HorizontalPodAutoscaler): boolean {
  if (!old) return false;
  return (
    JSON.stringify(old.metadata.labels ?? {}) !== JSON.stringify(obj.metadata.labels ?? {}) ||
    JSON.stringify(old.metadata.annotations ?? {}) !== JSON.stringify(obj.metadata.annotations ?? {}) ||
    (old.spec?.metrics?.length ?? 0) !== (obj.spec?.metrics?.length ?? 0) ||
    !isDeepDerivative(obj.spec, old.spec)
  );
}

function ownerScaledObject(hpa: HorizontalPodAutoscaler): string | undefined {
  const owner = (hpa.metadata as { ownerReferences?: { kind: string; name: string; apiVersion: string }[] }).ownerReferences?.find(
    (o) => o.kind === 'ScaledObject' && o.apiVersion.startsWith(`${API_GROUP}/`),
  );
  return owner ? `${hpa.metadata.namespace}/${owner.name}` : undefined;
}

/**
 * The controller's ScaledObject machinery: informers, the work queue and reconciler, one scale loop
 * per ScaledObject, and the metrics provider the gRPC service answers from.
 */
export class Operator {
  readonly client: KubeClient;
  private readonly eventsClient: KubeClient;
  readonly metricsProvider: ScaledObjectMetricsProvider;
  private readonly scaledObjects: Watched<ScaledObject>[] = [];
  private readonly hpas: Watched<HorizontalPodAutoscaler>;
  /** Deployments and StatefulSets, so the loops read current replicas without API calls (C-26). */
  private readonly workloads = new Map<string, Watched<WorkloadObject>[]>();
  private readonly queue: WorkQueue;
  private readonly loops: ScaleLoops;
  private readonly scalers: ScalersCache;
  private readonly poller: ScaledObjectPoller;

  constructor(options: OperatorOptions) {
    const { logger } = options;
    const metrics = options.metrics ?? noopOperatorMetrics;
    const splitKey = (key: string) => key.split('/') as [string, string];
    const now = options.now ?? (() => new Date());
    this.client = new KubeClient(options.kubeConfig, { qps: options.qps, burst: options.burst, onRequest: options.onRequest });
    // Events get their own rate limit, so that they never hold up reconciles and scaling.
    this.eventsClient = new KubeClient(options.kubeConfig, { qps: options.qps, burst: options.burst, onRequest: options.onRequest });
    const events = new EventRecorder(this.eventsClient, logger);
    const pods = new PodReader(this.client);
    const namespaces = options.watchNamespaces?.length ? options.watchNamespaces : [''];
    for (const ns of namespaces) {
      const path = ns ? `/apis/${API_GROUP}/${API_VERSION}/namespaces/${ns}/scaledobjects` : `/apis/${API_GROUP}/${API_VERSION}/scaledobjects`;
      this.scaledObjects.push(new Watched<ScaledObject>(options.kubeConfig, this.client, { path, labelSelector: options.labelSelector, logger }));
    }
    this.hpas = new Watched<HorizontalPodAutoscaler>(options.kubeConfig, this.client, { path: '/apis/autoscaling/v2/horizontalpodautoscalers', logger });
    for (const resource of ['deployments', 'statefulsets']) {
      this.workloads.set(
        resource,
        namespaces.map(
          (ns) =>
            new Watched<WorkloadObject>(options.kubeConfig, this.client, {
              path: ns ? `/apis/apps/v1/namespaces/${ns}/${resource}` : `/apis/apps/v1/${resource}`,
              logger,
            }),
        ),
      );
    }
    const cachedWorkload = (target: ScaleTarget): WorkloadObject | undefined => {
      if (target.resource.group !== 'apps') return undefined;
      for (const w of this.workloads.get(target.resource.resource) ?? []) {
        if (!w.hasSynced) return undefined;
        const obj = w.get(target.name, target.namespace);
        if (obj) return obj;
      }
      return undefined;
    };
    // A nil spec.replicas counts as 1, as the apps/v1 default.
    const cachedReplicas = (target: ScaleTarget): number | undefined => {
      const obj = cachedWorkload(target);
      return obj ? (obj.spec?.replicas ?? 1) : undefined;
    };
    const getScaledObject = (namespace: string, name: string) => {
      for (const w of this.scaledObjects) {
        const so = w.get(name, namespace);
        if (so) return so;
      }
      return undefined;
    };
    this.scalers = new ScalersCache(
      options.registry,
      { httpTimeoutMs: options.httpTimeoutMs ?? 3000, now, kubernetes: pods, logger },
      async (so) => {
        // *FromEnv parameters read the target container's env (C-27); auth params arrive with TriggerAuthentication support.
        const target = await resolveScaleTarget(this.client, so).catch(() => undefined);
        const resolvedEnv = target
          ? await resolveTargetEnv(this.client, target, so.spec.scaleTargetRef.envSourceContainerName, cachedWorkload(target) as never).catch(() => ({}))
          : {};
        return { resolvedEnv, authParams: () => ({}) };
      },
    );
    this.poller = new ScaledObjectPoller({
      client: this.client,
      pods,
      events,
      scalers: this.scalers,
      logger,
      getScaledObject,
      getHpa: (namespace, name) => this.hpas.get(name, namespace),
      now,
      metricTimeoutMs: options.metricTimeoutMs ?? 10_000,
      cachedReplicas,
      onPoll: (key, _so, evaluation, rule) => {
        const [ns, name] = splitKey(key);
        if (evaluation) metrics.scalerReadings('scaledobject', ns, name, evaluation.readings);
        // No evaluation with a resolved target: the scalers could not be built.
        else if (rule !== 'target-not-resolved') metrics.scalableError('scaledobject', ns, name);
      },
    });
    this.loops = new ScaleLoops(
      {
        poll: (key) => this.poller.poll(key),
        intervalMs: (key) => this.poller.intervalMs(key),
        onStop: (key) => {
          this.poller.forget(key);
          metrics.forget('scaledobject', ...splitKey(key));
        },
        onLag: (key, lagMs) => {
          metrics.scaleLoopLag('scaledobject', ...splitKey(key), lagMs);
          options.onScaleLoopLag?.(key, lagMs);
        },
      },
      (key) => {
        const [ns, name] = key.split('/');
        return getScaledObject(ns, name)?.metadata?.generation ?? 0;
      },
    );
    const reconciler = new ScaledObjectReconciler({
      client: this.client,
      events,
      scalers: this.scalers,
      loops: this.loops,
      logger,
      kedaVersion: options.kedaVersion,
      getScaledObject,
      cachedHpa: (namespace, name) => (this.hpas.hasSynced ? (this.hpas.get(name, namespace) ?? null) : undefined),
      cachedReplicas,
    });
    this.queue = new WorkQueue(
      async (key) => {
        const [ns, name] = key.split('/');
        await reconciler.reconcile(ns, name);
      },
      {
        concurrency: 4,
        baseBackoffMs: 100,
        maxBackoffMs: 60_000,
        onError: (key, err, retryInMs) =>
          logger.warn({ key, err: err instanceof Error ? err.message : String(err), retryInMs }, 'reconcile failed; retrying'),
      },
    );
    for (const w of this.scaledObjects) {
      w.on((type, obj, old) => {
        // `old` is the informer's previous copy, so a re-listed object is not counted twice.
        metrics.scaledObjectChanged(old, type === 'delete' ? undefined : obj);
        if (type !== 'update' || scaledObjectChangeMatters(old, obj)) this.queue.add(keyOf(obj));
      });
    }
    this.hpas.on((type, obj, old) => {
      const owner = ownerScaledObject(obj);
      if (owner && (type === 'delete' || (type === 'update' && hpaChangeMatters(old, obj)))) this.queue.add(owner);
    });
    this.metricsProvider = new ScaledObjectMetricsProvider({
      getScaledObject,
      scalers: this.scalers,
      cached: this.poller.cached,
      client: this.client,
      pods,
      now,
      metricTimeoutMs: options.metricTimeoutMs ?? 10_000,
    });
  }

  private get informers(): Watched<{ metadata?: { name?: string; namespace?: string } }>[] {
    return [this.hpas, ...this.scaledObjects, ...[...this.workloads.values()].flat()];
  }

  /** Starts the informers; ScaledObjects last, so reconciles find the HPA and workload caches synced. */
  async start(): Promise<void> {
    const dependencies = [this.hpas, ...[...this.workloads.values()].flat()];
    await Promise.all(dependencies.map((w) => w.start()));
    await Promise.all(dependencies.map((w) => w.waitForSync()));
    await Promise.all(this.scaledObjects.map((w) => w.start()));
  }

  /** Caches synced: the readiness of the controller. */
  get ready(): boolean {
    return this.informers.every((w) => w.hasSynced);
  }

  async waitForSync(): Promise<void> {
    await Promise.all(this.informers.map((w) => w.waitForSync()));
  }

  get scaleLoopCount(): number {
    return this.loops.size;
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((w) => w.stop()));
    await this.queue.stop();
    await this.loops.stopAll();
    await this.scalers.closeAll();
    this.client.close();
    this.eventsClient.close();
  }
}
