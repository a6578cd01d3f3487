/** Small helpers every scaler uses: metric names, values, targets and activation (KEDA scaler.go). */
import { formatMilliQuantity, toMilliUnits } from '@keda-ts/api';
import type { MetricSpec, MetricTarget, MetricTargetTypeName, MetricValue } from './types';

/** KEDA's NormalizeString: each of `/ . : % ( )` becomes `-`. */
export function normalizeString(s: string): string {
  return s.replace(/[/.:%()]/g, '-');
}

/** `s<triggerIndex>-<name>` (the name is expected to be normalised already). */
export function metricNameWithIndex(triggerIndex: number, name: string): string {
  return `s${triggerIndex}-${name}`;
}

/** `s<triggerIndex>-<normalizeString(name)>`. */
export function metricName(triggerIndex: number, name: string): string {
  return metricNameWithIndex(triggerIndex, normalizeString(name));
}

/** The metric value as reported: NaN, ±Inf and negatives -> 0, rounded to milli (`%.3f`). */
export function reportedValue(value: number): number {
  return toMilliUnits(value) / 1000;
}

/** A MetricValue with KEDA's clamping and milli precision (GenerateMetricInMili). */
export function metricValue(name: string, value: number, timestamp: Date): MetricValue {
  return { metricName: name, value: reportedValue(value), timestamp };
}

/** The Kubernetes quantity string of a reported metric value (`1500m`, `10`). */
export function metricValueQuantity(value: number): string {
  return formatMilliQuantity(toMilliUnits(value));
}

/** Activation: strictly greater than the activation threshold (on the raw value). */
export function isActiveValue(value: number, activation: number): boolean {
  return value > activation;
}

/** KEDA GetMetricTargetMili: a target in milli precision (value truncated to thousandths, clamped at 0). */
export function metricTargetMilli(type: 'AverageValue' | 'Value', value: number): MetricTarget {
  const quantity = formatMilliQuantity(toMilliUnits(value, 'trunc'));
  return type === 'AverageValue' ? { type, averageValue: quantity } : { type, value: quantity };
}

/** KEDA GetMetricTarget: an integer target. */
export function metricTargetInt(type: 'AverageValue' | 'Value', value: number): MetricTarget {
  return metricTargetMilli(type, Math.trunc(value));
}

/** An External metric spec. */
export function externalMetricSpec(name: string, target: MetricTarget): MetricSpec {
  return { type: 'External', external: { metric: { name }, target } };
}

/**
 * KEDA GetMetricTargetType for external scalers: empty -> AverageValue; Utilization is not
 * allowed (the registry reports it before a scaler is built).
 */
export function externalMetricType(metricType: MetricTargetTypeName | undefined): 'AverageValue' | 'Value' {
  return metricType === 'Value' ? 'Value' : 'AverageValue';
}
