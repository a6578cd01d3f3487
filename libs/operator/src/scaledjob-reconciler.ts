import {
  CONDITIONS,
  ConditionStatus,
  ConditionType,
  KEDA_FINALIZER,
  ScaledJobCheckMessage,
  authenticationsTypesOf,
  conditionFrom,
  effectivePropagationPolicy,
  effectiveRolloutStrategy,
  getCondition,
  initialConditions,
  isAnnotationTruthy,
  Annotations,
  needsInitialConditions,
  scaledJobCheckFailedCondition,
  setCondition,
  triggersTypesOf,
  validateTriggers,
  type Condition,
  type ScaledJob,
  type ScaledJobStatus,
  EventReason,
} from '@keda-ts/api';
import { EventRecorder, KubeClient, resourcePath } from '@keda-ts/k8s';
import type { Logger } from '@keda-ts/runtime';
import { isControlledBy, oldGenerationJobs } from '@keda-ts/scaling';
import type { ScaleLoopControl } from './scaledobject-reconciler';
import { deleteJobs, listScaledJobJobs, scaledJobKey, withScaledJobKind } from './scaledjob-poller';
import { ScalersCache } from './scalers-cache';
import { scaledJobStatusWriter, scaledJobsResource, type ScaledJobStatusWriter } from './status';
import { step, StepError, stepFailure } from './reconcile-step';

export interface ScaledJobReconcilerDeps {
  client: KubeClient;
  events: EventRecorder;
  scalers: ScalersCache;
  loops: ScaleLoopControl;
  logger: Logger;
  /** Reads the latest ScaledJob from the informer cache. */
  getScaledJob(namespace: string, name: string): ScaledJob | undefined;
  /** The one status writer of ScaledJobs, shared with the scale loops (default: its own). */
  statusWriter?: ScaledJobStatusWriter;
}

/**
 * The ScaledJob reconcile pipeline (spec §1.4, §1.5, §1.8): finalizer, conditions, jobTargetRef,
 * pause, trigger checks, status fields, rollout cleanup, scalers, scale loop. Idempotent; a thrown
 * error is retried with backoff by the work queue.
 */
export class ScaledJobReconciler {
  private readonly statusWriter: ScaledJobStatusWriter;

  constructor(private readonly deps: ScaledJobReconcilerDeps) {
    this.statusWriter = deps.statusWriter ?? scaledJobStatusWriter(deps.client);
  }

  async reconcile(namespace: string, name: string): Promise<void> {
    const key = scaledJobKey(namespace, name);
    const sj = this.deps.getScaledJob(namespace, name);
    if (!sj) {
      this.deps.loops.stop(key);
      await this.deps.scalers.invalidate(key);
      return;
    }
    if (sj.metadata?.deletionTimestamp) return this.finalize(key, sj);
    const current = await this.ensureFinalizer(sj);
    let status: ScaledJobStatus = { ...(current.status ?? {}) };
    if (needsInitialConditions(status.conditions)) status.conditions = mergeInitial(status.conditions);
    const readyBefore = getCondition(current.status?.conditions, ConditionType.Ready)?.status;
    try {
      status = await this.reconcileSpec(key, current, status);
      status.conditions = setCondition(status.conditions, conditionFrom(CONDITIONS.scaledJobReady));
      if (readyBefore !== ConditionStatus.True) {
        this.deps.events.emit(withScaledJobKind(current), { type: 'Normal', reason: EventReason.ScaledJobReady, note: 'ScaledJob is ready for scaling' });
      }
    } catch (err) {
      const { message: stepMessage, cause } = stepFailure(err, 'ScaledJob reconcile failed');
      const failed = scaledJobCheckFailedCondition(stepMessage, cause);
      status.conditions = setCondition(setCondition(status.conditions, failed), conditionFrom(CONDITIONS.scaledJobCheckFailedActive));
      this.deps.events.emit(withScaledJobKind(current), { type: 'Warning', reason: EventReason.ScaledJobCheckFailed, note: failed.message ?? stepMessage });
      await this.patchStatus(current, status).catch((e: unknown) =>
        this.deps.logger.warn({ err: String(e), namespace, name }, 'could not write the failed ScaledJob status'),
      );
      throw err;
    }
    // Outside the try: a refused status write is an update failure, not a failed check.
    await this.patchStatus(current, status);
  }

