import { ControllerManager, EventRecorder, KubeClient, PodReader, type EventSubject, type RecordedEvent } from '@keda-ts/k8s';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '@keda-ts/runtime';
import type { EgressPolicy, ScalerRegistry } from '@keda-ts/scalers';
import { DecisionTraces } from './decision-trace';
import { HealthLedger } from './health-ledger';
import { MetricsCache } from './metrics-cache';
import type { ScaledObjectMetricsProvider } from './metrics-provider';
import { noopOperatorMetrics, type OperatorMetricsRecorder } from './prometheus';
import { DEFAULT_MAX_CONCURRENT_SCALER_READS, ReadSlots } from './read-slots';
import type { RawMetricsHub } from './raw-metrics';
import { resolveScaleTarget } from './scale-target';
import { isScaledJob, ScalersCache, type ScalableObject, type ScalerEnvResolver } from './scalers-cache';
import { ScaledJobController } from './scaledjob-controller';
import type { ScaledJobPollOutcome } from './scaledjob-poller';
import { ScaledObjectController } from './scaledobject-controller';
import { scaledJobStatusWriter, scaledObjectStatusWriter } from './status';
import { TriggerAuthController } from './trigger-auth/controller';
import { dependentKey } from './trigger-auth/dependencies';
import { podTemplateOf, scalableFromScaledJob, scalableFromScaledObject } from './trigger-auth/resolver';
import { TriggerAuthWatch } from './trigger-auth/watch';
import { WorkloadCache, workloadKey } from './workload-cache';

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
  /** ScaledObjects reconciled at once (KEDA_SCALEDOBJECT_CTRL_MAX_RECONCILES, default 5). */
  scaledObjectMaxReconciles?: number;
  /** Concurrent ScaledJob reconciles (KEDA_SCALEDJOB_CTRL_MAX_RECONCILES, default 1). */
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
  /** KEDA's raw metrics stream (--raw-metrics-grpc-protocol=enabled): every read is published to it. */
  rawMetrics?: RawMetricsHub;
}

/**
 * What the scalers of an object are built from besides its trigger metadata: the env of the target
 * container (*FromEnv parameters) and the parameters of each trigger's (Cluster)TriggerAuthentication.
 * Every object read is recorded as a dependency, so that a change rebuilds the scalers.
 */
function scalerEnvResolver(client: KubeClient, triggerAuth: TriggerAuthWatch, workloads: WorkloadCache): ScalerEnvResolver {
  const resolve = async (obj: ScalableObject) => {
    const namespace = obj.metadata?.namespace ?? '';
    const name = obj.metadata?.name ?? '';
    // A ScaledJob's env comes from its own jobTargetRef.template.
    if (isScaledJob(obj)) return triggerAuth.resolveFor(dependentKey('ScaledJob', namespace, name), scalableFromScaledJob(obj), []);
    const target = await resolveScaleTarget(client, obj).catch(() => undefined);
    const workload = target ? await workloads.read(target) : undefined;
    const targetKeys = target ? [workloadKey(target.resource.group, target.resource.resource, namespace, target.name)] : [];
    return triggerAuth.resolveFor(dependentKey('ScaledObject', namespace, name), scalableFromScaledObject(obj, podTemplateOf(workload)), targetKeys);
  };
  return async (obj) => {
    const auth = await resolve(obj);
    return { resolvedEnv: auth.resolvedEnv, authParams: auth.authParams, authenticationKind: auth.authenticationKind };
  };
}

/**
 * The controller process, composed: a controller manager (shared informers, leader gating, start
 * and stop order) running the ScaledObject, ScaledJob and TriggerAuthentication controllers, and
 * what they share (API clients, the Event recorder, the scalers cache, status writers, the metrics
 * cache, decision traces). Each controller owns its watches and predicates; this class only wires.
 */
export class Operator {
  readonly client: KubeClient;
  readonly manager: ControllerManager;
  /** The cap on scaler reads in flight, shared by the loops and GetMetrics. */
  readonly readSlots: ReadSlots;
  /** Answers GetMetrics for the gRPC metrics service. */
  readonly metricsProvider: ScaledObjectMetricsProvider;
  /** The recent decisions per object, served by the debug gRPC service. */
  readonly traces: DecisionTraces;
  /** Trigger authentication: informers, resolver, dependency index. */
  readonly triggerAuth: TriggerAuthWatch;
  private readonly eventsClient: KubeClient;
  private readonly events: EventRecorder;
  private readonly scalers: ScalersCache;
  private readonly scaledObjects: ScaledObjectController;
  private readonly scaledJobs: ScaledJobController;
  private readonly logger: Logger;

