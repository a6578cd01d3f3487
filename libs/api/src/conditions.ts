/**
 * Condition types, reasons and messages of ScaledObject and ScaledJob status (the one place where
 * these strings live), plus small pure helpers to build and update condition lists.
 */
import type { Condition } from './generated/types';

export const ConditionType = {
  Ready: 'Ready',
  Active: 'Active',
  Fallback: 'Fallback',
  Paused: 'Paused',
  /** ScaledObject only; mirrors the HPA's ScalingActive condition. Not part of the initial set. */
  HPAActive: 'HPAActive',
  /**
   * keda-ts only: the latest scaling decision in words (what happened, what would change it). Not
   * part of the initial set; tools that know only KEDA's types ignore it.
   */
  Decision: 'Decision',
} as const;
export type ConditionType = (typeof ConditionType)[keyof typeof ConditionType];

export const ConditionStatus = { True: 'True', False: 'False', Unknown: 'Unknown' } as const;
export type ConditionStatus = (typeof ConditionStatus)[keyof typeof ConditionStatus];

/** Every reason KEDA writes into a condition. Each key equals its value. */
export const ConditionReason = {
  ScaledObjectReady: 'ScaledObjectReady',
  ScaledObjectCheckFailed: 'ScaledObjectCheckFailed',
  ErrorGettingCurrentReplicas: 'ErrorGettingCurrentReplicas',
  TriggerError: 'TriggerError',
  PartialTriggerError: 'PartialTriggerError',
  UnknownState: 'UnknownState',
  ScalerActive: 'ScalerActive',
  ScalerNotActive: 'ScalerNotActive',
  ScalerCooldown: 'ScalerCooldown',
  FallbackExists: 'FallbackExists',
  NoFallbackFound: 'NoFallbackFound',
  ScaledObjectPaused: 'ScaledObjectPaused',
  ScaledObjectUnpaused: 'ScaledObjectUnpaused',
  HPAActive: 'HPAActive',
  ScalingDisabled: 'ScalingDisabled',
  HPAMetricsUnavailable: 'HPAMetricsUnavailable',
  ScaledJobReady: 'ScaledJobReady',
  ScaledJobCheckFailed: 'ScaledJobCheckFailed',
  ScaledJobPaused: 'ScaledJobPaused',
  ScaledJobUnpaused: 'ScaledJobUnpaused',
} as const;
export type ConditionReason = (typeof ConditionReason)[keyof typeof ConditionReason];

/** A fully specified condition (type, status, reason and message). */
export interface ConditionPreset {
  readonly type: ConditionType;
  readonly status: ConditionStatus;
  readonly reason: ConditionReason;
  /** The exact message; for presets whose message is built at runtime this is the fixed prefix or ''. */
  readonly message: string;
  /** True when the real message is built at runtime (see the helper functions below). */
  readonly dynamicMessage?: boolean;
}

const preset = (
  type: ConditionType,
  status: ConditionStatus,
  reason: ConditionReason,
  message: string,
  dynamicMessage = false,
): ConditionPreset =>
  dynamicMessage ? { type, status, reason, message, dynamicMessage } : { type, status, reason, message };

const { Ready, Active, Fallback, Paused, HPAActive } = ConditionType;
const { True, False, Unknown } = ConditionStatus;
const R = ConditionReason;

