import { CONDITIONS, conditionFrom, hpaNotActiveCondition, hpaScalingDisabledCondition, type Condition } from '@keda-ts/api';
import type { HorizontalPodAutoscaler } from '@keda-ts/api';

/**
 * C-62 (1.10): the HPA's `ScalingActive` condition mirrored into the ScaledObject's `HPAActive`.
 * Undefined (leave the condition as it is) when the HPA is unknown or has no ScalingActive yet.
 */
export function hpaActiveCondition(hpa: HorizontalPodAutoscaler | undefined): Condition | undefined {
  const active = hpa?.status?.conditions?.find((c) => c.type === 'ScalingActive');
  if (!active) return undefined;
  if (active.status === 'True') return conditionFrom(CONDITIONS.hpaActive);
  if (active.reason === 'ScalingDisabled') return hpaScalingDisabledCondition(active.message ?? '');
  return hpaNotActiveCondition(active.reason, active.message ?? '');
}
