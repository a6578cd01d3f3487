/**
 * Declarative scaler parameters (KEDA's `keda:"name=…,order=…,default=…"` struct tags as data).
 * One declaration drives the parser, the JSON Schema and the generated docs table.
 *
 * Lookup (KEDA typed_config.go): for each declared source in order, for each name (aliases), the
 * first value that is non-empty after trimming wins; for `resolvedEnv` the key is the value of
 * metadata `<name>FromEnv`. Missing -> default -> (optional: undefined) -> error
 * `missing required parameter "<names>" in [<order>]`. Every problem is collected.
 */
import { parseExactQuantity, parseGoBool } from '@keda-ts/api';
import type { ParameterProblem } from './types';

export type ParamSource = 'triggerMetadata' | 'resolvedEnv' | 'authParams';
export const PARAM_SOURCES: readonly ParamSource[] = ['triggerMetadata', 'resolvedEnv', 'authParams'];

export type ParamKind = 'string' | 'int' | 'float' | 'bool' | 'enum' | 'duration' | 'list' | 'map' | 'quantity';

/** Options shared by every parameter kind. */
export interface ParamOptions {
  /** The name, or the name and its aliases (the first found wins). */
  name: string | readonly string[];
  /** Sources tried in this order. */
  order: readonly ParamSource[];
  /** What it does (docs and JSON Schema). */
  description: string;
  optional?: boolean;
  /** Raw default value, parsed like a given value. */
  default?: string;
  /** Setting it is an error: `scaler <type> info: <deprecated>`. */
  deprecated?: string;
  /** Setting it still works but produces an info message: `scaler <type> info: <deprecatedAnnounce>`. */
  deprecatedAnnounce?: string;
  /** Never echo the value in messages or logs. */
  secret?: boolean;
  /**
   * What the value designates when it names something the controller connects to or reads (issue
   * 17): an `endpoint` (URL, host, broker or server address), a `connection-string`, or a `file`.
   * Every such parameter is listed with its `vetting` in docs/security-endpoints.md (generated); a
   * test fails when a parameter whose name looks like one is not marked.
   */
  refersTo?: 'endpoint' | 'connection-string' | 'file';
  /** How a `refersTo` value is vetted, one sentence (required with `refersTo`). */
  vetting?: string;
}

export interface NumberOptions extends ParamOptions {
  min?: number;
  max?: number;
}

export interface ListOptions extends ParamOptions {
  /** Element separator; `,` by default. */
  separator?: string;
  /** When set, every element must be one of these. */
  values?: readonly string[];
  /** At most one of these may appear (KEDA exclusiveSet). */
  exclusiveSet?: readonly string[];
}

export interface MapOptions extends ParamOptions {
  separator?: string;
}

/** A declared parameter. `T` is the parsed type; `Opt` whether the parsed value may be undefined. */
export interface ParamSpec<T = unknown, Opt extends boolean = boolean> extends ParamOptions {
  readonly kind: ParamKind;
  readonly names: readonly string[];
  readonly min?: number;
  readonly max?: number;
  readonly values?: readonly string[];
  readonly separator?: string;
  readonly exclusiveSet?: readonly string[];
  /** Converts the trimmed raw value; returns an error reason string on failure. */
  readonly convert: (raw: string) => { value: T } | { error: string };
  /** Phantom marker of optionality (type level only). */
  readonly __optional?: Opt;
}

type IsOptional<O> = O extends { default: string }
  ? false
  : O extends { optional: true }
    ? true
    : O extends { deprecated: string }
      ? true
      : false;

export type ParamSpecs = Record<string, ParamSpec>;

/** The parsed configuration for a set of declared parameters. */
export type ParsedParams<P extends ParamSpecs> = {
  -readonly [K in keyof P]: P[K] extends ParamSpec<infer T, infer Opt> ? (Opt extends true ? T | undefined : T) : never;
};

const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;

function spec<T, O extends ParamOptions>(
  kind: ParamKind,
  opts: O,
  convert: (raw: string) => { value: T } | { error: string },
  extra: Partial<ParamSpec<T>> = {},
): ParamSpec<T, IsOptional<O>> {
  const names = typeof opts.name === 'string' ? [opts.name] : [...opts.name];
  return { ...opts, ...extra, kind, names, convert } as ParamSpec<T, IsOptional<O>>;
}

