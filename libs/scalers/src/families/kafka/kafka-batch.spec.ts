
import { type BatchAnswer, type BatchRequest, type CommittedOffsets, OffsetsBatcher } from './kafka-batch';

const WINDOW = 50;

/** A fake fetch: records each batch's request; answers from `groups` / `topics` (an Error fails that entry). */
function fakeFetch(answer: (req: BatchRequest, n: number) => BatchAnswer) {
  const requests: BatchRequest[] = [];
  let release: (() => void) | undefined;
  let hold = false;
  const fetch = jest.fn(async (req: BatchRequest) => {
    requests.push({
      groups: new Map([...req.groups].map(([g, t]) => [g, t && new Set(t)])),
      topics: new Set(req.topics),
    });
    const n = requests.length;
    if (hold) await new Promise<void>((r) => (release = r));
    return answer(req, n);
  });
  return {
    fetch,
    requests,
    holdNext: () => (hold = true),
    release: () => {
      hold = false;
      release?.();
    },
  };
}

const committed = (entries: Record<string, Record<number, number> | Error>): CommittedOffsets =>
  new Map(
    Object.entries(entries).map(([t, p]) => [
      t,
      p instanceof Error ? p : new Map(Object.entries(p).map(([k, v]) => [Number(k), v])),
    ]),
  );

