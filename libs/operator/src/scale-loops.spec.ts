import { leaderScaleLoops, NOT_READY_RETRY_MS, RESTART_MIN_GAP_MS, ScaleLoops, type PollResult } from './scale-loops';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ScaleLoops', () => {
  it('polls at once and then every interval, measured from the start of the previous poll', async () => {
    // Fake clock: the schedule, not the machine's load, decides.
    jest.useFakeTimers();
    try {
      const times: number[] = [];
      const loops = new ScaleLoops(
        {
          poll: async () => {
            times.push(performance.now());
            await new Promise((r) => setTimeout(r, 5));
          },
          intervalMs: () => 20,
        },
        () => 1,
      );
      const t0 = performance.now();
      loops.start('a');
      await jest.advanceTimersByTimeAsync(75);
      await loops.stopAll();
      // A 5 ms poll does not push the schedule: 0, 20, 40, 60.
      expect(times.map((t) => Math.round(t - t0))).toEqual([0, 20, 40, 60]);
    } finally {
      jest.useRealTimers();
    }
  });

  it('a slow poll of one object does not delay another', async () => {
    let fastWhileSlowRan = 0;
    let slowRunning = false;
    const loops = new ScaleLoops(
      {
        poll: async (k) => {
          if (k !== 'slow') {
            if (slowRunning) fastWhileSlowRan++;
            return;
          }
          slowRunning = true;
          await tick(2_000);
          slowRunning = false;
        },
        intervalMs: () => 10,
      },
      () => 1,
    );
    loops.start('slow');
    loops.start('fast');
    try {
      // Four fast polls while the slow one is still running (waited on, not timed: the machine may be busy).
      const started = performance.now();
      while (fastWhileSlowRan < 4 && performance.now() - started < 10_000) await tick(5);
      expect(fastWhileSlowRan).toBeGreaterThanOrEqual(4);
    } finally {
      await loops.stopAll();
    }
  });

  it('restarting cancels the old loop; stop reports whether one ran and calls onStop', async () => {
    const stopped: string[] = [];
    let polls = 0;
    const loops = new ScaleLoops({ poll: async () => void polls++, intervalMs: () => 1000, onStop: (k) => stopped.push(k) }, () => 7);
    expect(loops.start('a')).toBe(false);
    expect(loops.start('a')).toBe(true);
    expect(loops.generation('a')).toBe(7);
    await tick(5);
    // The restart came right after the first poll: its own first poll waits for the restart gap.
    expect(polls).toBe(1);
    expect(loops.stop('a')).toBe(true);
    expect(loops.stop('a')).toBe(false);
    expect(stopped).toEqual(['a']);
  });

  it('stopAll (graceful shutdown) lets running polls finish and starts no new one', async () => {
    const finished: string[] = [];
    let started = 0;
    const loops = new ScaleLoops(
      {
        poll: async (k) => {
          started++;
          await tick(50);
          finished.push(k);
        },
        intervalMs: () => 1,
      },
      () => 1,
    );
    loops.start('a');
    loops.start('b');
    await tick(10);
    await loops.stopAll();
    // Both in-flight polls (and their writes) completed before stopAll resolved.
    expect(finished.sort()).toEqual(['a', 'b']);
    const after = started;
    await tick(30);
    expect(started).toBe(after);
    expect(loops.size).toBe(0);
  });
});

describe('ScaleLoops.pokeNow (push scalers)', () => {
  it('runs an extra poll at once without overlapping the running one, merging requests', async () => {
    let running = 0;
    let maxRunning = 0;
    let polls = 0;
    const loops = new ScaleLoops(
      {
        poll: async () => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          polls++;
          await tick(30);
          running--;
        },
        intervalMs: () => 60_000,
      },
      () => 1,
    );
    expect(loops.pokeNow('a')).toBe(false);
    loops.start('a');
    // The first poll is running: three pokes merge into one extra poll after it.
    expect(loops.pokeNow('a')).toBe(true);
    expect(loops.pokeNow('a')).toBe(true);
    expect(loops.pokeNow('a')).toBe(true);
    await tick(120);
    expect(polls).toBe(2);
    expect(maxRunning).toBe(1);
    // With nothing running, a poke polls at once (the regular interval is a minute).
    loops.pokeNow('a');
    await tick(10);
    expect(polls).toBe(3);
    await loops.stopAll();
  });

  it('the regular tick waits for a running extra poll', async () => {
    let running = 0;
    let maxRunning = 0;
    let polls = 0;
    const loops = new ScaleLoops(
      {
        poll: async () => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          polls++;
          await tick(25);
          running--;
        },
        intervalMs: () => 30,
      },
      () => 1,
    );
    loops.start('a');
    await tick(28);
    loops.pokeNow('a');
    await tick(100);
    expect(maxRunning).toBe(1);
    expect(polls).toBeGreaterThanOrEqual(3);
    await loops.stopAll();
  });
});