/** The condition table: every (type, status, reason, message) combination KEDA writes. */
export const CONDITIONS = {
  // ScaledObject
  scaledObjectReady: preset(
    Ready,
    True,
    R.ScaledObjectReady,
    'ScaledObject is defined correctly and is ready for scaling',
  ),
  scaledObjectReadyPaused: preset(Ready, True, R.ScaledObjectReady, 'ScaledObject is paused'),
  scaledObjectCheckFailed: preset(Ready, False, R.ScaledObjectCheckFailed, '', true),
  scaledObjectCheckFailedActive: preset(Active, Unknown, R.UnknownState, 'ScaledObject check failed'),
  errorGettingCurrentReplicas: preset(
    Ready,
    False,
    R.ErrorGettingCurrentReplicas,
    'Error getting current replicas count for ScaleTarget',
    true,
  ),
  scaledObjectTriggerError: preset(
    Ready,
    False,
    R.TriggerError,
    'Triggers defined in ScaledObject are not working correctly',
  ),
  scaledObjectPartialTriggerError: preset(
    Ready,
    Unknown,
    R.PartialTriggerError,
    'Some triggers defined in ScaledObject are not working correctly',
  ),
  scalerActive: preset(Active, True, R.ScalerActive, 'Scaling is performed because triggers are active'),
  scalerActiveForced: preset(
    Active,
    True,
    R.ScalerActive,
    'Scaling is performed because activation is being forced by annotation',
  ),
  scalerNotActive: preset(
    Active,
    False,
    R.ScalerNotActive,
    'Scaling is not performed because triggers are not active',
  ),
  scalerCooldown: preset(
    Active,
    False,
    R.ScalerCooldown,
    'Scaler cooling down because triggers are not active',
  ),
  fallbackExists: preset(
    Fallback,
    True,
    R.FallbackExists,
    'At least one trigger is falling back on this scaled object',
  ),
  noFallbackFound: preset(
    Fallback,
    False,
    R.NoFallbackFound,
    'No fallbacks are active on this scaled object',
  ),
  scaledObjectPaused: preset(Paused, True, R.ScaledObjectPaused, 'ScaledObject is paused'),
  scaledObjectUnpaused: preset(
    Paused,
    False,
    R.ScaledObjectUnpaused,
    'pause annotation removed for ScaledObject',
  ),
  hpaActive: preset(HPAActive, True, R.HPAActive, 'HPA is actively scaling'),
  hpaScalingDisabled: preset(HPAActive, True, R.ScalingDisabled, '', true),
  hpaNotActive: preset(HPAActive, False, R.HPAMetricsUnavailable, 'HPA is not actively scaling', true),
  // ScaledJob
  scaledJobReady: preset(
    Ready,
    True,
    R.ScaledJobReady,
    'ScaledJob is defined correctly and is ready to scaling',
  ),
  scaledJobReadyLoop: preset(
    Ready,
    True,
    R.ScaledJobReady,
    'ScaledJob is defined correctly and is ready for scaling',
  ),
  scaledJobCheckFailed: preset(Ready, False, R.ScaledJobCheckFailed, '', true),
  scaledJobCheckFailedActive: preset(Active, Unknown, R.UnknownState, 'ScaledJob check failed'),
  scaledJobTriggerError: preset(
    Ready,
    False,
    R.TriggerError,
    'Triggers defined in ScaledJob are not working correctly',
  ),
  scaledJobPartialTriggerError: preset(
    Ready,
    Unknown,
    R.PartialTriggerError,
    'Some triggers defined in ScaledJob are not working correctly',
  ),
  scaledJobPaused: preset(Paused, True, R.ScaledJobPaused, 'ScaledJob is paused'),
  scaledJobUnpaused: preset(Paused, False, R.ScaledJobUnpaused, 'ScaledJob is unpaused'),
} as const satisfies Record<string, ConditionPreset>;

export type ConditionPresetName = keyof typeof CONDITIONS;

/** Step messages of a failed ScaledObject reconcile (the prefix of the Ready=False message). */
export const ScaledObjectCheckMessage = {
  ScaleTargetRef: "ScaledObject doesn't have correct scaleTargetRef specification",
  ReplicaCounts: "ScaledObject doesn't have correct Idle/Min/Max Replica Counts specification",
  Triggers: "ScaledObject doesn't have correct triggers specification",
  Hpa: 'failed to ensure HPA is correctly created for ScaledObject',
} as const;

