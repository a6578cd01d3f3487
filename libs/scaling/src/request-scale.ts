/**
 * The scale executor's decision for one poll of a ScaledObject (`RequestScale`, §2.8..§2.11, the
 * scale-in/out parts of §2.13, §2.14): whether the operator writes `/scale` itself (0↔1, to/from idle,
 * up to min), which Ready/Active conditions result, whether lastActiveTime is refreshed, and which
 * event follows the write. Between 1 and N the HPA owns the replica count.
 */
import {
  CONDITIONS,
  conditionFrom,
  effectiveCooldownPeriodSeconds,
  effectiveInitialCooldownPeriodSeconds,
  errorGettingCurrentReplicasCondition,
  parsePauseAnnotations,
  type Condition,
  type ScaledObject,
} from '@keda-ts/api';
import { EventReason } from '@keda-ts/api';
import type { ScaleEvent } from './events';
import { laterOf } from './last-active-time';

export interface ScaleTargetInfo {
  /** `status.scaleTargetKind`, for example `apps/v1.Deployment`. */
  kind: string;
  namespace: string;
  name: string;
}

export interface RequestScaleInput {
  /** `spec.replicas` of the target (C-26). */
  currentReplicas: number;
  /** Set when reading the current replicas failed (C-58); `currentReplicas` is then ignored. */
  currentReplicasError?: unknown;
  /** `paused` or `paused-replicas` is in effect (C-59). */
  fullyPaused?: boolean;
  minReplicaCount?: number;
  idleReplicaCount?: number;
  /** OR of the triggers' activity (C-51, or C-52 with modifiers). */
  isActive: boolean;
  /** Some trigger erred (C-51). */
  isError: boolean;
  /** `autoscaling.keda.sh/force-activation` is truthy (C-92). */
  forceActivation: boolean;
  pausedScaleIn: boolean;
  pausedScaleOut: boolean;
  /** `spec.fallback`, when set. */
  fallback?: { replicas: number };
  /** `status.lastActiveTime`, or the later last active time the controller remembers. */
  lastActiveTime?: Date;
  /** `metadata.creationTimestamp` of the ScaledObject. */
  creationTimestamp: Date;
  cooldownPeriodSeconds: number;
  initialCooldownPeriodSeconds: number;
  now: Date;
  /** External metric names of the active triggers, for the activation event note. */
  activeMetricNames: readonly string[];
  scaleTarget: ScaleTargetInfo;
}

/**
 * - `activate`: scale from zero/idle to min (or 1) (C-60a);
 * - `deactivate`: scale to idle/min after the cooldown (C-61c, C-65);
 * - `raiseToMin`: inactive below min without idle mode: set min at once (C-61d);
 * - `none`: the operator does not write `/scale`.
 */
export type ScaleAction = 'activate' | 'deactivate' | 'raiseToMin' | 'none';

export interface ScaleDecision {
  action: ScaleAction;
  /** The replica count to write to `/scale`; undefined when nothing is written. */
  scaleTo?: number;
  /** Conditions to set (Ready, then Active; Ready and Paused while paused; only Ready on C-58). */
  conditions: Condition[];
  /**
   * Set `status.lastActiveTime = now`. With `scaleTo` set, only after the write succeeded.
   */
  setLastActiveTime: boolean;
  /** The event to emit after a successful `/scale` write. */
  event?: ScaleEvent;
  /** The event to emit instead when the `/scale` write fails. */
  failureEvent?: ScaleEvent;
  /** Time left until scale-in to idle/min is allowed, while cooling down (C-66). */
  cooldownRemainingMs?: number;
  /** Which branch decided, in words (logs, the debug service, explain). */
  rule: ScaleDecisionRule;
}

/** The branch of requestScale that decided, named for what it did. */
export type ScaleDecisionRule =
  | 'replicas-unreadable'
  | 'paused'
  | 'activation-held-by-paused-scale-out'
  | 'activate'
  | 'active-with-trigger-error'
  | 'active'
  | 'error-with-fallback'
  | 'trigger-error'
  | 'deactivation-held-by-paused-scale-in'
  | 'cooling-down'
  | 'deactivate'
  | 'raise-to-min'
  | 'inactive';

