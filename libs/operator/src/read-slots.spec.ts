import type { ScaledObject } from '@keda-ts/api';
import type { KubeClient, PodReader } from '@keda-ts/k8s';
import type { MetricsAndActivity, Scaler } from '@keda-ts/scaler-sdk';
import { readMetric, readTriggerMetrics } from './metric-evaluation';
import { ScaledObjectMetricsProvider } from './metrics-provider';
import { ReadSlots } from './read-slots';
import type { BuiltScalers, ScalersCache } from './scalers-cache';

const NOW = new Date('2025-01-01T00:00:00Z');

/** A scaler whose reads end only when their signal aborts; it records what it saw. */
function hangingScaler() {
  const seen: { aborted: boolean; reason?: string }[] = [];
  const scaler: Scaler = {
    type: 'fake',
    getMetricSpecForScaling: () => [{ type: 'External', external: { metric: { name: 's0-fake' }, target: { type: 'AverageValue', averageValue: '5' } } }],
    getMetricsAndActivity(_name, options) {
      const record: { aborted: boolean; reason?: string } = { aborted: false };
      seen.push(record);
      return new Promise<MetricsAndActivity>((_, reject) =>
        options?.signal?.addEventListener('abort', () => {
          record.aborted = options.signal?.aborted ?? false;
          record.reason = (options.signal?.reason as Error).message;
          reject(new Error('socket destroyed'));
        }),
      );
    },
    close: async () => undefined,
  };
  return { scaler, seen };
}

/** A scaler that answers after `ms` and counts the reads in flight at once. */
function slowScaler(ms: number) {
  const stats = { now: 0, max: 0, done: 0 };
  const scaler: Scaler = {
    type: 'fake',
    getMetricSpecForScaling: () => [{ type: 'External', external: { metric: { name: 's0-fake' }, target: { type: 'AverageValue', averageValue: '5' } } }],
    async getMetricsAndActivity(name) {
      stats.now += 1;
      stats.max = Math.max(stats.max, stats.now);
      await new Promise((r) => setTimeout(r, ms));
      stats.now -= 1;
      stats.done += 1;
      return { metrics: [{ metricName: name, value: 1, timestamp: NOW }], isActive: true };
    },
    close: async () => undefined,
  };
  return { scaler, stats };
}

const builtOf = (scaler: Scaler): BuiltScalers => ({ generation: 1, scalers: [{ index: 0, triggerType: 'fake', useCachedMetrics: false, scaler }] });

describe('ReadSlots', () => {
  it('grants up to its limit, queues the rest in order and hands a released slot to the next', async () => {
    const slots = new ReadSlots(2);
    const never = new AbortController().signal;
    const a = await slots.acquire(never);
    const b = await slots.acquire(never);
    const order: string[] = [];
    const c = slots.acquire(never).then((release) => (order.push('c'), release));
    const d = slots.acquire(never).then((release) => (order.push('d'), release));
    expect([slots.inFlight, slots.waiting]).toEqual([2, 2]);
    a();
    a(); // idempotent
    (await c)();
    b();
    (await d)();
    expect(order).toEqual(['c', 'd']);
    expect([slots.inFlight, slots.waiting]).toEqual([0, 0]);
  });

  it('a waiter whose signal aborts leaves the queue with the abort reason', async () => {
    const slots = new ReadSlots(1);
    await slots.acquire(new AbortController().signal);
    const controller = new AbortController();
    const waiting = slots.acquire(controller.signal);
    controller.abort(new Error('deadline'));
    await expect(waiting).rejects.toThrow('deadline');
    expect(slots.waiting).toBe(0);
  });

  it('refuses a nonsense limit, naming it', () => {
    expect(() => new ReadSlots(0)).toThrow('the scaler read limit must be a whole number >= 1, got 0');
  });
});