/** Offsets stamped with the batch number, so a test can tell which batch answered. */
function stamped(req: BatchRequest, n: number): BatchAnswer {
  const a: BatchAnswer = { committed: new Map(), latest: new Map() };
  for (const [g] of req.groups) a.committed.set(g, committed({ orders: { 0: n } }));
  for (const t of [...req.topics, 'orders']) a.latest.set(t, [{ partition: 0, offset: 100 + n }]);
  return a;
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

describe('OffsetsBatcher', () => {
  it('coalesces the callers of one window into one fetch, sent when the window closes', async () => {
    const f = fakeFetch(stamped);
    const b = new OffsetsBatcher(f.fetch, WINDOW);
    const calls = [b.get('g1', 'orders'), b.get('g2', 'orders'), b.get('g1', 'audit'), b.get('g3')];
    await jest.advanceTimersByTimeAsync(WINDOW - 1);
    expect(f.fetch).not.toHaveBeenCalled();
    await jest.advanceTimersByTimeAsync(1);
    const answers = await Promise.all(calls);
    expect(f.fetch).toHaveBeenCalledTimes(1);
    expect(f.requests[0]).toEqual({
      groups: new Map([
        ['g1', new Set(['orders', 'audit'])],
        ['g2', new Set(['orders'])],
        ['g3', null],
      ]),
      topics: new Set(['orders', 'audit']),
    });
    expect(answers[0]).toEqual({
      committed: new Map([['orders', new Map([[0, 1]])]]),
      latest: new Map([['orders', [{ partition: 0, offset: 101 }]]]),
    });
    // Every topic the group committed to, when no topic was named.
    expect([...answers[3].latest.keys()]).toEqual(['orders']);
    expect(b.collecting).toBe(false);
  });

  it.each<[string, number[], number[]]>([
    // [name, call times (ms), expected batch of each call]
    ['all in one window', [0, 10, 49], [1, 1, 1]],
    ['a call after the batch was sent waits for the next batch', [0, 50, 60], [1, 2, 2]],
    ['windows do not slide', [0, 40, 80, 120], [1, 1, 2, 2]],
  ])('freshness: %s', async (_name, times, expected) => {
    const f = fakeFetch(stamped);
    const b = new OffsetsBatcher(f.fetch, WINDOW);
    const answers: Promise<number>[] = [];
    let now = 0;
    for (const t of times) {
      await jest.advanceTimersByTimeAsync(t - now);
      now = t;
      answers.push(b.get('g', 'orders').then((o) => o.committed.get('orders')?.get(0) ?? -1));
    }
    await jest.advanceTimersByTimeAsync(WINDOW);
    expect(await Promise.all(answers)).toEqual(expected);
  });

  it('a call while a batch is in flight is answered by a later batch, never by the one in flight', async () => {
    const f = fakeFetch(stamped);
    const b = new OffsetsBatcher(f.fetch, WINDOW);
    f.holdNext();
    const first = b.get('g', 'orders');
    await jest.advanceTimersByTimeAsync(WINDOW);
    expect(b.batchesInFlight).toBe(1);
    const second = b.get('g', 'orders');
    f.release();
    expect((await first).latest.get('orders')).toEqual([{ partition: 0, offset: 101 }]);
    await jest.advanceTimersByTimeAsync(WINDOW);
    expect((await second).latest.get('orders')).toEqual([{ partition: 0, offset: 102 }]);
    expect(f.fetch).toHaveBeenCalledTimes(2);
  });

  it.each<[string, (req: BatchRequest) => BatchAnswer, Record<string, string>]>([
    [
      'a group error fails only that group',
      () => ({
        committed: new Map<string, CommittedOffsets | Error>([
          ['good', committed({ orders: { 0: 5 } })],
          ['bad', new Error('This is not the correct coordinator for this group')],
          ['all', committed({ orders: { 0: 1 } })],
        ]),
        latest: new Map([['orders', [{ partition: 0, offset: 9 }]]]),
      }),
      { good: 'ok', bad: 'This is not the correct coordinator for this group', all: 'ok' },
    ],
    [
      'a topic error fails the callers of that topic (and of every topic of a group committed to it)',
      () => ({
        committed: new Map<string, CommittedOffsets | Error>([
          ['good', committed({ orders: { 0: 5 } })],
          ['bad', committed({ gone: { 0: 1 } })],
          ['all', committed({ orders: { 0: 1 }, gone: { 0: 1 } })],
        ]),
        latest: new Map<string, { partition: number; offset: number }[] | Error>([
          ['orders', [{ partition: 0, offset: 9 }]],
          ['gone', new Error('This server does not host this topic-partition')],
        ]),
      }),
      {
        good: 'ok',
        bad: 'This server does not host this topic-partition',
        all: 'This server does not host this topic-partition',
      },
    ],
    [
      'a partition error of a group fails its callers of that topic only',
      () => ({
        committed: new Map<string, CommittedOffsets | Error>([
          ['good', committed({ orders: { 0: 5 } })],
          ['bad', committed({ gone: new Error('unstable') })],
          ['all', committed({ orders: { 0: 1 } })],
        ]),
        latest: new Map([
          ['orders', [{ partition: 0, offset: 9 }]],
          ['gone', [{ partition: 0, offset: 9 }]],
        ]),
      }),
      { good: 'ok', bad: 'unstable', all: 'ok' },
    ],
  ])('errors: %s', async (_name, answer, expected) => {
    const b = new OffsetsBatcher(async (req) => answer(req), WINDOW);
    const outcome = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: Error) => e.message,
      );
    const results = Promise.all([
      outcome(b.get('good', 'orders')),
      outcome(b.get('bad', 'gone')),
      outcome(b.get('all')),
    ]);
    await jest.advanceTimersByTimeAsync(WINDOW);
    const [good, bad, all] = await results;
    expect({ good, bad, all }).toEqual(expected);
  });

  it('a failed fetch fails every caller of its batch; the next batch asks again', async () => {
    let n = 0;
    const b = new OffsetsBatcher(async (req) => {
      if (++n === 1) throw new Error('Connection error: connect ECONNREFUSED');
      return stamped(req, n);
    }, WINDOW);
    const failed = Promise.allSettled([b.get('a', 'orders'), b.get('b', 'orders')]);
    await jest.advanceTimersByTimeAsync(WINDOW);
    expect((await failed).map((r) => r.status)).toEqual(['rejected', 'rejected']);
    const ok = b.get('a', 'orders');
    await jest.advanceTimersByTimeAsync(WINDOW);
    expect((await ok).committed.get('orders')?.get(0)).toBe(2);
  });

  it('close clears the window timer, fails waiting callers and later calls, and keeps nothing', async () => {
    const f = fakeFetch(stamped);
    const b = new OffsetsBatcher(f.fetch, WINDOW);
    const waiting = b.get('g', 'orders');
    expect(jest.getTimerCount()).toBe(1);
    b.close();
    expect(jest.getTimerCount()).toBe(0);
    await expect(waiting).rejects.toThrow('the kafka client is closed');
    await expect(b.get('g', 'orders')).rejects.toThrow('the kafka client is closed');
    expect(jest.getTimerCount()).toBe(0);
    await jest.advanceTimersByTimeAsync(WINDOW * 2);
    expect(f.fetch).not.toHaveBeenCalled();
  });

  it('holds no timer between batches', async () => {
    const b = new OffsetsBatcher(async (req) => stamped(req, 1), WINDOW);
    const p = b.get('g', 'orders');
    await jest.advanceTimersByTimeAsync(WINDOW);
    await p;
    expect(jest.getTimerCount()).toBe(0);
    expect(b.collecting).toBe(false);
    expect(b.batchesInFlight).toBe(0);
  });
});
