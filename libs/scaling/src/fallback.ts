/**
 * Fallback (§2.12, C-74..C-84): per-metric failure counting, when a metric falls back, the replica
 * count and metric value it falls back to, and the Fallback condition and its transition events.
 */
import {
  CONDITIONS,
  ConditionStatus,
  conditionFrom,
  formatMilliQuantity,
  isUsingModifiers,
  type Condition,
  type FallbackBehavior,
  type HealthStatus,
  type ScaledObjectLike,
} from '@keda-ts/api';
import { EventReason } from '@keda-ts/api';
import type { ScaleEvent } from './events';

export const HealthStatusValue = { Happy: 'Happy', Failing: 'Failing' } as const;

export type HealthMap = Record<string, HealthStatus>;

const INT64 = /^[+-]?\d+$/;
const INT64_MAX = 9223372036854775807n;

/** Go's strconv.ParseInt(s, 10, 64) > 0. */
function isPositiveInt64(s: string | undefined): boolean {
  if (s === undefined || !INT64.test(s)) return false;
  const n = BigInt(s);
  return n > 0n && n <= INT64_MAX;
}

/**
 * A fallback is configured and usable (C-74): failureThreshold and replicas are ≥ 0 and, with scaling
 * modifiers, `scalingModifiers.target` is a base-10 integer > 0 (so `"2.5"` makes the fallback
 * invalid). Only then is `status.health` tracked.
 */
export function isFallbackValid(so: ScaledObjectLike): boolean {
  const fallback = so.spec?.fallback;
  if (!fallback) return false;
  if (isUsingModifiers(so) && !isPositiveInt64(so.spec?.advanced?.scalingModifiers?.target)) return false;
  return fallback.failureThreshold >= 0 && fallback.replicas >= 0;
}

/**
 * The health map after one read of `metricName` (C-74): a success resets the entry to 0 failures and
 * Happy, a failure increments the count and sets Failing. Returns a new map.
 */
export function updateHealth(
  health: Readonly<HealthMap> | undefined,
  metricName: string,
  ok: boolean,
): HealthMap {
  const next: HealthMap = { ...health };
  next[metricName] = ok
    ? { numberOfFailures: 0, status: HealthStatusValue.Happy }
    : {
        numberOfFailures: (health?.[metricName]?.numberOfFailures ?? 0) + 1,
        status: HealthStatusValue.Failing,
      };
  return next;
}

/** A metric falls back once its consecutive failures are strictly greater than the threshold (C-76). */
export function isFallbackActive(entry: HealthStatus | undefined, failureThreshold: number): boolean {
  return entry?.status === HealthStatusValue.Failing && (entry.numberOfFailures ?? 0) > failureThreshold;
}

/**
 * Some metric of the ScaledObject is falling back (and the fallback is valid). With behavior
 * scalingModifiers (and modifiers in use) a metric over the threshold is only nil in the formula, and
 * the fallback is not considered active (C-81).
 */
export function fallbackExists(health: Readonly<HealthMap> | undefined, so: ScaledObjectLike): boolean {
  const fallback = so.spec?.fallback;
  if (!fallback || !isFallbackValid(so)) return false;
  if (fallback.behavior === 'scalingModifiers' && isUsingModifiers(so)) return false;
  return Object.values(health ?? {}).some((entry) => isFallbackActive(entry, fallback.failureThreshold));
}

/** The Fallback condition (C-74, C-20): FallbackExists while a metric falls back, else NoFallbackFound. */
export function fallbackCondition(health: Readonly<HealthMap> | undefined, so: ScaledObjectLike): Condition {
  return conditionFrom(fallbackExists(health, so) ? CONDITIONS.fallbackExists : CONDITIONS.noFallbackFound);
}

/**
 * The event for a change of the Fallback condition (C-83): not-active → active emits
 * ScaledObjectFallbackActivated, active → not-active emits ScaledObjectFallbackDeactivated.
 */
export function fallbackTransitionEvent(
  previous: Condition | undefined,
  next: Condition,
): ScaleEvent | undefined {
  const wasActive = previous?.status === ConditionStatus.True;
  const isActive = next.status === ConditionStatus.True;
  if (!wasActive && isActive) {
    return {
      type: 'Normal',
      reason: EventReason.ScaledObjectFallbackActivated,
      note: 'ScaledObject fallback is active',
    };
  }
  if (wasActive && !isActive) {
    return {
      type: 'Normal',
      reason: EventReason.ScaledObjectFallbackDeactivated,
      note: 'ScaledObject fallback is no longer active',
    };
  }
  return undefined;
}

/** The behaviors whose replica count depends on the target's current replicas. */
export function fallbackNeedsCurrentReplicas(behavior: FallbackBehavior | string | undefined): boolean {
  return (
    behavior === 'currentReplicas' ||
    behavior === 'currentReplicasIfHigher' ||
    behavior === 'currentReplicasIfLower'
  );
}

/**
 * The replica count R to fall back to (C-77). `static`, an empty, unknown or `scalingModifiers`
 * behavior use `fallback.replicas`. The currentReplicas behaviors need `currentReplicas`; when it is
 * undefined (reading it failed) the result is undefined: the scaler error is passed on, no fallback.
 */
export function fallbackReplicas(
  behavior: FallbackBehavior | string | undefined,
  currentReplicas: number | undefined,
  replicas: number,
): number | undefined {
  if (!fallbackNeedsCurrentReplicas(behavior)) return replicas;
  if (currentReplicas === undefined) return undefined;
  switch (behavior) {
    case 'currentReplicas':
      return currentReplicas;
    case 'currentReplicasIfHigher':
      return Math.max(currentReplicas, replicas);
    default: // currentReplicasIfLower
      return Math.min(currentReplicas, replicas);
  }
}