function rangeError(n: number, min?: number, max?: number): string | undefined {
  if (min !== undefined && n < min) return max !== undefined ? `must be between ${min} and ${max}` : `must be >= ${min}`;
  if (max !== undefined && n > max) return min !== undefined ? `must be between ${min} and ${max}` : `must be <= ${max}`;
  return undefined;
}

function splitList(raw: string, separator = ','): string[] {
  return raw.split(separator).map((s) => s.trim());
}

/** Go duration units in milliseconds. */
const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go duration string (`30s`, `1m30s`, `250ms`) or a bare integer of milliseconds; returns ms. */
export function parseGoDuration(raw: string): number | undefined {
  if (INTEGER.test(raw)) return Number(raw);
  // µ (U+00B5) and μ (U+03BC) escaped: a bundle's source text stays Latin-1, half the memory.
  const m = /^([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h))+$/.exec(raw);
  if (!m) return undefined;
  let total = 0;
  for (const [, amount, unit] of raw.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/g)) {
    total += Number(amount) * DURATION_UNITS[unit];
  }
  return m[1] === '-' ? -total : total;
}

/** Builders for parameter declarations. */
export const param = {
  string<const O extends ParamOptions>(opts: O) {
    return spec<string, O>('string', opts, (raw) => ({ value: raw }));
  },
  int<const O extends NumberOptions>(opts: O) {
    return spec<number, O>(
      'int',
      opts,
      (raw) => {
        if (!INTEGER.test(raw) || !Number.isSafeInteger(Number(raw))) return { error: 'must be an integer' };
        const n = Number(raw);
        const err = rangeError(n, opts.min, opts.max);
        return err ? { error: err } : { value: n };
      },
      { min: opts.min, max: opts.max },
    );
  },
  float<const O extends NumberOptions>(opts: O) {
    return spec<number, O>(
      'float',
      opts,
      (raw) => {
        if (!JSON_NUMBER.test(raw)) return { error: 'must be a number' };
        const n = Number(raw);
        if (!Number.isFinite(n)) return { error: 'must be a finite number' };
        const err = rangeError(n, opts.min, opts.max);
        return err ? { error: err } : { value: n };
      },
      { min: opts.min, max: opts.max },
    );
  },
  bool<const O extends ParamOptions>(opts: O) {
    return spec<boolean, O>('bool', opts, (raw) => {
      const b = parseGoBool(raw);
      return b === undefined ? { error: 'must be a boolean (true or false)' } : { value: b };
    });
  },
  enum<const V extends string, const O extends ParamOptions>(values: readonly V[], opts: O) {
    // The enum check itself happens in the parser, with KEDA's message.
    return spec<V, O>('enum', opts, (raw) => ({ value: raw as V }), { values });
  },
  /** Parsed to milliseconds. */
  duration<const O extends ParamOptions>(opts: O) {
    return spec<number, O>('duration', opts, (raw) => {
      const ms = parseGoDuration(raw);
      if (ms === undefined)
        return { error: "must be either a duration string (e.g. '30s', '5m') or a number of milliseconds" };
      if (ms < 0) return { error: 'duration cannot be negative' };
      return { value: ms };
    });
  },
  /** A Kubernetes quantity (`500m`, `1.5`, `256Mi`), parsed to an approximate number. */
  quantity<const O extends ParamOptions>(opts: O) {
    return spec<number, O>('quantity', opts, (raw) => {
      const q = parseExactQuantity(raw);
      return q ? { value: q.value } : { error: 'must be a Kubernetes quantity such as 500m, 2 or 256Mi' };
    });
  },
  list<const O extends ListOptions>(opts: O) {
    return spec<string[], O>('list', opts, (raw) => ({ value: splitList(raw, opts.separator) }), {
      separator: opts.separator ?? ',',
      values: opts.values,
      exclusiveSet: opts.exclusiveSet,
    });
  },
  /** `k1=v1,k2=v2`. */
  map<const O extends MapOptions>(opts: O) {
    return spec<Record<string, string>, O>(
      'map',
      opts,
      (raw) => {
        const out: Record<string, string> = {};
        for (const item of splitList(raw, opts.separator)) {
          const kv = item.split('=');
          if (kv.length !== 2) return { error: `expected format key=value, got ${JSON.stringify(item)}` };
          out[kv[0].trim()] = kv[1].trim();
        }
        return { value: out };
      },
      { separator: opts.separator ?? ',' },
    );
  },
};

/** Where a parameter value came from. */
export interface ParamLookup {
  raw: string;
  source: ParamSource;
  /** The name (or alias) that matched. */
  name: string;
}

