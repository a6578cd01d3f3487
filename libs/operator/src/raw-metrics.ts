/**
 * The subscriptions behind KEDA's `api.RawMetricsService` (served by `createMetricsServer` with
 * `rawMetrics`): who follows which ScaledObject triggers, and a bounded buffer of batches per
 * subscriber. Pure: no I/O and no timers; time comes in as arguments.
 *
 * As in KEDA (pkg/scaling/scale_handler_raw_metrics.go):
 * - a subscription is (subscriber, namespace, ScaledObject name, trigger name); SubscribeMetric
 *   answers `wasSubscribed: true` when it already existed, UnsubscribeMetric when it removed one;
 * - subscriptions may come before or after the stream (`attach`), and outlive a stream that ends;
 * - removing a subscriber's last subscription ends its stream.
 * Different on purpose:
 * - an empty trigger name subscribes to every trigger of the ScaledObject;
 * - one poll of a ScaledObject is one batch (one `RawMetricsResponse`) carrying every followed
 *   trigger, where KEDA sends one message per trigger;
 * - a full buffer drops its oldest batch (counted in `stats().dropped`) instead of blocking the
 *   poll for up to a minute and then unsubscribing the reader;
 * - a subscriber without a stream for `detachedTtlMs` is forgotten, and the numbers of
 *   subscribers and of subscriptions per subscriber are capped.
 */
import type {
  RawMetricsBatch,
  RawMetricsSource,
  RawMetricsStream,
  RawMetricsSubscribeOutcome,
  RawMetricsTarget,
  RawMetricValue,
} from '@keda-ts/metrics-service';
import type { MetricReading } from './metric-evaluation';

/** KEDA's `RAW_METRICS_MODE`: which reads feed the streams. */
export type RawMetricsMode = 'all' | 'hpa' | 'pollinginterval';

/** Where a published value comes from: the scale loop's poll, or a GetMetrics call of the HPA. */
export type RawMetricsOrigin = 'poll' | 'hpa';

export interface RawMetricsHubOptions {
  /** Distinct subscribers (with or without a stream); default 64. */
  maxSubscribers?: number;
  /** Subscriptions of one subscriber; default 1024. */
  maxSubscriptionsPerSubscriber?: number;
  /** Batches buffered per subscriber before the oldest is dropped; default 64. */
  bufferSize?: number;
  /** A subscriber without a stream for this long is forgotten with its subscriptions; default 60 s. */
  detachedTtlMs?: number;
  /** Default `all`. */
  mode?: RawMetricsMode;
}

/** One trigger's value as `publish` takes it. */
export interface RawTriggerValue {
  /** The trigger's `name` ('' when it has none). */
  name: string;
  value: number;
  isActive: boolean;
}

export interface RawMetricsHubStats {
  subscribers: number;
  subscriptions: number;
  streams: number;
  /** Batches dropped from full buffers since the hub started. */
  dropped: number;
}

interface StreamState {
  wake: () => void;
  ended: boolean;
  endReason: string | undefined;
  /** A newer stream of the same subscriber took over: this one reads nothing more. */
  replaced: boolean;
}

interface Subscriber {
  id: string;
  /** object key → followed trigger names ('' = all). */
  follows: Map<string, Set<string>>;
  count: number;
  buffer: RawMetricsBatch[];
  stream: StreamState | undefined;
  /** Since when it has had no stream (set lazily by the sweep); undefined while attached. */
  detachedSince: number | undefined;
}

const objectKey = (namespace: string, name: string) => `${namespace}/${name}`;

function callWake(state: StreamState): void {
  try {
    state.wake();
  } catch {
    // A subscriber's stream must never break the publisher (a poll).
  }
}

/** The raw values of a poll's readings: the scalers' own values only (no fallback, no formula), one per metric. */
export function rawTriggerValues(readings: readonly MetricReading[]): RawTriggerValue[] {
  const values: RawTriggerValue[] = [];
  for (const r of readings) {
    if (r.outcome !== 'ok') continue;
    for (const m of r.metrics) values.push({ name: r.triggerName ?? '', value: m.value, isActive: r.isActive });
  }
  return values;
}

