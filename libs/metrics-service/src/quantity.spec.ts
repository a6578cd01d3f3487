import { formatMilliQuantity, parseQuantity } from './quantity';

describe('formatMilliQuantity', () => {
  it.each([
    [1.5, '1500m'],
    [10, '10'],
    [0, '0'],
    [-0, '0'],
    [0.25, '250m'],
    [0.001, '1m'],
    [0.0004, '0'],
    [1234.5678, '1234568m'],
    [1500, '1500'],
    [2000, '2k'],
    [1e6, '1M'],
    [3e9, '3G'],
    [-1.5, '-1500m'],
    [0.1 + 0.2, '300m'],
  ])('%p → %p', (value, text) => {
    expect(formatMilliQuantity(value)).toBe(text);
  });

  it('rejects values that are not finite', () => {
    expect(() => formatMilliQuantity(Number.NaN)).toThrow(RangeError);
    expect(() => formatMilliQuantity(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});

describe('parseQuantity', () => {
  it.each([
    ['', 0],
    ['10', 10],
    ['1500m', 1.5],
    ['2k', 2000],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['100u', 0.0001],
    ['5e3', 5000],
    ['-3', -3],
    ['.5', 0.5],
    ['1234568m', 1234.568],
  ])('%p → %p', (text, value) => {
    expect(parseQuantity(text)).toBe(value);
  });

  it.each(['abc', '1.5.5', '10 m', 'm', '1Zi'])('rejects %p', (text) => {
    expect(() => parseQuantity(text)).toThrow(/quantities must match/);
  });

  it('round-trips what formatMilliQuantity prints', () => {
    for (const v of [0.001, 0.5, 1, 7.25, 99.999, 12345.678, 2e6])
      expect(parseQuantity(formatMilliQuantity(v))).toBe(v);
  });
});
