/**
 * `cpu` and `memory` (KEDA cpu_memory_scaler.go): no external metric; the HPA gets a Resource
 * metric, or a ContainerResource metric when `containerName` is set. Always active, so these
 * triggers alone never scale to zero.
 */
import { parseExactQuantity } from '@keda-ts/api';
import { describeScaler, type ScalerDescriptor } from '../descriptor';
import { param, q, type ParsedParams } from '../params';
import type { MetricTarget, ScalerInput } from '../types';

const params = {
  type: param.enum(['Utilization', 'AverageValue'], {
    name: 'type',
    order: ['triggerMetadata'],
    optional: true,
    deprecated: "The 'type' setting is DEPRECATED and is removed in v2.18 - Use 'metricType' instead.",
    description: 'Removed: use the trigger `metricType` instead.',
  }),
  value: param.string({
    name: 'value',
    order: ['triggerMetadata'],
    description:
      'Target: with metricType `Utilization` an integer percentage of the requests; with `AverageValue` a quantity such as `500m` or `256Mi`.',
  }),
  containerName: param.string({
    name: 'containerName',
    order: ['triggerMetadata'],
    optional: true,
    description: 'Scale on this container only (a ContainerResource metric) instead of the whole pod.',
  }),
};

export type CpuMemoryConfig = ParsedParams<typeof params>;

const ALLOWED = "allowed values are 'Utilization' or 'AverageValue'";

/** The HPA target, or why the value does not fit the metric type. */
export function resourceTarget(config: CpuMemoryConfig, input: ScalerInput): { target: MetricTarget } | { error: string } {
  const metricType = input.metricType ?? '';
  if (metricType === 'Utilization') {
    if (!/^[+-]?\d+$/.test(config.value) || Math.abs(Number(config.value)) > 2147483647)
      return { error: `value ${q(config.value)} must be an integer percentage (a 32-bit integer) with metricType Utilization` };
    return { target: { type: 'Utilization', averageUtilization: Number(config.value) } };
  }
  if (metricType === 'AverageValue') {
    const quantity = parseExactQuantity(config.value);
    if (!quantity) return { error: `value ${q(config.value)} must be a Kubernetes quantity such as 500m or 256Mi with metricType AverageValue` };
    return { target: { type: 'AverageValue', averageValue: quantity.canonical } };
  }
  return { error: `unknown metric type: ${metricType}, ${ALLOWED}` };
}

function resourceDescriptor(resource: 'cpu' | 'memory'): ScalerDescriptor<typeof params> {
  return describeScaler({
    type: resource,
    description:
      `Scales on the pods' ${resource} usage through the HPA's own Resource metric (or ContainerResource with \`containerName\`). ` +
      'Needs `metricType` `Utilization` or `AverageValue`. Always active: alone it never scales to zero. Not allowed in ScaledJobs.',
    params,
    metricTypes: ['Utilization', 'AverageValue', 'Value'],
    kinds: ['ScaledObject'],
    example: resource === 'cpu' ? { value: '60' } : { value: '75' },
    validate(config, input) {
      const t = resourceTarget(config, input);
      return 'error' in t ? [{ parameter: input.metricType ? 'value' : 'metricType', message: t.error }] : [];
    },
  });
}

export const cpuDescriptor = resourceDescriptor('cpu');
export const memoryDescriptor = resourceDescriptor('memory');
