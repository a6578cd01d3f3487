/**
 * Kubernetes label selector strings (the syntax of k8s.io/apimachinery labels.Parse): the one parser
 * that scalers' podSelector checks and the metrics adapter's ScaledObject lookup share.
 */

export type SelectorOperator = '=' | '==' | '!=' | '<' | '>' | 'in' | 'notin' | 'exists' | '!';

/** One requirement of a selector: `values` is empty for `exists` and `!`. */
export interface SelectorRequirement {
  key: string;
  operator: SelectorOperator;
  values: string[];
}

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function keyError(key: string): string | undefined {
  const slash = key.indexOf('/');
  const [prefix, name] = slash >= 0 ? [key.slice(0, slash), key.slice(slash + 1)] : [undefined, key];
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)))
    return `invalid label key ${JSON.stringify(key)}: the prefix must be a DNS subdomain`;
  if (name.length === 0 || name.length > 63 || !NAME.test(name))
    return `invalid label key ${JSON.stringify(key)}: a name must be at most 63 characters of alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric`;
  return undefined;
}

function valueError(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > 63 || !NAME.test(value))
    return `invalid label value ${JSON.stringify(value)}: at most 63 characters of alphanumerics, '-', '_' or '.', starting and ending with an alphanumeric`;
  return undefined;
}

/** Splits on commas that are not inside parentheses. */
function splitRequirements(selector: string): string[] | undefined {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const c of selector) {
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (depth < 0) return undefined;
    if (c === ',' && depth === 0) {
      out.push(current);
      current = '';
    } else current += c;
  }
  if (depth !== 0) return undefined;
  out.push(current);
  return out;
}

/** The requirements of `selector`, or why it does not parse. An empty selector has none. */
export function parseLabelSelector(
  selector: string,
): { requirements: SelectorRequirement[] } | { error: string } {
  const parts = splitRequirements(selector);
  if (!parts) return { error: `unbalanced parentheses in ${JSON.stringify(selector)}` };
  if (selector.trim() === '') return { requirements: [] };
  const requirements: SelectorRequirement[] = [];
  for (const raw of parts) {
    const r = raw.trim();
    if (r === '') return { error: `empty requirement in ${JSON.stringify(selector)}` };
    let m: RegExpExecArray | null;
    let requirement: SelectorRequirement;
    if ((m = /^(\S+?)\s+(in|notin)\s*\((.*)\)$/.exec(r))) {
      const values = m[3].split(',').map((v) => v.trim());
      if (m[2] === 'in' && values.length === 1 && values[0] === '')
        return { error: `for 'in' and 'notin' operators, values set can't be empty in ${JSON.stringify(r)}` };
      requirement = { key: m[1], operator: m[2] as 'in' | 'notin', values };
    } else if ((m = /^([^=!<>\s]+)\s*(==|=|!=|<|>)\s*(.*)$/.exec(r))) {
      if ((m[2] === '<' || m[2] === '>') && !/^-?\d+$/.test(m[3]))
        return { error: `for '<' and '>' operators, the value must be an integer in ${JSON.stringify(r)}` };
      requirement = { key: m[1], operator: m[2] as SelectorOperator, values: [m[3]] };
    } else if ((m = /^!\s*(\S+)$/.exec(r))) {
      requirement = { key: m[1], operator: '!', values: [] };
    } else if ((m = /^(\S+)$/.exec(r))) {
      requirement = { key: m[1], operator: 'exists', values: [] };
    } else {
      return { error: `unable to parse requirement ${JSON.stringify(r)}` };
    }
    const problem =
      keyError(requirement.key) ?? requirement.values.map(valueError).find((e) => e !== undefined);
    if (problem) return { error: problem };
    requirements.push(requirement);
  }
  return { requirements };
}

/** Undefined when `selector` parses, else why not. */
export function labelSelectorError(selector: string): string | undefined {
  const parsed = parseLabelSelector(selector);
  return 'error' in parsed ? parsed.error : undefined;
}
