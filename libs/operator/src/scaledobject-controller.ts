import { API_GROUP, API_VERSION, Annotations, ConditionStatus, ConditionType, getCondition, type HorizontalPodAutoscaler, type ScaledObject } from '@keda-ts/api';
import { leaderWorkQueue, type ControllerManager, type WorkQueue, type EventRecorder, type KubeClient, type ManagedController, type NamespacedWatch, type PodReader } from '@keda-ts/k8s';
import type { Logger } from '@keda-ts/runtime';
import { hpaTargetKey, isDeepDerivative, scaledObjectTargetKey } from '@keda-ts/scaling';
import type { DecisionTraces } from './decision-trace';
import type { HealthLedger } from './health-ledger';
import { flushLastActiveTimes, LastActiveLedger } from './last-active-ledger';
import type { MetricsCache } from './metrics-cache';
import { ScaledObjectMetricsProvider } from './metrics-provider';
import type { OperatorMetricsRecorder } from './prometheus';
import type { ReadSlots } from './read-slots';
import { rawTriggerValues, type RawMetricsHub } from './raw-metrics';
import { leaderScaleLoops, type ScaleLoops } from './scale-loops';
import type { ScalersCache } from './scalers-cache';
import { ScaledObjectPoller } from './scaledobject-poller';
import { ScaledObjectReconciler } from './scaledobject-reconciler';
import type { ScaledObjectStatusWriter } from './status';
import { TargetIndex } from './target-index';
import { dependentKey } from './trigger-auth/dependencies';
import type { TriggerAuthWatch } from './trigger-auth/watch';
import type { WorkloadCache } from './workload-cache';

const PAUSE_KEYS = [Annotations.Paused, Annotations.PausedReplicas, Annotations.PausedScaleIn, Annotations.PausedScaleOut, Annotations.ForceActivation];

const keyOf = (obj: { metadata?: { namespace?: string; name?: string } }) => `${obj.metadata?.namespace}/${obj.metadata?.name}`;
const splitKey = (key: string) => key.split('/') as [string, string];

/**
 * Which ScaledObject updates deserve a reconcile. `ownReadyWrite`: `obj` is the reconciler's own
 * status write. Its Ready=True is no news; reconciling on it let a failing scale loop (which sets
 * Ready=False/TriggerError every poll it finds the status True) and the reconciler (Ready=True)
 * re-trigger each other once a reconcile ran late, a status write per poll per object.
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

/** Which changes of an owned HPA deserve a reconcile of its ScaledObject. */
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

export interface ScaledObjectControllerOptions {
  manager: ControllerManager;
  namespaces: readonly string[];
  /** WATCH_LABEL_SELECTOR. */
  labelSelector?: string;
  client: KubeClient;
  pods: PodReader;
  events: EventRecorder;
  scalers: ScalersCache;
  triggerAuth: TriggerAuthWatch;
  workloads: WorkloadCache;
  statusWriter: ScaledObjectStatusWriter;
  metricsCache: MetricsCache;
  traces: DecisionTraces;
  /** Fallback failure counts, shared by the scale loops and GetMetrics. */
  health: HealthLedger;
  readSlots: ReadSlots;
  metrics: OperatorMetricsRecorder;
  logger: Logger;
  kedaVersion: string;
  now: () => Date;
  metricTimeoutMs: number;
  maxReconciles: number;
  onScaleLoopLag?: (key: string, lagMs: number) => void;
  /** KEDA's raw metrics stream (--raw-metrics-grpc-protocol=enabled): every read is published to it. */
  rawMetrics?: RawMetricsHub;
}

/**
 * The ScaledObject controller: its informers (ScaledObjects, HPAs), the ownership indexes, the work
 * queue and reconciler, one scale loop per ScaledObject and the GetMetrics provider.
 */
