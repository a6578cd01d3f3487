import {
  API_GROUP,
  API_VERSION,
  Annotations,
  ConditionStatus,
  ConditionType,
  getCondition,
  Labels,
  type ScaledJob,
  type ScaledObject,
  type HorizontalPodAutoscaler,
} from '@keda-ts/api';
import { EventRecorder, KubeClient, PodReader, resourcePath, Watched, WorkQueue, type EventSubject, type RecordedEvent } from '@keda-ts/k8s';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '@keda-ts/runtime';
import { hpaTargetKey, isDeepDerivative, scaledObjectTargetKey, type PodLike } from '@keda-ts/scaling';
import { TargetIndex } from './target-index';
import type { EgressPolicy, ScalerRegistry } from '@keda-ts/scalers';
import { DecisionTraces } from './decision-trace';
import { ScaledObjectPoller } from './scaledobject-poller';
import { ScaledObjectReconciler } from './scaledobject-reconciler';
import { ScaleLoops } from './scale-loops';
import { isScaledJob, ScalersCache } from './scalers-cache';
import { parseScaledJobKey, ScaledJobPoller, scaledJobKey, type JobObject, type ScaledJobPollOutcome } from './scaledjob-poller';
import { ScaledJobReconciler } from './scaledjob-reconciler';
import { resolveScaleTarget, type ScaleTarget } from './scale-target';
import { ScaledObjectMetricsProvider } from './metrics-provider';
import { TriggerAuthController } from './trigger-auth/controller';
import { dependentKey } from './trigger-auth/dependencies';
import { podTemplateOf, scalableFromScaledJob, scalableFromScaledObject } from './trigger-auth/resolver';
import { TriggerAuthWatch } from './trigger-auth/watch';
import { noopOperatorMetrics, type OperatorMetricsRecorder } from './prometheus';
import { DEFAULT_MAX_CONCURRENT_SCALER_READS, ReadSlots } from './read-slots';
import { HealthLedger } from './health-ledger';

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
  /** Egress policy of every scaler connection (--scaler-egress-*); absent: the scalers' default policy. */
  scalerEgress?: EgressPolicy;
  /** Upper bound of one metric read in the scale loop. */
  metricTimeoutMs?: number;
  now?: () => Date;
  onRequest?: (method: string, path: string) => void;
  /** How late each scale-loop tick ran against its plan (keda_internal_scale_loop_latency_seconds). */
  onScaleLoopLag?: (key: string, lagMs: number) => void;
  /** Decisions remembered per ScaledObject/ScaledJob for `keda-ts explain` (default 10). */
  decisionTraceSize?: number;
  /**
   * Start as a standby: informers run and caches stay warm, but nothing is reconciled, no scale
   * loop runs and every write is refused until startLeading() (leader election).
   */
  standby?: boolean;
  /** User-Agent of the API requests, naming this replica (audit log). */
  userAgent?: string;
  /** Each finished ScaledJob poll (Jobs created, counts, timing). */
  onScaledJobPoll?: (key: string, outcome: ScaledJobPollOutcome) => void;
  /** Concurrent ScaledJob reconciles (KEDA_SCALEDJOB_CTRL_MAX_RECONCILES, default 1). */
  /** ScaledObjects reconciled at once (KEDA_SCALEDOBJECT_CTRL_MAX_RECONCILES, default 5). */
  scaledObjectMaxReconciles?: number;
  scaledJobMaxReconciles?: number;
  /** Namespace of ClusterTriggerAuthentication Secrets/ConfigMaps (KEDA_CLUSTER_OBJECT_NAMESPACE resolved; default keda). */
  clusterObjectNamespace?: string;
  /** KEDA_RESTRICT_SECRET_ACCESS. */
  restrictSecretAccess?: boolean;
  /** WATCH_LABEL_SELECTOR_FOR_TRIGGERAUTH. */
  triggerAuthLabelSelector?: string;
  /** --filepath-auth-root-path. */
  filePathAuthRootPath?: string;
  /** KEDA_BOUND_SERVICE_ACCOUNT_TOKEN_EXPIRY in seconds. */
  boundServiceAccountTokenExpirySeconds?: number;
  /** --bound-service-account-token-audience: audiences of boundServiceAccountToken tokens (default: none, KEDA's request). */
  boundServiceAccountTokenAudiences?: readonly string[];
  /** POD_NAMESPACE: the controller's namespace, whose protected Secrets never resolve for triggers (default: clusterObjectNamespace). */
  controllerNamespace?: string;
  /** --cert-secret-name: never resolved for triggers (default kedaorg-certs). */
  certSecretName?: string;
  /** Prometheus metrics (KEDA's names); default: none recorded. */
  metrics?: OperatorMetricsRecorder;
  /** Scaler reads in flight at once, loops and GetMetrics together (--max-concurrent-scaler-reads). */
  maxConcurrentScalerReads?: number;
  /** Every Event the controller emits, as it is emitted (CloudEventSources); must not block. */
  onEvent?: (regarding: EventSubject, event: RecordedEvent) => void;
}

