import {
  formatMilliQuantity,
  int64MilliQuantity,
  metricTargetQuantity,
  parseExactQuantity,
  parseQuantity,
  parseWireQuantity,
  signedMilliQuantity,
  toMilliQuantity,
  toMilliUnits,
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
  it.each<[bigint | number, string]>([
    [0n, '0'],
    [1n, '1m'],
    [1000n, '1'],
    [1000000n, '1k'],
    [1500000n, '1500'],
    [-2000n, '-2'],
    [10n ** 21n, '1E'],
    [10n ** 24n, '1000E'],
    [1500, '1500m'],
    [10000, '10'],
    [100_000_000, '100k'],
    [123_456, '123456m'],
  ])('%p → %s', (milli, expected) => {
    expect(formatMilliQuantity(milli)).toBe(expected);
  });

  it('rejects numbers that are not safe integers', () => {
    expect(() => formatMilliQuantity(1.5)).toThrow(RangeError);
    expect(() => formatMilliQuantity(Number.NaN)).toThrow(RangeError);
  });
});

describe('signedMilliQuantity (metrics-service wire values)', () => {
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
    expect(signedMilliQuantity(value)).toBe(text);
  });

  it('rejects values that are not finite', () => {
    expect(() => signedMilliQuantity(Number.NaN)).toThrow(RangeError);
    expect(() => signedMilliQuantity(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});

describe('toMilliUnits', () => {
  it.each([
    [1.5, 1500],
    [0.0015, 2],
    [NaN, 0],
    [Infinity, 0],
    [-Infinity, 0],
    [-3, 0],
  ])('toMilliUnits(%p) = %p', (v, m) => expect(toMilliUnits(v)).toBe(m));

  it('truncates for targets', () => expect(toMilliUnits(0.0019, 'trunc')).toBe(1));
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

describe('parseWireQuantity (metrics-service wire values)', () => {
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
    expect(parseWireQuantity(text)).toBe(value);
  });

  it.each(['abc', '1.5.5', '10 m', 'm', '1Zi'])('rejects %p', (text) => {
    expect(() => parseWireQuantity(text)).toThrow(/quantities must match/);
  });

  it('round-trips what signedMilliQuantity prints', () => {
    for (const v of [0.001, 0.5, 1, 7.25, 99.999, 12345.678, 2e6])
      expect(parseWireQuantity(signedMilliQuantity(v))).toBe(v);
  });
});

describe('parseExactQuantity (value and canonical form)', () => {
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
    expect(parseExactQuantity(raw)).toEqual({ value, canonical });
  });

  it.each(['', 'abc', '1.2.3', '5 Mi', '1Kb', 'Mi'])('rejects %j', (raw) =>
    expect(parseExactQuantity(raw)).toBeUndefined(),
  );
});