  /** Patches the status; a refused write is told on the ScaledJob (ScaledJobUpdateFailed) and thrown. */
  private async patchStatus(sj: ScaledJob, status: ScaledJobStatus): Promise<void> {
    try {
      await this.statusWriter.write(sj, sj.status, status);
    } catch (err) {
      this.deps.events.emit(withScaledJobKind(sj), { type: 'Warning', reason: EventReason.ScaledJobUpdateFailed, note: `failed to update the ScaledJob status: ${errorText(err)}` });
      throw err;
    }
  }

  private async reconcileSpec(key: string, sj: ScaledJob, statusIn: ScaledJobStatus): Promise<ScaledJobStatus> {
    const status = { ...statusIn };
    const subject = withScaledJobKind(sj);
    if (!sj.spec.jobTargetRef) throw new StepError(ScaledJobCheckMessage.JobTargetRefNotFound, new Error('spec.jobTargetRef is required'));

    // Pause: an unparsable value counts as paused; the loop stops, and Ready stays True.
    const paused = isAnnotationTruthy(sj.metadata?.annotations?.[Annotations.Paused]);
    const wasPaused = getCondition(status.conditions, ConditionType.Paused)?.status === ConditionStatus.True;
    if (paused) {
      try {
        if (!wasPaused) {
          status.conditions = setCondition(status.conditions, conditionFrom(CONDITIONS.scaledJobPaused));
          status.Paused = 'true';
          // Persisted first, so a pause that took effect is visible even if the rest fails.
          await this.statusWriter.write(sj, sj.status, status);
          this.deps.events.emit(subject, { type: 'Normal', reason: EventReason.ScaledJobPaused, note: 'ScaledJob is paused' });
        }
        if (this.deps.loops.stop(key)) this.deps.events.emit(subject, { type: 'Normal', reason: EventReason.KEDAScalersStopped, note: 'Stopped scalers watch' });
        await this.deps.scalers.invalidate(key);
      } catch (err) {
        this.deps.events.emit(subject, { type: 'Warning', reason: EventReason.ScaledJobPauseFailed, note: `failed to pause the ScaledJob: ${errorText(err)}` });
        throw new StepError('Failed to pause the ScaledJob', err);
      }
      this.deps.logger.info({ key }, ScaledJobCheckMessage.PausedSkipping);
      return status;
    }
    if (wasPaused) {
      status.conditions = setCondition(status.conditions, conditionFrom(CONDITIONS.scaledJobUnpaused));
      status.Paused = undefined;
      this.deps.events.emit(subject, { type: 'Normal', reason: EventReason.ScaledJobUnpaused, note: 'ScaledJob is unpaused' });
    }

    const problems = validateTriggers(sj.spec.triggers);
    if (problems.length) throw new StepError(ScaledJobCheckMessage.Triggers, new Error(problems.map((p) => p.message).join('; ')));
    for (const t of sj.spec.triggers) {
      if (t.useCachedMetrics) this.deps.logger.warn({ key, trigger: t.name ?? t.type }, 'useCachedMetrics is not supported for ScaledJob triggers');
      if ((t as { metricType?: string }).metricType) throw new StepError(ScaledJobCheckMessage.MetricType, new Error(`trigger ${t.name ?? t.type} sets metricType`));
    }
    status.triggersTypes = triggersTypesOf(sj.spec.triggers) || undefined;
    status.authenticationsTypes = authenticationsTypesOf(sj.spec.triggers) || undefined;

    await this.rolloutCleanup(sj);

    const built = await step(ScaledJobCheckMessage.EnsureCreated, () =>
      this.deps.scalers.get(key, sj).catch((err: unknown) => {
        this.deps.events.emit(subject, { type: 'Warning', reason: EventReason.KEDAScalerFailed, note: err instanceof Error ? err.message : String(err) });
        throw err;
      }),
    );
    status.externalMetricNames = ScalersCache.metricSpecs(built).flatMap((s) => (s.type === 'External' && s.external ? [s.external.metric.name] : []));

    const generation = sj.metadata?.generation ?? 0;
    if (this.deps.loops.generation(key) !== generation) {
      const hadLoop = this.deps.loops.start(key, true);
      if (!hadLoop) this.deps.events.emit(subject, { type: 'Normal', reason: EventReason.KEDAScalersStarted, action: 'ScalersWatchStarted', note: 'Started scalers watch' });
    }
    return status;
  }

