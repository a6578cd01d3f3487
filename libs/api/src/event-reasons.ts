/**
 * Every Kubernetes Event reason the three services write, with KEDA's spelling, in one place: the
 * controller (ScaledObjects, ScaledJobs, scalers, TriggerAuthentications) and the webhook.
 */
export const EventReason = {
  // ScaledObject lifecycle
  ScaledObjectReady: 'ScaledObjectReady',
  ScaledObjectCheckFailed: 'ScaledObjectCheckFailed',
  // Writing the ScaledObject or its status failed, or its scale target's kind could not be resolved.
  ScaledObjectUpdateFailed: 'ScaledObjectUpdateFailed',
  ScaledObjectPaused: 'ScaledObjectPaused',
  ScaledObjectUnpaused: 'ScaledObjectUnpaused',
  ScaledObjectDeleted: 'ScaledObjectDeleted',
  ScaledObjectFallbackActivated: 'ScaledObjectFallbackActivated',
  ScaledObjectFallbackDeactivated: 'ScaledObjectFallbackDeactivated',
  // ScaledJob lifecycle
  ScaledJobReady: 'ScaledJobReady',
  ScaledJobCheckFailed: 'ScaledJobCheckFailed',
  // Writing the ScaledJob's status failed.
  ScaledJobUpdateFailed: 'ScaledJobUpdateFailed',
  ScaledJobPaused: 'ScaledJobPaused',
  // The pause annotation could not be carried out (status not written, scalers not stopped).
  ScaledJobPauseFailed: 'ScaledJobPauseFailed',
  ScaledJobUnpaused: 'ScaledJobUnpaused',
  ScaledJobDeleted: 'ScaledJobDeleted',
  ScaledJobActive: 'ScaledJobActive',
  ScaledJobInactive: 'ScaledJobInactive',
  ScaledJobRolloutCleanupStarted: 'ScaledJobRolloutCleanupStarted',
  ScaledJobRolloutCleanupCompleted: 'ScaledJobRolloutCleanupCompleted',
  ScaledJobRolloutCleanupFailed: 'ScaledJobRolloutCleanupFailed',
  KEDAJobsCreated: 'KEDAJobsCreated',
  KEDAJobCreateFailed: 'KEDAJobCreateFailed',
  // Scale loops and scalers
  KEDAScalersStarted: 'KEDAScalersStarted',
  KEDAScalersStopped: 'KEDAScalersStopped',
  KEDAScalerFailed: 'KEDAScalerFailed',
  KEDAScaleTargetActivated: 'KEDAScaleTargetActivated',
  KEDAScaleTargetActivationFailed: 'KEDAScaleTargetActivationFailed',
  KEDAScaleTargetDeactivated: 'KEDAScaleTargetDeactivated',
  KEDAScaleTargetDeactivationFailed: 'KEDAScaleTargetDeactivationFailed',
  // TriggerAuthentication / ClusterTriggerAuthentication
  TriggerAuthenticationAdded: 'TriggerAuthenticationAdded',
  // KEDA's constant for a TriggerAuthentication update is literally this string.
  TriggerAuthenticationUpdated: 'ClusterTriggerAuthenticationUpdated',
  TriggerAuthenticationDeleted: 'TriggerAuthenticationDeleted',
  ClusterTriggerAuthenticationAdded: 'ClusterTriggerAuthenticationAdded',
  ClusterTriggerAuthenticationUpdated: 'ClusterTriggerAuthenticationUpdated',
  ClusterTriggerAuthenticationDeleted: 'ClusterTriggerAuthenticationDeleted',
  // The webhook repeats each admission warning as an Event (KEDA's constant is named KEDAScalersInfo).
  KEDAScalerInfo: 'KEDAScalerInfo',
} as const;
export type EventReason = (typeof EventReason)[keyof typeof EventReason];