export class ScaledObjectController implements ManagedController {
  readonly name = 'ScaledObject';
  readonly metricsProvider: ScaledObjectMetricsProvider;
  private readonly scaledObjects: NamespacedWatch<ScaledObject>;
  private readonly hpas: NamespacedWatch<HorizontalPodAutoscaler>;
  private readonly queue: WorkQueue;
  private readonly loops: ScaleLoops;
  private readonly logger: Logger;
  private readonly lastActive = new LastActiveLedger();
  private readonly poller: ScaledObjectPoller;

  constructor(options: ScaledObjectControllerOptions) {
    const { manager, metrics, logger, client, events, scalers } = options;
    this.logger = logger;
    this.scaledObjects = manager.informers.namespaced<ScaledObject>(options.namespaces, `/apis/${API_GROUP}/${API_VERSION}`, 'scaledobjects', { labelSelector: options.labelSelector }, 'primary');
    // One informer per watched namespace (one cluster-wide without WATCH_NAMESPACE): the chart binds the HPA rights per namespace then.
    this.hpas = manager.informers.namespaced<HorizontalPodAutoscaler>(options.namespaces, '/apis/autoscaling/v2', 'horizontalpodautoscalers');
    const getScaledObject = (namespace: string, name: string) => this.scaledObjects.get(name, namespace);
    const cachedReplicas = options.workloads.replicas.bind(options.workloads);

    const poller = new ScaledObjectPoller({
      client,
      isLeading: () => manager.isLeading,
      lastActive: this.lastActive,
      pods: options.pods,
      events,
      scalers,
      logger,
      getScaledObject,
      getHpa: (namespace, name) => this.hpas.get(name, namespace),
      now: options.now,
      metricTimeoutMs: options.metricTimeoutMs,
      readSlots: options.readSlots,
      cachedReplicas,
      traces: options.traces,
      health: options.health,
      statusWriter: options.statusWriter,
      metricsCache: options.metricsCache,
      onPoll: (key, _so, evaluation, rule) => {
        const [ns, name] = splitKey(key);
        if (evaluation) {
          metrics.scalerReadings('scaledobject', ns, name, evaluation.readings);
          options.rawMetrics?.publish(ns, name, rawTriggerValues(evaluation.readings), options.now(), 'poll');
        }
        // No evaluation with a resolved target: the scalers could not be built.
        else if (rule !== 'target-not-resolved') metrics.scalableError('scaledobject', ns, name);
      },
    });
    this.poller = poller;
    this.loops = leaderScaleLoops(
      () => manager.isLeading,
      {
        poll: (key) => poller.poll(key),
        intervalMs: (key) => poller.intervalMs(key),
        onStop: (key) => {
          poller.forget(key);
          metrics.forget('scaledobject', ...splitKey(key));
        },
        onLag: (key, lagMs) => {
          metrics.scaleLoopLag('scaledobject', ...splitKey(key), lagMs);
          options.onScaleLoopLag?.(key, lagMs);
        },
      },
      (key) => getScaledObject(...splitKey(key))?.metadata?.generation ?? 0,
    );
    // The ownership guards: who else scales a target (ScaledObjects, HPAs), from the caches.
    const scaledObjectsByTarget = new TargetIndex<ScaledObject>(scaledObjectTargetKey);
    const hpasByTarget = new TargetIndex<HorizontalPodAutoscaler>(hpaTargetKey);
    const reconciler = new ScaledObjectReconciler({
      client,
      events,
      scalers,
      loops: this.loops,
      logger,
      kedaVersion: options.kedaVersion,
      getScaledObject,
      cachedHpa: (namespace, name) => {
        const hpas = this.hpas.covering(namespace);
        return hpas?.hasSynced ? (hpas.get(name, namespace) ?? null) : undefined;
      },
      cachedReplicas,
      scaledObjectsOnTarget: (targetKey) => scaledObjectsByTarget.on(targetKey),
      hpasOnTarget: (targetKey) => hpasByTarget.on(targetKey),
      statusWriter: options.statusWriter,
    });
    this.queue = leaderWorkQueue(manager, { kind: 'ScaledObject', concurrency: options.maxReconciles, logger }, (key) => reconciler.reconcile(...splitKey(key)));
    const requeueOthersOn = (targetKeys: string[], except?: string) => {
      for (const t of targetKeys) for (const other of scaledObjectsByTarget.on(t)) if (keyOf(other) !== except) this.queue.add(keyOf(other));
    };
    for (const w of this.scaledObjects.all) {
      // A ScaledObject that leaves (or changes) a target lets the next one there take it, at once.
      w.on((type, obj, old) => {
        const moved = scaledObjectsByTarget.apply(type, obj);
        if (type !== 'update' || scaledObjectTargetKey(obj) !== scaledObjectTargetKey(old ?? obj)) requeueOthersOn(moved, keyOf(obj));
      });
      w.on((type, obj, old) => {
        if (type === 'delete') options.triggerAuth.forget(dependentKey('ScaledObject', obj.metadata?.namespace ?? '', obj.metadata?.name ?? ''));
        // `old` is the informer's previous copy, so a re-listed object is not counted twice.
        metrics.scaledObjectChanged(old, type === 'delete' ? undefined : obj);
        const own = type === 'update' && reconciler.isOwnStatusWrite(obj.metadata?.namespace ?? '', obj.metadata?.name ?? '', obj.metadata?.resourceVersion);
        if (type !== 'update' || scaledObjectChangeMatters(old, obj, own)) this.queue.add(keyOf(obj));
      });
    }
    for (const hpas of this.hpas.all)
      hpas.on((type, obj, old) => {
        const targets = hpasByTarget.apply(type, obj);
        // An HPA that appears or goes on a target may unblock (or block the start of) its ScaledObjects.
        if (type !== 'update' || hpaTargetKey(obj) !== hpaTargetKey(old ?? obj)) requeueOthersOn(targets);
        const owner = ownerScaledObject(obj);
        if (owner && (type === 'delete' || (type === 'update' && hpaChangeMatters(old, obj)))) this.queue.add(owner);
      });

    this.metricsProvider = new ScaledObjectMetricsProvider({
      getScaledObject,
      scalers,
      metricsCache: options.metricsCache,
      statusWriter: options.statusWriter,
      client,
      pods: options.pods,
      now: options.now,
      metricTimeoutMs: options.metricTimeoutMs,
      readSlots: options.readSlots,
      health: options.health,
      onReadings: (ns, name, readings, at) => options.rawMetrics?.publish(ns, name, rawTriggerValues(readings), at, 'hpa'),
    });
  }

