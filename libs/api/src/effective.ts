/**
 * Defaults that KEDA applies in code (not in the CRD), as named constants and pure helpers that
 * return the effective value of a field.
 */
import { AUTHENTICATION_REF_KINDS, MetricTargetType } from './constants';
import type {
  AuthenticationRef,
  FallbackBehavior,
  ScaledJobSpec,
  ScaledObjectSpec,
  ScaleTrigger,
  ScaledJobTrigger,
} from './generated/types';
import type { ObjectMeta } from './object-meta';

// ---------------------------------------------------------------------------------------------
// ScaledObject
// ---------------------------------------------------------------------------------------------
export const DEFAULT_POLLING_INTERVAL_SECONDS = 30;
export const DEFAULT_COOLDOWN_PERIOD_SECONDS = 300;
export const DEFAULT_INITIAL_COOLDOWN_PERIOD_SECONDS = 0;
export const DEFAULT_MIN_REPLICA_COUNT = 0;
export const DEFAULT_MAX_REPLICA_COUNT = 100;
export const HPA_NAME_PREFIX = 'keda-hpa-';
export const DEFAULT_SCALE_TARGET_API_VERSION = 'apps/v1';
export const DEFAULT_SCALE_TARGET_KIND = 'Deployment';
export const DEFAULT_FALLBACK_BEHAVIOR: FallbackBehavior = 'static';
export const DEFAULT_METRIC_TYPE = MetricTargetType.AverageValue;
export const DEFAULT_AUTHENTICATION_REF_KIND = AUTHENTICATION_REF_KINDS[0];
/** Name of the single External metric used with scaling modifiers. */
export const COMPOSITE_METRIC_NAME = 'composite-metric';

/** Anything with a ScaledObject-shaped (possibly partial) spec. */
export interface ScaledObjectLike {
  metadata?: ObjectMeta;
  spec?: Partial<ScaledObjectSpec>;
}

export const effectivePollingIntervalSeconds = (so: ScaledObjectLike): number =>
  so.spec?.pollingInterval ?? DEFAULT_POLLING_INTERVAL_SECONDS;

export const effectiveCooldownPeriodSeconds = (so: ScaledObjectLike): number =>
  so.spec?.cooldownPeriod ?? DEFAULT_COOLDOWN_PERIOD_SECONDS;

export const effectiveInitialCooldownPeriodSeconds = (so: ScaledObjectLike): number =>
  so.spec?.initialCooldownPeriod ?? DEFAULT_INITIAL_COOLDOWN_PERIOD_SECONDS;

/** `minReplicaCount`, 0 when unset (what the scale executor uses). */
export const effectiveMinReplicaCount = (so: ScaledObjectLike): number =>
  so.spec?.minReplicaCount ?? DEFAULT_MIN_REPLICA_COUNT;

/** `maxReplicaCount`, 100 when unset. This is also the HPA's maxReplicas. */
export const effectiveMaxReplicaCount = (so: ScaledObjectLike): number =>
  so.spec?.maxReplicaCount ?? DEFAULT_MAX_REPLICA_COUNT;

/** The HPA's minReplicas: `minReplicaCount` when it is > 0, else 1 (i.e. max(1, min)). */
export const hpaMinReplicas = (so: ScaledObjectLike): number => Math.max(1, so.spec?.minReplicaCount ?? 0);

/** The HPA's maxReplicas: `maxReplicaCount` or 100. */
export const hpaMaxReplicas = effectiveMaxReplicaCount;

/** Name of the generated HPA: horizontalPodAutoscalerConfig.name when non-empty, else keda-hpa-<name>. */
export function hpaNameFor(so: ScaledObjectLike): string {
  const custom = so.spec?.advanced?.horizontalPodAutoscalerConfig?.name;
  return custom ? custom : `${HPA_NAME_PREFIX}${so.metadata?.name ?? ''}`;
}

export interface GroupVersion {
  group: string;
  version: string;
}