/** Runs `steps` against a loop on a fake clock; returns the poll times (ms from the start). */
async function schedule(opts: {
  intervalMs: number;
  pollMs?: number;
  results?: PollResult[];
  /** [at ms, action] in time order. */
  steps?: [number, 'restart' | 'stop' | 'start'][];
  until: number;
}): Promise<number[]> {
  jest.useFakeTimers();
  try {
    const times: number[] = [];
    let running = 0;
    const results = [...(opts.results ?? [])];
    const t0 = performance.now();
    const loops = new ScaleLoops(
      {
        poll: async () => {
          expect(running).toBe(0); // never two polls of one key at once
          running++;
          times.push(Math.round(performance.now() - t0));
          if (opts.pollMs) await new Promise((r) => setTimeout(r, opts.pollMs));
          running--;
          return results.shift();
        },
        intervalMs: () => opts.intervalMs,
      },
      () => 1,
    );
    loops.start('a');
    let now = 0;
    for (const [at, action] of opts.steps ?? []) {
      await jest.advanceTimersByTimeAsync(at - now);
      now = at;
      if (action === 'stop') loops.stop('a');
      else loops.start('a', true);
    }
    await jest.advanceTimersByTimeAsync(opts.until - now);
    const stopped = loops.stopAll();
    await jest.advanceTimersByTimeAsync(opts.pollMs ?? 0);
    await stopped;
    return times;
  } finally {
    jest.useRealTimers();
  }
}

describe('ScaleLoops first poll and restarts', () => {
  const R = NOT_READY_RETRY_MS;
  const G = RESTART_MIN_GAP_MS;
  it.each<[string, Parameters<typeof schedule>[0], number[]]>([
    ['a new loop polls at once, then every interval', { intervalMs: 30_000, until: 61_000 }, [0, 30_000, 60_000]],
    [
      'not-ready polls retry soon, doubling, then the regular interval resumes from the poll that ran',
      { intervalMs: 30_000, results: ['not-ready', 'not-ready', 'not-ready'], until: 32_000 },
      [0, R, R + 2 * R, R + 2 * R + 4 * R, R + 2 * R + 4 * R + 30_000],
    ],
    ['not-ready retries never wait longer than the interval', { intervalMs: 300, results: ['not-ready', 'not-ready', 'not-ready'], until: 1_000 }, [0, 250, 550, 850]],
    ['a restart long after the last poll polls at once', { intervalMs: 30_000, steps: [[10_000, 'restart']], until: 41_000 }, [0, 10_000, 40_000]],
    ['a restart right after a poll waits for the gap', { intervalMs: 30_000, steps: [[1_000, 'restart']], until: 36_000 }, [0, G, G + 30_000]],
    ['the gap is never longer than the interval', { intervalMs: 2_000, steps: [[500, 'restart']], until: 4_100 }, [0, 2_000, 4_000]],
    [
      'a restart every second polls at most once per gap',
      { intervalMs: 30_000, steps: Array.from({ length: 12 }, (_, i) => [(i + 1) * 1_000, 'restart'] as [number, 'restart']), until: 13_000 },
      [0, G, 2 * G],
    ],
    ['a restart while a poll runs waits for it (no overlap)', { intervalMs: 30_000, pollMs: 8_000, steps: [[7_000, 'restart']], until: 9_000 }, [0, 8_000]],
    ['stop then start (unpaused, created again) polls at once', { intervalMs: 30_000, steps: [[1_000, 'stop'], [1_500, 'start']], until: 2_000 }, [0, 1_500]],
    [
      'a not-ready poll does not count for the restart gap',
      { intervalMs: 30_000, results: ['not-ready'], steps: [[100, 'restart']], until: 200 },
      [0, 100],
    ],
  ])('%s', async (_name, opts, expected) => {
    expect(await schedule(opts)).toEqual(expected);
  });
});

describe('leaderScaleLoops', () => {
  it('polls while leading; a loop that ticks after leadership ended stops without polling', async () => {
    let leading = true;
    const polled: string[] = [];
    const stopped: string[] = [];
    const loops = leaderScaleLoops(() => leading, { poll: async (k) => void polled.push(k), intervalMs: () => 10, onStop: (k) => stopped.push(k) }, () => 1);
    loops.start('a');
    await tick(5);
    expect(polled).toEqual(['a']);
    leading = false;
    await tick(30);
    expect(polled).toEqual(['a']);
    expect(loops.has('a')).toBe(false);
    expect(stopped).toEqual(['a']);
  });
});
