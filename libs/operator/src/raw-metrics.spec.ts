import type { MetricReading } from './metric-evaluation';
import { RawMetricsHub, rawTriggerValues } from './raw-metrics';

const T0 = new Date('2026-12-07T10:00:00Z');
const at = (s: number) => new Date(T0.getTime() + s * 1000);
const so = (name: string, triggerName = '') => ({ namespace: 'ns', name, triggerName });
const triggers = [
  { name: 'queue', value: 7, isActive: true },
  { name: 'cpu', value: 0.5, isActive: false },
];

function drain(stream: { next(): unknown }): unknown[] {
  const out: unknown[] = [];
  for (let b = stream.next(); b !== undefined; b = stream.next()) out.push(b);
  return out;
}

function attach(hub: RawMetricsHub, subscriber: string, now = T0) {
  let wakes = 0;
  const stream = hub.attach(subscriber, () => wakes++, now);
  if ('refused' in stream) throw new Error(stream.refused);
  return { stream, wakes: () => wakes };
}

describe('RawMetricsHub subscriptions (KEDA semantics)', () => {
  it('answers wasSubscribed as KEDA does: false for a new subscription, true when it already existed', () => {
    const hub = new RawMetricsHub();
    expect(hub.subscribe('a', so('web', 'queue'), T0)).toEqual({ ok: true, wasSubscribed: false });
    expect(hub.subscribe('a', so('web', 'queue'), T0)).toEqual({ ok: true, wasSubscribed: true });
    expect(hub.unsubscribe('a', so('web', 'queue'), T0)).toEqual({ wasSubscribed: true });
    expect(hub.unsubscribe('a', so('web', 'queue'), T0)).toEqual({ wasSubscribed: false });
    expect(hub.unsubscribe('nobody', so('web'), T0)).toEqual({ wasSubscribed: false });
  });

  it('refuses a subscription without subscriber, namespace or name', () => {
    const hub = new RawMetricsHub();
    expect(hub.subscribe('', so('web'), T0)).toMatchObject({ ok: false, code: 'invalid-argument' });
    expect(hub.subscribe('a', { namespace: '', name: 'web', triggerName: '' }, T0)).toMatchObject({ ok: false, code: 'invalid-argument' });
    expect(hub.attach('', () => undefined, T0)).toMatchObject({ code: 'invalid-argument' });
  });

  it('sends one batch per publish with the followed triggers only', () => {
    const hub = new RawMetricsHub();
    hub.subscribe('one', so('web', 'queue'), T0);
    hub.subscribe('all', so('web'), T0);
    const one = attach(hub, 'one');
    const all = attach(hub, 'all');
    expect(hub.publish('ns', 'web', triggers, at(1))).toBe(2);
    expect(hub.publish('ns', 'other', triggers, at(1))).toBe(0);
    expect(hub.publish('other-ns', 'web', triggers, at(1))).toBe(0);
    expect(drain(one.stream)).toEqual([
      { namespace: 'ns', name: 'web', timestamp: at(1), metrics: [{ triggerName: 'queue', value: 7, isActive: true }] },
    ]);
    expect(drain(all.stream)).toEqual([
      {
        namespace: 'ns',
        name: 'web',
        timestamp: at(1),
        metrics: [
          { triggerName: 'queue', value: 7, isActive: true },
          { triggerName: 'cpu', value: 0.5, isActive: false },
        ],
      },
    ]);
    expect(one.wakes()).toBe(1);
  });

  it('buffers before the stream opens, and keeps subscriptions when a stream closes', () => {
    const hub = new RawMetricsHub();
    hub.subscribe('a', so('web'), T0);
    hub.publish('ns', 'web', triggers, at(1));
    const first = attach(hub, 'a', at(2));
    expect(drain(first.stream)).toHaveLength(1);
    first.stream.close();
    hub.publish('ns', 'web', triggers, at(3));
    const second = attach(hub, 'a', at(4));
    expect(drain(second.stream)).toHaveLength(1);
    expect(hub.stats()).toMatchObject({ subscribers: 1, subscriptions: 1, streams: 1 });
  });

  it('drops the oldest batch of a full buffer, never refusing the publisher', () => {
    const hub = new RawMetricsHub({ bufferSize: 3 });
    hub.subscribe('slow', so('web', 'queue'), T0);
    const { stream } = attach(hub, 'slow');
    for (let i = 1; i <= 5; i++) hub.publish('ns', 'web', [{ name: 'queue', value: i, isActive: true }], at(i));
    const values = drain(stream).map((b) => (b as { metrics: { value: number }[] }).metrics[0].value);
    expect(values).toEqual([3, 4, 5]);
    expect(hub.stats().dropped).toBe(2);
  });

  it('ends the stream when the last subscription goes, after what is buffered', () => {
    const hub = new RawMetricsHub();
    hub.subscribe('a', so('web'), T0);
    hub.subscribe('a', so('api'), T0);
    const { stream, wakes } = attach(hub, 'a');
    hub.publish('ns', 'web', triggers, at(1));
    hub.unsubscribe('a', so('web'), at(2));
    expect(stream.ended).toBe(false);
    hub.unsubscribe('a', so('api'), at(2));
    expect(stream.ended).toBe(true);
    expect(stream.endReason).toBe('the subscriber has no subscriptions left');
    expect(wakes()).toBe(2);
    expect(drain(stream)).toHaveLength(1);
    expect(hub.stats()).toEqual({ subscribers: 0, subscriptions: 0, streams: 0, dropped: 0 });
  });

  it('a newer stream of the same subscriber replaces the older one', () => {
    const hub = new RawMetricsHub();
    hub.subscribe('a', so('web'), T0);
    const old = attach(hub, 'a');
    const fresh = attach(hub, 'a');
    expect(old.stream.ended).toBe(true);
    expect(old.stream.endReason).toMatch(/replaced/);
    hub.publish('ns', 'web', triggers, at(1));
    expect(old.stream.next()).toBeUndefined();
    expect(drain(fresh.stream)).toHaveLength(1);
    old.stream.close(); // the old call ending later does not detach the new one
    expect(hub.stats().streams).toBe(1);
  });

  it('caps subscribers and subscriptions per subscriber', () => {
    const hub = new RawMetricsHub({ maxSubscribers: 2, maxSubscriptionsPerSubscriber: 2 });
    expect(hub.subscribe('a', so('x'), T0)).toMatchObject({ ok: true });
    expect(hub.subscribe('a', so('y'), T0)).toMatchObject({ ok: true });
    expect(hub.subscribe('a', so('z'), T0)).toMatchObject({ ok: false, code: 'resource-exhausted' });
    expect(hub.subscribe('a', so('x'), T0)).toEqual({ ok: true, wasSubscribed: true });
    expect(hub.subscribe('b', so('x'), T0)).toMatchObject({ ok: true });
    expect(hub.subscribe('c', so('x'), T0)).toMatchObject({ ok: false, code: 'resource-exhausted' });
    expect(hub.attach('c', () => undefined, T0)).toMatchObject({ code: 'resource-exhausted' });
  });

  it('forgets a subscriber that has had no stream for detachedTtlMs', () => {
    const hub = new RawMetricsHub({ detachedTtlMs: 60_000 });
    hub.subscribe('gone', so('web'), T0);
    hub.subscribe('here', so('web'), T0);
    attach(hub, 'here');
    hub.publish('ns', 'web', triggers, at(10)); // the sweep notes 'gone' as detached at 10 s
    expect(hub.stats().subscribers).toBe(2);
    expect(hub.publish('ns', 'web', triggers, at(75))).toBe(1);
    expect(hub.stats()).toMatchObject({ subscribers: 1, subscriptions: 1 });
  });

  it('RAW_METRICS_MODE picks the origins that feed the streams', () => {
    const count = (mode: 'all' | 'hpa' | 'pollinginterval') => {
      const hub = new RawMetricsHub({ mode });
      hub.subscribe('a', so('web'), T0);
      return [hub.publish('ns', 'web', triggers, at(1), 'poll'), hub.publish('ns', 'web', triggers, at(2), 'hpa')];
    };
    expect(count('all')).toEqual([1, 1]);
    expect(count('pollinginterval')).toEqual([1, 0]);
    expect(count('hpa')).toEqual([0, 1]);
  });

  it('close() ends every stream and refuses new work', () => {
    const hub = new RawMetricsHub();
    hub.subscribe('a', so('web'), T0);
    const { stream } = attach(hub, 'a');
    hub.close();
    expect(stream.ended).toBe(true);
    expect(stream.endReason).toBe('the controller is shutting down');
    expect(hub.subscribe('a', so('web'), T0)).toMatchObject({ ok: false, code: 'unavailable' });
    expect(hub.publish('ns', 'web', triggers, at(1))).toBe(0);
  });

  it('a throwing wake does not reach the publisher', () => {
    const hub = new RawMetricsHub();
    hub.subscribe('a', so('web'), T0);
    hub.attach('a', () => {
      throw new Error('boom');
    }, T0);
    expect(hub.publish('ns', 'web', triggers, at(1))).toBe(1);
  });
});

describe('rawTriggerValues', () => {
  const reading = (over: Partial<MetricReading>): MetricReading => ({
    triggerIndex: 0,
    triggerName: 'queue',
    triggerType: 'rabbitmq',
    metricName: 's0-rabbitmq-q',
    metrics: [{ metricName: 's0-rabbitmq-q', value: 4, timestamp: T0 }] as MetricReading['metrics'],
    isActive: true,
    outcome: 'ok',
    latencyMs: 1,
    ...over,
  });

  it('keeps the scalers own values: no errors, no fallback values, unnamed triggers as ""', () => {
    expect(
      rawTriggerValues([
        reading({}),
        reading({ triggerIndex: 1, triggerName: undefined, isActive: false, metrics: [{ metricName: 's1-cron', value: 1, timestamp: T0 }] as MetricReading['metrics'] }),
        reading({ triggerIndex: 2, outcome: 'error', metrics: [] }),
        reading({ triggerIndex: 3, outcome: 'fallback' }),
      ]),
    ).toEqual([
      { name: 'queue', value: 4, isActive: true },
      { name: '', value: 1, isActive: false },
    ]);
  });
});
