import { WorkQueue } from './work-queue';

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('WorkQueue', () => {
  it('queues a waiting key once and processes keys in order', async () => {
    const seen: string[] = [];
    const q = new WorkQueue(async (k) => {
      seen.push(k);
      await tick(5);
    });
    q.add('busy');
    q.add('a');
    q.add('b');
    q.add('a');
    await q.whenIdle();
    expect(seen).toEqual(['busy', 'a', 'b']);
  });

  it('never runs one key twice at once; a key added while running runs again afterwards', async () => {
    let concurrent = 0;
    let maxConcurrent = 0;
    let runs = 0;
    const q = new WorkQueue(
      async () => {
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        runs++;
        await tick(10);
        concurrent--;
      },
      { concurrency: 4 },
    );
    q.add('a');
    await tick(1);
    q.add('a');
    q.add('a');
    await tick(40);
    await q.whenIdle();
    expect(maxConcurrent).toBe(1);
    expect(runs).toBe(2);
  });

  it('retries a failing key with growing backoff, and resets after success', async () => {
    const delays: number[] = [];
    let calls = 0;
    const q = new WorkQueue(
      async () => {
        calls++;
        if (calls < 4) throw new Error('boom');
      },
      { baseBackoffMs: 2, onError: (_k, _e, retry) => delays.push(retry) },
    );
    q.add('a');
    for (let i = 0; i < 50 && calls < 4; i++) await tick(5);
    expect(calls).toBe(4);
    expect(delays).toEqual([2, 4, 8]);
  });

  it('requeues after the delay a reconcile asks for', async () => {
    let calls = 0;
    const q = new WorkQueue(async () => (++calls === 1 ? { requeueAfterMs: 20 } : undefined));
    q.add('a');
    await tick(5);
    expect(calls).toBe(1);
    await tick(40);
    expect(calls).toBe(2);
    await q.stop();
  });

  it('runs different keys concurrently up to the concurrency', async () => {
    let concurrent = 0;
    let maxConcurrent = 0;
    const q = new WorkQueue(
      async () => {
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        await tick(10);
        concurrent--;
      },
      { concurrency: 2 },
    );
    ['a', 'b', 'c', 'd'].forEach((k) => q.add(k));
    await q.whenIdle();
    expect(maxConcurrent).toBe(2);
  });
});
