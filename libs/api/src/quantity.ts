/**
 * Kubernetes resource quantities (k8s.io/apimachinery/pkg/api/resource), the one implementation
 * shared by the scaling, scalers and metrics-service libraries.
 *
 * Writing (§3.7): metric values and HPA targets are written with milli precision in Go's canonical
 * form (`Quantity.String()`), e.g. 1.5 → `1500m`, 10 → `10`, 2000 → `2k`. Three rounding rules are
 * in use and each has its own function:
 * - {@link toMilliQuantity} / {@link metricTargetQuantity}: KEDA's `GenerateMetricInMili` (`%.3f`,
 *   NaN, ±Inf and negatives become 0);
 * - {@link int64MilliQuantity}: `int64(x*1000)` of the fallback and composite paths (truncated, signed);
 * - {@link signedMilliQuantity}: signed, rounded to thousandths, non-finite values rejected (the
 *   metrics-service wire values);
 * and {@link formatMilliQuantity} writes an integer count of thousandths, {@link toMilliUnits} computes one.
 *
 * Reading: {@link parseQuantity} (strict, for quantities read back from HPAs), {@link parseWireQuantity}
 * (as KEDA decodes wire values: trimmed, empty is 0) and {@link parseExactQuantity} (exact, with the
 * API server's canonical form, for scaler parameters).
 */

/** Quantity text: sign, digits, then a suffix or a decimal exponent. Groups: sign, digits, suffix, exponent. */
const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?\d+))?$/;

/** Decimal SI suffixes by power of ten. */
const DECIMAL_SUFFIX: Readonly<Record<string, number>> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
/** Binary SI suffixes by power of 1024. */
const BINARY_SUFFIX: Readonly<Record<string, number>> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL_BY_EXP: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(DECIMAL_SUFFIX).map(([suffix, exp]) => [exp, suffix]),
);
const BINARY_BY_POWER = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/** Canonical decimal-SI form of `±digits * 10^exp10` (rounded up to nano like Kubernetes). */
function formatDecimal(negative: boolean, digits: bigint, exp10: number): string {
  if (exp10 < -9) {
    const div = 10n ** BigInt(-9 - exp10);
    digits = (digits + div - 1n) / div; // round up (away from zero), as Kubernetes does
    exp10 = -9;
  }
  if (digits === 0n) return '0';
  while (digits % 10n === 0n && exp10 < 18) {
    digits /= 10n;
    exp10 += 1;
  }
  let e3 = Math.floor(exp10 / 3) * 3;
  if (e3 > 18) e3 = 18;
  digits *= 10n ** BigInt(exp10 - e3);
  return `${negative ? '-' : ''}${digits}${DECIMAL_BY_EXP[e3]}`;
}

/**
 * Canonical Kubernetes string of `milli / 1000` in DecimalSI format, as `Quantity.String()` writes
 * it: a whole number keeps the largest power-of-1000 suffix that leaves an integer mantissa
 * (`1000` → `1k`, `1500` → `1500`), anything with a fractional part is written in milli (`1500m`).
 * A number must be a safe integer (RangeError otherwise).
 */
export function formatMilliQuantity(milli: bigint | number): string {
  if (typeof milli === 'number') {
    if (!Number.isSafeInteger(milli)) throw new RangeError(`not a safe integer: ${milli}`);
    return formatDecimal(milli < 0, BigInt(Math.abs(milli)), -3);
  }
  return formatDecimal(milli < 0n, milli < 0n ? -milli : milli, -3);
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

/**
 * A signed number as a milli-precision quantity (the metrics-service wire values): rounded to three
 * decimals with `toFixed(3)`, negatives kept. Throws a RangeError for NaN, ±Infinity and values too
 * large for exact milli precision; clamping such values (KEDA turns NaN, ±Inf and negatives into 0,
 * see {@link toMilliQuantity}) is the caller's decision. Examples: 0.25 → `250m`, -1.5 → `-1500m`.
 */
export function signedMilliQuantity(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`cannot format ${value} as a quantity`);
  if (Math.abs(value) >= 9e15 / 1000) throw new RangeError(`${value} is too large for a milli quantity`);
  return formatMilliQuantity(BigInt(value.toFixed(3).replace('.', '')));
}

