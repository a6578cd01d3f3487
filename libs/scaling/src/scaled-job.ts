/**
 * ScaledJob decisions (spec §1.6-§1.9), pure: how many Jobs a polling cycle creates from the
 * scalers' metrics and the Jobs that exist, the Job objects themselves, which old-generation Jobs
 * a rollout deletes and which finished Jobs the history cleanup deletes.
 */
import {
  Annotations,
  DEFAULT_JOB_RESTART_POLICY,
  Labels,
  MANAGED_BY_KEDA_OPERATOR,
  customScalingRunningJobPercentage,
  effectiveFailedJobsHistoryLimit,
  effectiveMultipleScalersCalculation,
  effectiveScalingStrategy,
  effectiveSuccessfulJobsHistoryLimit,
  scaledJobMaxReplicaCount,
  scaledJobMinReplicaCount,
  type ScaledJob,
} from '@keda-ts/api';

export type ScalingStrategyName = 'default' | 'custom' | 'accurate' | 'eager';
export type MultipleScalersCalculation = 'max' | 'min' | 'avg' | 'sum';

// ---------------------------------------------------------------------------------------------
// Step A: one scaler's queue length and max value
// ---------------------------------------------------------------------------------------------

/** What one scaler (trigger) reported in a cycle. */
export interface ScalerJobMetrics {
  queueLength: number;
  maxValue: number;
  isActive: boolean;
}

export interface ScalerReadingForJobs {
  /** Names and `target.averageValue` of the scaler's External metric specs, in order. */
  specs: { metricName: string; averageValue: number }[];
  /** Values returned by the scaler (for any of its metrics). */
  values: { metricName: string; value: number }[];
  isActive: boolean;
}

/**
 * Step A: queueLength = sum of the values of the first metric; target = mean averageValue over the
 * scaler's specs; maxValue = min(queueLength / target, effMax) (0 when target is 0).
 */
export function scalerJobMetrics(reading: ScalerReadingForJobs, effMax: number): ScalerJobMetrics {
  const first = reading.specs[0]?.metricName;
  const queueLength = reading.values.filter((v) => v.metricName === first).reduce((sum, v) => sum + v.value, 0);
  const target = reading.specs.length ? reading.specs.reduce((sum, s) => sum + s.averageValue, 0) / reading.specs.length : 0;
  const maxValue = target !== 0 ? Math.min(queueLength / target, effMax) : 0;
  return { queueLength, maxValue, isActive: reading.isActive };
}

// ---------------------------------------------------------------------------------------------
// Step B: combining scalers
// ---------------------------------------------------------------------------------------------

export interface CombinedJobMetrics {
  /** ceil(queueLength). */
  scaleTo: number;
  /** ceil(min(maxValue, effMax)). */
  maxScale: number;
  isActive: boolean;
}

/** Step B: combines the active scalers with multipleScalersCalculation (spec §1.6 B). */
export function combineScalerJobMetrics(
  scalers: readonly ScalerJobMetrics[],
  calculation: MultipleScalersCalculation,
  effMin: number,
  effMax: number,
): CombinedJobMetrics {
  const active = scalers.filter((s) => s.isActive);
  let queueLength = 0;
  let maxValue = 0;
  let isActive = false;
  switch (calculation) {
    case 'min': {
      // A kept 0 is always replaced by the next active scaler.
      for (const s of active) {
        if (queueLength === 0 || s.queueLength < queueLength) {
          queueLength = s.queueLength;
          maxValue = s.maxValue;
          isActive = true;
        }
      }
      break;
    }
    case 'avg':
    case 'sum': {
      if (active.length) {
        queueLength = active.reduce((a, s) => a + s.queueLength, 0);
        maxValue = active.reduce((a, s) => a + s.maxValue, 0);
        if (calculation === 'avg') {
          queueLength /= active.length;
          maxValue /= active.length;
        }
        isActive = true;
      }
      break;
    }
    default: {
      // max: only a strictly greater queue length is kept, so an active scaler reporting 0 never counts.
      for (const s of active) {
        if (s.queueLength > queueLength) {
          queueLength = s.queueLength;
          maxValue = s.maxValue;
          isActive = true;
        }
      }
    }
  }
  if (effMin > 0) isActive = true;
  maxValue = Math.min(maxValue, effMax);
  return { scaleTo: Math.ceil(queueLength), maxScale: Math.ceil(maxValue), isActive };
}

// ---------------------------------------------------------------------------------------------
// Step C: counting existing Jobs
// ---------------------------------------------------------------------------------------------

interface JobConditionLike {
  type?: string;
  status?: string;
}

export interface JobLike {
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string>; creationTimestamp?: string | Date; deletionTimestamp?: string | Date };
  status?: { conditions?: JobConditionLike[]; completionTime?: string | Date; active?: number; succeeded?: number; failed?: number };
}

