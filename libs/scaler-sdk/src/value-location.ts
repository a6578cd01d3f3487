/**
 * Finding a number in a response body (metrics-api `valueLocation`).
 *
 * JSON and YAML: a subset of gjson path syntax: keys separated by `.` (`\.` escapes a dot), array
 * indices (`items.0.count`), `#` for an array's length (`items.#`), `*` / `?` wildcards in keys.
 * Queries (`#(...)`), modifiers (`@reverse`) and pipes (`|`) are not supported and give an error.
 *
 * Prometheus text format: `valueLocation` is a metric selector (`queue_depth{queue="a"}`); the first
 * untyped, counter or gauge sample whose labels contain every `label="value"` pair wins.
 */
import { parseExactQuantity } from '@keda-ts/api';
import { compileGlob, globMatch, hasGlobWildcard, type CompiledGlob } from './glob';

export type Located = { found: true; value: unknown } | { found: false };

/** Splits a gjson-style path into components; `\x` escapes x. */
export function splitPath(path: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < path.length; i++) {
    const c = path[i];
    if (c === '\\' && i + 1 < path.length) {
      current += path[++i];
    } else if (c === '.') {
      parts.push(current);
      current = '';
    } else current += c;
  }
  parts.push(current);
  return parts;
}

/** Why a path cannot be evaluated by this subset, or undefined when it can. */
export function unsupportedPathSyntax(path: string): string | undefined {
  if (path.trim() === '') return 'must not be empty';
  if (/(^|[^\\])\|/.test(path)) return 'pipes (|) are not supported';
  if (/(^|[^\\])#\(/.test(path)) return 'queries (#(...)) are not supported';
  if (/(^|\.)@/.test(path)) return 'modifiers (@...) are not supported';
  if (path.startsWith('..')) return 'JSON lines (..) are not supported';
  return undefined;
}

/**
 * Why a wildcard path component is refused (too long for the matcher's cap), or undefined. Shown
 * as `parameter "valueLocation" ...`.
 */
export function wildcardPathProblem(path: string): string | undefined {
  for (const part of splitPath(path)) {
    if (!hasGlobWildcard(part)) continue;
    const g = compileGlob(part);
    if ('error' in g) return `wildcard component ${g.error}`;
  }
  return undefined;
}

/** Evaluates a path (see the module comment) against parsed JSON/YAML. */
export function locate(doc: unknown, path: string): Located {
  return walk(doc, splitPath(path), new Map());
}

/** Wildcards match with the linear-time matcher of glob.ts: the path and the keys are tenant input. */
function wildcard(part: string, cache: Map<string, CompiledGlob | undefined>): CompiledGlob | undefined {
  if (!cache.has(part)) {
    const g = compileGlob(part);
    cache.set(part, 'error' in g ? undefined : g);
  }
  return cache.get(part);
}

function walk(value: unknown, parts: string[], cache: Map<string, CompiledGlob | undefined>): Located {
  if (parts.length === 0) return { found: true, value };
  const [head, ...rest] = parts;
  if (Array.isArray(value)) {
    if (head === '#') {
      if (rest.length === 0) return { found: true, value: value.length };
      const values = value.map((item) => walk(item, rest, cache)).filter((r) => r.found).map((r) => (r as { value: unknown }).value);
      return { found: true, value: values };
    }
    if (/^\d+$/.test(head)) {
      const index = Number(head);
      return index < value.length ? walk(value[index], rest, cache) : { found: false };
    }
    return { found: false };
  }
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    if (hasGlobWildcard(head)) {
      // A pattern over the cap (refused at validation) matches nothing.
      const g = wildcard(head, cache);
      const key = g && Object.keys(obj).find((k) => globMatch(g, k));
      return key === undefined ? { found: false } : walk(obj[key], rest, cache);
    }
    return Object.prototype.hasOwnProperty.call(obj, head) ? walk(obj[head], rest, cache) : { found: false };
  }
  return { found: false };
}

/** gjson's type names, for messages. */
export function gjsonTypeName(value: unknown): string {
  if (value === null || value === undefined) return 'Null';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number' || typeof value === 'bigint') return 'Number';
  if (typeof value === 'string') return 'String';
  return 'JSON';
}

/**
 * The number at a located value: a number, or a string holding a Kubernetes quantity (`"10k"`,
 * `"500m"`). Errors use KEDA's text.
 */
export function numberFrom(value: unknown): { value: number } | { error: string } {
  if (typeof value === 'number') return { value };
  if (typeof value === 'bigint') return { value: Number(value) };
  if (typeof value === 'string') {
    const q = parseExactQuantity(value);
    if (q) return { value: q.value };
    // The string is the server's: only its length is shown.
    return {
      error: `valueLocation must point to value of type number or a string representing a Quantity got: 'String' (${value.length} characters, not a Quantity)`,
    };
  }
  return {
    error: `valueLocation must point to value of type number or a string representing a Quantity got: '${gjsonTypeName(value)}'`,
  };
}

// ---------------------------------------------------------------------------------------------
// Prometheus text exposition format

export interface PromSelector {
  name: string;
  labels: Record<string, string>;
}