/** Step messages of a failed ScaledJob reconcile. */
export const ScaledJobCheckMessage = {
  JobTargetRefNotFound: 'ScaledJob.spec.jobTargetRef not found',
  PauseCheck: 'Failed to check if ScaledJob was paused',
  Triggers: "ScaledJob doesn't have correct triggers specification",
  StatusUpdate: "Cannot update ScaledJob status with triggers'names and authentications'names",
  ListJobs: 'Cannot get list of Jobs owned by this scaledJob',
  DeleteJob: 'Not able to delete job',
  EnsureCreated: 'Failed to ensure ScaledJob is correctly created',
  MetricType: 'Cannot set metricType in ScaledJob triggers',
  StartLoop: 'Failed to start a new scale loop with scaling logic',
  PausedSkipping: 'ScaledJob is paused, skipping reconcile loop',
} as const;

/** A status condition built from a preset, optionally with a runtime message. */
export function conditionFrom(preset: ConditionPreset, message: string = preset.message): Condition {
  return { type: preset.type, status: preset.status, reason: preset.reason, message };
}

const withCause = (prefix: string, cause?: unknown): string =>
  cause === undefined || cause === ''
    ? prefix
    : `${prefix}: ${cause instanceof Error ? cause.message : String(cause)}`;

/** Ready=False / ScaledObjectCheckFailed with `<step message>: <error>`. */
export function scaledObjectCheckFailedCondition(stepMessage: string, cause?: unknown): Condition {
  return conditionFrom(CONDITIONS.scaledObjectCheckFailed, withCause(stepMessage, cause));
}

/** Ready=False / ScaledJobCheckFailed with the step message (and the error, when given). */
export function scaledJobCheckFailedCondition(stepMessage: string, cause?: unknown): Condition {
  return conditionFrom(CONDITIONS.scaledJobCheckFailed, withCause(stepMessage, cause));
}

/** Ready=False / ErrorGettingCurrentReplicas with the error. */
export function errorGettingCurrentReplicasCondition(cause: unknown): Condition {
  return conditionFrom(
    CONDITIONS.errorGettingCurrentReplicas,
    withCause(CONDITIONS.errorGettingCurrentReplicas.message, cause),
  );
}

/** HPAActive=True / ScalingDisabled with the HPA's own message. */
export function hpaScalingDisabledCondition(hpaMessage: string): Condition {
  return conditionFrom(CONDITIONS.hpaScalingDisabled, hpaMessage);
}

/** HPAActive=False with the HPA's ScalingActive reason (HPAMetricsUnavailable when empty). */
export function hpaNotActiveCondition(hpaReason: string | undefined, hpaMessage: string): Condition {
  return {
    type: ConditionType.HPAActive,
    status: ConditionStatus.False,
    reason: hpaReason || ConditionReason.HPAMetricsUnavailable,
    message: `${CONDITIONS.hpaNotActive.message}: ${hpaMessage}`,
  };
}

/** Base condition types that must all be present (HPAActive is not one of them). */
export const BASE_CONDITION_TYPES: readonly ConditionType[] = [Ready, Active, Fallback, Paused];

/** The initial condition set: Ready/Active/Fallback Unknown and Paused False, without reasons. */
export function initialConditions(): Condition[] {
  return [
    { type: Ready, status: Unknown },
    { type: Active, status: Unknown },
    { type: Fallback, status: Unknown },
    { type: Paused, status: False },
  ];
}

/** True when any of Ready, Active, Fallback or Paused is missing (then the initial set is written). */
export function needsInitialConditions(conditions: readonly Condition[] | undefined): boolean {
  return BASE_CONDITION_TYPES.some((t) => !conditions?.some((c) => c.type === t));
}

export function getCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** True when the condition exists with status True. */
export function isConditionTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return getCondition(conditions, type)?.status === ConditionStatus.True;
}

/**
 * Returns a new list in which the condition of the same type is replaced in place (type, status,
 * reason and message), or appended when there is none.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  condition: Condition,
): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === condition.type);
  const next: Condition = { ...condition };
  if (index === -1) list.push(next);
  else list[index] = next;
  return list;
}