export interface PodLike {
  metadata?: { name?: string; labels?: Record<string, string> };
  status?: { phase?: string; conditions?: JobConditionLike[] };
}

/** 'Complete', 'Failed' or undefined (still running or pending). */
export function jobFinishedAs(job: JobLike): 'Complete' | 'Failed' | undefined {
  for (const c of job.status?.conditions ?? []) {
    if ((c.type === 'Complete' || c.type === 'Failed') && c.status === 'True') return c.type;
  }
  return undefined;
}

/** A Job is pending while none of its pods is Running/Succeeded (or, with conditions, has all of them True). */
export function isJobPending(pods: readonly PodLike[], pendingPodConditions: readonly string[] | undefined): boolean {
  if (pendingPodConditions?.length) {
    return !pods.some((pod) => pendingPodConditions.every((type) => pod.status?.conditions?.some((c) => c.type === type && c.status === 'True')));
  }
  return !pods.some((pod) => pod.status?.phase === 'Running' || pod.status?.phase === 'Succeeded');
}

export interface JobCounts {
  /** Unfinished Jobs (pending ones included; every generation). */
  running: number;
  /** Unfinished Jobs that are still pending. */
  pending: number;
}

/** Step C; `podsOf(jobName)` gives the pods labelled `job-name=<job>`. */
export function countJobs(jobs: readonly JobLike[], podsOf: (jobName: string) => readonly PodLike[], pendingPodConditions?: readonly string[]): JobCounts {
  let running = 0;
  let pending = 0;
  for (const job of jobs) {
    if (jobFinishedAs(job)) continue;
    running += 1;
    if (isJobPending(podsOf(job.metadata?.name ?? ''), pendingPodConditions)) pending += 1;
  }
  return { running, pending };
}

// ---------------------------------------------------------------------------------------------
// Step D: the decision
// ---------------------------------------------------------------------------------------------

export interface JobsToCreateInput extends CombinedJobMetrics {
  strategy: ScalingStrategyName;
  running: number;
  pending: number;
  effMin: number;
  effMax: number;
  /** custom: customScalingQueueLengthDeduction (nil = 0). */
  queueLengthDeduction?: number;
  /** custom: customScalingRunningJobPercentage, parsed (custom falls back to default without it). */
  runningJobPercentage?: number;
}

export interface JobsToCreate {
  /** Jobs to create in this cycle. */
  count: number;
  /** Why (for logs and tests). */
  rule: 'min-replicas' | 'inactive' | 'all-exist' | 'scale';
  /** The strategy's effectiveMax (after the clamp to ≥ 0); undefined for min-replicas. */
  effectiveMax?: number;
}

/** Step D: how many Jobs to create now. */
export function jobsToCreate(input: JobsToCreateInput): JobsToCreate {
  const { running, pending, effMin, effMax, maxScale } = input;
  if (running < effMin) return { count: effMin - running, rule: 'min-replicas' };
  const r = running - effMin;
  let scaleTo = input.scaleTo;
  let effectiveMax: number;
  const strategy = input.strategy === 'custom' && input.runningJobPercentage === undefined ? 'default' : input.strategy;
  switch (strategy) {
    case 'custom':
      effectiveMax = Math.min(maxScale - (input.queueLengthDeduction ?? 0) - Math.trunc(r * (input.runningJobPercentage as number)), effMax);
      break;
    case 'accurate':
      effectiveMax = maxScale + r - pending > effMax ? effMax - r : maxScale - pending;
      break;
    case 'eager':
      effectiveMax = Math.min(effMax - r - pending, maxScale);
      scaleTo = effMax;
      break;
    default:
      effectiveMax = maxScale - r;
  }
  effectiveMax = Math.max(0, effectiveMax);
  if (!input.isActive) return { count: 0, rule: 'inactive', effectiveMax };
  if (effectiveMax <= 0) return { count: 0, rule: 'all-exist', effectiveMax };
  return { count: Math.min(scaleTo, effectiveMax), rule: 'scale', effectiveMax };
}

/** The ScaledJob settings the decision uses, with their defaults and fallbacks. */
export interface ScaledJobScalingSettings {
  strategy: ScalingStrategyName;
  calculation: MultipleScalersCalculation;
  effMin: number;
  effMax: number;
  queueLengthDeduction: number;
  runningJobPercentage?: number;
  pendingPodConditions: string[];
}

