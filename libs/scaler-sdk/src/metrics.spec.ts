import {
  externalMetricSpec,
  isActiveValue,
  metricName,
  metricTargetInt,
  metricTargetMilli,
  metricValue,
  metricValueQuantity,
  normalizeString,
} from './metrics';

describe('metric helpers', () => {
  it('normalises like KEDA', () => {
    expect(normalizeString('a/b.c:d%e(f)g')).toBe('a-b-c-d-e-f-g');
    expect(metricName(2, 'metric-api-components.worker.tasks')).toBe('s2-metric-api-components-worker-tasks');
  });

  it('clamps and rounds values', () => {
    const t = new Date(0);
    expect(metricValue('m', NaN, t).value).toBe(0);
    expect(metricValue('m', -1, t).value).toBe(0);
    expect(metricValue('m', Infinity, t).value).toBe(0);
    expect(metricValue('m', 1.23456, t)).toEqual({ metricName: 'm', value: 1.235, timestamp: t });
    expect(metricValueQuantity(1.5)).toBe('1500m');
    expect(metricValueQuantity(-1)).toBe('0');
  });

  it('builds milli and int targets', () => {
    expect(metricTargetMilli('AverageValue', 1.5)).toEqual({ type: 'AverageValue', averageValue: '1500m' });
    expect(metricTargetMilli('Value', 10)).toEqual({ type: 'Value', value: '10' });
    expect(metricTargetMilli('Value', -1)).toEqual({ type: 'Value', value: '0' });
    expect(metricTargetInt('AverageValue', 5)).toEqual({ type: 'AverageValue', averageValue: '5' });
    expect(externalMetricSpec('s0-x', metricTargetInt('AverageValue', 1))).toEqual({
      type: 'External',
      external: { metric: { name: 's0-x' }, target: { type: 'AverageValue', averageValue: '1' } },
    });
  });

  it('activates strictly above the threshold', () => {
    expect(isActiveValue(1, 0)).toBe(true);
    expect(isActiveValue(0, 0)).toBe(false);
    expect(isActiveValue(-1, -2)).toBe(true);
  });
});