/**
 * KEDA's metric value/target rule: NaN, ±Inf and negative values become 0, then the value is
 * taken with milli precision. Returns an integer count of thousandths.
 */
export function toMilliUnits(value: number, rounding: 'round' | 'trunc' = 'round'): number {
  if (!Number.isFinite(value) || value < 0) return 0;
  const milli = rounding === 'round' ? Math.round(value * 1000) : Math.trunc(value * 1000);
  return Math.min(milli, Number.MAX_SAFE_INTEGER);
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

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
 * not a quantity (no trimming; the empty string is not a quantity).
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

const WIRE_SUFFIX_FACTORS: Readonly<Record<string, number>> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  ...SUFFIX_FACTORS,
};

/**
 * Parses the text of a quantity as KEDA decodes a metrics-service wire value (`10`, `1500m`, `2k`,
 * `1.5Gi`, `5e3`, `-0.5`): surrounding whitespace is ignored, an empty string is 0, and the result
 * is rounded to 15 significant digits (milli-scaled values are exact decimals). Throws, with Go's
 * error message, on anything else that is not a quantity.
 */
export function parseWireQuantity(text: string): number {
  const s = text.trim();
  if (s === '') return 0;
  const m = QUANTITY.exec(s);
  if (!m)
    throw new Error(
      `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$', got "${text}"`,
    );
  const [, sign, digits, suffix, exponent] = m;
  const magnitude =
    exponent !== undefined ? Number(`${digits}e${exponent}`) : Number(digits) * WIRE_SUFFIX_FACTORS[suffix ?? ''];
  // Milli-scaled values are exact decimals; undo the float error of the multiplication above.
  const rounded = Number(magnitude.toPrecision(15));
  return sign === '-' ? -rounded : rounded;
}

/** An exact quantity: `sign * digits * 10^exp10`, `binary` when written with a binary suffix. */
interface Exact {
  negative: boolean;
  digits: bigint;
  exp10: number;
  binary: boolean;
}

function parseExact(raw: string): Exact | undefined {
  const m = QUANTITY.exec(raw.trim());
  if (!m) return undefined;
  const [, sign, number, suffix = '', exponent] = m;
  const [intPart, fracPart = ''] = number.split('.');
  let digits = BigInt((intPart || '0') + fracPart);
  let exp10 = -fracPart.length;
  let binary = false;
  if (exponent !== undefined) exp10 += Number(exponent);
  else if (suffix in BINARY_SUFFIX) {
    binary = true;
    digits *= 1024n ** BigInt(BINARY_SUFFIX[suffix]);
    while (exp10 < 0 && digits % 10n === 0n) {
      digits /= 10n;
      exp10 += 1;
    }
  } else exp10 += DECIMAL_SUFFIX[suffix];
  if (Math.abs(exp10) > 100) return undefined;
  return { negative: sign === '-' && digits !== 0n, digits, exp10, binary };
}

function exactToNumber(e: Exact): number {
  const n = Number(`${e.digits}e${e.exp10}`);
  return e.negative ? -n : n;
}

function formatExact(e: Exact): string {
  if (e.binary && e.exp10 >= 0) {
    const bytes = e.digits * 10n ** BigInt(e.exp10);
    if (bytes >= 1024n) {
      let power = 0;
      let rest = bytes;
      while (power < 6 && rest % 1024n === 0n) {
        rest /= 1024n;
        power += 1;
      }
      return `${e.negative ? '-' : ''}${rest}${BINARY_BY_POWER[power]}`;
    }
  }
  return formatDecimal(e.negative, e.digits, e.exp10);
}

/**
 * Parses a quantity exactly (surrounding whitespace ignored): `value` is a float approximation,
 * `canonical` the form the API server stores, so that HPA specs we build compare equal to what we
 * read back. Undefined when `raw` is not a quantity.
 */
export function parseExactQuantity(raw: string): { value: number; canonical: string } | undefined {
  const exact = parseExact(raw);
  if (!exact) return undefined;
  return { value: exactToNumber(exact), canonical: formatExact(exact) };
}
