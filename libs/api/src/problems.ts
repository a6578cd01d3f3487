/** One problem found by a semantic check: the field it concerns and a message that says what is allowed. */
export interface Problem {
  /** Path of the field, for example `spec.triggers[1].name`. */
  field: string;
  message: string;
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/** Appends a property or index to a dotted field path (`spec` + `triggers` + 0 -> `spec.triggers[0]`). */
export function fieldPath(base: string, ...segments: (string | number)[]): string {
  let path = base;
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else if (IDENT.test(segment)) path += path ? `.${segment}` : segment;
    else path += `[${JSON.stringify(segment)}]`;
  }
  return path;
}