export interface ParamInputs {
  metadata: Record<string, string>;
  resolvedEnv: Record<string, string>;
  authParams: Record<string, string>;
}

/** The first non-empty trimmed value over the declared sources and names. */
export function lookupParam(p: Pick<ParamSpec, 'names' | 'order'>, input: ParamInputs): ParamLookup | undefined {
  for (const source of p.order) {
    for (const name of p.names) {
      let value: string | undefined;
      if (source === 'triggerMetadata') value = own(input.metadata, name);
      else if (source === 'authParams') value = own(input.authParams, name);
      else {
        const envName = own(input.metadata, `${name}FromEnv`);
        value = envName === undefined ? undefined : own(input.resolvedEnv, envName);
      }
      const trimmed = value?.trim();
      if (trimmed) return { raw: trimmed, source, name };
    }
  }
  return undefined;
}

function own(map: Record<string, string> | undefined, key: string): string | undefined {
  return map && Object.prototype.hasOwnProperty.call(map, key) ? map[key] : undefined;
}

/** KEDA's `%q` of a string. */
export const q = (s: string) => JSON.stringify(s);
/** KEDA's `%v` of a []string. */
export const goList = (values: readonly string[]) => `[${values.join(' ')}]`;

/** The display name of a parameter in messages (aliases joined by `,` like KEDA). */
export const paramDisplayName = (p: Pick<ParamSpec, 'names'>) => p.names.join(',');

export interface ParseResult<C> {
  config: C;
  problems: ParameterProblem[];
  /** Non-fatal notices (deprecatedAnnounce), already in `scaler <type> info: …` form. */
  notices: string[];
  /** Metadata keys consumed by the declaration (for unexpected-parameter warnings). */
  consumedMetadataKeys: string[];
}

/** Parses and checks every declared parameter; collects all problems. */
export function parseParams<P extends ParamSpecs>(
  specs: P,
  input: ParamInputs,
  triggerType: string,
): ParseResult<ParsedParams<P>> {
  const config: Record<string, unknown> = {};
  const problems: ParameterProblem[] = [];
  const notices: string[] = [];
  const consumed = new Set<string>();
  for (const [key, p] of Object.entries(specs)) {
    const parameter = p.names[0];
    const name = paramDisplayName(p);
    for (const n of p.names) {
      if (p.order.includes('triggerMetadata')) consumed.add(n);
      if (p.order.includes('resolvedEnv')) consumed.add(`${n}FromEnv`);
    }
    const found = lookupParam(p, input);
    if (found && p.deprecated) {
      problems.push({ parameter, message: `scaler ${triggerType} info: ${p.deprecated}` });
      continue;
    }
    if (found && p.deprecatedAnnounce) notices.push(`scaler ${triggerType} info: ${p.deprecatedAnnounce}`);
    const raw = found?.raw ?? (p.default !== undefined && p.default !== '' ? p.default : undefined);
    if (raw === undefined) {
      if (!p.optional && !p.deprecated) {
        problems.push({ parameter, message: `missing required parameter ${q(name)} in ${goList(p.order)}` });
      }
      config[key] = undefined;
      continue;
    }
    // Values from a TriggerAuthentication or the container env may come from Secrets: never echoed.
    const shown = p.secret || found?.source === 'authParams' || found?.source === 'resolvedEnv' ? '<redacted>' : raw;
    if (p.values && (p.kind === 'enum' || p.kind === 'list')) {
      const items = p.kind === 'list' ? splitList(raw, p.separator) : [raw.trim()];
      if (items.some((item) => !p.values?.includes(item))) {
        problems.push({ parameter, message: `parameter ${q(name)} value ${q(shown)} must be one of ${goList(p.values)}` });
        continue;
      }
    }
    if (p.exclusiveSet) {
      const items = splitList(raw, p.separator);
      if (items.filter((item) => p.exclusiveSet?.includes(item)).length > 1) {
        problems.push({
          parameter,
          message: `parameter ${q(name)} value ${q(shown)} must contain only one of ${goList(p.exclusiveSet)}`,
        });
        continue;
      }
    }
    const converted = p.convert(raw);
    if ('error' in converted) {
      const detail = shown === raw ? converted.error : converted.error.replace(/, got .*$/s, '');
      problems.push({ parameter, message: `unable to set param ${q(name)} value ${q(shown)}: ${detail}` });
      continue;
    }
    config[key] = converted.value;
  }
  return { config: config as ParsedParams<P>, problems, notices, consumedMetadataKeys: [...consumed] };
}
