
import { scalers } from '../../all';
import { type MetricSpec, ScalerConfigError, type ScalerInput } from '@keda-ts/scaler-sdk';
import { context, input } from '../../../test/fixtures';

type Case = {
  name: string;
  type?: 'cpu' | 'memory';
  metadata: Record<string, string>;
  metricType?: ScalerInput['metricType'];
  kind?: 'ScaledObject' | 'ScaledJob';
  errors?: string[];
  spec?: MetricSpec;
};

const cases: Case[] = [
  {
    name: 'utilization',
    metadata: { value: '50' },
    metricType: 'Utilization',
    spec: { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } },
  },
  {
    name: 'average value, canonical quantity',
    metadata: { value: '0.5' },
    metricType: 'AverageValue',
    spec: { type: 'Resource', resource: { name: 'cpu', target: { type: 'AverageValue', averageValue: '500m' } } },
  },
  {
    name: 'memory container resource',
    type: 'memory',
    metadata: { value: '1024Mi', containerName: 'app' },
    metricType: 'AverageValue',
    spec: {
      type: 'ContainerResource',
      containerResource: { name: 'memory', container: 'app', target: { type: 'AverageValue', averageValue: '1Gi' } },
    },
  },
  {
    name: 'metadata type is removed',
    metadata: { type: 'Utilization', value: '50' },
    metricType: 'Utilization',
    errors: ["scaler cpu info: The 'type' setting is DEPRECATED and is removed in v2.18 - Use 'metricType' instead."],
  },
  { name: 'no metricType', metadata: { value: '50' }, errors: ["unknown metric type: , allowed values are 'Utilization' or 'AverageValue'"] },
  { name: 'Value metricType', metadata: { value: '50' }, metricType: 'Value', errors: ["unknown metric type: Value, allowed values are 'Utilization' or 'AverageValue'"] },
  { name: 'missing value', metadata: {}, metricType: 'Utilization', errors: ['missing required parameter "value" in [triggerMetadata]'] },
  {
    name: 'utilization not an integer',
    metadata: { value: '50%' },
    metricType: 'Utilization',
    errors: ['value "50%" must be an integer percentage (a 32-bit integer) with metricType Utilization'],
  },
  {
    name: 'average value not a quantity',
    metadata: { value: 'lots' },
    metricType: 'AverageValue',
    errors: ['value "lots" must be a Kubernetes quantity such as 500m or 256Mi with metricType AverageValue'],
  },
  {
    name: 'not in ScaledJobs',
    metadata: { value: '50' },
    metricType: 'Utilization',
    kind: 'ScaledJob',
    errors: ['the cpu scaler is not supported in a ScaledJob'],
  },
];

describe('cpu / memory', () => {
  it.each(cases)('$name', (c) => {
    const type = c.type ?? 'cpu';
    const i = input({
      triggerType: type,
      metadata: c.metadata,
      metricType: c.metricType,
      scalableObject: { kind: c.kind ?? 'ScaledObject', namespace: 'ns', name: 'so' },
    });
    expect(scalers.validate(i).map((p) => p.message)).toEqual(c.errors ?? []);
    if (c.errors) {
      expect(() => scalers.build(i, context())).toThrow(ScalerConfigError);
      return;
    }
    expect(scalers.build(i, context()).getMetricSpecForScaling()).toEqual([c.spec]);
  });

  it('refuses to be polled', async () => {
    const s = scalers.build(input({ triggerType: 'memory', metadata: { value: '80' }, metricType: 'Utilization' }), context());
    await expect(s.getMetricsAndActivity('memory')).rejects.toThrow(/has no external metric .* always active/);
    await s.close();
  });
});
