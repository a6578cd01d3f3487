import { formatMilliQuantity, parseQuantity, toMilliUnits } from './quantity';

describe('parseQuantity', () => {
  it.each([
    ['1', 1, '1'],
    ['1500', 1500, '1500'],
    ['1000', 1000, '1k'],
    ['100000', 100000, '100k'],
    ['1.5', 1.5, '1500m'],
    ['500m', 0.5, '500m'],
    ['0.5', 0.5, '500m'],
    ['10k', 10000, '10k'],
    ['1e3', 1000, '1k'],
    ['256Mi', 268435456, '256Mi'],
    ['1024Mi', 1073741824, '1Gi'],
    ['1.5Gi', 1610612736, '1536Mi'],
    ['0.5Ki', 512, '512'],
    ['0', 0, '0'],
    ['-2', -2, '-2'],
    ['1n', 1e-9, '1n'],
    [' 3 ', 3, '3'],
  ])('%s', (raw, value, canonical) => {
    expect(parseQuantity(raw)).toEqual({ value, canonical });
  });

  it.each(['', 'abc', '1.2.3', '5 Mi', '1Kb', 'Mi'])('rejects %j', (raw) => expect(parseQuantity(raw)).toBeUndefined());
});

describe('milli values', () => {
  it.each([
    [1.5, 1500],
    [0.0015, 2],
    [NaN, 0],
    [Infinity, 0],
    [-Infinity, 0],
    [-3, 0],
  ])('toMilliUnits(%p) = %p', (v, m) => expect(toMilliUnits(v)).toBe(m));

  it('truncates for targets', () => expect(toMilliUnits(0.0019, 'trunc')).toBe(1));

  it.each([
    [1500, '1500m'],
    [10000, '10'],
    [0, '0'],
    [1, '1m'],
    [100_000_000, '100k'],
    [123_456, '123456m'],
  ])('formatMilliQuantity(%p) = %p', (m, s) => expect(formatMilliQuantity(m)).toBe(s));
});