export function scaledJobScalingSettings(sj: Pick<ScaledJob, 'spec'>): ScaledJobScalingSettings {
  return {
    strategy: effectiveScalingStrategy(sj),
    calculation: effectiveMultipleScalersCalculation(sj),
    effMin: scaledJobMinReplicaCount(sj),
    effMax: scaledJobMaxReplicaCount(sj),
    queueLengthDeduction: sj.spec.scalingStrategy?.customScalingQueueLengthDeduction ?? 0,
    runningJobPercentage: customScalingRunningJobPercentage(sj),
    pendingPodConditions: sj.spec.scalingStrategy?.pendingPodConditions ?? [],
  };
}

/** Steps A-D in one call. */
export function scaledJobDecision(
  settings: ScaledJobScalingSettings,
  readings: readonly ScalerReadingForJobs[],
  counts: JobCounts,
): JobsToCreate & CombinedJobMetrics {
  const perScaler = readings.map((r) => scalerJobMetrics(r, settings.effMax));
  const combined = combineScalerJobMetrics(perScaler, settings.calculation, settings.effMin, settings.effMax);
  const decision = jobsToCreate({
    ...combined,
    strategy: settings.strategy,
    running: counts.running,
    pending: counts.pending,
    effMin: settings.effMin,
    effMax: settings.effMax,
    queueLengthDeduction: settings.queueLengthDeduction,
    runningJobPercentage: settings.runningJobPercentage,
  });
  return { ...combined, ...decision };
}

// ---------------------------------------------------------------------------------------------
// §1.7 Job objects, §1.8 rollout, §1.9 history
// ---------------------------------------------------------------------------------------------

/** The batch/v1 Job created for a ScaledJob (spec §1.7). */
export function jobForScaledJob(sj: ScaledJob, kedaVersion: string): Record<string, unknown> {
  const name = sj.metadata?.name ?? '';
  const excluded = new Set(
    (sj.metadata?.annotations?.[Annotations.JobExcludedLabels] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  const labels: Record<string, string> = {
    [Labels.AppName]: name,
    [Labels.AppVersion]: kedaVersion,
    [Labels.AppPartOf]: name,
    [Labels.AppManagedBy]: MANAGED_BY_KEDA_OPERATOR,
    [Labels.ScaledJobName]: name,
  };
  for (const [k, v] of Object.entries(sj.metadata?.labels ?? {})) if (!excluded.has(k)) labels[k] = v;
  const annotations: Record<string, string> = {
    [Annotations.ScaledJobGeneration]: String(sj.metadata?.generation ?? 0),
    ...(sj.metadata?.annotations ?? {}),
  };
  const spec = structuredClone(sj.spec.jobTargetRef) as { template: { metadata?: Record<string, unknown>; spec?: Record<string, unknown> } };
  const templateMeta = (spec.template.metadata ?? {}) as { labels?: Record<string, string>; generateName?: string };
  spec.template.metadata = { ...templateMeta, generateName: `${name}-`, labels: { ...(templateMeta.labels ?? {}), [Labels.ScaledJobName]: name } };
  spec.template.spec ??= {};
  if (!spec.template.spec['restartPolicy']) spec.template.spec['restartPolicy'] = DEFAULT_JOB_RESTART_POLICY;
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      generateName: `${name}-`,
      namespace: sj.metadata?.namespace,
      labels,
      annotations,
      ownerReferences: [
        {
          apiVersion: 'keda.sh/v1alpha1',
          kind: 'ScaledJob',
          name,
          uid: sj.metadata?.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec,
  };
}

/** Rollout (immediate): Jobs whose generation annotation is missing or differs from the current one. */
export function oldGenerationJobs<J extends JobLike>(jobs: readonly J[], generation: number): J[] {
  return jobs.filter((j) => j.metadata?.annotations?.[Annotations.ScaledJobGeneration] !== String(generation));
}

const completionMs = (j: JobLike): number => {
  const t = j.status?.completionTime;
  return t ? new Date(t).getTime() : 0;
};

/**
 * History cleanup: finished Jobs beyond the limits, oldest first by completion time (Jobs without
 * one keep their list order, ahead of the timed ones, as a stable sort of zero times does).
 */
export function historyJobsToDelete<J extends JobLike>(jobs: readonly J[], successfulLimit: number, failedLimit: number): J[] {
  const complete = jobs.filter((j) => jobFinishedAs(j) === 'Complete');
  const failed = jobs.filter((j) => jobFinishedAs(j) === 'Failed');
  const excess = (group: J[], limit: number) => {
    const sorted = [...group].sort((a, b) => completionMs(a) - completionMs(b));
    return sorted.slice(0, Math.max(0, sorted.length - limit));
  };
  return [...excess(complete, successfulLimit), ...excess(failed, failedLimit)];
}

/** History limits of a ScaledJob with their defaults. */
export const scaledJobHistoryLimits = (sj: Pick<ScaledJob, 'spec'>) => ({
  successful: effectiveSuccessfulJobsHistoryLimit(sj),
  failed: effectiveFailedJobsHistoryLimit(sj),
});