/** The notes use the replica count read before the write; `from` is `currentReplicas`. */
function activationEvents(
  input: RequestScaleInput,
  to: number,
): Pick<ScaleDecision, 'event' | 'failureEvent'> {
  const { kind, namespace, name } = input.scaleTarget;
  const scaled = `Scaled ${kind} ${namespace}/${name} from ${input.currentReplicas} to ${to}`;
  return {
    event: {
      type: 'Normal',
      reason: EventReason.KEDAScaleTargetActivated,
      note: input.forceActivation
        ? `${scaled}, caused by forced activation annotation`
        : `${scaled}, triggered by ${input.activeMetricNames.join(';')}`,
    },
    failureEvent: {
      type: 'Warning',
      reason: EventReason.KEDAScaleTargetActivationFailed,
      note: `Failed to scale ${kind} ${namespace}/${name} from ${input.currentReplicas} to ${to}`,
    },
  };
}

function deactivationEvents(
  input: RequestScaleInput,
  to: number,
): Pick<ScaleDecision, 'event' | 'failureEvent'> {
  const { kind, namespace, name } = input.scaleTarget;
  const target = `${kind} ${namespace}/${name} from ${input.currentReplicas} to ${to}`;
  return {
    event: {
      type: 'Normal',
      reason: EventReason.KEDAScaleTargetDeactivated,
      note: `Deactivated ${target}`,
    },
    failureEvent: {
      type: 'Warning',
      reason: EventReason.KEDAScaleTargetDeactivationFailed,
      note: `Failed to deactivate ${target}`,
    },
  };
}

/**
 * Whether the cooldown allows scale-in to idle/min (C-64): without lastActiveTime once
 * `creationTimestamp + initialCooldownPeriod` is before now, otherwise once
 * `lastActiveTime + cooldownPeriod` is before now (strictly, like Go's Time.Before).
 */
export function cooldownState(
  input: Pick<
    RequestScaleInput,
    'lastActiveTime' | 'creationTimestamp' | 'cooldownPeriodSeconds' | 'initialCooldownPeriodSeconds' | 'now'
  >,
): { elapsed: boolean; remainingMs: number } {
  const deadline = input.lastActiveTime
    ? input.lastActiveTime.getTime() + input.cooldownPeriodSeconds * 1000
    : input.creationTimestamp.getTime() + input.initialCooldownPeriodSeconds * 1000;
  const now = input.now.getTime();
  return { elapsed: deadline < now, remainingMs: Math.max(0, deadline - now) };
}