/** The key under which a scale target is recorded as a dependency (its pod template feeds resolvedEnv). */
export const workloadKey = (group: string, resource: string, namespace: string, name: string): string =>
  `Workload/${group}/${resource}/${namespace}/${name}`;

const PAUSE_KEYS = [
  Annotations.Paused,
  Annotations.PausedReplicas,
  Annotations.PausedScaleIn,
  Annotations.PausedScaleOut,
  Annotations.ForceActivation,
];

interface LabelledObject {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
}

interface WorkloadObject {
  metadata?: { name?: string; namespace?: string };
  spec?: { replicas?: number; template?: unknown };
}

/**
 * What the workload caches keep of a Deployment/StatefulSet: replicas (the scale loops' current
 * count) and the pod template (resolvedEnv, auth dependencies). Status, annotations such as
 * kubectl's last-applied-configuration and managedFields are most of the object and unused.
 */
export function slimWorkload(obj: KubernetesObject): KubernetesObject {
  const { name, namespace, uid, resourceVersion, generation, deletionTimestamp } = obj.metadata ?? {};
  const spec = (obj as WorkloadObject).spec;
  // A new small object: deleting properties would leave V8 objects in slow dictionary mode.
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    metadata: { name, namespace, uid, resourceVersion, generation, ...(deletionTimestamp ? { deletionTimestamp } : {}) },
    spec: { replicas: spec?.replicas, template: spec?.template },
  } as KubernetesObject;
}

const keyOf = (obj: { metadata?: { namespace?: string; name?: string } }) => `${obj.metadata?.namespace}/${obj.metadata?.name}`;

/**
 * C-2: which ScaledObject updates deserve a reconcile. `ownReadyWrite`: `obj` is the reconciler's
 * own status write. Its Ready=True is no news; reconciling on it let a failing scale loop (which
 * sets Ready=False/TriggerError every poll it finds the status True) and the reconciler (Ready=True)
 * re-trigger each other once a reconcile ran late, a status write per poll per object (issue 17).
 */
export function scaledObjectChangeMatters(old: ScaledObject | undefined, obj: ScaledObject, ownReadyWrite = false): boolean {
  if (!old) return true;
  if (old.metadata?.generation !== obj.metadata?.generation) return true;
  if (PAUSE_KEYS.some((k) => old.metadata?.annotations?.[k] !== obj.metadata?.annotations?.[k])) return true;
  if (Boolean(old.metadata?.deletionTimestamp) !== Boolean(obj.metadata?.deletionTimestamp)) return true;
  const readyBefore = getCondition(old.status?.conditions, ConditionType.Ready)?.status === ConditionStatus.True;
  const readyNow = getCondition(obj.status?.conditions, ConditionType.Ready)?.status === ConditionStatus.True;
  return !readyBefore && readyNow && !ownReadyWrite;
}

