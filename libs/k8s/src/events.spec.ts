import { createLogger } from '@keda-ts/runtime';
import { COMBINED_PREFIX, EventCorrelator, Lru } from './event-correlator';
import { EventRecorder, type EventDropReason } from './events';
import { KubeApiError, WriteRefusedError, type KubeClient } from './kube-client';

const logger = createLogger({ component: 'test', version: '0.0.0', destination: { write: () => undefined } });

const so = (name: string, uid = `uid-${name}`) => ({ apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name, namespace: 'ns', uid, resourceVersion: '7' } });
const failed = (note = 'connection refused') => ({ type: 'Warning' as const, reason: 'KEDAScalerFailed', note });

interface Call {
  method: 'POST' | 'PATCH';
  path: string;
  body: Record<string, unknown> & { metadata?: { name: string }; series?: { count: number; lastObservedTime: string }; note?: string };
}

/** An API that answers every write at once (or as `answer` says) and remembers it. */
function fakeClient(answer: (call: Call) => Promise<void> | void = () => undefined) {
  const calls: Call[] = [];
  const client = {
    create: async (path: string, body: Call['body']) => {
      const call: Call = { method: 'POST', path, body };
      calls.push(call);
      await answer(call);
      return body;
    },
    patch: async (path: string, body: Call['body']) => {
      const call: Call = { method: 'PATCH', path, body };
      calls.push(call);
      await answer(call);
      return body;
    },
  };
  return { client: client as unknown as KubeClient, calls };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('Lru', () => {
  it('evicts the least recently used key beyond its size', () => {
    const evicted: string[] = [];
    const lru = new Lru<number>(2, (k) => evicted.push(k));
    lru.set('a', 1);
    lru.set('b', 2);
    lru.get('a');
    lru.set('c', 3);
    expect(evicted).toEqual(['b']);
    expect([...lru.values()]).toEqual([1, 3]);
  });
});

describe('EventCorrelator', () => {
  const input = (note = 'connection refused', objectKey = 'so/a') => ({ objectKey, type: 'Warning', reason: 'KEDAScalerFailed', action: 'KEDAScalerFailed', note });

  it('turns repeated events into one series whose count is due for a write only every seriesPatchIntervalMs', () => {
    let t = 0;
    const c = new EventCorrelator<null>({ now: () => t, seriesPatchIntervalMs: 60_000 });
    const first = c.observe(input(), null);
    expect(first.action).toBe('create');
    if (first.action !== 'create') return;
    c.written(first.series, 'a.1', 1);
    const dues: boolean[] = [];
    for (let i = 0; i < 120; i++) {
      t += 1000;
      const next = c.observe(input(), null);
      expect(next).toMatchObject({ action: 'count', series: first.series });
      if (next.action === 'count') {
        dues.push(next.patchDue);
        if (next.patchDue) c.written(next.series, 'a.1', next.series.count);
      }
    }
    expect(first.series.count).toBe(121);
    expect(dues.filter(Boolean)).toHaveLength(2); // at 60 s and 120 s
  });

  it('combines different notes of one reason beyond the threshold into one series', () => {
    const c = new EventCorrelator<null>({ now: () => 0, similarThreshold: 3 });
    const actions = Array.from({ length: 10 }, (_, i) => c.observe(input(`timed out after ${1000 + i} ms`), null));
    expect(actions.map((a) => a.action)).toEqual(['create', 'create', 'create', 'create', 'count', 'count', 'count', 'count', 'count', 'count']);
    const combined = actions[3];
    expect(combined.action === 'create' && combined.series.note).toBe(`${COMBINED_PREFIX}timed out after 1009 ms`); // the latest
    expect(combined.action === 'create' && combined.series.count).toBe(7);
    // A note seen before the threshold keeps its own series.
    expect(c.observe(input('timed out after 1000 ms'), null)).toMatchObject({ action: 'count', series: { count: 2 } });
  });

  it('drops new events of one object beyond its token bucket, and refills one per spamRefillMs', () => {
    let t = 0;
    const c = new EventCorrelator<null>({ now: () => t, spamBurst: 25, spamRefillMs: 300_000, similarThreshold: 1000 });
    const actions = Array.from({ length: 30 }, (_, i) => c.observe(input(`distinct ${i}`), null).action);
    expect(actions.filter((a) => a === 'create')).toHaveLength(25);
    expect(actions.filter((a) => a === 'drop')).toHaveLength(5);
    // Another object has its own bucket.
    expect(c.observe(input('x', 'so/b'), null).action).toBe('create');
    t += 300_000;
    expect(c.observe(input('distinct 30'), null).action).toBe('create');
    expect(c.observe(input('distinct 31'), null).action).toBe('drop');
  });

  it('keeps at most cacheSize series', () => {
    const c = new EventCorrelator<null>({ now: () => 0, cacheSize: 100 });
    for (let i = 0; i < 1000; i++) c.observe(input('x', `so/${i}`), null);
    expect(c.seriesCount).toBe(100);
  });
});

describe('EventRecorder', () => {
  it('creates one Event for a repeated failure and patches its series at most every interval', async () => {
    let t = Date.parse('2025-01-01T00:00:00Z');
    const { client, calls } = fakeClient();
    const recorder = new EventRecorder(client, logger, 'keda-operator', 'test', { now: () => t, seriesPatchIntervalMs: 30_000 });
    try {
      for (let i = 0; i < 100; i++) {
        recorder.emit(so('a'), failed());
        t += 1000;
        await settle();
      }
      const posts = calls.filter((c) => c.method === 'POST');
      const patches = calls.filter((c) => c.method === 'PATCH');
      expect(posts).toHaveLength(1);
      expect(posts[0].body).toMatchObject({ reason: 'KEDAScalerFailed', note: 'connection refused', regarding: { kind: 'ScaledObject', name: 'a', uid: 'uid-a' } });
      expect(patches.map((p) => p.body.series?.count)).toEqual([31, 61, 91]);
      expect(patches[0].path).toBe(`/apis/events.k8s.io/v1/namespaces/ns/events/${posts[0].body.metadata?.name}`);
      expect(patches[0].body.series?.lastObservedTime).toBe('2025-01-01T00:00:30.000000Z');
      // The periodic flush writes the final count of a series that stopped.
      t += 30_000;
      recorder.flushSeries();
      await settle();
      expect(calls.at(-1)?.body.series?.count).toBe(100);
      recorder.flushSeries();
      await settle();
      expect(calls.filter((c) => c.method === 'PATCH')).toHaveLength(4);
    } finally {
      recorder.close();
    }
  });

  it('starts a new Event when the series Event is gone (404 on the patch)', async () => {
    let t = 0;
    const { client, calls } = fakeClient((call) => {
      if (call.method === 'PATCH') throw new KubeApiError('PATCH', call.path, 404, 'NotFound', 'gone');
    });
    const recorder = new EventRecorder(client, logger, 'c', 'i', { now: () => t, seriesPatchIntervalMs: 10_000 });
    recorder.emit(so('a'), failed());
    await settle();
    t += 10_000;
    recorder.emit(so('a'), failed());
    await settle();
    expect(calls.map((c) => c.method)).toEqual(['POST', 'PATCH', 'POST']);
    expect(calls[2].body.series).toEqual({ count: 2, lastObservedTime: '1970-01-01T00:00:10.000000Z' });
    recorder.close();
  });

  it('keeps the Event of a series whose count update failed, and retries the update when due', async () => {
    let t = 0;
    let failPatch = true;
    const { client, calls } = fakeClient((call) => {
      if (call.method === 'PATCH' && failPatch) throw new KubeApiError('PATCH', call.path, 500, 'InternalError', 'etcd');
    });
    const quiet = { ...logger, warn: () => undefined } as unknown as typeof logger;
    const recorder = new EventRecorder(client, quiet, 'c', 'i', { now: () => t, seriesPatchIntervalMs: 10_000 });
    recorder.emit(so('a'), failed());
    await settle();
    t += 10_000;
    recorder.emit(so('a'), failed());
    await settle();
    failPatch = false;
    t += 10_000;
    recorder.flushSeries();
    await settle();
    expect(calls.map((c) => c.method)).toEqual(['POST', 'PATCH', 'PATCH']);
    expect(calls[2].path).toBe(calls[1].path);
    expect(calls[2].body.series?.count).toBe(2);
    recorder.close();
  });

  it('bounds the send queue: new Events beyond maxQueued are dropped and counted', async () => {
    const release: (() => void)[] = [];
    const { client, calls } = fakeClient(() => new Promise<void>((r) => release.push(r)));
    const dropped: EventDropReason[] = [];
    const recorder = new EventRecorder(client, logger, 'c', 'i', { now: () => 0, maxQueued: 10, concurrency: 2, onDropped: (r) => dropped.push(r) });
    for (let i = 0; i < 50; i++) recorder.emit(so(`o${i}`), failed());
    expect(calls).toHaveLength(2); // in flight
    expect(recorder.queued).toBe(10);
    expect(dropped).toEqual(Array(38).fill('queue_full'));
    for (let next = release.shift(); next; next = release.shift()) {
      next();
      await settle();
    }
    expect(calls).toHaveLength(12);
    // A dropped event's next occurrence gets another chance.
    recorder.emit(so('o49'), failed());
    await settle();
    expect(calls).toHaveLength(13);
    recorder.close();
  });

  it('drops spam of one object and counts it', async () => {
    const { client, calls } = fakeClient();
    const dropped: EventDropReason[] = [];
    const recorder = new EventRecorder(client, logger, 'c', 'i', { now: () => 0, onDropped: (r) => dropped.push(r), similarThreshold: 1000 });
    for (let i = 0; i < 40; i++) recorder.emit(so('a'), failed(`error ${i}`));
    await settle();
    expect(calls).toHaveLength(25);
    expect(dropped).toEqual(Array(15).fill('spam'));
    recorder.close();
  });

  it('forgets an Event the fence refused, without a warning, so the next occurrence tries again', async () => {
    let refuse = true;
    const { client, calls } = fakeClient((call) => {
      if (refuse) throw new WriteRefusedError(call.method, call.path, 'not the leader');
    });
    const warnings: string[] = [];
    const quiet = { ...logger, warn: (_o: unknown, m: string) => warnings.push(m), debug: () => undefined } as unknown as typeof logger;
    const recorder = new EventRecorder(client, quiet, 'c', 'i', { now: () => 0 });
    recorder.emit(so('a'), failed());
    await settle();
    refuse = false;
    recorder.emit(so('a'), failed());
    await settle();
    expect(calls.map((c) => c.method)).toEqual(['POST', 'POST']);
    expect(warnings).toEqual([]);
    recorder.close();
  });
});

describe('EventRecorder listeners', () => {
  it('see every emit before correlation, and a throwing listener does not stop the Event', async () => {
    const { client, calls } = fakeClient();
    const recorder = new EventRecorder(client, logger);
    const seen: string[] = [];
    recorder.addListener(() => {
      throw new Error('boom');
    });
    recorder.addListener((regarding, event) => seen.push(`${regarding.kind}/${regarding.metadata?.name}:${event.reason}`));
    for (let i = 0; i < 3; i++) recorder.emit(so('a'), failed());
    await settle();
    expect(seen).toEqual(['ScaledObject/a:KEDAScalerFailed', 'ScaledObject/a:KEDAScalerFailed', 'ScaledObject/a:KEDAScalerFailed']);
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(1);
    recorder.close();
  });
});