/** RequestScale (§2.8): the first matching rule decides. */
export function requestScale(input: RequestScaleInput): ScaleDecision {
  const ready = conditionFrom(CONDITIONS.scaledObjectReady);
  if (input.currentReplicasError !== undefined) {
    return {
      action: 'none',
      conditions: [errorGettingCurrentReplicasCondition(input.currentReplicasError)],
      setLastActiveTime: false,
      rule: 'replicas-unreadable',
    };
  }
  if (input.fullyPaused) {
    return {
      action: 'none',
      conditions: [ready, conditionFrom(CONDITIONS.scaledObjectPaused)],
      setLastActiveTime: false,
      rule: 'paused',
    };
  }
  const current = input.currentReplicas;
  const min = input.minReplicaCount ?? 0;
  const idle = input.idleReplicaCount;

  if (input.isActive || input.forceActivation) {
    const active = conditionFrom(
      input.forceActivation ? CONDITIONS.scalerActiveForced : CONDITIONS.scalerActive,
    );
    if ((idle !== undefined && current < min) || current === 0) {
      if (input.pausedScaleOut) {
        return { action: 'none', conditions: [ready, active], setLastActiveTime: false, rule: 'activation-held-by-paused-scale-out' };
      }
      const to = min > 0 ? min : 1;
      return {
        action: 'activate',
        scaleTo: to,
        conditions: [ready, active],
        setLastActiveTime: true,
        ...activationEvents(input, to),
        rule: 'activate',
      };
    }
    if (input.isError) {
      return {
        action: 'none',
        conditions: [conditionFrom(CONDITIONS.scaledObjectPartialTriggerError), active],
        setLastActiveTime: false,
        rule: 'active-with-trigger-error',
      };
    }
    return { action: 'none', conditions: [ready, active], setLastActiveTime: true, rule: 'active' };
  }

  const notActive = conditionFrom(CONDITIONS.scalerNotActive);
  if (input.isError && input.fallback && input.fallback.replicas !== 0) {
    // Keep the replicas: at 0 the HPA is disabled and could not apply the fallback.
    return { action: 'none', conditions: [ready, notActive], setLastActiveTime: false, rule: 'error-with-fallback' };
  }
  if (input.isError && !input.fallback) {
    return {
      action: 'none',
      conditions: [conditionFrom(CONDITIONS.scaledObjectTriggerError), notActive],
      setLastActiveTime: false,
      rule: 'trigger-error',
    };
  }
  if ((idle !== undefined && current > idle) || (current > 0 && min === 0)) {
    if (input.pausedScaleIn) {
      return { action: 'none', conditions: [ready, notActive], setLastActiveTime: false, rule: 'deactivation-held-by-paused-scale-in' };
    }
    const cooldown = cooldownState(input);
    if (!cooldown.elapsed) {
      return {
        action: 'none',
        conditions: [ready, conditionFrom(CONDITIONS.scalerCooldown)],
        setLastActiveTime: false,
        cooldownRemainingMs: cooldown.remainingMs,
        rule: 'cooling-down',
      };
    }
    const to = idle ?? min;
    return {
      action: 'deactivate',
      scaleTo: to,
      conditions: [ready, notActive],
      setLastActiveTime: false,
      ...deactivationEvents(input, to),
      rule: 'deactivate',
    };
  }
  if (idle === undefined && current < min) {
    return {
      action: 'raiseToMin',
      scaleTo: min,
      conditions: [ready, notActive],
      setLastActiveTime: false,
      rule: 'raise-to-min',
    };
  }
  return { action: 'none', conditions: [ready, notActive], setLastActiveTime: false, rule: 'inactive' };
}

function toDate(value: string | Date | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * The inputs of `requestScale` that come from the ScaledObject itself (spec, annotations, status),
 * combined with what the poll found. `poll.lastActiveTime` is the last active time the controller
 * remembers; the later of it and `status.lastActiveTime` is what the cooldown counts from.
 */
export function requestScaleInputFor(
  so: ScaledObject,
  poll: Pick<
    RequestScaleInput,
    'currentReplicas' | 'currentReplicasError' | 'isActive' | 'isError' | 'activeMetricNames' | 'now' | 'lastActiveTime'
  >,
): RequestScaleInput {
  const pause = parsePauseAnnotations(so.metadata?.annotations);
  const input: RequestScaleInput = {
    ...poll,
    fullyPaused: pause.fullyPaused,
    forceActivation: pause.forceActivation,
    pausedScaleIn: pause.pausedScaleIn,
    pausedScaleOut: pause.pausedScaleOut,
    creationTimestamp: toDate(so.metadata?.creationTimestamp) ?? new Date(0),
    cooldownPeriodSeconds: effectiveCooldownPeriodSeconds(so),
    initialCooldownPeriodSeconds: effectiveInitialCooldownPeriodSeconds(so),
    scaleTarget: {
      kind: so.status?.scaleTargetKind ?? '',
      namespace: so.metadata?.namespace ?? '',
      name: so.spec.scaleTargetRef.name,
    },
  };
  if (so.spec.minReplicaCount !== undefined) input.minReplicaCount = so.spec.minReplicaCount;
  if (so.spec.idleReplicaCount !== undefined) input.idleReplicaCount = so.spec.idleReplicaCount;
  if (so.spec.fallback) input.fallback = { replicas: so.spec.fallback.replicas };
  // The controller remembers the last active poll, which status may not show yet (issue 24).
  const lastActiveTime = laterOf(poll.lastActiveTime, toDate(so.status?.lastActiveTime));
  if (lastActiveTime) input.lastActiveTime = lastActiveTime;
  else delete input.lastActiveTime;
  return input;
}
