/** JSON Schema (draft 2020-12) of a scaler's trigger metadata and auth params, from its declaration. */
import type { ScalerDescriptor } from './descriptor';
import type { ParamSpec } from './params';

export type JsonSchema = Record<string, unknown>;

// Values are trimmed before parsing, so the patterns allow surrounding whitespace.
const INT_PATTERN = '^\\s*[+-]?[0-9]+\\s*$';
const FLOAT_PATTERN = '^\\s*-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?\\s*$';
const BOOL_ENUM = ['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False'];
const DURATION_PATTERN = '^\\s*([0-9]+|[+-]?(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)\\s*$';
const QUANTITY_PATTERN = '^\\s*[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?\\s*$';

function valueSchema(p: ParamSpec): JsonSchema {
  const s: JsonSchema = { type: 'string', description: p.description };
  switch (p.kind) {
    case 'int':
      s['pattern'] = INT_PATTERN;
      break;
    case 'float':
      s['pattern'] = FLOAT_PATTERN;
      break;
    case 'bool':
      s['enum'] = BOOL_ENUM;
      break;
    case 'enum':
      s['enum'] = [...(p.values ?? [])];
      break;
    case 'duration':
      s['pattern'] = DURATION_PATTERN;
      break;
    case 'quantity':
      s['pattern'] = QUANTITY_PATTERN;
      break;
    default:
      break;
  }
  if (p.default !== undefined) s['default'] = p.default;
  if (p.min !== undefined) s['x-keda-minimum'] = p.min;
  if (p.max !== undefined) s['x-keda-maximum'] = p.max;
  if (p.kind === 'list') {
    s['x-keda-separator'] = p.separator ?? ',';
    if (p.values) s['x-keda-items-enum'] = [...p.values];
  }
  if (p.kind === 'map') s['x-keda-separator'] = p.separator ?? ',';
  if (p.deprecated) {
    s['deprecated'] = true;
    s['x-keda-deprecated'] = p.deprecated;
  }
  if (p.deprecatedAnnounce) s['x-keda-deprecated-announce'] = p.deprecatedAnnounce;
  if (p.secret) s['writeOnly'] = true;
  s['x-keda-type'] = p.kind;
  s['x-keda-order'] = [...p.order];
  return s;
}

/**
 * The schema of `trigger.metadata` for a scaler: every parameter readable from metadata (and the
 * `<name>FromEnv` keys for those readable from the container env), with `$defs.authParams` for
 * the auth params. `required` lists the parameters that can only come from metadata. Other keys
 * are allowed (KEDA only warns about them) but must be strings.
 */
export function scalerJsonSchema(descriptor: ScalerDescriptor): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  const authProperties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const p of Object.values(descriptor.params)) {
    for (const name of p.names) {
      if (p.order.includes('triggerMetadata')) properties[name] = valueSchema(p);
      if (p.order.includes('resolvedEnv'))
        properties[`${name}FromEnv`] = {
          type: 'string',
          description: `Name of an env var of the scale target's container holding \`${name}\`.`,
        };
      if (p.order.includes('authParams')) authProperties[name] = valueSchema(p);
    }
    const requiredHere = !p.optional && !p.deprecated && p.default === undefined;
    if (requiredHere && p.names.length === 1 && p.order.length === 1 && p.order[0] === 'triggerMetadata') {
      required.push(p.names[0]);
    }
  }
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `https://keda-ts.dev/schemas/scalers/${descriptor.type}.json`,
    title: `${descriptor.type} trigger metadata`,
    description: descriptor.description,
    type: 'object',
    properties,
    required,
    additionalProperties: { type: 'string' },
    'x-keda-metric-types': [...descriptor.metricTypes],
    'x-keda-kinds': [...descriptor.kinds],
    $defs: {
      authParams: {
        title: `${descriptor.type} auth params (from a TriggerAuthentication)`,
        type: 'object',
        properties: authProperties,
        additionalProperties: { type: 'string' },
      },
    },
  };
}
