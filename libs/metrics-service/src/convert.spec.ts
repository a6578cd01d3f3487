import { fromWireValue, toWireValue } from './convert';

describe('wire conversion', () => {
  it('sends whole-second timestamps and milli quantities', () => {
    const wire = toWireValue({
      metricName: 's0-x',
      metricLabels: { a: 'b' },
      timestamp: new Date('2026-01-02T03:04:05.678Z'),
      value: 1.5,
    });
    expect(wire).toEqual({
      metricName: 's0-x',
      metricLabels: { a: 'b' },
      timestamp: { seconds: Date.parse('2026-01-02T03:04:05Z') / 1000, nanos: 0 },
      value: { string: '1500m' },
    });
  });

  it('omits an invalid timestamp and reads a missing one as the epoch, an empty quantity as 0', () => {
    expect(
      toWireValue({ metricName: 'm', timestamp: new Date(Number.NaN), value: 10 }).timestamp,
    ).toBeUndefined();
    expect(fromWireValue({ metricName: 'm', metricLabels: {}, value: { string: '' } })).toEqual({
      metricName: 'm',
      timestamp: new Date(0),
      value: 0,
    });
  });

  it('reads labels, nanos and quantities', () => {
    expect(
      fromWireValue({
        metricName: 'm',
        metricLabels: { k: 'v' },
        timestamp: { seconds: 10, nanos: 5e8 },
        value: { string: '2k' },
      }),
    ).toEqual({
      metricName: 'm',
      metricLabels: { k: 'v' },
      timestamp: new Date(10_500),
      value: 2000,
    });
  });
});