  constructor(options: OperatorOptions) {
    const { logger } = options;
    this.logger = logger;
    const metrics = options.metrics ?? noopOperatorMetrics;
    const now = options.now ?? (() => new Date());
    const metricTimeoutMs = options.metricTimeoutMs ?? 10_000;
    const namespaces = options.watchNamespaces?.length ? options.watchNamespaces : [''];
    this.traces = new DecisionTraces(options.decisionTraceSize ?? 10);
    // The fence: a standby, or a leader that just lost the Lease, sends no write at all.
    const clientOptions = {
      qps: options.qps,
      burst: options.burst,
      onRequest: options.onRequest,
      userAgent: options.userAgent,
      refuseWrite: () => this.manager.refuseWrite(),
    };
    this.client = new KubeClient(options.kubeConfig, clientOptions);
    this.manager = new ControllerManager({ kubeConfig: options.kubeConfig, client: this.client, logger, standby: options.standby });
    // Events get their own rate limit, so that they never hold up reconciles and scaling; the
    // recorder's bounded queue and few writers keep its waiters bounded (the cap is a backstop).
    this.eventsClient = new KubeClient(options.kubeConfig, { ...clientOptions, maxQueuedRequests: 16 });
    this.events = new EventRecorder(this.eventsClient, logger, undefined, undefined, { onDropped: (reason) => metrics.eventDropped(reason) });
    if (options.onEvent) this.events.addListener(options.onEvent);
    this.readSlots = new ReadSlots(options.maxConcurrentScalerReads ?? DEFAULT_MAX_CONCURRENT_SCALER_READS);
    metrics.watchScalerReads(this.readSlots);
    const pods = new PodReader(this.client);

    this.triggerAuth = this.manager.register(
      new TriggerAuthWatch({
        kubeConfig: options.kubeConfig,
        client: this.client,
        informers: this.manager.informers,
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
      }),
    );
    this.manager.register(
      new TriggerAuthController({
        client: this.client,
        events: this.events,
        logger,
        triggerAuthentications: this.triggerAuth.triggerAuthentications.all,
        clusterTriggerAuthentications: this.triggerAuth.clusterTriggerAuthentications,
      }),
    );
    const workloads = new WorkloadCache(this.manager.informers, namespaces, this.client);
    this.scalers = new ScalersCache(
      options.registry,
      { httpTimeoutMs: options.httpTimeoutMs ?? 3000, now, kubernetes: pods, logger, filePathRoot: options.filePathAuthRootPath, egress: options.scalerEgress },
      scalerEnvResolver(this.client, this.triggerAuth, workloads),
      {
        // A pushed `true` runs the object's scale check at once; `false` waits for the next poll.
        onPushActivity: (key, triggerIndex, isActive) => {
          logger.debug({ key, triggerIndex, isActive }, 'push scaler reported activity');
          if (isActive) this.scaledObjects.pokeNow(key);
        },
        metrics,
      },
    );
    const shared = { manager: this.manager, namespaces, labelSelector: options.labelSelector, client: this.client, events: this.events, scalers: this.scalers, triggerAuth: this.triggerAuth };
    const timing = { traces: this.traces, readSlots: this.readSlots, metrics, logger, kedaVersion: options.kedaVersion, now, metricTimeoutMs, onScaleLoopLag: options.onScaleLoopLag };
    this.scaledObjects = this.manager.register(
      new ScaledObjectController({
        ...shared,
        ...timing,
        pods,
        workloads,
        statusWriter: scaledObjectStatusWriter(this.client),
        metricsCache: new MetricsCache(),
        health: new HealthLedger(),
        maxReconciles: options.scaledObjectMaxReconciles ?? 5,
        rawMetrics: options.rawMetrics,
      }),
    );
    this.scaledJobs = this.manager.register(
      new ScaledJobController({
        ...shared,
        ...timing,
        statusWriter: scaledJobStatusWriter(this.client),
        maxReconciles: options.scaledJobMaxReconciles ?? 1,
        onPoll: options.onScaledJobPoll,
      }),
    );
    this.metricsProvider = this.scaledObjects.metricsProvider;

    // A changed Secret, ConfigMap, (Cluster)TriggerAuthentication or scale-target pod template rebuilds the scalers that read it.
    workloads.onTemplateChange((key) => this.triggerAuth.changed(key));
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
      void this.scalers.invalidate(key).finally(() => this.scaledObjects.enqueue(key));
    });
  }

  /** Starts the informers (ScaledObjects and ScaledJobs last, so reconciles find the other caches synced) and the controllers. */
  start(): Promise<void> {
    return this.manager.start();
  }

  /** Caches synced: the readiness of the controller. */
  get ready(): boolean {
    return this.manager.ready;
  }

  get scaleLoopCount(): number {
    return this.scaledObjects.loopCount;
  }

  get scaledJobLoopCount(): number {
    return this.scaledJobs.loopCount;
  }

  get isLeading(): boolean {
    return this.manager.isLeading;
  }

  /** This replica leads from now on: every cached ScaledObject and ScaledJob is reconciled, which starts its scale loop. */
  startLeading(): void {
    this.manager.startLeading();
  }

  /**
   * This replica no longer leads: writes are refused from this moment (a request already on the
   * wire cannot be recalled), scale loops are cancelled and queued reconciles become no-ops.
   * Informers keep running, so leading again starts from warm caches.
   */
  stopLeading(): void {
    if (!this.manager.isLeading) return;
    this.logger.warn({ scaleLoops: this.scaleLoopCount + this.scaledJobLoopCount }, 'not leading: stopped the scale loops, writes are refused');
    this.manager.stopLeading();
  }

  /**
   * Graceful shutdown: no new reconcile or scale-loop tick starts; the ones running finish (their
   * writes included), the last active times status lacks are written (bounded, still leading), then
   * the informers and connections close. That status is what the next leader continues from.
   */
  async stop(): Promise<void> {
    await this.manager.stop();
    await this.scalers.closeAll();
    this.events.close();
    this.client.close();
    this.eventsClient.close();
  }
}