/** Parses `name{a="b",c="d"}`, `name` or `{__name__="name",a="b"}` (equality matchers only). */
export function parsePromSelector(selector: string): PromSelector | { error: string } {
  // Scanned by hand: the RegExp this replaced was cubic on runs of whitespace.
  const trimmed = selector.trim();
  const metric = METRIC_NAME.exec(trimmed)?.[0];
  const rest = trimmed.slice(metric?.length ?? 0).trim();
  const braced = rest.startsWith('{') && rest.endsWith('}') && rest.length >= 2;
  if ((rest !== '' && !braced) || (!metric && !braced)) return { error: `invalid metric selector ${JSON.stringify(selector)}` };
  const labels = braced ? parseLabels(rest.slice(1, -1), true) : {};
  if ('error' in labels) return { error: `invalid metric selector ${JSON.stringify(selector)}: ${labels.error}` };
  let name = metric ?? '';
  if (labels['__name__'] !== undefined) {
    name = name || labels['__name__'];
    delete labels['__name__'];
  }
  if (!name) return { error: `metric selector ${JSON.stringify(selector)} has no metric name` };
  return { name, labels };
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
/** Sticky: matches at lastIndex without copying the rest of the line. */
const LABEL_NAME = /[a-zA-Z_][a-zA-Z0-9_]*/y;
const isSpace = (c: string | undefined) => c !== undefined && /\s/.test(c);

/** The text before the last whitespace-separated token, and that token (`line` is trimmed). */
function splitLastToken(line: string): [string, string] | undefined {
  let i = line.length;
  while (i > 0 && !isSpace(line[i - 1])) i--;
  if (i === 0) return undefined;
  return [line.slice(0, i).trimEnd(), line.slice(i)];
}

/** `name{labels} value [timestamp]` of a trimmed sample line, scanned in linear time. */
function parseSampleLine(line: string): { name: string; labelText?: string; valueText: string } | undefined {
  const name = METRIC_NAME.exec(line)?.[0];
  if (!name) return undefined;
  const last = splitLastToken(line);
  if (!last) return undefined;
  const beforeLast = splitLastToken(last[0]);
  // `name value`, `name{…} value` (the longest label set first, like the RegExp this replaced),
  // then the same with a timestamp after the value.
  const options: [string, string][] = [last];
  if (beforeLast) options.push([beforeLast[0], beforeLast[1]]);
  for (const [head, valueText] of options) {
    const rest = head.slice(name.length).trim();
    if (rest === '') return { name, valueText };
    if (rest.startsWith('{') && rest.endsWith('}') && rest.length >= 2)
      return { name, labelText: rest.slice(1, -1), valueText };
  }
  return undefined;
}

function parseLabels(text: string, selector: boolean): Record<string, string> | { error: string } {
  const labels: Record<string, string> = {};
  let i = 0;
  const skipWs = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  while (true) {
    skipWs();
    if (i >= text.length) return labels;
    LABEL_NAME.lastIndex = i;
    const nameMatch = LABEL_NAME.exec(text);
    if (!nameMatch) return { error: `expected a label name at ${JSON.stringify(text.slice(i))}` };
    const name = nameMatch[0];
    i += name.length;
    skipWs();
    if (selector && (text.startsWith('!=', i) || text.startsWith('=~', i) || text.startsWith('!~', i))) {
      return { error: `only equality matchers (label="value") are supported` };
    }
    if (text[i] !== '=') return { error: `expected = after label ${name}` };
    i++;
    skipWs();
    if (text[i] !== '"') return { error: `expected a quoted value for label ${name}` };
    i++;
    let value = '';
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\' && i + 1 < text.length) {
        const next = text[i + 1];
        value += next === 'n' ? '\n' : next;
        i += 2;
      } else value += text[i++];
    }
    if (text[i] !== '"') return { error: `unterminated value for label ${name}` };
    i++;
    labels[name] = value;
    skipWs();
    if (text[i] === ',') i++;
    else if (i < text.length) return { error: `expected , or } after label ${name}` };
  }
}

function parsePromNumber(s: string): number | undefined {
  if (/^[+]?inf$/i.test(s)) return Infinity;
  if (/^-inf$/i.test(s)) return -Infinity;
  if (/^nan$/i.test(s)) return NaN;
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(s)) return undefined;
  return Number(s);
}

/** The value of the first matching untyped/counter/gauge sample. */
export function promValue(body: string, selector: PromSelector): { value: number } | { error: string } {
  const types = new Map<string, string>();
  let sawName = false;
  const lines = body.replace(/\r\n/g, '\n').split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const t = /^#\s*TYPE\s+(\S+)\s+(\S+)/.exec(line);
      if (t) types.set(t[1], t[2]);
      continue;
    }
    // Errors about the body name the line, never its text (the server is the tenant's).
    const sample = parseSampleLine(line);
    if (!sample) return { error: `prometheus format parsing error: line ${n + 1}: invalid sample` };
    const { name, labelText, valueText } = sample;
    if (name !== selector.name) continue;
    const type = types.get(name) ?? 'untyped';
    if (type !== 'untyped' && type !== 'counter' && type !== 'gauge') continue;
    sawName = true;
    const labels = labelText === undefined ? {} : parseLabels(labelText, false);
    if ('error' in labels) return { error: `prometheus format parsing error: line ${n + 1}: invalid labels` };
    const value = parsePromNumber(valueText);
    if (value === undefined)
      return { error: `prometheus format parsing error: line ${n + 1}: invalid value (${valueText.length} characters)` };
    if (Object.entries(selector.labels).every(([k, v]) => labels[k] === v)) return { value };
  }
  return sawName
    ? { error: `no sample of metric '${selector.name}' matches the labels ${JSON.stringify(selector.labels)}` }
    : { error: `metric '${selector.name}' not found` };
}
