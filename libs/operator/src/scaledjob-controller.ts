import { API_GROUP, API_VERSION, Annotations, Labels, type ScaledJob } from '@keda-ts/api';
import { leaderWorkQueue, type ControllerManager, type WorkQueue, type EventRecorder, type KubeClient, type ManagedController, type NamespacedWatch } from '@keda-ts/k8s';
import type { Logger } from '@keda-ts/runtime';
import type { PodLike } from '@keda-ts/scaling';
import type { DecisionTraces } from './decision-trace';
import type { OperatorMetricsRecorder } from './prometheus';
import type { ReadSlots } from './read-slots';
import { flushLastActiveTimes, LastActiveLedger } from './last-active-ledger';
import { leaderScaleLoops, type ScaleLoops } from './scale-loops';
import type { ScalersCache } from './scalers-cache';
import { parseScaledJobKey, ScaledJobPoller, scaledJobKey, type JobObject, type ScaledJobPollOutcome } from './scaledjob-poller';
import { ScaledJobReconciler } from './scaledjob-reconciler';
import type { ScaledJobStatusWriter } from './status';
import type { TriggerAuthWatch } from './trigger-auth/watch';

interface LabelledObject {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
}

/** Which ScaledJob updates deserve a reconcile: generation, the pause annotation, deletion (spec §1.5). */
export function scaledJobChangeMatters(old: ScaledJob | undefined, obj: ScaledJob): boolean {
  if (!old) return true;
  if (old.metadata?.generation !== obj.metadata?.generation) return true;
  if (old.metadata?.annotations?.[Annotations.Paused] !== obj.metadata?.annotations?.[Annotations.Paused]) return true;
  return Boolean(old.metadata?.deletionTimestamp) !== Boolean(obj.metadata?.deletionTimestamp);
}

export interface ScaledJobControllerOptions {
  manager: ControllerManager;
  namespaces: readonly string[];
  /** WATCH_LABEL_SELECTOR. */
  labelSelector?: string;
  client: KubeClient;
  events: EventRecorder;
  scalers: ScalersCache;
  triggerAuth: TriggerAuthWatch;
  statusWriter: ScaledJobStatusWriter;
  traces: DecisionTraces;
  readSlots: ReadSlots;
  metrics: OperatorMetricsRecorder;
  logger: Logger;
  kedaVersion: string;
  now: () => Date;
  metricTimeoutMs: number;
  maxReconciles: number;
  onScaleLoopLag?: (key: string, lagMs: number) => void;
  onPoll?: (key: string, outcome: ScaledJobPollOutcome) => void;
}

/**
 * The ScaledJob controller: its informers (ScaledJobs, and the Jobs and Pods carrying the
 * `scaledjob.keda.sh/name` label, which the loops count every tick), the work queue and
 * reconciler, and one scale loop per ScaledJob. It shares the scalers cache with ScaledObjects.
 */
export class ScaledJobController implements ManagedController {
  readonly name = 'ScaledJob';
  private readonly scaledJobs: NamespacedWatch<ScaledJob>;
  private readonly loops: ScaleLoops;
  private readonly lastActive = new LastActiveLedger();
  private readonly poller: ScaledJobPoller;
  private readonly queue: WorkQueue;
  private readonly logger: Logger;

