/**
 * Structural defaulting and pruning, as the API server applies them to custom resources, driven by
 * the generated schemas. Both functions are pure: they return a new object.
 */
import { type KedaKind } from './constants';
import { openApiSchemas } from './generated/schemas';
import type { JSONSchemaProps } from './openapi';
import { fieldPath } from './problems';

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

function defaultInPlace(value: unknown, schema: JSONSchemaProps): void {
  if (Array.isArray(value)) {
    if (schema.items) for (const item of value) defaultInPlace(item, schema.items);
    return;
  }
  if (!isPlainObject(value)) return;
  if (schema.properties) {
    for (const [key, propSchema] of Object.entries(schema.properties)) {
      // null of a non-nullable field is dropped before defaulting, like the API server does
      if (value[key] === null && !propSchema.nullable) delete value[key];
      if (value[key] === undefined && propSchema.default !== undefined) {
        value[key] = structuredClone(propSchema.default);
      }
      if (value[key] !== undefined) defaultInPlace(value[key], propSchema);
    }
  } else if (schema.additionalProperties) {
    for (const key of Object.keys(value)) defaultInPlace(value[key], schema.additionalProperties);
  }
}

/** Returns a copy of `value` with the schema's `default`s filled in where fields are missing. */
export function applySchemaDefaults<T>(schema: JSONSchemaProps, value: T): T {
  const copy = structuredClone(value);
  defaultInPlace(copy, schema);
  return copy;
}

/**
 * Applies the CRD defaults of a kind (fallback.behavior static, authenticationRef.kind
 * TriggerAuthentication, oauth2.type clientCredentials) and returns the defaulted copy.
 */
export function applyCrdDefaults<T>(kind: KedaKind, obj: T): T {
  return applySchemaDefaults(openApiSchemas[kind], obj);
}

function pruneInPlace(
  value: unknown,
  schema: JSONSchemaProps,
  path: string,
  pruned: string[],
  root: boolean,
): void {
  if (Array.isArray(value)) {
    const items = schema.items;
    if (items) value.forEach((item, i) => pruneInPlace(item, items, fieldPath(path, i), pruned, false));
    return;
  }
  if (!isPlainObject(value) || schema['x-kubernetes-preserve-unknown-fields']) return;
  if (schema.additionalProperties) {
    for (const key of Object.keys(value)) {
      pruneInPlace(value[key], schema.additionalProperties, fieldPath(path, key), pruned, false);
    }
    return;
  }
  const properties = schema.properties ?? {};
  for (const key of Object.keys(value)) {
    const propSchema = properties[key];
    if (propSchema === undefined) {
      delete value[key];
      pruned.push(fieldPath(path, key));
    } else if (!(root && key === 'metadata')) {
      // ObjectMeta is validated by the API server itself and never pruned by the CRD schema.
      pruneInPlace(value[key], propSchema, fieldPath(path, key), pruned, false);
    }
  }
}

export interface PruneResult<T> {
  value: T;
  /** Paths of the removed fields. */
  pruned: string[];
}

/** Removes the fields that the schema does not declare, like the API server's pruning. */
export function pruneUnknownFields<T>(schema: JSONSchemaProps, value: T): PruneResult<T> {
  const copy = structuredClone(value);
  const pruned: string[] = [];
  pruneInPlace(copy, schema, '', pruned, true);
  return { value: copy, pruned };
}

/** `pruneUnknownFields` with the schema of a kind. */
export function pruneCrdUnknownFields<T>(kind: KedaKind, obj: T): PruneResult<T> {
  return pruneUnknownFields(openApiSchemas[kind], obj);
}
