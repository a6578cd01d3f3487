/**
 * Kubernetes quantity conventions of the metrics path (§3.7): how metric values and HPA targets are
 * written (`%.3f` milli precision, clamped at 0) and how the fallback and composite paths write theirs
 * (`int64(x*1000)` milli-quantities), plus a parser for quantity strings read back from HPAs.
 */
import type { MetricTarget } from './hpa-types';

const DECIMAL_SUFFIXES = ['', 'k', 'M', 'G', 'T', 'P', 'E'] as const;

/**
 * Canonical Kubernetes string of `milli / 1000` in DecimalSI format, as `Quantity.String()` writes
 * it: a whole number keeps the largest power-of-1000 suffix that leaves an integer mantissa
 * (`1000` → `1k`, `1500` → `1500`), anything with a fractional part is written in milli (`1500m`).
 */
export function formatMilliQuantity(milli: bigint): string {
  if (milli === 0n) return '0';
  const sign = milli < 0n ? '-' : '';
  const abs = milli < 0n ? -milli : milli;
  if (abs % 1000n !== 0n) return `${sign}${abs}m`;
  let mantissa = abs / 1000n;
  let suffix = 0;
  while (mantissa % 1000n === 0n && suffix < DECIMAL_SUFFIXES.length - 1) {
    mantissa /= 1000n;
    suffix += 1;
  }
  return `${sign}${mantissa}${DECIMAL_SUFFIXES[suffix]}`;
}

/**
 * `value` rounded to thousandths the way Go's `fmt.Sprintf("%.3f", value)` rounds (correctly rounded,
 * exact ties to even), as an integer number of thousandths.
 */
function roundToMilli(value: number): bigint {
  // Doubles this large are integers, and toFixed would switch to exponent notation.
  if (Math.abs(value) >= 1e21) return BigInt(value) * 1000n;
  // An exact tie at the third decimal needs value = j/16 with j odd (1000 = 2^3 * 125); value*16 and
  // value*1000 are exact for those, so this test has no false positives. toFixed rounds ties away
  // from zero, Go rounds them to even.
  const scaled = value * 1000;
  if (Number.isInteger(value * 16) && !Number.isInteger(scaled)) {
    const floor = Math.floor(scaled);
    return BigInt(floor % 2 === 0 ? floor : floor + 1);
  }
  return BigInt(value.toFixed(3).replace('.', ''));
}

/**
 * A scaler's metric value as the HPA receives it (`GenerateMetricInMili`, M-20): milli precision,
 * and NaN, ±Infinity and negative values become 0. Examples: 1.5 → `1500m`, 10 → `10`, -3 → `0`.
 */
export function toMilliQuantity(value: number): string {
  if (!Number.isFinite(value) || value < 0) return '0';
  return formatMilliQuantity(roundToMilli(value));
}

/** An HPA target value (`GetMetricTargetMili`, M-20): the same rounding and clamping as metric values. */
export const metricTargetQuantity = toMilliQuantity;

/**
 * The MetricTarget of an External metric with the given type and value: `value` for `Value`,
 * `averageValue` otherwise (an empty metric type means AverageValue).
 */
export function metricTarget(metricType: string | undefined, value: number): MetricTarget {
  const quantity = metricTargetQuantity(value);
  return metricType === 'Value'
    ? { type: 'Value', value: quantity }
    : { type: 'AverageValue', averageValue: quantity };
}

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

/**
 * `resource.NewMilliQuantity(int64(value*1000))`, used by the fallback value (C-78) and the composite
 * metric (M-17): thousandths truncated toward zero. There is no clamping at 0 on this path. NaN gives
 * `0` and values beyond int64 are capped, where Go's conversion would give an undefined result.
 */
export function int64MilliQuantity(value: number): string {
  if (Number.isNaN(value)) return '0';
  const scaled = value * 1000;
  if (scaled >= 9.223372036854776e18) return formatMilliQuantity(INT64_MAX);
  if (scaled <= -9.223372036854776e18) return formatMilliQuantity(INT64_MIN);
  return formatMilliQuantity(BigInt(Math.trunc(scaled)));
}

const QUANTITY = /^([+-]?)(\d+\.?\d*|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)|[eE]([+-]?\d+))?$/;

/** Suffixes below 1, as divisors: 1e-3 is inexact, so 1500 * 1e-3 would give 1.5000000000000002. */
const SUFFIX_DIVISORS: Readonly<Record<string, number>> = { n: 1e9, u: 1e6, m: 1e3 };
const SUFFIX_FACTORS: Readonly<Record<string, number>> = {
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/**
 * Parses a Kubernetes quantity (`1500m`, `10`, `2k`, `1Gi`, `1.5e3`, `-2`) into a number. JSON
 * numbers are accepted as they are (the API server accepts both forms). Throws when the string is
 * not a quantity.
 */
export function parseQuantity(quantity: string | number): number {
  if (typeof quantity === 'number') {
    if (Number.isFinite(quantity)) return quantity;
    throw new Error(`quantity must be a finite number, got ${quantity}`);
  }
  const match = QUANTITY.exec(quantity);
  if (!match) {
    throw new Error(
      `quantity ${JSON.stringify(quantity)} is not valid: expected a number with an optional suffix ` +
        '(n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei) or exponent (for example 1500m, 2Gi or 1e3)',
    );
  }
  const [, sign, digits, suffix, exponent] = match;
  const magnitude = Number(digits);
  let scaled = magnitude;
  if (suffix !== undefined) {
    const divisor = SUFFIX_DIVISORS[suffix];
    scaled = divisor !== undefined ? magnitude / divisor : magnitude * (SUFFIX_FACTORS[suffix] ?? 1);
  } else if (exponent !== undefined) {
    scaled = Number(`${digits}e${exponent}`);
  }
  return sign === '-' ? -scaled : scaled;
}