export interface FallbackMetricValueInput {
  /** The External target's averageValue (AverageValue) or value (Value); with modifiers, scalingModifiers.target. */
  targetValue: number;
  /** The fallback replica count R. */
  replicas: number;
  /** Target type of the metric (or scalingModifiers.metricType); empty means AverageValue. */
  metricType: string | undefined;
  /** Running pods with Ready=True that match the target's selector; needed for the Value type only. */
  readyPods?: number;
}

export type FallbackMetricValueResult =
  | { ok: true; value: number; quantity: string }
  | { ok: false; error: string; detail: string };

/**
 * The metric value that makes the HPA settle at R replicas (C-78): `target × R`, where for the Value
 * type R is first divided by the ready pods (the HPA multiplies by them again). Written as the
 * milli-quantity int64(target*1000*R). Zero ready pods with the Value type is an error.
 */
export function fallbackMetricValue(input: FallbackMetricValueInput): FallbackMetricValueResult {
  let replicas = input.replicas;
  if (input.metricType === 'Value') {
    const readyPods = input.readyPods ?? 0;
    if (!(readyPods > 0)) {
      return {
        ok: false,
        error: 'error performing fallback',
        detail: `the metric type is Value, so fallback divides by the ready pods of the target, and it has ${readyPods}`,
      };
    }
    replicas /= readyPods;
  }
  const milli = Math.trunc(input.targetValue * 1000 * replicas);
  return { ok: true, value: milli / 1000, quantity: formatMilliQuantity(BigInt(milli)) };
}

/**
 * What a metric read turns into after fallback processing:
 * - `ok`: the read succeeded;
 * - `error`: the read failed and is passed on (no valid fallback, or at/below the threshold, C-80);
 * - `fallback`: the read failed past the threshold: use `fallbackMetricValue`, and the trigger counts
 *   as active and without error (C-79);
 * - `formulaNil`: as `fallback`, but with behavior scalingModifiers: the trigger is nil in the formula
 *   and the fallback does not count as active (C-81).
 */
export type MetricReadOutcome = 'ok' | 'error' | 'fallback' | 'formulaNil';

export interface MetricReadResult {
  outcome: MetricReadOutcome;
  /** False when no valid fallback is configured: then `status.health` is left alone (C-74). */
  trackHealth: boolean;
  /** The new health map (the old one when not tracked). */
  health: HealthMap;
  /** The Fallback condition to store with the health (only when tracked). */
  condition?: Condition;
}

/** Fallback processing of one metric read (C-74..C-81), without the replica and value computation. */
export function recordMetricRead(input: {
  so: ScaledObjectLike;
  health: Readonly<HealthMap> | undefined;
  metricName: string;
  ok: boolean;
}): MetricReadResult {
  const { so, metricName, ok } = input;
  const fallback = so.spec?.fallback;
  if (!fallback || !isFallbackValid(so)) {
    return { outcome: ok ? 'ok' : 'error', trackHealth: false, health: { ...input.health } };
  }
  const health = updateHealth(input.health, metricName, ok);
  const condition = fallbackCondition(health, so);
  if (ok) return { outcome: 'ok', trackHealth: true, health, condition };
  if (!isFallbackActive(health[metricName], fallback.failureThreshold)) {
    return { outcome: 'error', trackHealth: true, health, condition };
  }
  const outcome =
    fallback.behavior === 'scalingModifiers' && isUsingModifiers(so) ? 'formulaNil' : 'fallback';
  return { outcome, trackHealth: true, health, condition };
}

/**
 * The value that stands in for a metric that falls back with behavior scalingModifiers (C-81); the
 * formula sees the trigger as nil, not this value.
 */
export const FORMULA_NIL_PLACEHOLDER = -1;

/**
 * How often a count that only grows past `failureThreshold + 1` is written to status.health: the
 * value decides nothing there (fallback stays active while the count is above the threshold), and
 * writing it every poll costs one status write per poll per failing ScaledObject (issue 17).
 */
export const HEALTH_COUNT_WRITE_INTERVAL_MS = 30_000;

/**
 * Whether `next` (the health after a read) is due to be written over `written` (what this writer
 * last wrote, or status.health), `sinceWrittenMs` after its last health write (undefined: never).
 * Due at once: a metric added or removed, a status change (Happy/Failing), any count change up to
 * `failureThreshold + 1` (where fallback starts, so status shows it as it happens). A count that only
 * grows past that is due every `intervalMs`.
 */
export function healthWriteDue(input: {
  written: Readonly<HealthMap> | undefined;
  next: Readonly<HealthMap>;
  failureThreshold: number;
  sinceWrittenMs: number | undefined;
  intervalMs?: number;
}): boolean {
  const written = input.written ?? {};
  const names = new Set([...Object.keys(written), ...Object.keys(input.next)]);
  const cap = Math.max(0, input.failureThreshold) + 1;
  let countOnly = false;
  for (const name of names) {
    const before = written[name];
    const after = input.next[name];
    if (!before || !after || before.status !== after.status) return true;
    const n0 = before.numberOfFailures ?? 0;
    const n1 = after.numberOfFailures ?? 0;
    if (n0 === n1) continue;
    if (Math.min(n0, cap) !== Math.min(n1, cap)) return true;
    countOnly = true;
  }
  if (!countOnly) return false;
  return input.sinceWrittenMs === undefined || input.sinceWrittenMs >= (input.intervalMs ?? HEALTH_COUNT_WRITE_INTERVAL_MS);
}
