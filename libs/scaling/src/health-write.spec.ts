import { HEALTH_COUNT_WRITE_INTERVAL_MS, healthWriteDue, type HealthMap } from './fallback';

const failing = (n: number) => ({ numberOfFailures: n, status: 'Failing' as const });
const happy = { numberOfFailures: 0, status: 'Happy' as const };
const m = (entry: HealthMap[string] | undefined, other?: HealthMap[string]): HealthMap => ({
  ...(entry ? { a: entry } : {}),
  ...(other ? { b: other } : {}),
});

describe('healthWriteDue (threshold 3: fallback from the 4th consecutive failure)', () => {
  const soon = 1_000;
  const late = HEALTH_COUNT_WRITE_INTERVAL_MS;
  it.each([
    ['nothing changed', m(failing(9)), m(failing(9)), soon, false],
    ['first health of a metric', undefined, m(failing(1)), undefined, true],
    ['a metric added', m(happy), m(happy, failing(1)), soon, true],
    ['a metric removed', m(happy, happy), m(happy), soon, true],
    ['first failure (Happy -> Failing)', m(happy), m(failing(1)), soon, true],
    ['recovery (Failing -> Happy)', m(failing(40)), m(happy), soon, true],
    ['counting towards the threshold', m(failing(1)), m(failing(2)), soon, true],
    ['reaching the threshold', m(failing(2)), m(failing(3)), soon, true],
    ['crossing it (fallback starts)', m(failing(3)), m(failing(4)), soon, true],
    ['past it, soon after the last write', m(failing(4)), m(failing(5)), soon, false],
    ['past it, far past, soon after the last write', m(failing(4)), m(failing(60)), late - 1, false],
    ['past it, an interval after the last write', m(failing(4)), m(failing(35)), late, true],
    ['past it, never written by this writer', m(failing(4)), m(failing(5)), undefined, true],
    ['a count that went down below the cap (another writer)', m(failing(9)), m(failing(2)), soon, true],
    ['one metric ticking, the other crossing', m(failing(9), failing(3)), m(failing(10), failing(4)), soon, true],
    ['both ticking past the threshold', m(failing(9), failing(5)), m(failing(10), failing(6)), soon, false],
  ] as const)('%s', (_name, written, next, sinceWrittenMs, want) => {
    expect(healthWriteDue({ written, next, failureThreshold: 3, sinceWrittenMs })).toBe(want);
  });

  it('threshold 0: the first failure already falls back, later ones only tick', () => {
    expect(healthWriteDue({ written: m(happy), next: m(failing(1)), failureThreshold: 0, sinceWrittenMs: soon })).toBe(true);
    expect(healthWriteDue({ written: m(failing(1)), next: m(failing(2)), failureThreshold: 0, sinceWrittenMs: soon })).toBe(false);
  });

  it('the interval can be given', () => {
    expect(healthWriteDue({ written: m(failing(5)), next: m(failing(6)), failureThreshold: 3, sinceWrittenMs: 5_000, intervalMs: 5_000 })).toBe(true);
  });
});
