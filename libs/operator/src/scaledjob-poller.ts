import {
  API_GROUP_VERSION,
  CONDITIONS,
  ConditionStatus,
  ConditionType,
  Labels,
  conditionFrom,
  effectiveScaledJobPollingIntervalSeconds,
  getCondition,
  setCondition,
  type ScaledJob,
  type ScaledJobStatus,
  EventReason,
} from '@keda-ts/api';
import { EventRecorder, KubeClient, resourcePath } from '@keda-ts/k8s';
import type { Logger } from '@keda-ts/runtime';
import {
  countJobs,
  explainScaledJobPoll,
  historyJobsToDelete,
  isControlledBy,
  INFORMATIVE_LAST_ACTIVE_TIME_BOUND_MS,
  jobForScaledJob,
  parseQuantity,
  parseStatusTime,
  scaledJobDecision,
  scaledJobHistoryLimits,
  scaledJobScalingSettings,
  toStatusTime,
  type JobLike,
  type PodLike,
  type ScalerReadingForJobs,
} from '@keda-ts/scaling';
import type { MetricSpec } from '@keda-ts/scaler-sdk';
import { observeTriggers, type DecisionTraces } from './decision-trace';
import { LastActiveLedger } from './last-active-ledger';
import { readTriggerMetrics, type MetricReading } from './metric-evaluation';
import type { ReadSlots } from './read-slots';
import type { BuiltScalers, ScalersCache } from './scalers-cache';
import { scaledJobStatusWriter, type ScaledJobStatusWriter } from './status';

export const jobsResource = { group: 'batch', version: 'v1', resource: 'jobs' };
const podsResource = { group: '', version: 'v1', resource: 'pods' };

export interface JobObject extends JobLike {
  metadata?: JobLike['metadata'] & { labels?: Record<string, string> };
}

export interface ScaledJobPollerDeps {
  client: KubeClient;
  events: EventRecorder;
  scalers: ScalersCache;
  logger: Logger;
  kedaVersion: string;
  getScaledJob(namespace: string, name: string): ScaledJob | undefined;
  now(): Date;
  /** Upper bound of one metric read (a hanging source must not hold the loop). */
  metricTimeoutMs: number;
  /** The process-wide cap on scaler reads in flight. */
  readSlots?: ReadSlots;
  /** Called with each finished poll (for tests, metrics and benchmarks). */
  onPoll?(key: string, outcome: ScaledJobPollOutcome): void;
  /** Each poll's trigger readings, and whether its scalers could not be built (Prometheus). */
  onReadings?(key: string, readings: readonly MetricReading[], buildFailed: boolean): void;
  /**
   * The ScaledJob's Jobs and their pods from informer caches (as KEDA reads them through its
   * controller-runtime cache); undefined until the caches synced, and then the API is listed.
   */
  cachedJobs?(namespace: string, name: string): { jobs: JobObject[]; pods: PodLike[] } | undefined;
  /** Where each poll's readings and decision are remembered and explained (keda-ts explain). */
  traces?: DecisionTraces;
  /** The one status writer of ScaledJobs, shared with the reconciler (default: its own). */
  statusWriter?: ScaledJobStatusWriter;
  /** The last active times, between their (bounded) status writes (default: its own). */
  lastActive?: LastActiveLedger;
}

export interface ScaledJobPollOutcome {
  created: number;
  isActive: boolean;
  isError: boolean;
  running: number;
  pending: number;
  rule: string;
  deleted: number;
  ms: number;
}

/** ScaledJob loop keys are `ScaledJob/<namespace>/<name>` (ScaledObjects use `<namespace>/<name>`). */
export const scaledJobKey = (namespace: string, name: string) => `ScaledJob/${namespace}/${name}`;
export function parseScaledJobKey(key: string): { namespace: string; name: string } {
  const [, namespace, name] = key.split('/');
  return { namespace, name };
}

