/**
 * Kubernetes resource quantities (k8s.io/apimachinery/pkg/api/resource), the subset scalers need:
 * parsing (`500m`, `1.5`, `10k`, `256Mi`, `1e3`) and the canonical string form the API server
 * stores, so that HPA specs we build compare equal to what we read back.
 */

const DECIMAL_SUFFIX: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_SUFFIX: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL_BY_EXP: Record<number, string> = Object.fromEntries(
  Object.entries(DECIMAL_SUFFIX).map(([suffix, exp]) => [exp, suffix]),
);
const BINARY_BY_POWER = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?\d+))?$/;

/** An exact quantity: `sign * digits * 10^exp10 * 1024^pow2`. */
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

function toNumber(e: Exact): number {
  const n = Number(`${e.digits}e${e.exp10}`);
  return e.negative ? -n : n;
}

/** Canonical decimal-SI form of `digits * 10^exp10` (rounded up to nano like Kubernetes). */
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

/** Parses a quantity; `value` is a float approximation, `canonical` the API server's form. */
export function parseQuantity(raw: string): { value: number; canonical: string } | undefined {
  const exact = parseExact(raw);
  if (!exact) return undefined;
  return { value: toNumber(exact), canonical: formatExact(exact) };
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

/** Canonical quantity string of a number of thousandths, e.g. 1500 -> `1500m`, 10000 -> `10`. */
export function formatMilliQuantity(milli: number): string {
  if (!Number.isSafeInteger(milli)) throw new RangeError(`not a safe integer: ${milli}`);
  return formatDecimal(milli < 0, BigInt(Math.abs(milli)), -3);
}
