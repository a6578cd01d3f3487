import type { JSONSchemaProps } from '../src/openapi';

/**
 * A schema node as written in this folder: a structural OpenAPI v3 node plus two generator-only hints
 * that are stripped before the schema goes into a CRD or into `src/generated/schemas.ts`:
 * - `tsName`: emit this node as a named, exported TypeScript type (shared nodes must be identical);
 * - `tsType`: use this TypeScript type expression verbatim instead of deriving one.
 */
export type SourceSchema = Omit<
  JSONSchemaProps,
  'properties' | 'additionalProperties' | 'items' | 'anyOf'
> & {
  properties?: Record<string, SourceSchema>;
  additionalProperties?: SourceSchema;
  items?: SourceSchema;
  anyOf?: SourceSchema[];
  tsName?: string;
  tsType?: string;
};

type Extra = Partial<SourceSchema>;

export const str = (description: string, extra: Extra = {}): SourceSchema => ({
  type: 'string',
  description,
  ...extra,
});

export const enumOf = (description: string, values: readonly string[], extra: Extra = {}): SourceSchema => ({
  type: 'string',
  description,
  enum: [...values],
  ...extra,
});

export const bool = (description: string, extra: Extra = {}): SourceSchema => ({
  type: 'boolean',
  description,
  ...extra,
});

export const int32 = (description: string, extra: Extra = {}): SourceSchema => ({
  type: 'integer',
  format: 'int32',
  description,
  ...extra,
});

export const int64 = (description: string, extra: Extra = {}): SourceSchema => ({
  type: 'integer',
  format: 'int64',
  description,
  ...extra,
});

export const dateTime = (description: string): SourceSchema => ({
  type: 'string',
  format: 'date-time',
  description,
});

export const object = (
  description: string,
  properties: Record<string, SourceSchema>,
  extra: Extra = {},
): SourceSchema => ({ type: 'object', description, properties, ...extra });

export const array = (description: string, items: SourceSchema, extra: Extra = {}): SourceSchema => ({
  type: 'array',
  description,
  items,
  ...extra,
});

export const stringList = (description: string, extra: Extra = {}): SourceSchema =>
  array(description, { type: 'string' }, extra);

/** map[string]string */
export const stringMap = (description: string, extra: Extra = {}): SourceSchema => ({
  type: 'object',
  description,
  additionalProperties: { type: 'string' },
  ...extra,
});

/** map[string]T */
export const mapOf = (description: string, values: SourceSchema, extra: Extra = {}): SourceSchema => ({
  type: 'object',
  description,
  additionalProperties: values,
  ...extra,
});

/** The pattern that the Kubernetes API uses for resource.Quantity. */
export const QUANTITY_PATTERN =
  '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

/** A resource.Quantity: an integer or a quantity string. */
export const quantity = (description: string): SourceSchema => ({
  description,
  anyOf: [{ type: 'integer' }, { type: 'string' }],
  pattern: QUANTITY_PATTERN,
  'x-kubernetes-int-or-string': true,
});

/** The standard top-level envelope of a custom resource. */
export function topLevel(
  tsName: string,
  description: string,
  spec: SourceSchema,
  status: SourceSchema,
): SourceSchema {
  return {
    tsName,
    type: 'object',
    description,
    required: ['spec'],
    properties: {
      apiVersion: str('API group and version of the object, keda.sh/v1alpha1.'),
      kind: str(`Kind of the object, ${tsName}.`),
      metadata: { type: 'object', tsType: 'ObjectMeta' },
      spec,
      status,
    },
  };
}
