/** Syntax check of a Kubernetes label selector string (k8s.io/apimachinery labels.Parse). */

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

/** Undefined when `selector` parses, else why not. */
export function labelSelectorError(selector: string): string | undefined {
  const requirements = splitRequirements(selector);
  if (!requirements) return `unbalanced parentheses in ${JSON.stringify(selector)}`;
  if (selector.trim() === '') return undefined;
  for (const raw of requirements) {
    const r = raw.trim();
    if (r === '') return `empty requirement in ${JSON.stringify(selector)}`;
    let m: RegExpExecArray | null;
    if ((m = /^(\S+?)\s+(in|notin)\s*\((.*)\)$/.exec(r))) {
      const err = keyError(m[1]);
      if (err) return err;
      const values = m[3].split(',').map((v) => v.trim());
      if (m[2] === 'in' && values.length === 1 && values[0] === '')
        return `for 'in' and 'notin' operators, values set can't be empty in ${JSON.stringify(r)}`;
      for (const v of values) {
        const verr = valueError(v);
        if (verr) return verr;
      }
    } else if ((m = /^([^=!<>\s]+)\s*(==|=|!=|<|>)\s*(.*)$/.exec(r))) {
      const err = keyError(m[1]);
      if (err) return err;
      if ((m[2] === '<' || m[2] === '>') && !/^-?\d+$/.test(m[3])) return `for '<' and '>' operators, the value must be an integer in ${JSON.stringify(r)}`;
      const verr = valueError(m[3]);
      if (verr) return verr;
    } else if ((m = /^!\s*(\S+)$/.exec(r)) || (m = /^(\S+)$/.exec(r))) {
      const err = keyError(m[1]);
      if (err) return err;
    } else {
      return `unable to parse requirement ${JSON.stringify(r)}`;
    }
  }
  return undefined;
}