describe('bounded scaler reads', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('aborts a hanging read at its timeout: the scaler sees its signal aborted', async () => {
    const { scaler, seen } = hangingScaler();
    const read = readMetric(scaler, 's0-fake', { timeoutMs: 10_000, slots: new ReadSlots(10) });
    const outcome = expect(read).rejects.toThrow('reading metric s0-fake timed out after 10000ms');
    await jest.advanceTimersByTimeAsync(9_999);
    expect(seen[0].aborted).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    await outcome;
    expect(seen[0]).toEqual({ aborted: true, reason: 'reading metric s0-fake timed out after 10000ms' });
  });

  it('a read waiting for a slot counts the wait against its own timeout and fails with a clear error', async () => {
    const slots = new ReadSlots(1);
    const hang = hangingScaler();
    const fast = slowScaler(10);
    const first = readMetric(hang.scaler, 's0-fake', { timeoutMs: 10_000, slots });
    first.catch(() => undefined);
    await jest.advanceTimersByTimeAsync(5_000);
    // Asks 5 s later with a 3 s timeout: the slot frees only at 10 s.
    const second = readMetric(fast.scaler, 's0-other', { timeoutMs: 3_000, slots });
    const outcome = expect(second).rejects.toThrow(
      'reading metric s0-other timed out after 3000ms waiting for a free scaler read slot (1 reads in flight, --max-concurrent-scaler-reads)',
    );
    await jest.advanceTimersByTimeAsync(3_000);
    await outcome;
    expect(fast.stats.done).toBe(0);
    expect(slots.waiting).toBe(0);
    await jest.advanceTimersByTimeAsync(2_000);
    await expect(first).rejects.toThrow('timed out after 10000ms');
    expect([slots.inFlight, slots.waiting]).toEqual([0, 0]);
  });

  it('respects the cap with many loops reading at once, and every read finishes', async () => {
    const slots = new ReadSlots(5);
    const { scaler, stats } = slowScaler(100);
    const loops = Array.from({ length: 40 }, () => readTriggerMetrics(builtOf(scaler), { timeoutMs: 10_000, slots }));
    await jest.advanceTimersByTimeAsync(50);
    expect([slots.inFlight, slots.waiting]).toEqual([5, 35]);
    await jest.advanceTimersByTimeAsync(1_000);
    const results = await Promise.all(loops);
    expect(stats.max).toBe(5);
    expect(stats.done).toBe(40);
    expect(results.every((r) => r.readings[0].outcome === 'ok')).toBe(true);
  });

  it('a gone adapter request aborts the read in the scaler (GetMetrics)', async () => {
    const { scaler, seen } = hangingScaler();
    const so = {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata: { name: 'web', namespace: 'ns', generation: 1 },
      spec: { scaleTargetRef: { name: 'web' }, triggers: [{ type: 'fake', metadata: {} }] },
    } as ScaledObject;
    const slots = new ReadSlots(10);
    const invalidated: string[] = [];
    const provider = new ScaledObjectMetricsProvider({
      getScaledObject: () => so,
      scalers: { get: async () => builtOf(scaler), invalidate: async () => invalidated.push('web') } as unknown as ScalersCache,
      client: {} as KubeClient,
      pods: {} as PodReader,
      now: () => NOW,
      metricTimeoutMs: 10_000,
      readSlots: slots,
    });
    const call = new AbortController();
    const answer = provider.getMetrics({ namespace: 'ns', name: 'web', metricName: 's0-fake' }, call.signal);
    const outcome = expect(answer).rejects.toMatchObject({
      message: 'metric:s0-fake encountered error',
      cause: 'reading metric s0-fake cancelled: the metrics request that asked for it is gone',
    });
    await jest.advanceTimersByTimeAsync(3_000);
    expect([slots.inFlight, seen[0].aborted]).toEqual([1, false]);
    call.abort(); // the adapter's 3 s deadline passed: grpc-js reports the call cancelled
    await outcome;
    expect(seen[0]).toEqual({ aborted: true, reason: 'reading metric s0-fake cancelled: the metrics request that asked for it is gone' });
    expect(slots.inFlight).toBe(0);
    expect(invalidated).toEqual([]); // a gone caller is no source failure: the scalers are kept
  });
});