  /** §1.8: immediate rollout deletes Jobs of older generations; gradual leaves them running. */
  private async rolloutCleanup(sj: ScaledJob): Promise<void> {
    if (effectiveRolloutStrategy(sj) === 'gradual') return;
    const namespace = sj.metadata?.namespace ?? '';
    const name = sj.metadata?.name ?? '';
    const jobs = await step(ScaledJobCheckMessage.ListJobs, () => listScaledJobJobs(this.deps.client, namespace, name));
    // Only the Jobs this ScaledJob created (ownerReference uid): another Job with the label stays.
    const old = oldGenerationJobs(jobs.filter((j) => isControlledBy(j, sj.metadata?.uid)), sj.metadata?.generation ?? 0);
    if (old.length === 0) return;
    const subject = withScaledJobKind(sj);
    this.deps.events.emit(subject, {
      type: 'Normal',
      reason: EventReason.ScaledJobRolloutCleanupStarted,
      note: `Deleting ${old.length} jobs owned by the previous version of the scaledJob`,
    });
    const propagation = effectivePropagationPolicy(sj) === 'foreground' ? 'Foreground' : 'Background';
    try {
      await deleteJobs(this.deps.client, namespace, old, propagation);
    } catch (err) {
      this.deps.events.emit(subject, { type: 'Warning', reason: EventReason.ScaledJobRolloutCleanupFailed, note: `Failed to delete jobs of the previous version: ${String(err)}` });
      throw new StepError(`Not able to delete job: ${old.map((j) => j.metadata?.name).join(',')}`, err);
    }
    this.deps.events.emit(subject, {
      type: 'Normal',
      reason: EventReason.ScaledJobRolloutCleanupCompleted,
      note: `Deleted ${old.length} jobs owned by the previous version of the scaledJob`,
    });
  }

  private async ensureFinalizer(sj: ScaledJob): Promise<ScaledJob> {
    const finalizers = sj.metadata?.finalizers ?? [];
    if (finalizers.includes(KEDA_FINALIZER)) return sj;
    return this.deps.client.patch<ScaledJob>(resourcePath(scaledJobsResource, sj.metadata?.namespace, sj.metadata?.name), {
      metadata: { resourceVersion: sj.metadata?.resourceVersion, finalizers: [...finalizers, KEDA_FINALIZER] },
    });
  }

  /** Stop the loop, close the scalers, drop the finalizer (the Jobs go with the garbage collector). */
  private async finalize(key: string, sj: ScaledJob): Promise<void> {
    const finalizers = sj.metadata?.finalizers ?? [];
    if (!finalizers.includes(KEDA_FINALIZER)) return;
    this.deps.loops.stop(key);
    await this.deps.scalers.invalidate(key);
    await this.deps.client.patch(resourcePath(scaledJobsResource, sj.metadata?.namespace, sj.metadata?.name), {
      metadata: { resourceVersion: sj.metadata?.resourceVersion, finalizers: finalizers.filter((f) => f !== KEDA_FINALIZER) },
    });
    this.deps.events.emit(withScaledJobKind(sj), { type: 'Normal', reason: EventReason.ScaledJobDeleted, note: 'ScaledJob was deleted' });
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function mergeInitial(existing: Condition[] | undefined): Condition[] {
  let list = existing ?? [];
  for (const c of initialConditions()) if (!getCondition(list, c.type)) list = setCondition(list, c);
  return list;
}
