import { metricTargetQuantity } from '@keda-ts/api';
import type { MetricTarget } from '@keda-ts/api';

/**
 * The MetricTarget of an External metric with the given type and value: `value` for `Value`,
 * `averageValue` otherwise (an empty metric type means AverageValue).
 */
export function metricTarget(metricType: string | undefined, value: number): MetricTarget {
  const quantity = metricTargetQuantity(value);
  return metricType === 'Value'
    ? { type: 'Value', value: quantity }
    : { type: 'AverageValue', averageValue: quantity };
}
