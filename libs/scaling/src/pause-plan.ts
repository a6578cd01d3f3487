/**
 * What a reconcile does about the pause annotations (§2.13, C-85..C-91).
 */
import { CONDITIONS, conditionFrom, parsePauseAnnotations, type Condition, type Problem } from '@keda-ts/api';
import { EventReason } from '@keda-ts/api';
import type { ScaleEvent } from './events';

export interface PausePlan {
  /** `paused` is truthy or `paused-replicas` is present (C-85): stop the loop, delete the HPA, return early. */
  fullPause: boolean;
  /** The `paused-replicas` value: scale the target to it when it differs (C-85 step 4, C-86). */
  pausedReplicas?: number;
  /**
   * Value for `status.pausedReplicaCount`: the paused-replicas value while fully paused with it, else
   * null (cleared; C-85 step 5, C-88).
   */
  statusPausedReplicaCount: number | null;
  /** HPA scaleDown disabled and no operator scale-in to idle/zero (C-89). */
  scaleInPaused: boolean;
  /** HPA scaleUp disabled and no operator activation from zero/idle (C-90). */
  scaleOutPaused: boolean;
  /** `paused` → Paused=True was not yet in the status; `unpaused` → it was and no pause remains. */
  transition: 'paused' | 'unpaused' | 'none';
  /** The Paused condition to set (persisted first on the paused transition); undefined: leave it. */
  pausedCondition?: Condition;
  /** Ready=True / `ScaledObject is paused` while fully paused (C-85 step 6). */
  readyCondition?: Condition;
  /** Event of the transition, emitted once. */
  event?: ScaleEvent;
  /** A paused-replicas value that is not an int32: the reconcile fails (C-85 step 4). */
  problems: Problem[];
}

/**
 * The pause plan of a reconcile from the ScaledObject's annotations and whether its status already
 * says Paused=True. Full pause wins over scale-in/out pause (C-91).
 */
export function pausePlan(
  annotations: Readonly<Record<string, string>> | undefined,
  statusPaused: boolean,
): PausePlan {
  const pause = parsePauseAnnotations(annotations);
  const plan: PausePlan = {
    fullPause: pause.fullyPaused,
    statusPausedReplicaCount:
      pause.fullyPaused && pause.pausedReplicaCount !== undefined ? pause.pausedReplicaCount : null,
    scaleInPaused: pause.pausedScaleIn,
    scaleOutPaused: pause.pausedScaleOut,
    transition: 'none',
    problems: pause.problems,
  };
  if (pause.pausedReplicaCount !== undefined) plan.pausedReplicas = pause.pausedReplicaCount;
  if (pause.fullyPaused) plan.readyCondition = conditionFrom(CONDITIONS.scaledObjectReadyPaused);
  if (pause.anyPause) {
    plan.pausedCondition = conditionFrom(CONDITIONS.scaledObjectPaused);
    if (!statusPaused) {
      plan.transition = 'paused';
      plan.event = {
        type: 'Normal',
        reason: EventReason.ScaledObjectPaused,
        note: 'ScaledObject is paused',
      };
    }
  } else if (statusPaused) {
    plan.transition = 'unpaused';
    plan.pausedCondition = conditionFrom(CONDITIONS.scaledObjectUnpaused);
    plan.event = {
      type: 'Normal',
      reason: EventReason.ScaledObjectUnpaused,
      note: 'pause annotation removed for ScaledObject',
    };
  }
  return plan;
}
