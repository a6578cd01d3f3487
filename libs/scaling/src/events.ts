/**
 * Kubernetes events that the scale-loop decisions ask the caller to emit (reasons and notes exactly
 * as KEDA writes them, §2.16).
 */
export const ScaleEventReason = {
  KEDAScaleTargetActivated: 'KEDAScaleTargetActivated',
  KEDAScaleTargetActivationFailed: 'KEDAScaleTargetActivationFailed',
  KEDAScaleTargetDeactivated: 'KEDAScaleTargetDeactivated',
  KEDAScaleTargetDeactivationFailed: 'KEDAScaleTargetDeactivationFailed',
  ScaledObjectFallbackActivated: 'ScaledObjectFallbackActivated',
  ScaledObjectFallbackDeactivated: 'ScaledObjectFallbackDeactivated',
  ScaledObjectPaused: 'ScaledObjectPaused',
  ScaledObjectUnpaused: 'ScaledObjectUnpaused',
} as const;
export type ScaleEventReason = (typeof ScaleEventReason)[keyof typeof ScaleEventReason];

export interface ScaleEvent {
  type: 'Normal' | 'Warning';
  reason: ScaleEventReason;
  note: string;
}