export function withScaledJobKind(sj: ScaledJob): ScaledJob {
  return { ...sj, apiVersion: API_GROUP_VERSION, kind: 'ScaledJob' };
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Jobs and their pods, listed by the `scaledjob.keda.sh/name` label. */
export async function listScaledJobJobs(client: KubeClient, namespace: string, name: string): Promise<JobObject[]> {
  const selector = encodeURIComponent(`${Labels.ScaledJobName}=${name}`);
  const list = await client.get<{ items: JobObject[] }>(`${resourcePath(jobsResource, namespace)}?labelSelector=${selector}`);
  return list.items;
}

async function listPods(client: KubeClient, namespace: string, name: string): Promise<PodLike[]> {
  const selector = encodeURIComponent(`${Labels.ScaledJobName}=${name}`);
  return (await client.get<{ items: PodLike[] }>(`${resourcePath(podsResource, namespace)}?labelSelector=${selector}`)).items;
}

function podsByJob(pods: readonly PodLike[]): Map<string, PodLike[]> {
  const byJob = new Map<string, PodLike[]>();
  for (const pod of pods) {
    const job = pod.metadata?.labels?.['job-name'] ?? pod.metadata?.labels?.['batch.kubernetes.io/job-name'];
    if (!job) continue;
    byJob.set(job, [...(byJob.get(job) ?? []), pod]);
  }
  return byJob;
}

/** Deletes Jobs with the given propagation; resolves the names deleted (a Job already gone counts). */
export async function deleteJobs(client: KubeClient, namespace: string, jobs: readonly JobLike[], propagation: 'Background' | 'Foreground'): Promise<string[]> {
  const deleted: string[] = [];
  for (const job of jobs) {
    const name = job.metadata?.name ?? '';
    try {
      await client.delete(resourcePath(jobsResource, namespace, name), { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: propagation });
    } catch (err) {
      if ((err as { status?: number }).status !== 404) throw err;
    }
    deleted.push(name);
  }
  return deleted;
}

/** Groups the readings per trigger with the scalers' specs (Step A input); cpu/memory triggers are skipped. */
function readingsForJobs(specsByTrigger: Map<number, { metricName: string; averageValue: number }[]>, readings: MetricReading[]): ScalerReadingForJobs[] {
  const out: ScalerReadingForJobs[] = [];
  for (const [index, specs] of specsByTrigger) {
    const mine = readings.filter((r) => r.triggerIndex === index);
    if (mine.length === 0 || mine.some((r) => r.outcome === 'error')) continue;
    out.push({
      specs,
      values: mine.flatMap((r) => r.metrics.map((m) => ({ metricName: m.metricName, value: m.value }))),
      isActive: mine.some((r) => r.isActive),
    });
  }
  return out;
}

/**
 * One iteration of a ScaledJob's scale loop (spec §1.4-§1.6, §1.9): read the triggers, count the
 * Jobs, create what the strategy says, write status and conditions, trim the history. Never throws.
 */
export class ScaledJobPoller {
  private readonly statusWriter: ScaledJobStatusWriter;
  private readonly lastActive: LastActiveLedger;

  constructor(private readonly deps: ScaledJobPollerDeps) {
    this.statusWriter = deps.statusWriter ?? scaledJobStatusWriter(deps.client);
    this.lastActive = deps.lastActive ?? new LastActiveLedger();
  }

  intervalMs(key: string): number | undefined {
    const { namespace, name } = parseScaledJobKey(key);
    const sj = this.deps.getScaledJob(namespace, name);
    return sj ? effectiveScaledJobPollingIntervalSeconds(sj) * 1000 : undefined;
  }

  async poll(key: string): Promise<void> {
    const started = performance.now();
    const { namespace, name } = parseScaledJobKey(key);
    const sj = this.deps.getScaledJob(namespace, name);
    if (!sj || sj.metadata?.deletionTimestamp) return;
    try {
      const outcome = await this.pollOnce(key, sj);
      this.deps.onPoll?.(key, { ...outcome, ms: performance.now() - started });
    } catch (err) {
      this.deps.logger.warn({ err: errorText(err), namespace, name }, 'ScaledJob scale loop iteration failed');
      this.deps.onPoll?.(key, { created: 0, isActive: false, isError: true, running: 0, pending: 0, rule: 'error', deleted: 0, ms: performance.now() - started });
    }
  }

  private async pollOnce(key: string, sj: ScaledJob): Promise<Omit<ScaledJobPollOutcome, 'ms'>> {
    const started = performance.now();
    const { client, events, logger } = this.deps;
    const namespace = sj.metadata?.namespace ?? '';
    const name = sj.metadata?.name ?? '';
    const subject = withScaledJobKind(sj);
    const settings = scaledJobScalingSettings(sj);

    // Step C's reads run while the triggers are read (Step A): they are independent, and the
    // time from a message arriving to its Job existing is what users wait for.
    const cached = this.deps.cachedJobs?.(namespace, name);
    const listing = cached
      ? Promise.resolve([cached.jobs, cached.pods] as const)
      : Promise.all([listScaledJobJobs(client, namespace, name), listPods(client, namespace, name)]);
    listing.catch(() => undefined);

    // Step A: the triggers.
    let readings: MetricReading[] = [];
    const specsByTrigger = new Map<number, { metricName: string; averageValue: number }[]>();
    let buildError: string | undefined;
    let built: BuiltScalers | undefined;
    try {
      built = await this.deps.scalers.get(key, sj);
      for (const entry of built.scalers) {
        let specs: MetricSpec[];
        try {
          specs = entry.scaler.getMetricSpecForScaling().filter((s) => s.type === 'External' && s.external);
        } catch {
          specs = [];
        }
        if (specs.length)
          specsByTrigger.set(
            entry.index,
            specs.map((s) => ({ metricName: s.external?.metric.name ?? '', averageValue: parseQuantity(s.external?.target.averageValue ?? '0') })),
          );
      }
      readings = (await readTriggerMetrics(built, { timeoutMs: this.deps.metricTimeoutMs, slots: this.deps.readSlots })).readings;
    } catch (err) {
      buildError = errorText(err);
    }
    const failures = [...(buildError ? [buildError] : []), ...readings.filter((r) => r.outcome === 'error').map((r) => r.error ?? 'unknown error')];
    for (const note of failures) events.emit(subject, { type: 'Warning', reason: EventReason.KEDAScalerFailed, note });
    const isError = failures.length > 0;
    this.deps.onReadings?.(key, readings, buildError !== undefined);
    // Rebuilt on the next tick: a source that went away gets fresh connections.
    if (isError) await this.deps.scalers.invalidate(key);

    // Step C: the Jobs that exist.
    const [jobs, podList] = await listing;
    const pods = podsByJob(podList);
    const counts = countJobs(jobs, (job) => pods.get(job) ?? [], settings.pendingPodConditions);

    // Steps B and D.
    const decision = scaledJobDecision(settings, readingsForJobs(specsByTrigger, readings), counts);
    let created = 0;
    if (decision.count > 0) {
      const manifest = jobForScaledJob(sj, this.deps.kedaVersion);
      for (let i = 0; i < decision.count; i++) {
        try {
          await client.create(resourcePath(jobsResource, namespace), manifest);
          created += 1;
        } catch (err) {
          events.emit(subject, { type: 'Warning', reason: EventReason.KEDAJobCreateFailed, note: `Failed to create job ${name}-: ${errorText(err)}` });
        }
      }
      events.emit(subject, { type: 'Normal', reason: EventReason.KEDAJobsCreated, note: `Created ${decision.count} jobs` });
      logger.info({ namespace, name, created, requested: decision.count, running: counts.running, pending: counts.pending }, 'created jobs');
    }

    // Status: Ready and Active for this tick.
    const status: ScaledJobStatus = { ...(sj.status ?? {}) };
    const traces = this.deps.traces;
    if (traces) {
      const triggers = observeTriggers(built, readings);
      const explanation = explainScaledJobPoll({
        triggers,
        decision: { count: decision.count, rule: decision.rule, isActive: decision.isActive, scaleTo: decision.scaleTo, maxScale: decision.maxScale },
        created,
        running: counts.running,
        pending: counts.pending,
        strategy: settings.strategy,
        maxReplicaCount: settings.effMax,
        buildError,
      });
      const now = this.deps.now();
      traces.record('ScaledJob', namespace, name, {
        time: now,
        triggers,
        decision: { action: 'createJobs', rule: decision.rule, scaleTo: decision.count > 0 ? decision.count : undefined, wrote: decision.count > 0 ? created === decision.count : undefined },
        currentReplicas: counts.running + counts.pending,
        explanation,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
      });
      const condition = traces.conditionToWrite('ScaledJob', namespace, name, explanation, now);
      if (condition) status.conditions = setCondition(status.conditions, condition);
    }
    const isActive = decision.isActive;
    const ready = isError ? (isActive ? CONDITIONS.scaledJobPartialTriggerError : CONDITIONS.scaledJobTriggerError) : CONDITIONS.scaledJobReadyLoop;
    status.conditions = setCondition(status.conditions, conditionFrom(ready));
    const wasActive = getCondition(sj.status?.conditions, ConditionType.Active)?.status === ConditionStatus.True;
    status.conditions = setCondition(status.conditions, conditionFrom(isActive ? CONDITIONS.scalerActive : CONDITIONS.scalerNotActive));
    if (isActive && !wasActive) events.emit(subject, { type: 'Normal', reason: EventReason.ScaledJobActive, note: 'Scaling is performed because triggers are active' });
    if (!isActive && wasActive) events.emit(subject, { type: 'Normal', reason: EventReason.ScaledJobInactive, note: 'Scaling is not performed because triggers are not active' });
    // Informative only (no ScaledJob decision reads it): written when the ScaledJob becomes active
    // and then at most once per INFORMATIVE_LAST_ACTIVE_TIME_BOUND_MS while it stays active.
    const storedLastActive = parseStatusTime(sj.status?.lastActiveTime);
    const lastActiveToWrite = this.lastActive.record(key, {
      active: isActive,
      at: this.deps.now(),
      stored: storedLastActive,
      boundMs: INFORMATIVE_LAST_ACTIVE_TIME_BOUND_MS,
      transition: !(this.lastActive.wasActive(key) ?? wasActive),
    });
    if (lastActiveToWrite) status.lastActiveTime = toStatusTime(lastActiveToWrite);
    if (readings.length) status.triggersActivity = Object.fromEntries(readings.map((r) => [r.metricName, { isActive: r.isActive && r.outcome !== 'error' }]));
    const lastActiveRider = lastActiveToWrite ? undefined : this.lastActive.behind(key, storedLastActive);
    try {
      const written = await this.statusWriter.write(sj, sj.status, status, lastActiveRider ? { lastActiveTime: toStatusTime(lastActiveRider) } : undefined);
      if (lastActiveToWrite) this.lastActive.wrote(key, lastActiveToWrite);
      else if (lastActiveRider && written) this.lastActive.wrote(key, lastActiveRider);
    } catch (err) {
      logger.warn({ err: errorText(err), namespace, name }, 'could not write the ScaledJob status');
    }

    // §1.9: history cleanup, after every decision.
    let deleted = 0;
    const limits = scaledJobHistoryLimits(sj);
    // Only Jobs this ScaledJob created: a Job that just carries the label is not ours to delete.
    const excess = historyJobsToDelete(jobs.filter((j) => isControlledBy(j, sj.metadata?.uid)), limits.successful, limits.failed);
    if (excess.length) {
      try {
        deleted = (await deleteJobs(client, namespace, excess, 'Background')).length;
      } catch (err) {
        logger.warn({ err: errorText(err), namespace, name }, 'history cleanup of finished jobs failed');
      }
    }
    return { created, isActive, isError, running: counts.running, pending: counts.pending, rule: decision.rule, deleted };
  }

  /** The loop of `key` stopped. */
  forget(key: string): void {
    this.lastActive.forget(key);
  }

  /** Writes `at` as status.lastActiveTime when the cached ScaledJob shows an older one (a graceful stop); resolves whether it wrote. */
  async writeLastActiveTime(key: string, at: Date): Promise<boolean> {
    const { namespace, name } = parseScaledJobKey(key);
    const sj = this.deps.getScaledJob(namespace, name);
    if (!sj || sj.metadata?.deletionTimestamp) return false;
    const stored = parseStatusTime(sj.status?.lastActiveTime);
    if (stored && stored.getTime() >= at.getTime()) return false;
    return (await this.statusWriter.write(sj, sj.status, { ...(sj.status ?? {}), lastActiveTime: toStatusTime(at) })) !== undefined;
  }
}
