/**
 * Kubernetes resource.Quantity text for metric values, as KEDA produces it: values are carried
 * with milli precision and printed in Go's canonical form (`Quantity.String()`), e.g. 1.5 → `1500m`,
 * 10 → `10`, 2000 → `2k`, 0.25 → `250m`.
 */

const DECIMAL_SUFFIXES: ReadonlyArray<readonly [string, number]> = [
  ['', 0],
  ['k', 3],
  ['M', 6],
  ['G', 9],
  ['T', 12],
  ['P', 15],
  ['E', 18],
];

/**
 * Formats a number as a milli-precision Quantity in canonical form. The value is rounded to three
 * decimals as Go's `%.3f` does (KEDA's `GenerateMetricInMili`), then printed with the largest
 * decimal SI suffix whose mantissa is a whole number. Throws a RangeError for NaN and ±Infinity;
 * clamping such values (KEDA turns NaN, ±Inf and negatives into 0) is the caller's decision.
 */
export function formatMilliQuantity(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`cannot format ${value} as a quantity`);
  if (Math.abs(value) >= 9e15 / 1000) throw new RangeError(`${value} is too large for a milli quantity`);
  let millis = BigInt(value.toFixed(3).replace('.', ''));
  if (millis === 0n) return '0';
  const negative = millis < 0n;
  if (negative) millis = -millis;
  const sign = negative ? '-' : '';
  if (millis % 1000n !== 0n) return `${sign}${millis}m`;
  let mantissa = millis / 1000n;
  let exponent = 0;
  while (exponent < 18 && mantissa % 1000n === 0n) {
    mantissa /= 1000n;
    exponent += 3;
  }
  const suffix = DECIMAL_SUFFIXES.find(([, e]) => e === exponent)?.[0] ?? '';
  return `${sign}${mantissa}${suffix}`;
}

const SUFFIX_FACTORS: Record<string, number> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
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

const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/;

/**
 * Parses the text of a Kubernetes quantity (`10`, `1500m`, `2k`, `1.5Gi`, `5e3`, `-0.5`) into a
 * number. An empty string is 0, as KEDA decodes an empty quantity. Throws on anything else that is
 * not a quantity.
 */
export function parseQuantity(text: string): number {
  const s = text.trim();
  if (s === '') return 0;
  const m = QUANTITY.exec(s);
  if (!m)
    throw new Error(
      `quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$', got "${text}"`,
    );
  const [, sign, digits, exponent, suffix] = m;
  const magnitude =
    exponent !== undefined ? Number(`${digits}${exponent}`) : Number(digits) * SUFFIX_FACTORS[suffix ?? ''];
  // Milli-scaled values are exact decimals; undo the float error of the multiplication above.
  const rounded = Number(magnitude.toPrecision(15));
  return sign === '-' ? -rounded : rounded;
}
