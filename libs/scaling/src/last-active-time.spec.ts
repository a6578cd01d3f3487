import {
  INFORMATIVE_LAST_ACTIVE_TIME_BOUND_MS,
  LAST_ACTIVE_TIME_COOLDOWN_DIVISOR,
  laterOf,
  lastActiveTimeBoundMs,
  lastActiveTimeWriteDue,
  parseStatusTime,
  toStatusTime,
  truncateToSecond,
} from './last-active-time';

const NOW = new Date('2026-01-01T12:00:00Z');
const secondsAgo = (s: number) => new Date(NOW.getTime() - s * 1000);

describe('lastActiveTimeBoundMs', () => {
  it.each([
    ['the default cooldownPeriod 300 s: 75 s', 300, 75_000],
    ['cooldownPeriod 30 s: 7.5 s', 30, 7_500],
    ['cooldownPeriod 1 s: 250 ms (every poll at pollingInterval 1)', 1, 250],
    ['cooldownPeriod 0: no cooldown reads it, informative only', 0, INFORMATIVE_LAST_ACTIVE_TIME_BOUND_MS],
  ])('%s', (_name, cooldownPeriodSeconds, want) => {
    expect(lastActiveTimeBoundMs(cooldownPeriodSeconds)).toBe(want);
  });

  it('is a quarter of the cooldown', () => {
    expect(LAST_ACTIVE_TIME_COOLDOWN_DIVISOR).toBe(4);
  });
});

describe('lastActiveTimeWriteDue (cooldownPeriod 300 s: bound 75 s)', () => {
  const boundMs = lastActiveTimeBoundMs(300);
  it.each([
    ['nothing stored', undefined, false, true],
    ['nothing stored, at a transition', undefined, true, true],
    ['a transition, stored just now', secondsAgo(0), true, true],
    ['a transition, stored long ago', secondsAgo(3600), true, true],
    ['stored one poll ago', secondsAgo(5), false, false],
    ['stored just under the bound ago', secondsAgo(74.999), false, false],
    ['stored exactly the bound ago', secondsAgo(75), false, true],
    ['stored longer ago than the bound', secondsAgo(600), false, true],
    ['stored in the future (clock skew between replicas)', secondsAgo(-30), false, false],
  ] as const)('%s', (_name, stored, transition, want) => {
    expect(lastActiveTimeWriteDue({ stored, now: NOW, boundMs, transition })).toBe(want);
  });

  it('active at pollingInterval 5 for 10 minutes: one write per bound, less than one a minute', () => {
    let stored: Date | undefined;
    let writes = 0;
    for (let s = 0; s < 600; s += 5) {
      const now = new Date(NOW.getTime() + s * 1000);
      if (lastActiveTimeWriteDue({ stored, now, boundMs, transition: s === 0 })) {
        writes += 1;
        stored = now;
      }
    }
    expect(writes).toBe(Math.ceil(600 / 75));
    expect(writes).toBeLessThan(10);
  });
});

describe('status times', () => {
  it('parses and formats with second precision, as metav1.Time', () => {
    expect(parseStatusTime('2026-01-01T11:00:00Z')).toEqual(new Date('2026-01-01T11:00:00Z'));
    expect(parseStatusTime(undefined)).toBeUndefined();
    expect(parseStatusTime('not a time')).toBeUndefined();
    expect(toStatusTime(new Date('2026-01-01T11:00:00.789Z'))).toBe('2026-01-01T11:00:00Z');
    expect(truncateToSecond(new Date('2026-01-01T11:00:00.789Z'))).toEqual(new Date('2026-01-01T11:00:00Z'));
  });

  it.each([
    ['both missing', undefined, undefined, undefined],
    ['only the first', secondsAgo(1), undefined, secondsAgo(1)],
    ['only the second', undefined, secondsAgo(2), secondsAgo(2)],
    ['the first is later', secondsAgo(1), secondsAgo(2), secondsAgo(1)],
    ['the second is later', secondsAgo(3), secondsAgo(2), secondsAgo(2)],
  ] as const)('laterOf: %s', (_name, a, b, want) => {
    expect(laterOf(a, b)).toEqual(want);
  });
});
