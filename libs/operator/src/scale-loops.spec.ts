import { ScaleLoops } from './scale-loops';

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
    expect(polls).toBe(2);
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
