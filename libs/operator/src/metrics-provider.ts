import { COMPOSITE_METRIC_NAME, type ScaledObject } from '@keda-ts/api';
import type { KubeClient, PodReader } from '@keda-ts/k8s';
import {
  metricEncounteredError,
  noMatchingMetricsError,
  scaledObjectNotFoundError,
  type ExternalMetricValue,
  type MetricRef,
  type MetricsProvider,
} from '@keda-ts/metrics-service';
import { evaluateMetrics, type MetricReading } from './metric-evaluation';
import type { MetricsCache } from './metrics-cache';
import type { HealthLedger } from './health-ledger';
import type { ReadSlots } from './read-slots';
import type { ScalersCache } from './scalers-cache';
import { readScale, readyPodsOf, scaleTargetFromStatus } from './scale-target';
import { scaledObjectStatusWriter, type ScaledObjectStatusWriter } from './status';

export interface MetricsProviderDeps {
  getScaledObject(namespace: string, name: string): ScaledObject | undefined;
  scalers: ScalersCache;
  /** The readings of useCachedMetrics triggers, recorded by the scale loops. */
  metricsCache?: MetricsCache;
  /** The one status writer of ScaledObjects, shared with the reconciler and the scale loops (default: its own). */
  statusWriter?: ScaledObjectStatusWriter;
  client: KubeClient;
  pods: PodReader;
  now(): Date;
  metricTimeoutMs: number;
  /** The process-wide cap on scaler reads in flight. */
  readSlots?: ReadSlots;
  /** Fallback failure counts shared with the scale loops (coalesced status writes). */
  health?: HealthLedger;
  /** Every completed read of a GetMetrics call (the raw metrics stream's `hpa` origin). */
  onReadings?(namespace: string, name: string, readings: readonly MetricReading[], at: Date): void;
}

/**
 * Answers the HPA's metric requests (through the adapter's GetMetrics) as KEDA's scale handler does
 * (M-6..M-11): live reads (or the cached record for useCachedMetrics), fallback, scaling modifiers.
 */
export class ScaledObjectMetricsProvider implements MetricsProvider {
  private readonly statusWriter: ScaledObjectStatusWriter;

  constructor(private readonly deps: MetricsProviderDeps) {
    this.statusWriter = deps.statusWriter ?? scaledObjectStatusWriter(deps.client);
  }

  /** `signal` aborts when the adapter's call is cancelled or past its deadline: the scaler reads are aborted with it. */
  async getMetrics(ref: MetricRef, signal?: AbortSignal): Promise<ExternalMetricValue[]> {
    const so = this.deps.getScaledObject(ref.namespace, ref.name);
    if (!so) throw scaledObjectNotFoundError(`${ref.namespace}/${ref.name}`);
    const key = `${ref.namespace}/${ref.name}`;
    const built = await this.deps.scalers.get(key, so).catch((err: unknown) => {
      throw metricEncounteredError(ref.metricName, err);
    });
    const modifiers = so.spec.advanced?.scalingModifiers;
    const usesComposite = Boolean(modifiers?.target);
    const target = scaleTargetFromStatus(so);
    const evaluation = await evaluateMetrics({
      so,
      built,
      metricNames: usesComposite ? (so.status?.externalMetricNames ?? []) : [ref.metricName],
      health: (this.deps.health ? this.deps.health.base(key, so.status?.health as never) : so.status?.health) as never,
      currentReplicas: async () => (target ? (await readScale(this.deps.client, target)).replicas : undefined),
      readyPods: async () => (target ? readyPodsOf(this.deps.client, this.deps.pods, target) : 0),
      timeoutMs: this.deps.metricTimeoutMs,
      now: this.deps.now,
      cached: this.deps.metricsCache?.get(key),
      slots: this.deps.readSlots,
      signal,
    });
    // The caller is gone: its aborted reads say nothing about the source (no fallback count, no rebuild).
    if (signal?.aborted) throw metricEncounteredError(ref.metricName, evaluation.readings.find((r) => r.outcome === 'error')?.error);
    this.deps.onReadings?.(ref.namespace, ref.name, evaluation.readings, this.deps.now());
    // Failures seen here count towards fallback too (C-75).
    if (evaluation.trackHealth) {
      const health = this.deps.health ? this.deps.health.record(key, evaluation.health, so.status?.health as never, so.spec.fallback?.failureThreshold ?? 0) : evaluation.health;
      if (health) {
        await this.statusWriter.write(so, so.status, { ...so.status, health: health as never }).then(
          () => this.deps.health?.wrote(key, health),
          () => undefined,
        );
      }
    }
    if (evaluation.isError) {
      await this.deps.scalers.invalidate(key);
      const failed = evaluation.readings.find((r) => r.outcome === 'error');
      throw metricEncounteredError(ref.metricName, failed?.error);
    }
    if (usesComposite) {
      if (evaluation.composite?.value === undefined) throw metricEncounteredError(COMPOSITE_METRIC_NAME, evaluation.composite?.error);
      return [{ metricName: COMPOSITE_METRIC_NAME, value: evaluation.composite.value, timestamp: this.deps.now() }];
    }
    const values = evaluation.readings.flatMap((r) => r.metrics.map((m) => ({ metricName: ref.metricName, value: m.value, timestamp: m.timestamp })));
    if (values.length === 0) throw noMatchingMetricsError(ref.metricName);
    return values;
  }
}
