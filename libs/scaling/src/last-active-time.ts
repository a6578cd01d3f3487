/**
 * When `status.lastActiveTime` is written (issue 24). KEDA writes it on every active poll: at
 * pollingInterval 5 that is one status write per active object every 5 s, most of the API
 * server's work in a large cluster. Here the controller remembers the true last active time in
 * memory (the cooldown counts from it) and writes it only when the object becomes active, or when
 * the stored value has fallen a bounded time behind.
 */

/**
 * The stored lastActiveTime of a ScaledObject lags the true one by less than
 * cooldownPeriod / LAST_ACTIVE_TIME_COOLDOWN_DIVISOR. Only a controller that restarts while the
 * object is active (a graceful handover writes the true value first) cools down from the stored
 * value, and so may scale in that much earlier than KEDA. A quarter keeps that skew small next to
 * the cooldown a user chose, and still turns KEDA's write every poll into one per 75 s with the
 * default cooldownPeriod of 300 s.
 */
export const LAST_ACTIVE_TIME_COOLDOWN_DIVISOR = 4;

/**
 * The bound where no cooldown reads lastActiveTime, so it is only informative: ScaledJobs (KEDA
 * writes it, nothing decides on it), and ScaledObjects with cooldownPeriod 0 (any lastActiveTime in
 * the past has already ended a zero cooldown, so its age changes no decision).
 */
export const INFORMATIVE_LAST_ACTIVE_TIME_BOUND_MS = 60_000;

/** How far the stored lastActiveTime of a ScaledObject may lag the true one, for its cooldownPeriod. */
export function lastActiveTimeBoundMs(cooldownPeriodSeconds: number): number {
  if (cooldownPeriodSeconds <= 0) return INFORMATIVE_LAST_ACTIVE_TIME_BOUND_MS;
  return (cooldownPeriodSeconds * 1000) / LAST_ACTIVE_TIME_COOLDOWN_DIVISOR;
}

/**
 * Whether an active poll at `now` writes lastActiveTime: at a transition (the object just became
 * active, or was just activated by a scale write), when status has none, or when the stored value
 * (`stored`: the later of status and what this controller last wrote) is `boundMs` or more old.
 */
export function lastActiveTimeWriteDue(input: { stored?: Date; now: Date; boundMs: number; transition: boolean }): boolean {
  if (input.transition || !input.stored) return true;
  return input.now.getTime() - input.stored.getTime() >= input.boundMs;
}

/** `status.lastActiveTime` as a Date; undefined when absent or unparsable. */
export function parseStatusTime(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** A time as status holds it: RFC 3339 with second precision (metav1.Time). */
export function toStatusTime(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `at` truncated to the second, as it reads back from status. */
export function truncateToSecond(at: Date): Date {
  return new Date(Math.floor(at.getTime() / 1000) * 1000);
}

/** The later of two optional times. */
export function laterOf(a: Date | undefined, b: Date | undefined): Date | undefined {
  if (!a) return b;
  if (!b) return a;
  return a.getTime() >= b.getTime() ? a : b;
}
