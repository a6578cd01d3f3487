import type { ScaledObject } from '@keda-ts/api';
import type { MetricReading } from './metric-evaluation';

/**
 * The readings of triggers with `useCachedMetrics: true`: the scale loop records each poll's, and
 * GetMetrics answers the HPA from them instead of reading the source again (KEDA's metrics cache).
 */
export class MetricsCache {
  /** Per ScaledObject key, per metric name. */
  private readonly records = new Map<string, ReadonlyMap<string, MetricReading>>();

  /** Replaces the records of `key` with this poll's; a poll that produced none keeps the previous ones. */
  recordPoll(key: string, so: ScaledObject, readings: readonly MetricReading[]): void {
    const cachedTriggers = new Set(so.spec.triggers.flatMap((t, i) => (t.useCachedMetrics ? [i] : [])));
    if (cachedTriggers.size === 0) return;
    const records = new Map(readings.filter((r) => cachedTriggers.has(r.triggerIndex)).map((r) => [r.metricName, r] as const));
    if (records.size) this.records.set(key, records);
  }

  get(key: string): ReadonlyMap<string, MetricReading> | undefined {
    return this.records.get(key);
  }

  forget(key: string): void {
    this.records.delete(key);
  }
}