  constructor(options: ScaledJobControllerOptions) {
    const { manager, metrics, logger, client, events, scalers } = options;
    this.logger = logger;
    this.scaledJobs = manager.informers.namespaced<ScaledJob>(options.namespaces, `/apis/${API_GROUP}/${API_VERSION}`, 'scaledjobs', { labelSelector: options.labelSelector }, 'primary');
    const labelled = { labelSelector: Labels.ScaledJobName };
    const jobs = manager.informers.namespaced<LabelledObject>(options.namespaces, '/apis/batch/v1', 'jobs', labelled);
    const pods = manager.informers.namespaced<LabelledObject>(options.namespaces, '/api/v1', 'pods', labelled);
    const getScaledJob = (namespace: string, name: string) => this.scaledJobs.get(name, namespace);

    const poller = new ScaledJobPoller({
      client,
      events,
      scalers,
      logger,
      kedaVersion: options.kedaVersion,
      getScaledJob,
      now: options.now,
      metricTimeoutMs: options.metricTimeoutMs,
      readSlots: options.readSlots,
      onPoll: options.onPoll,
      onReadings: (key, readings, buildFailed) => {
        const { namespace, name } = parseScaledJobKey(key);
        // A failed read counts in keda_scaled_job_errors_total through its reading.
        metrics.scalerReadings('scaledjob', namespace, name, readings);
        if (buildFailed) metrics.scalableError('scaledjob', namespace, name);
      },
      traces: options.traces,
      statusWriter: options.statusWriter,
      lastActive: this.lastActive,
      cachedJobs: (namespace, name) => {
        if (!jobs.hasSynced || !pods.hasSynced) return undefined;
        const mine = (o: LabelledObject) => o.metadata?.labels?.[Labels.ScaledJobName] === name;
        return { jobs: jobs.list(namespace).filter(mine) as JobObject[], pods: pods.list(namespace).filter(mine) as PodLike[] };
      },
    });
    this.poller = poller;
    this.loops = leaderScaleLoops(
      () => manager.isLeading,
      {
        poll: (key) => poller.poll(key),
        intervalMs: (key) => poller.intervalMs(key),
        onStop: (key) => {
          const { namespace, name } = parseScaledJobKey(key);
          poller.forget(key);
          options.traces.forget('ScaledJob', namespace, name);
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
    const reconciler = new ScaledJobReconciler({ client, events, scalers, loops: this.loops, logger, getScaledJob, statusWriter: options.statusWriter });
    this.queue = leaderWorkQueue(manager, { kind: 'ScaledJob', concurrency: options.maxReconciles, logger }, (key) => {
      const { namespace, name } = parseScaledJobKey(key);
      return reconciler.reconcile(namespace, name);
    });
    const triggerTypes = (sj: ScaledJob) => (sj.spec?.triggers ?? []).map((t) => t.type);
    for (const w of this.scaledJobs.all) {
      w.on((type, obj, old) => {
        const namespace = obj.metadata?.namespace ?? '';
        const key = scaledJobKey(namespace, obj.metadata?.name ?? '');
        if (type === 'delete') options.triggerAuth.forget(key);
        // `old` is the informer's previous copy: a re-listed ScaledJob is not counted twice.
        if (old) metrics.resourceRegistered('scaled_job', namespace, -1, triggerTypes(old));
        if (type !== 'delete') metrics.resourceRegistered('scaled_job', namespace, 1, triggerTypes(obj));
        if (type !== 'update' || scaledJobChangeMatters(old, obj)) this.queue.add(key);
      });
    }
  }

  get loopCount(): number {
    return this.loops.size;
  }

  /** Every cached ScaledJob is reconciled, which starts its scale loop. */
  startLeading(): void {
    const keys = this.scaledJobs.list().map((o) => scaledJobKey(o.metadata?.namespace ?? '', o.metadata?.name ?? ''));
    this.logger.info({ scaledJobs: keys.length }, 'leading: reconciling every ScaledJob and starting its scale loop');
    for (const key of keys) this.queue.add(key);
  }

  stopLeading(): void {
    void this.loops.stopAll();
  }

  /** As the ScaledObjects': drain, then write the last active times that status lacks (informative for ScaledJobs). */
  async stop(): Promise<void> {
    this.lastActive.holdForFlush();
    await Promise.all([this.queue.stop(), this.loops.stopAll()]);
    await flushLastActiveTimes(this.lastActive, { kind: 'ScaledJob', logger: this.logger, write: (key, at) => this.poller.writeLastActiveTime(key, at) });
  }
}
