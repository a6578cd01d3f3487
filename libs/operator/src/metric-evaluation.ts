import { COMPOSITE_METRIC_NAME, effectiveFallbackBehavior, isUsingModifiers, type ScaledObject } from '@keda-ts/api';
import type { MetricSpec, MetricValue, MetricsAndActivity, Scaler } from '@keda-ts/scaler-sdk';
import {
  compileFormula,
  compositeIsActive,
  compositeValue,
  fallbackMetricValue,
  fallbackReplicas,
  formulaTriggerNames,
  parseQuantity,
  recordMetricRead,
  scalingModifiersTarget,
  type HealthMap,
} from '@keda-ts/scaling';
import type { ReadSlots } from './read-slots';
import type { BuiltScalers } from './scalers-cache';

/** What one External metric of one trigger gave in a poll or a GetMetrics call. */
export interface MetricReading {
  triggerIndex: number;
  triggerName?: string;
  triggerType: string;
  metricName: string;
  metrics: MetricValue[];
  /** Scaler activity, or true when a fallback stands in (C-79). */
  isActive: boolean;
  error?: string;
  /** With outcome `fallback`: the source's error that the fallback stands in for. */
  sourceError?: string;
  outcome: 'ok' | 'error' | 'fallback' | 'formulaNil';
  latencyMs: number;
}

export interface EvaluationInput {
  so: ScaledObject;
  built: BuiltScalers;
  /** Only these metric names (case-insensitive); all External metrics when undefined. */
  metricNames?: readonly string[];
  health: HealthMap | undefined;
  /** Current replicas (for the currentReplicas* fallback behaviours); undefined when unknown. */
  currentReplicas: () => Promise<number | undefined>;
  /** Running and Ready pods of the target (for the Value fallback). */
  readyPods: () => Promise<number>;
  timeoutMs: number;
  now: () => Date;
  /** Cached records for triggers with useCachedMetrics (M-13); keyed by metric name. */
  cached?: ReadonlyMap<string, MetricReading>;
  /** See TriggerReadOptions. */
  slots?: ReadSlots;
  signal?: AbortSignal;
}

export interface Evaluation {
  readings: MetricReading[];
  health: HealthMap;
  /** True when status.health is tracked (a valid fallback is configured). */
  trackHealth: boolean;
  isActive: boolean;
  isError: boolean;
  /** External metric names of active triggers (status.triggersActivity, C-51). */
  activeMetricNames: string[];
  /** With scaling modifiers: the composite value (or its error). */
  composite?: { value?: number; error?: string };
  /** Every trigger is cpu/memory (C-53). */
  onlyResourceTriggers: boolean;
}

function targetValueOf(spec: MetricSpec): number {
  const t = spec.external?.target;
  return parseQuantity((t?.type === 'Value' ? t.value : t?.averageValue) ?? '0');
}

/** Settles with `work`, or rejects with the signal's reason once it aborts (a scaler that ignores the signal still ends here). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * One scaler read: waits for a slot of `slots` (the wait counts against `timeoutMs`), then reads
 * with a signal that aborts at the deadline or when `caller` aborts (the adapter's GetMetrics
 * request is gone), so the scaler can cancel its query or close its socket. The slot is released
 * when the read ends or is aborted, so a scaler that ignores the signal cannot keep it.
 */