/** Splits an apiVersion: "apps/v1" -> {apps, v1}; "v1" -> {"", v1} (the core group). */
export function parseGroupVersion(apiVersion: string): GroupVersion {
  const slash = apiVersion.indexOf('/');
  return slash === -1
    ? { group: '', version: apiVersion }
    : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/** `<group>/<version>.<Kind>`, e.g. apps/v1.Deployment; the core group gives /v1.Kind. */
export const gvkString = (gvk: GroupVersion & { kind: string }): string =>
  `${gvk.group}/${gvk.version}.${gvk.kind}`;

export interface EffectiveScaleTarget extends GroupVersion {
  name: string;
  apiVersion: string;
  kind: string;
  envSourceContainerName?: string;
}

/** scaleTargetRef with apiVersion apps/v1 and kind Deployment filled in when empty. */
export function effectiveScaleTargetRef(so: ScaledObjectLike): EffectiveScaleTarget {
  const ref = so.spec?.scaleTargetRef;
  const apiVersion = ref?.apiVersion || DEFAULT_SCALE_TARGET_API_VERSION;
  const kind = ref?.kind || DEFAULT_SCALE_TARGET_KIND;
  const result: EffectiveScaleTarget = {
    name: ref?.name ?? '',
    apiVersion,
    kind,
    ...parseGroupVersion(apiVersion),
  };
  if (ref?.envSourceContainerName) result.envSourceContainerName = ref.envSourceContainerName;
  return result;
}

/** `fallback.behavior`, static when empty. */
export const effectiveFallbackBehavior = (so: ScaledObjectLike): FallbackBehavior =>
  so.spec?.fallback?.behavior || DEFAULT_FALLBACK_BEHAVIOR;

/** True when `advanced` is set and `scalingModifiers` is not the zero value. */
export function isUsingModifiers(so: ScaledObjectLike): boolean {
  const m = so.spec?.advanced?.scalingModifiers;
  return !!m && !!(m.formula || m.target || m.activationTarget || m.metricType);
}

/** HPA target type of a trigger's metric: metricType, AverageValue when empty. */
export const effectiveMetricType = (trigger: Pick<ScaleTrigger, 'metricType'>): string =>
  trigger.metricType || DEFAULT_METRIC_TYPE;

/** HPA target type of the composite metric: scalingModifiers.metricType, AverageValue when empty. */
export const effectiveScalingModifiersMetricType = (so: ScaledObjectLike): string =>
  so.spec?.advanced?.scalingModifiers?.metricType || DEFAULT_METRIC_TYPE;

/** `authenticationRef.kind`, TriggerAuthentication when empty. */
export const effectiveAuthenticationRefKind = (ref: Pick<AuthenticationRef, 'kind'>): string =>
  ref.kind || DEFAULT_AUTHENTICATION_REF_KIND;

type TriggerLike = Pick<ScaledJobTrigger, 'type' | 'authenticationRef'>;

/** Value of status.triggersTypes: distinct trigger types in order, comma-joined. */
export const triggersTypesOf = (triggers: readonly TriggerLike[] | undefined): string =>
  [...new Set((triggers ?? []).map((t) => t.type))].join(',');

/** Value of status.authenticationsTypes: distinct authenticationRef names in order, comma-joined. */
export const authenticationsTypesOf = (triggers: readonly TriggerLike[] | undefined): string =>
  [
    ...new Set(
      (triggers ?? []).flatMap((t) => (t.authenticationRef?.name ? [t.authenticationRef.name] : [])),
    ),
  ].join(',');

// ---------------------------------------------------------------------------------------------
// ScaledJob
// ---------------------------------------------------------------------------------------------
export const DEFAULT_SUCCESSFUL_JOBS_HISTORY_LIMIT = 100;
export const DEFAULT_FAILED_JOBS_HISTORY_LIMIT = 100;
export const DEFAULT_SCALING_STRATEGY = 'default';
export const DEFAULT_MULTIPLE_SCALERS_CALCULATION = 'max';
/** restartPolicy set on the Job pod template when it is empty. */
export const DEFAULT_JOB_RESTART_POLICY = 'OnFailure';

export interface ScaledJobLike {
  metadata?: ObjectMeta;
  spec?: Partial<ScaledJobSpec>;
}

export const effectiveScaledJobPollingIntervalSeconds = (sj: ScaledJobLike): number =>
  sj.spec?.pollingInterval ?? DEFAULT_POLLING_INTERVAL_SECONDS;

export const effectiveSuccessfulJobsHistoryLimit = (sj: ScaledJobLike): number =>
  sj.spec?.successfulJobsHistoryLimit ?? DEFAULT_SUCCESSFUL_JOBS_HISTORY_LIMIT;

export const effectiveFailedJobsHistoryLimit = (sj: ScaledJobLike): number =>
  sj.spec?.failedJobsHistoryLimit ?? DEFAULT_FAILED_JOBS_HISTORY_LIMIT;

/**
 * effMin: minReplicaCount when set, but maxReplicaCount when both are set and min > max; else 0.
 */
export function scaledJobMinReplicaCount(sj: ScaledJobLike): number {
  const min = sj.spec?.minReplicaCount;
  const max = sj.spec?.maxReplicaCount;
  if (min == null) return 0;
  return max != null && min > max ? max : min;
}

/**
 * effMax: how many Jobs above the minimum may exist. With maxReplicaCount set it is max − effMin
 * (or max when min > max); without maxReplicaCount it is 100 (min is not subtracted then).
 */
export function scaledJobMaxReplicaCount(sj: ScaledJobLike): number {
  const min = sj.spec?.minReplicaCount;
  const max = sj.spec?.maxReplicaCount;
  if (max == null) return DEFAULT_MAX_REPLICA_COUNT;
  if (min != null && min > max) return max;
  return max - scaledJobMinReplicaCount(sj);
}

/** `rolloutStrategy` (deprecated, wins when set) or `rollout.strategy`; only "gradual" is special. */
export function effectiveRolloutStrategy(sj: ScaledJobLike): 'gradual' | 'immediate' {
  const raw: string | undefined = sj.spec?.rolloutStrategy || sj.spec?.rollout?.strategy;
  return raw === 'gradual' ? 'gradual' : 'immediate';
}

/** Deletion propagation of old-generation Jobs: foreground only when exactly "foreground". */
export const effectivePropagationPolicy = (sj: ScaledJobLike): 'foreground' | 'background' =>
  sj.spec?.rollout?.propagationPolicy === 'foreground' ? 'foreground' : 'background';

/** customScalingRunningJobPercentage parsed as a float; undefined when empty or unparsable. */
export function customScalingRunningJobPercentage(sj: ScaledJobLike): number | undefined {
  const raw = sj.spec?.scalingStrategy?.customScalingRunningJobPercentage;
  if (raw === undefined || raw === '') return undefined;
  const value = parseGoFloat(raw);
  return value === undefined || Number.isNaN(value) ? undefined : value;
}

/** The strategy actually used: unknown/empty -> default; custom without a valid percentage -> default. */
export function effectiveScalingStrategy(sj: ScaledJobLike): 'default' | 'custom' | 'accurate' | 'eager' {
  const s = sj.spec?.scalingStrategy?.strategy;
  if (s === 'custom') return customScalingRunningJobPercentage(sj) === undefined ? 'default' : 'custom';
  return s === 'accurate' || s === 'eager' ? s : DEFAULT_SCALING_STRATEGY;
}

/** multipleScalersCalculation; anything other than min, avg or sum behaves as max. */
export function effectiveMultipleScalersCalculation(sj: ScaledJobLike): 'min' | 'avg' | 'sum' | 'max' {
  const c = sj.spec?.scalingStrategy?.multipleScalersCalculation;
  return c === 'min' || c === 'avg' || c === 'sum' ? c : DEFAULT_MULTIPLE_SCALERS_CALCULATION;
}

// ---------------------------------------------------------------------------------------------
// Go-compatible parsing (strconv) used by several helpers
// ---------------------------------------------------------------------------------------------
const GO_DECIMAL_FLOAT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * Parses like Go's strconv.ParseFloat(s, 64) for decimal input, including "inf", "infinity" and
 * "nan" in any case. Returns undefined when Go would return an error, including out-of-range values
 * (hex floats and digit separators are not supported).
 */
export function parseGoFloat(s: string): number | undefined {
  const lower = s.toLowerCase();
  const unsigned = lower.replace(/^[+-]/, '');
  if (unsigned === 'inf' || unsigned === 'infinity') return lower.startsWith('-') ? -Infinity : Infinity;
  if (unsigned === 'nan') return NaN;
  if (!GO_DECIMAL_FLOAT.test(s)) return undefined;
  const value = Number(s);
  return Number.isFinite(value) ? value : undefined;
}