  /** A push scaler reported activity: the object's scale check runs now. */
  pokeNow(key: string): void {
    this.loops.pokeNow(key);
  }

  get loopCount(): number {
    return this.loops.size;
  }

  /** Every cached ScaledObject is reconciled, which starts its scale loop. */
  startLeading(): void {
    const keys = this.scaledObjects.list().map(keyOf);
    this.logger.info({ scaledObjects: keys.length }, 'leading: reconciling every ScaledObject and starting its scale loop');
    for (const key of keys) this.queue.add(key);
  }

  stopLeading(): void {
    void this.loops.stopAll();
  }

  /**
   * No new reconcile or scale-loop tick starts; the running ones finish, their writes included.
   * Then, still leading (the Lease is released after this), the last active times that status
   * lacks are written, so the next leader's cooldowns are exact.
   */
  async stop(): Promise<void> {
    this.lastActive.holdForFlush();
    await Promise.all([this.queue.stop(), this.loops.stopAll()]);
    await flushLastActiveTimes(this.lastActive, { kind: 'ScaledObject', logger: this.logger, write: (key, at) => this.poller.writeLastActiveTime(key, at) });
  }

  /** Reconciles `key` (e.g. after its scalers were rebuilt). */
  enqueue(key: string): void {
    this.queue.add(key);
  }
}