export async function readMetric(
  scaler: Pick<Scaler, 'getMetricsAndActivity'>,
  metricName: string,
  options: { timeoutMs: number; slots?: ReadSlots; signal?: AbortSignal },
): Promise<MetricsAndActivity> {
  const { timeoutMs, slots, signal: caller } = options;
  const controller = new AbortController();
  let waiting = Boolean(slots);
  const timer = setTimeout(() => {
    controller.abort(
      new Error(
        waiting
          ? `reading metric ${metricName} timed out after ${timeoutMs}ms waiting for a free scaler read slot (${slots?.limit} reads in flight, --max-concurrent-scaler-reads)`
          : `reading metric ${metricName} timed out after ${timeoutMs}ms`,
      ),
    );
  }, timeoutMs);
  const onCallerGone = () => controller.abort(new Error(`reading metric ${metricName} cancelled: the metrics request that asked for it is gone`));
  if (caller?.aborted) onCallerGone();
  else caller?.addEventListener('abort', onCallerGone, { once: true });
  let release: (() => void) | undefined;
  try {
    if (slots) release = await slots.acquire(controller.signal);
    waiting = false;
    return await untilAborted(scaler.getMetricsAndActivity(metricName, { signal: controller.signal }), controller.signal);
  } finally {
    clearTimeout(timer);
    caller?.removeEventListener('abort', onCallerGone);
    release?.();
  }
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

export interface TriggerReadOptions {
  /** Only these metric names (case-insensitive); all External metrics when undefined. */
  metricNames?: readonly string[];
  timeoutMs: number;
  /** The process-wide cap on reads in flight (--max-concurrent-scaler-reads). */
  slots?: ReadSlots;
  /** Aborts the reads when their caller is gone (a cancelled GetMetrics call). */
  signal?: AbortSignal;
  /** Cached records for triggers with useCachedMetrics (M-13); keyed by metric name. */
  cached?: ReadonlyMap<string, MetricReading>;
}

/**
 * Reads every External metric of the built scalers in parallel, each bounded by `timeoutMs` (so one
 * slow source delays nothing else); a failing read is a reading with outcome 'error'. Shared by the
 * ScaledObject evaluation and the ScaledJob loop.
 */
export async function readTriggerMetrics(built: BuiltScalers, options: TriggerReadOptions): Promise<{ readings: MetricReading[]; onlyResourceTriggers: boolean }> {
  const wanted = options.metricNames?.map((n) => n.toLowerCase());
  const jobs: Promise<MetricReading>[] = [];
  let onlyResourceTriggers = built.scalers.length > 0;
  for (const entry of built.scalers) {
    let specs: MetricSpec[];
    try {
      specs = entry.scaler.getMetricSpecForScaling();
    } catch (err) {
      specs = [];
      jobs.push(Promise.resolve({ triggerIndex: entry.index, triggerName: entry.triggerName, triggerType: entry.triggerType, metricName: `s${entry.index}`, metrics: [], isActive: false, error: errorText(err), outcome: 'error', latencyMs: 0 }));
    }
    for (const spec of specs) {
      if (spec.type !== 'External' || !spec.external) continue;
      onlyResourceTriggers = false;
      const metricName = spec.external.metric.name;
      if (wanted && !wanted.includes(metricName.toLowerCase())) continue;
      const cached = entry.useCachedMetrics ? options.cached?.get(metricName) : undefined;
      if (cached) {
        jobs.push(Promise.resolve(cached));
        continue;
      }
      jobs.push(
        (async (): Promise<MetricReading> => {
          const started = performance.now();
          const base = { triggerIndex: entry.index, triggerName: entry.triggerName, triggerType: entry.triggerType, metricName };
          try {
            const r = await readMetric(entry.scaler, metricName, options);
            return { ...base, metrics: r.metrics, isActive: r.isActive, outcome: 'ok', latencyMs: performance.now() - started };
          } catch (err) {
            return { ...base, metrics: [], isActive: false, error: errorText(err), outcome: 'error', latencyMs: performance.now() - started };
          }
        })(),
      );
    }
    if (specs.some((s) => s.type === 'External')) onlyResourceTriggers = false;
  }
  return { readings: await Promise.all(jobs), onlyResourceTriggers };
}

/**
 * Reads the triggers' External metrics (readTriggerMetrics), then applies fallback (C-74..C-82)
 * and scaling modifiers (M-15..M-18).
 */
export async function evaluateMetrics(input: EvaluationInput): Promise<Evaluation> {
  const { so, built } = input;
  const { readings, onlyResourceTriggers } = await readTriggerMetrics(built, { metricNames: input.metricNames, timeoutMs: input.timeoutMs, cached: input.cached, slots: input.slots, signal: input.signal });

  // Fallback: count failures per metric, and stand in for metrics over the threshold.
  let health: HealthMap = { ...(input.health ?? {}) };
  let trackHealth = false;
  let current: number | undefined;
  let currentRead = false;
  for (const reading of readings) {
    if (reading === input.cached?.get(reading.metricName)) continue;
    const result = recordMetricRead({ so, health, metricName: reading.metricName, ok: reading.outcome === 'ok' });
    health = result.health;
    trackHealth ||= result.trackHealth;
    if (result.outcome === 'fallback' && so.spec.fallback) {
      if (!currentRead) {
        current = await input.currentReplicas().catch(() => undefined);
        currentRead = true;
      }
      const replicas = fallbackReplicas(effectiveFallbackBehavior(so), current, so.spec.fallback.replicas);
      if (replicas === undefined) continue;
      const spec = built.scalers
        .find((s) => s.index === reading.triggerIndex)
        ?.scaler.getMetricSpecForScaling()
        .find((s) => s.external?.metric.name === reading.metricName);
      const metricType = isUsingModifiers(so) ? so.spec.advanced?.scalingModifiers?.metricType : spec?.external?.target.type;
      const targetValue = isUsingModifiers(so) ? scalingModifiersTarget(so) : spec ? targetValueOf(spec) : 0;
      const readyPods = metricType === 'Value' ? await input.readyPods().catch(() => 0) : undefined;
      const value = fallbackMetricValue({ targetValue, replicas, metricType, readyPods });
      if (!value.ok) {
        reading.error = `${value.error}: ${value.detail}`;
        continue;
      }
      reading.outcome = 'fallback';
      reading.isActive = true;
      reading.sourceError = reading.error;
      reading.error = undefined;
      reading.metrics = [{ metricName: reading.metricName, value: value.value, timestamp: input.now() }];
    } else if (result.outcome === 'formulaNil') {
      reading.outcome = 'formulaNil';
      reading.error = undefined;
    }
  }

  const isError = readings.some((r) => r.outcome === 'error');
  let isActive = readings.some((r) => r.isActive && r.outcome !== 'error');
  const activeMetricNames = readings.filter((r) => r.isActive && r.outcome !== 'error').map((r) => r.metricName);
  let composite: Evaluation['composite'];
  if (isUsingModifiers(so) && so.spec.advanced?.scalingModifiers?.formula) {
    const compiled = compileFormula(so.spec.advanced.scalingModifiers.formula, formulaTriggerNames(so));
    if (!compiled.ok) {
      composite = { error: compiled.error };
      isActive = false;
    } else {
      const firstFallback = readings.find((r) => r.outcome === 'fallback');
      const result = compositeValue({
        formula: compiled.formula,
        triggers: readings.map((r) => ({ name: r.triggerName, value: r.outcome === 'formulaNil' || r.outcome === 'error' ? null : (r.metrics[0]?.value ?? 0) })),
        firstFallbackValue: firstFallback?.metrics[0]?.value,
        fallback: so.spec.fallback ? { replicas: so.spec.fallback.replicas } : undefined,
        target: scalingModifiersTarget(so),
      });
      composite = result.ok ? { value: result.value } : { error: result.error };
      isActive = result.ok ? compositeIsActive(result.value, so.spec.advanced.scalingModifiers.activationTarget, isError) : false;
    }
  }
  if (onlyResourceTriggers && !isError) isActive = true;
  return { readings, health, trackHealth, isActive, isError, activeMetricNames, composite, onlyResourceTriggers };
}

export { COMPOSITE_METRIC_NAME };
