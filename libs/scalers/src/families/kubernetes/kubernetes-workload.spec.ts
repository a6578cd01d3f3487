
import { scalers } from '../../all';
import { context, input } from '../../../test/fixtures';
import type { MetricTarget, ScalerInput } from '@keda-ts/scaler-sdk';

type Case = {
  name: string;
  metadata: Record<string, string>;
  metricType?: ScalerInput['metricType'];
  asMetricSource?: boolean;
  errors?: string[];
  metric?: string;
  target?: MetricTarget;
};

const cases: Case[] = [
  { name: 'basic', metadata: { podSelector: 'app=demo', value: '1' }, metric: 's0-workload-test', target: { type: 'AverageValue', averageValue: '1' } },
  {
    name: 'milli target and Value',
    metadata: { podSelector: 'app in (a, b),tier!=web', value: '2.5' },
    metricType: 'Value',
    metric: 's0-workload-test',
    target: { type: 'Value', value: '2500m' },
  },
  { name: 'other namespace', metadata: { podSelector: 'app', value: '1', namespace: 'other' }, metric: 's0-workload-other', target: { type: 'AverageValue', averageValue: '1' } },
  { name: 'all namespaces', metadata: { podSelector: '!app', value: '1', namespace: '*' }, metric: 's0-workload-', target: { type: 'AverageValue', averageValue: '1' } },
  { name: 'missing selector', metadata: { value: '1' }, errors: ['missing required parameter "podSelector" in [triggerMetadata]'] },
  { name: 'value defaults to 0, which is rejected', metadata: { podSelector: 'app=x' }, errors: ['value must be a float greater than 0'] },
  { name: 'value 0 allowed as a metric source', metadata: { podSelector: 'app=x' }, asMetricSource: true, metric: 's0-workload-test', target: { type: 'AverageValue', averageValue: '0' } },
  { name: 'bad value', metadata: { podSelector: 'app=x', value: 'a' }, errors: ['unable to set param "value" value "a": must be a number'] },
  {
    name: 'bad selector',
    metadata: { podSelector: 'app==(x', value: '1' },
    errors: ['error parsing pod selector: unbalanced parentheses in "app==(x"'],
  },
  {
    name: 'bad label key',
    metadata: { podSelector: 'a b=c', value: '1' },
    errors: ['error parsing pod selector: unable to parse requirement "a b=c"'],
  },
  {
    name: 'Utilization rejected',
    metadata: { podSelector: 'app=x', value: '1' },
    metricType: 'Utilization',
    errors: ["'Utilization' metric type is unsupported for external metrics, allowed values are 'Value' or 'AverageValue'"],
  },
];

describe('kubernetes-workload', () => {
  it.each(cases)('$name', (c) => {
    const i = input({
      triggerType: 'kubernetes-workload',
      metadata: c.metadata,
      metricType: c.metricType,
      asMetricSource: c.asMetricSource,
      scalableObject: { kind: 'ScaledObject', namespace: 'test', name: 'so' },
    });
    expect(scalers.validate(i).map((p) => p.message)).toEqual(c.errors ?? []);
    if (c.errors) return;
    const [spec] = scalers.build(i, context()).getMetricSpecForScaling();
    expect(spec).toEqual({ type: 'External', external: { metric: { name: c.metric }, target: c.target } });
  });

  it('counts pods through the Kubernetes reader and compares with activationValue', async () => {
    const calls: unknown[] = [];
    let pods = 3;
    const ctx = context({
      kubernetes: {
        countPods: async (ns, selector, options) => {
          calls.push([ns, selector, options?.signal instanceof AbortSignal]);
          return pods;
        },
      },
    });
    const s = scalers.build(
      input({
        triggerType: 'kubernetes-workload',
        triggerIndex: 2,
        metadata: { podSelector: 'app=demo', value: '2', activationValue: '3' },
        scalableObject: { kind: 'ScaledObject', namespace: 'ns1', name: 'so' },
      }),
      ctx,
    );
    const signal = new AbortController().signal;
    expect(await s.getMetricsAndActivity('s2-workload-ns1', { signal })).toEqual({
      metrics: [{ metricName: 's2-workload-ns1', value: 3, timestamp: ctx.now() }],
      isActive: false,
    });
    pods = 4;
    expect((await s.getMetricsAndActivity('s2-workload-ns1')).isActive).toBe(true);
    expect(calls).toEqual([
      ['ns1', 'app=demo', true],
      ['ns1', 'app=demo', false],
    ]);
  });

  it('wraps reader errors', async () => {
    const s = scalers.build(
      input({ triggerType: 'kubernetes-workload', metadata: { podSelector: 'app', value: '1' } }),
      context({ kubernetes: { countPods: () => Promise.reject(new Error('forbidden')) } }),
    );
    await expect(s.getMetricsAndActivity('s0-workload-default')).rejects.toThrow('error inspecting kubernetes workload: forbidden');
  });
});