export class RawMetricsHub implements RawMetricsSource {
  private readonly maxSubscribers: number;
  private readonly maxSubscriptions: number;
  private readonly bufferSize: number;
  private readonly detachedTtlMs: number;
  readonly mode: RawMetricsMode;
  private readonly subscribers = new Map<string, Subscriber>();
  /** object key → subscribers following at least one of its triggers. */
  private readonly byObject = new Map<string, Set<Subscriber>>();
  private dropped = 0;
  private lastSweep = Number.NEGATIVE_INFINITY;
  private closed = false;

  constructor(options: RawMetricsHubOptions = {}) {
    this.maxSubscribers = options.maxSubscribers ?? 64;
    this.maxSubscriptions = options.maxSubscriptionsPerSubscriber ?? 1024;
    this.bufferSize = Math.max(1, options.bufferSize ?? 64);
    this.detachedTtlMs = options.detachedTtlMs ?? 60_000;
    this.mode = options.mode ?? 'all';
  }

  /**
   * Hands the values of one read of `namespace/name` to every subscriber that follows one of its
   * triggers. Returns at once (a full buffer drops its oldest batch); the number of subscribers
   * that got a batch.
   */
  publish(namespace: string, name: string, triggers: readonly RawTriggerValue[], at: Date, origin: RawMetricsOrigin = 'poll'): number {
    if (this.closed || this.subscribers.size === 0) return 0;
    if ((origin === 'poll' && this.mode === 'hpa') || (origin === 'hpa' && this.mode === 'pollinginterval')) return 0;
    this.sweep(at.getTime(), false);
    const key = objectKey(namespace, name);
    const followers = this.byObject.get(key);
    if (!followers) return 0;
    let delivered = 0;
    for (const sub of followers) {
      const names = sub.follows.get(key);
      if (!names) continue;
      const metrics: RawMetricValue[] = [];
      for (const t of triggers) {
        if (names.has('') || names.has(t.name)) metrics.push({ triggerName: t.name, value: t.value, isActive: t.isActive });
      }
      if (metrics.length === 0) continue;
      sub.buffer.push({ namespace, name, timestamp: at, metrics });
      if (sub.buffer.length > this.bufferSize) {
        sub.buffer.shift();
        this.dropped++;
      }
      delivered++;
      if (sub.stream) callWake(sub.stream);
    }
    return delivered;
  }

  subscribe(subscriber: string, target: RawMetricsTarget, now: Date): RawMetricsSubscribeOutcome {
    if (this.closed) return { ok: false, code: 'unavailable', reason: 'the controller is shutting down' };
    if (!subscriber) return { ok: false, code: 'invalid-argument', reason: 'subscriber must be specified' };
    if (!target.namespace || !target.name) {
      return { ok: false, code: 'invalid-argument', reason: 'metricMetadata must name the ScaledObject: namespace and name are required' };
    }
    this.sweep(now.getTime(), true);
    const existing = this.subscribers.get(subscriber);
    const key = objectKey(target.namespace, target.name);
    if (existing?.follows.get(key)?.has(target.triggerName)) return { ok: true, wasSubscribed: true };
    if (existing && existing.count >= this.maxSubscriptions) {
      return { ok: false, code: 'resource-exhausted', reason: `subscriber ${JSON.stringify(subscriber)} has ${existing.count} subscriptions, the most allowed` };
    }
    const sub = existing ?? this.create(subscriber);
    if (!sub) return { ok: false, code: 'resource-exhausted', reason: `there are ${this.subscribers.size} raw metrics subscribers, the most allowed` };
    let names = sub.follows.get(key);
    if (!names) {
      names = new Set();
      sub.follows.set(key, names);
      let followers = this.byObject.get(key);
      if (!followers) this.byObject.set(key, (followers = new Set()));
      followers.add(sub);
    }
    names.add(target.triggerName);
    sub.count++;
    return { ok: true, wasSubscribed: false };
  }