/** Which ScaledJob updates deserve a reconcile: generation, the pause annotation, deletion (spec §1.5). */
export function scaledJobChangeMatters(old: ScaledJob | undefined, obj: ScaledJob): boolean {
  if (!old) return true;
  if (old.metadata?.generation !== obj.metadata?.generation) return true;
  if (old.metadata?.annotations?.[Annotations.Paused] !== obj.metadata?.annotations?.[Annotations.Paused]) return true;
  return Boolean(old.metadata?.deletionTimestamp) !== Boolean(obj.metadata?.deletionTimestamp);
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
  private readonly events: EventRecorder;
  /** The cap on scaler reads in flight, shared by the loops and GetMetrics. */
  readonly readSlots: ReadSlots;
  readonly metricsProvider: ScaledObjectMetricsProvider;
  private readonly scaledObjects: Watched<ScaledObject>[] = [];
  /** One informer per watched namespace (one cluster-wide without WATCH_NAMESPACE): the chart binds the HPA rights per namespace then. */
  private readonly hpas: Watched<HorizontalPodAutoscaler>[];
  /** Deployments and StatefulSets, so the loops read current replicas without API calls (C-26). */
  private readonly workloads = new Map<string, Watched<WorkloadObject>[]>();
  private readonly queue: WorkQueue;
  private readonly loops: ScaleLoops;
  private readonly scalers: ScalersCache;
  private readonly poller: ScaledObjectPoller;
  /** The recent decisions per object, served by the debug gRPC service. */
  readonly traces: DecisionTraces;
  private readonly logger: Logger;
  private leading: boolean;
  private stopping = false;
  private readonly scaledJobs: Watched<ScaledJob>[] = [];
  /** Jobs and pods carrying the `scaledjob.keda.sh/name` label, read by the ScaledJob loops every tick. */
  private readonly scaledJobJobs: Watched<LabelledObject>[] = [];
  private readonly scaledJobPods: Watched<LabelledObject>[] = [];
  private readonly jobLoops: ScaleLoops;
  private readonly jobQueue: WorkQueue;
  /** Trigger authentication: informers, resolver, dependency index. The ScaledJob controller shares it. */
  readonly triggerAuth: TriggerAuthWatch;
  private readonly triggerAuthController: TriggerAuthController;

  constructor(options: OperatorOptions) {
    const { logger } = options;
    this.logger = logger;
    this.leading = !options.standby;
    const metrics = options.metrics ?? noopOperatorMetrics;
    const splitKey = (key: string) => key.split('/') as [string, string];
    const now = options.now ?? (() => new Date());
    this.traces = new DecisionTraces(options.decisionTraceSize ?? 10);
    // The fence: a standby, or a leader that just lost the Lease, sends no write at all.
    const clientOptions = {
      qps: options.qps,
      burst: options.burst,
      onRequest: options.onRequest,
      userAgent: options.userAgent,
      refuseWrite: () => (this.leading ? undefined : 'this replica is not the leader'),
    };
    this.client = new KubeClient(options.kubeConfig, clientOptions);
    // Events get their own rate limit, so that they never hold up reconciles and scaling; the
    // recorder's bounded queue and few writers keep its waiters bounded (the cap is a backstop).
    this.eventsClient = new KubeClient(options.kubeConfig, { ...clientOptions, maxQueuedRequests: 16 });
    this.events = new EventRecorder(this.eventsClient, logger, undefined, undefined, { onDropped: (reason) => metrics.eventDropped(reason) });
    const events = this.events;
    if (options.onEvent) events.addListener(options.onEvent);
    this.readSlots = new ReadSlots(options.maxConcurrentScalerReads ?? DEFAULT_MAX_CONCURRENT_SCALER_READS);
    metrics.watchScalerReads(this.readSlots);
    const pods = new PodReader(this.client);
    const namespaces = options.watchNamespaces?.length ? options.watchNamespaces : [''];
    this.triggerAuth = new TriggerAuthWatch({
      kubeConfig: options.kubeConfig,
      client: this.client,
      logger,
      watchNamespaces: options.watchNamespaces,
      triggerAuthLabelSelector: options.triggerAuthLabelSelector,
      clusterObjectNamespace: options.clusterObjectNamespace || 'keda',
      restrictSecretAccess: options.restrictSecretAccess,
      filePathAuthRootPath: options.filePathAuthRootPath,
      boundServiceAccountTokenExpirySeconds: options.boundServiceAccountTokenExpirySeconds,
      boundServiceAccountTokenAudiences: options.boundServiceAccountTokenAudiences,
      controllerNamespace: options.controllerNamespace,
      certSecretName: options.certSecretName,
    });
    this.triggerAuthController = new TriggerAuthController({
      client: this.client,
      events,
      logger,
      triggerAuthentications: this.triggerAuth.triggerAuthentications.all,
      clusterTriggerAuthentications: this.triggerAuth.clusterTriggerAuthentications,
    });
    for (const ns of namespaces) {
      const path = ns ? `/apis/${API_GROUP}/${API_VERSION}/namespaces/${ns}/scaledobjects` : `/apis/${API_GROUP}/${API_VERSION}/scaledobjects`;
      this.scaledObjects.push(new Watched<ScaledObject>(options.kubeConfig, this.client, { path, labelSelector: options.labelSelector, logger }));
      const jobsPath = ns ? `/apis/${API_GROUP}/${API_VERSION}/namespaces/${ns}/scaledjobs` : `/apis/${API_GROUP}/${API_VERSION}/scaledjobs`;
      this.scaledJobs.push(new Watched<ScaledJob>(options.kubeConfig, this.client, { path: jobsPath, labelSelector: options.labelSelector, logger }));
      const labelled = (group: string, resource: string) =>
        new Watched<LabelledObject>(options.kubeConfig, this.client, { path: ns ? `${group}/namespaces/${ns}/${resource}` : `${group}/${resource}`, labelSelector: Labels.ScaledJobName, logger });
      this.scaledJobJobs.push(labelled('/apis/batch/v1', 'jobs'));
      this.scaledJobPods.push(labelled('/api/v1', 'pods'));
    }
    this.hpas = namespaces.map(
      (ns) =>
        new Watched<HorizontalPodAutoscaler>(options.kubeConfig, this.client, {
          path: ns ? `/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers` : '/apis/autoscaling/v2/horizontalpodautoscalers',
          logger,
        }),
    );
    const hpasIn = (namespace: string): Watched<HorizontalPodAutoscaler> | undefined =>
      namespaces[0] === '' ? this.hpas[0] : this.hpas[namespaces.indexOf(namespace)];
    for (const resource of ['deployments', 'statefulsets']) {
      this.workloads.set(
        resource,
        namespaces.map(
          (ns) =>
            new Watched<WorkloadObject>(options.kubeConfig, this.client, {
              path: ns ? `/apis/apps/v1/namespaces/${ns}/${resource}` : `/apis/apps/v1/${resource}`,
              logger,
              transform: slimWorkload,
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
      {
        httpTimeoutMs: options.httpTimeoutMs ?? 3000,
        now,
        kubernetes: pods,
        logger,
        filePathRoot: options.filePathAuthRootPath,
        egress: options.scalerEgress,
      },
      async (so) => {
        // *FromEnv parameters read the target container's env (C-27), auth params the trigger's (Cluster)TriggerAuthentication.
        const namespace = so.metadata?.namespace ?? '';
        if (isScaledJob(so)) {
          // A ScaledJob's env comes from its own jobTargetRef.template.
          const auth = await this.triggerAuth.resolveFor(dependentKey('ScaledJob', namespace, so.metadata?.name ?? ''), scalableFromScaledJob(so), []);
          return { resolvedEnv: auth.resolvedEnv, authParams: auth.authParams, authenticationKind: auth.authenticationKind };
        }
        const target = await resolveScaleTarget(this.client, so).catch(() => undefined);
        const workload = target
          ? (cachedWorkload(target) ?? (await this.client.get<WorkloadObject>(resourcePath(target.resource, namespace, target.name)).catch(() => undefined)))
          : undefined;
        const targetKeys = target ? [workloadKey(target.resource.group, target.resource.resource, namespace, target.name)] : [];
        const auth = await this.triggerAuth.resolveFor(
          dependentKey('ScaledObject', namespace, so.metadata?.name ?? ''),
          scalableFromScaledObject(so, podTemplateOf(workload)),
          targetKeys,
        );
        return { resolvedEnv: auth.resolvedEnv, authParams: auth.authParams, authenticationKind: auth.authenticationKind };
      },
      {
        // C-98: a pushed `true` runs the object's scale check at once; `false` waits for the next poll.
        onPushActivity: (key, triggerIndex, isActive) => {
          logger.debug({ key, triggerIndex, isActive }, 'push scaler reported activity');
          if (isActive) this.loops.pokeNow(key);
        },
      },
    );
    // Shared by the scale loops and GetMetrics: both count fallback failures (C-75).
    const health = new HealthLedger();
    this.poller = new ScaledObjectPoller({
      client: this.client,
      pods,
      events,
      scalers: this.scalers,
      logger,
      getScaledObject,
      getHpa: (namespace, name) => hpasIn(namespace)?.get(name, namespace),
      now,
      metricTimeoutMs: options.metricTimeoutMs ?? 10_000,
      readSlots: this.readSlots,
      cachedReplicas,
      traces: this.traces,
      health,
      onPoll: (key, _so, evaluation, rule) => {
        const [ns, name] = splitKey(key);
        if (evaluation) metrics.scalerReadings('scaledobject', ns, name, evaluation.readings);
        // No evaluation with a resolved target: the scalers could not be built.
        else if (rule !== 'target-not-resolved') metrics.scalableError('scaledobject', ns, name);
      },
    });
    this.loops = new ScaleLoops(
      {
        // A loop started by a reconcile that was still running when leadership ended stops at its first tick.
        poll: (key) => {
          if (this.leading) return this.poller.poll(key);
          this.loops.stop(key);
          return Promise.resolve();
        },
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
      cachedHpa: (namespace, name) => {
        const hpas = hpasIn(namespace);
        return hpas?.hasSynced ? (hpas.get(name, namespace) ?? null) : undefined;
      },
      cachedReplicas,
      scaledObjectsOnTarget: (targetKey) => scaledObjectsByTarget.on(targetKey),
      hpasOnTarget: (targetKey) => hpasByTarget.on(targetKey),
    });
    this.queue = new WorkQueue(
      async (key) => {
        // A standby drops keys: startLeading() queues every ScaledObject again.
        if (!this.leading || this.stopping) return;
        const [ns, name] = key.split('/');
        await reconciler.reconcile(ns, name);
      },
      {
        concurrency: options.scaledObjectMaxReconciles ?? 5,
        baseBackoffMs: 100,
        maxBackoffMs: 60_000,
        onError: (key, err, retryInMs) =>
          logger.warn({ key, err: err instanceof Error ? err.message : String(err), retryInMs }, 'reconcile failed; retrying'),
      },
    );
    // The ownership guards: who else scales a target (ScaledObjects, HPAs), from the caches.
    const scaledObjectsByTarget = new TargetIndex<ScaledObject>(scaledObjectTargetKey);
    const hpasByTarget = new TargetIndex<HorizontalPodAutoscaler>(hpaTargetKey);
    const requeueOthersOn = (targetKeys: string[], except?: string) => {
      for (const t of targetKeys) for (const other of scaledObjectsByTarget.on(t)) if (keyOf(other) !== except) this.queue.add(keyOf(other));
    };
    for (const w of this.scaledObjects) {
      // A ScaledObject that leaves (or changes) a target lets the next one there take it, at once.
      w.on((type, obj, old) => {
        const moved = scaledObjectsByTarget.apply(type, obj);
        if (type !== 'update' || scaledObjectTargetKey(obj) !== scaledObjectTargetKey(old ?? obj)) requeueOthersOn(moved, keyOf(obj));
      });
      w.on((type, obj, old) => {
        if (type === 'delete') this.triggerAuth.forget(dependentKey('ScaledObject', obj.metadata?.namespace ?? '', obj.metadata?.name ?? ''));
        // `old` is the informer's previous copy, so a re-listed object is not counted twice.
        metrics.scaledObjectChanged(old, type === 'delete' ? undefined : obj);
        const own = type === 'update' && reconciler.isOwnStatusWrite(obj.metadata?.namespace ?? '', obj.metadata?.name ?? '', obj.metadata?.resourceVersion);
        if (type !== 'update' || scaledObjectChangeMatters(old, obj, own)) this.queue.add(keyOf(obj));
      });
    }
    // A changed Secret, ConfigMap, (Cluster)TriggerAuthentication or scale-target pod template rebuilds the scalers that read it.
    this.triggerAuth.onDependencyChange((dependent, changed) => {
      const [kind, ns, name] = dependent.split('/');
      if (kind === 'ScaledJob') {
        logger.info({ scaledJob: `${ns}/${name}`, changed }, 'authentication input changed; rebuilding scalers');
        void this.scalers.invalidate(dependent);
        return;
      }
      if (kind !== 'ScaledObject') return;
      const key = `${ns}/${name}`;
      logger.info({ scaledObject: key, changed }, 'authentication input changed; rebuilding scalers');
      void this.scalers.invalidate(key).finally(() => this.queue.add(key));
    });
    for (const [resource, watched] of this.workloads)
      for (const w of watched)
        w.on((type, obj, old) => {
          if (type === 'update' && JSON.stringify(old?.spec?.template) === JSON.stringify(obj.spec?.template)) return;
          this.triggerAuth.changed(workloadKey('apps', resource, obj.metadata?.namespace ?? '', obj.metadata?.name ?? ''));
        });
    for (const hpas of this.hpas)
      hpas.on((type, obj, old) => {
        const targets = hpasByTarget.apply(type, obj);
        // An HPA that appears or goes on a target may unblock (or block the start of) its ScaledObjects.
        if (type !== 'update' || hpaTargetKey(obj) !== hpaTargetKey(old ?? obj)) requeueOthersOn(targets);
        const owner = ownerScaledObject(obj);
        if (owner && (type === 'delete' || (type === 'update' && hpaChangeMatters(old, obj)))) this.queue.add(owner);
      });

    // ScaledJobs: their own reconciler, work queue and scale loops, sharing the scalers cache.
    const getScaledJob = (namespace: string, name: string) => {
      for (const w of this.scaledJobs) {
        const sj = w.get(name, namespace);
        if (sj) return sj;
      }
      return undefined;
    };
    const jobPoller = new ScaledJobPoller({
      client: this.client,
      events,
      scalers: this.scalers,
      logger,
      kedaVersion: options.kedaVersion,
      getScaledJob,
      now,
      metricTimeoutMs: options.metricTimeoutMs ?? 10_000,
      readSlots: this.readSlots,
      onPoll: options.onScaledJobPoll,
      onReadings: (key, readings, buildFailed) => {
        const { namespace, name } = parseScaledJobKey(key);
        // A failed read counts in keda_scaled_job_errors_total through its reading.
        metrics.scalerReadings('scaledjob', namespace, name, readings);
        if (buildFailed) metrics.scalableError('scaledjob', namespace, name);
      },
      traces: this.traces,
      cachedJobs: (namespace, name) => {
        if (![...this.scaledJobJobs, ...this.scaledJobPods].every((w) => w.hasSynced)) return undefined;
        const mine = (w: Watched<LabelledObject>) => w.list(namespace).filter((o) => o.metadata?.labels?.[Labels.ScaledJobName] === name);
        return { jobs: this.scaledJobJobs.flatMap(mine) as JobObject[], pods: this.scaledJobPods.flatMap(mine) as PodLike[] };
      },
    });
    this.jobLoops = new ScaleLoops(
      {
        // As for ScaledObjects: a loop that outlived leadership stops at its first tick.
        poll: (key) => {
          if (this.leading) return jobPoller.poll(key);
          this.jobLoops.stop(key);
          return Promise.resolve();
        },
        intervalMs: (key) => jobPoller.intervalMs(key),
        onStop: (key) => {
          const { namespace, name } = parseScaledJobKey(key);
          this.traces.forget('ScaledJob', namespace, name);
          metrics.forget('scaledjob', namespace, name);
        },
        onLag: (key, lagMs) => {
          const { namespace, name } = parseScaledJobKey(key);
          metrics.scaleLoopLag('scaledjob', namespace, name, lagMs);
          options.onScaleLoopLag?.(key, lagMs);
        },
      },
      (key) => {
        const { namespace, name } = parseScaledJobKey(key);
        return getScaledJob(namespace, name)?.metadata?.generation ?? 0;
      },
    );
    const jobReconciler = new ScaledJobReconciler({ client: this.client, events, scalers: this.scalers, loops: this.jobLoops, logger, getScaledJob });
    this.jobQueue = new WorkQueue(
      async (key) => {
        // A standby drops keys: startLeading() queues every ScaledJob again.
        if (!this.leading || this.stopping) return;
        const { namespace, name } = parseScaledJobKey(key);
        await jobReconciler.reconcile(namespace, name);
      },
      {
        concurrency: options.scaledJobMaxReconciles ?? 1,
        baseBackoffMs: 100,
        maxBackoffMs: 60_000,
        onError: (key, err, retryInMs) =>
          logger.warn({ key, err: err instanceof Error ? err.message : String(err), retryInMs }, 'ScaledJob reconcile failed; retrying'),
      },
    );
    for (const w of this.scaledJobs) {
      w.on((type, obj, old) => {
        const key = scaledJobKey(obj.metadata?.namespace ?? '', obj.metadata?.name ?? '');
        if (type === 'delete') this.triggerAuth.forget(key);
        // `old` is the informer's previous copy: a re-listed ScaledJob is not counted twice.
        const namespace = obj.metadata?.namespace ?? '';
        const triggerTypes = (sj: ScaledJob) => (sj.spec?.triggers ?? []).map((t) => t.type);
        if (old) metrics.resourceRegistered('scaled_job', namespace, -1, triggerTypes(old));
        if (type !== 'delete') metrics.resourceRegistered('scaled_job', namespace, 1, triggerTypes(obj));
        if (type !== 'update' || scaledJobChangeMatters(old, obj)) this.jobQueue.add(key);
      });
    }

    this.metricsProvider = new ScaledObjectMetricsProvider({
      getScaledObject,
      scalers: this.scalers,
      cached: this.poller.cached,
      client: this.client,
      pods,
      now,
      metricTimeoutMs: options.metricTimeoutMs ?? 10_000,
      readSlots: this.readSlots,
      health,
    });
  }

  private get informers(): Watched<{ metadata?: { name?: string; namespace?: string } }>[] {
    return [...this.hpas, ...this.scaledObjects, ...this.scaledJobs, ...this.scaledJobJobs, ...this.scaledJobPods, ...[...this.workloads.values()].flat(), ...this.triggerAuth.informers];
  }

  /** Starts the informers; ScaledObjects last, so reconciles find the HPA, workload and auth caches synced. */
  async start(): Promise<void> {
    const dependencies = [...this.hpas, ...this.scaledJobJobs, ...this.scaledJobPods, ...[...this.workloads.values()].flat(), ...this.triggerAuth.informers];
    await Promise.all(dependencies.map((w) => w.start()));
    await Promise.all(dependencies.map((w) => w.waitForSync()));
    await Promise.all([...this.scaledObjects, ...this.scaledJobs].map((w) => w.start()));
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

  get scaledJobLoopCount(): number {
    return this.jobLoops.size;
  }

  get isLeading(): boolean {
    return this.leading;
  }

  /** This replica leads from now on: every cached ScaledObject is reconciled, which starts its scale loop. */
  startLeading(): void {
    if (this.leading || this.stopping) return;
    this.leading = true;
    const keys = this.scaledObjects.flatMap((w) => w.list().map(keyOf));
    const jobKeys = this.scaledJobs.flatMap((w) => w.list().map((o) => scaledJobKey(o.metadata?.namespace ?? '', o.metadata?.name ?? '')));
    this.logger.info({ scaledObjects: keys.length, scaledJobs: jobKeys.length }, 'leading: reconciling every ScaledObject and ScaledJob and starting the scale loops');
    for (const key of keys) this.queue.add(key);
    for (const key of jobKeys) this.jobQueue.add(key);
  }

  /**
   * This replica no longer leads: writes are refused from this moment (a request already on the
   * wire cannot be recalled), scale loops are cancelled and queued reconciles become no-ops.
   * Informers keep running, so leading again starts from warm caches.
   */
  stopLeading(): void {
    if (!this.leading) return;
    this.leading = false;
    this.logger.warn({ scaleLoops: this.loops.size + this.jobLoops.size }, 'not leading: stopped the scale loops, writes are refused');
    void this.loops.stopAll();
    void this.jobLoops.stopAll();
  }

  /**
   * Graceful shutdown: no new reconcile or scale-loop tick starts; the ones running finish (their
   * writes included), then the informers and connections close. Status written by the last polls
   * (lastActiveTime among it) is what the next leader continues from.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([this.queue.stop(), this.jobQueue.stop(), this.loops.stopAll(), this.jobLoops.stopAll()]);
    this.leading = false;
    await Promise.all(this.informers.map((w) => w.stop()));
    await this.triggerAuthController.stop();
    await this.triggerAuth.stop();
    await this.scalers.closeAll();
    this.events.close();
    this.client.close();
    this.eventsClient.close();
  }
}
