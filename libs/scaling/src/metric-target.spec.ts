import { metricTarget } from './metric-target';

describe('metricTarget', () => {
  it.each([
    ['C-37/E-4 AverageValue', 'AverageValue', 5, { type: 'AverageValue', averageValue: '5' }],
    ['C-37/E-4 empty means AverageValue', undefined, 0.5, { type: 'AverageValue', averageValue: '500m' }],
    ['C-37/E-4 Value', 'Value', 2.5, { type: 'Value', value: '2500m' }],
  ])('%s', (_rule, type, value, expected) => {
    expect(metricTarget(type, value)).toEqual(expected);
  });
});