  unsubscribe(subscriber: string, target: RawMetricsTarget, now: Date): { wasSubscribed: boolean } {
    this.sweep(now.getTime(), true);
    const sub = this.subscribers.get(subscriber);
    const key = objectKey(target.namespace, target.name);
    const names = sub?.follows.get(key);
    if (!sub || !names?.delete(target.triggerName)) return { wasSubscribed: false };
    sub.count--;
    if (names.size === 0) {
      sub.follows.delete(key);
      const followers = this.byObject.get(key);
      followers?.delete(sub);
      if (followers?.size === 0) this.byObject.delete(key);
    }
    if (sub.count === 0) this.remove(sub, 'the subscriber has no subscriptions left');
    return { wasSubscribed: true };
  }

  attach(subscriber: string, wake: () => void, now: Date): RawMetricsStream | { refused: string; code: 'invalid-argument' | 'resource-exhausted' | 'unavailable' } {
    if (this.closed) return { refused: 'the controller is shutting down', code: 'unavailable' };
    if (!subscriber) return { refused: 'subscriber must be specified', code: 'invalid-argument' };
    this.sweep(now.getTime(), true);
    const sub = this.subscribers.get(subscriber) ?? this.create(subscriber);
    if (!sub) return { refused: `there are ${this.subscribers.size} raw metrics subscribers, the most allowed`, code: 'resource-exhausted' };
    if (sub.stream) {
      sub.stream.replaced = true;
      this.endStream(sub.stream, 'replaced by a newer stream of the same subscriber');
    }
    const state: StreamState = { wake, ended: false, endReason: undefined, replaced: false };
    sub.stream = state;
    sub.detachedSince = undefined;
    return {
      // The buffer belongs to the newest stream; an ended one still sends what was buffered.
      next: () => (state.replaced ? undefined : sub.buffer.shift()),
      get ended() {
        return state.ended;
      },
      get endReason() {
        return state.endReason;
      },
      close: () => {
        if (sub.stream === state) sub.stream = undefined;
      },
    };
  }

  /** Ends every stream and forgets every subscription (the controller stops). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const sub of [...this.subscribers.values()]) this.remove(sub, 'the controller is shutting down');
  }

  stats(): RawMetricsHubStats {
    let subscriptions = 0;
    let streams = 0;
    for (const sub of this.subscribers.values()) {
      subscriptions += sub.count;
      if (sub.stream) streams++;
    }
    return { subscribers: this.subscribers.size, subscriptions, streams, dropped: this.dropped };
  }

  private create(id: string): Subscriber | undefined {
    if (this.subscribers.size >= this.maxSubscribers) return undefined;
    const sub: Subscriber = { id, follows: new Map(), count: 0, buffer: [], stream: undefined, detachedSince: undefined };
    this.subscribers.set(id, sub);
    return sub;
  }

  private endStream(state: StreamState, reason: string): void {
    if (state.ended) return;
    state.ended = true;
    state.endReason = reason;
    callWake(state);
  }

  /** Forgets `sub`; its stream (if any) sends what is buffered and ends. */
  private remove(sub: Subscriber, reason: string): void {
    this.subscribers.delete(sub.id);
    for (const key of sub.follows.keys()) {
      const followers = this.byObject.get(key);
      followers?.delete(sub);
      if (followers?.size === 0) this.byObject.delete(key);
    }
    sub.follows.clear();
    sub.count = 0;
    const stream = sub.stream;
    sub.stream = undefined;
    if (stream) this.endStream(stream, reason);
  }

  /** Forgets subscribers that have had no stream for detachedTtlMs (at most once a second unless forced). */
  private sweep(nowMs: number, force: boolean): void {
    if (!force && nowMs - this.lastSweep < 1000) return;
    this.lastSweep = nowMs;
    for (const sub of [...this.subscribers.values()]) {
      if (sub.stream) continue;
      if (sub.detachedSince === undefined) sub.detachedSince = nowMs;
      else if (nowMs - sub.detachedSince >= this.detachedTtlMs) this.remove(sub, 'no stream for too long');
    }
  }
}
