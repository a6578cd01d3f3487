import type { JSONSchemaProps } from '../src/openapi';
import type { SourceSchema } from '../schema';

const GENERATOR_ONLY_KEYS = new Set(['tsName', 'tsType']);

/** Drops the generator-only hints and sorts `required`, giving a plain structural schema. */
export function toOpenApiSchema(node: SourceSchema): JSONSchemaProps {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (GENERATOR_ONLY_KEYS.has(key) || value === undefined) continue;
    if (key === 'properties') {
      const props: Record<string, JSONSchemaProps> = {};
      for (const [name, child] of Object.entries(value as Record<string, SourceSchema>)) {
        props[name] = toOpenApiSchema(child);
      }
      out[key] = props;
    } else if (key === 'items' || key === 'additionalProperties') {
      out[key] = toOpenApiSchema(value as SourceSchema);
    } else if (key === 'anyOf') {
      out[key] = (value as SourceSchema[]).map(toOpenApiSchema);
    } else if (key === 'required') {
      out[key] = [...(value as string[])].sort();
    } else {
      out[key] = structuredClone(value);
    }
  }
  return out as JSONSchemaProps;
}

/** Recursively sorts object keys (arrays keep their order) so output is byte-for-byte stable. */
export function sortKeysDeep<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => sortKeysDeep(v)) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value as object).sort()) {
      out[key] = sortKeysDeep((value as Record<string, unknown>)[key]);
    }
    return out as T;
  }
  return value;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeysDeep(a)) === JSON.stringify(sortKeysDeep(b));
}
