import {
  formatMilliQuantity,
  int64MilliQuantity,
  metricTarget,
  metricTargetQuantity,
  parseQuantity,
  toMilliQuantity,
} from './quantity';

describe('toMilliQuantity (M-20: %.3f, NaN/±Inf/negative → 0)', () => {
  it.each([
    ['M-20', 1.5, '1500m'],
    ['M-20', 10, '10'],
    ['M-20', 0, '0'],
    ['M-20', 0.5, '500m'],
    ['M-20', 1000, '1k'],
    ['M-20', 1500, '1500'],
    ['M-20', 2_000_000, '2M'],
    ['M-20 rounds to thousandths', 0.0004, '0'],
    ['M-20 rounds to thousandths', 0.0006, '1m'],
    ['M-20 rounds to thousandths', 2.9999, '3'],
    ['M-20 ties go to even like Go', 0.0625, '62m'],
    ['M-20 ties go to even like Go', 0.1875, '188m'],
    ['M-20 NaN', NaN, '0'],
    ['M-20 +Inf', Infinity, '0'],
    ['M-20 -Inf', -Infinity, '0'],
    ['M-20 negative', -3, '0'],
    ['M-20 huge', 1e21, '1000E'],
  ])('%s: %p → %s', (_rule, value, expected) => {
    expect(toMilliQuantity(value)).toBe(expected);
    expect(metricTargetQuantity(value)).toBe(expected);
  });
});

describe('int64MilliQuantity (M-20, C-78, M-17: int64(x*1000), truncated, not clamped)', () => {
  it.each([
    ['M-17', 2.5, '2500m'],
    ['M-17 truncates', 1.00099, '1'],
    ['M-17 negative kept', -1.5, '-1500m'],
    ['M-17', 30, '30'],
    ['M-17 NaN', NaN, '0'],
    ['M-17 capped at int64', 1e300, '9223372036854775807m'],
  ])('%s: %p → %s', (_rule, value, expected) => {
    expect(int64MilliQuantity(value)).toBe(expected);
  });
});

describe('formatMilliQuantity (Quantity.String() of DecimalSI milli values)', () => {
  it.each([
    [0n, '0'],
    [1n, '1m'],
    [1000n, '1'],
    [1000000n, '1k'],
    [1500000n, '1500'],
    [-2000n, '-2'],
    [10n ** 21n, '1E'],
    [10n ** 24n, '1000E'],
  ])('%p → %s', (milli, expected) => {
    expect(formatMilliQuantity(milli)).toBe(expected);
  });
});

describe('metricTarget', () => {
  it.each([
    ['C-37/E-4 AverageValue', 'AverageValue', 5, { type: 'AverageValue', averageValue: '5' }],
    ['C-37/E-4 empty means AverageValue', undefined, 0.5, { type: 'AverageValue', averageValue: '500m' }],
    ['C-37/E-4 Value', 'Value', 2.5, { type: 'Value', value: '2500m' }],
  ])('%s', (_rule, type, value, expected) => {
    expect(metricTarget(type, value)).toEqual(expected);
  });
});

describe('parseQuantity (§3.7 quantities read back from HPAs)', () => {
  it.each([
    ['1500m', 1.5],
    ['10', 10],
    ['0', 0],
    ['-2', -2],
    ['+3', 3],
    ['.5', 0.5],
    ['2.', 2],
    ['2k', 2000],
    ['3M', 3e6],
    ['1G', 1e9],
    ['1T', 1e12],
    ['100n', 1e-7],
    ['5u', 5e-6],
    ['1Ki', 1024],
    ['1Mi', 1048576],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['1e3', 1000],
    ['1E-3', 0.001],
    ['2.5e+2', 250],
    [7, 7],
  ])('%p → %p', (input, expected) => {
    expect(parseQuantity(input)).toBeCloseTo(expected, 12);
  });

  it('reads a milli quantity back exactly', () => {
    expect(parseQuantity('1500m')).toBe(1.5);
  });

  it.each(['', 'abc', '1.2.3', '1 k', '1KB', 'm', '1e', 'Infinity'])(
    'rejects %p with a message naming the form',
    (input) => {
      expect(() => parseQuantity(input)).toThrow(/is not valid: expected a number with an optional suffix/);
    },
  );

  it('rejects non-finite numbers', () => {
    expect(() => parseQuantity(NaN)).toThrow('quantity must be a finite number, got NaN');
  });
});
