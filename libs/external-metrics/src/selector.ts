import { StatusError } from './status';

export const SCALED_OBJECT_NAME_LABEL = 'scaledobject.keda.sh/name';

/** Splits a label selector at top-level commas (commas inside `in (a,b)` stay). */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of selector) {
    if (ch === '(') depth++;
    if (ch === ')') depth = Math.max(0, depth - 1);
    if (ch === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else current += ch;
  }
  terms.push(current);
  return terms.map((t) => t.trim()).filter(Boolean);
}

/**
 * The equality requirements of a label selector as a map, like KEDA's adapter turning
 * `selector.Requirements()` into a map (M-3): `k=v`, `k==v` and a single-valued `k in (v)`.
 * Other requirements (`!=`, `notin`, existence) carry no value and are left out.
 */
export function selectorToMap(selector: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const term of splitTerms(selector)) {
    const inMatch = /^([^\s!=]+)\s+in\s+\(\s*([^,\s)]*)\s*\)$/.exec(term);
    if (inMatch) {
      out[inMatch[1]] = inMatch[2];
      continue;
    }
    const eq = /^([^\s!=]+)\s*==?\s*([^\s=]*)$/.exec(term);
    if (eq) out[eq[1]] = eq[2];
  }
  return out;
}

/** The ScaledObject name from the selector; 400 `scaledObject name is not specified` without it (M-3). */
export function scaledObjectNameFromSelector(selector: string | undefined): string {
  const name = selectorToMap(selector ?? '')[SCALED_OBJECT_NAME_LABEL];
  if (!name) throw new StatusError(400, 'scaledObject name is not specified');
  return name;
}
