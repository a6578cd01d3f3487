import { parseLabelSelector } from '@keda-ts/api';
import { StatusError } from './status';

export const SCALED_OBJECT_NAME_LABEL = 'scaledobject.keda.sh/name';

/**
 * The equality requirements of a label selector as a map, like KEDA's adapter turning
 * `selector.Requirements()` into a map (M-3): `k=v`, `k==v` and a single-valued `k in (v)`.
 * Other requirements (`!=`, `notin`, existence) carry no value and are left out; a selector that
 * does not parse gives none.
 */
export function selectorToMap(selector: string): Record<string, string> {
  const parsed = parseLabelSelector(selector);
  if ('error' in parsed) return {};
  const out: Record<string, string> = {};
  for (const r of parsed.requirements) {
    if (r.operator === '=' || r.operator === '==' || (r.operator === 'in' && r.values.length === 1)) out[r.key] = r.values[0];
  }
  return out;
}

/** The ScaledObject name from the selector; 400 `scaledObject name is not specified` without it (M-3). */
export function scaledObjectNameFromSelector(selector: string | undefined): string {
  const name = selectorToMap(selector ?? '')[SCALED_OBJECT_NAME_LABEL];
  if (!name) throw new StatusError(400, 'scaledObject name is not specified');
  return name;
}
