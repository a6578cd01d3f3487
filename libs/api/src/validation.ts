/**
 * Runtime validation of keda.sh objects against the generated structural schemas (ajv 8), plus the
 * CRD's CEL rule, which ajv cannot evaluate. This reproduces what the API server checks before the
 * admission webhook runs; the webhook/controller-only rules live in `./semantic`.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { API_GROUP_VERSION, EVENTING_API_GROUP_VERSION, KEDA_KINDS, type EventingKind, type KedaKind } from './constants';
import { eventingOpenApiSchemas, openApiSchemas } from './generated/schemas';
import { KUBERNETES_SCHEMA_EXTENSIONS, type JSONSchemaProps } from './openapi';
import { fieldPath } from './problems';
import { checkMinNotAboveMax } from './semantic';

export interface ValidationIssue {
  /** Dotted path of the offending field, for example `spec.triggers[0].type`. */
  path: string;
  message: string;
}

export interface ValidationResult {
  valid: boolean;
  errors: ValidationIssue[];
}

export interface ValidateOptions {
  /**
   * What to do with fields that the schema does not declare. `reject` (the default) reports them,
   * like the API server's strict field validation (kubectl's default); `ignore` accepts them, like
   * the API server's pruning.
   */
  unknownFields?: 'reject' | 'ignore';
}

let ajv: Ajv | undefined;
const compiled = new Map<string, ValidateFunction>();

function getAjv(): Ajv {
  if (!ajv) {
    ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictTypes: false });
    addFormats(ajv);
    ajv.addVocabulary([...KUBERNETES_SCHEMA_EXTENSIONS]);
  }
  return ajv;
}

/**
 * A copy of the schema in which every object with declared properties (and without
 * x-kubernetes-preserve-unknown-fields) rejects undeclared fields.
 */
export function rejectingUnknownFields(schema: JSONSchemaProps): JSONSchemaProps {
  const out: JSONSchemaProps = { ...schema };
  if (schema.properties) {
    out.properties = Object.fromEntries(
      Object.entries(schema.properties).map(([k, v]) => [k, rejectingUnknownFields(v)]),
    );
    if (!schema['x-kubernetes-preserve-unknown-fields'] && schema.additionalProperties === undefined) {
      (out as Record<string, unknown>)['additionalProperties'] = false;
    }
  }
  if (schema.items) out.items = rejectingUnknownFields(schema.items);
  if (schema.additionalProperties)
    out.additionalProperties = rejectingUnknownFields(schema.additionalProperties);
  return out;
}

function validatorFor(kind: KedaKind | EventingKind, mode: 'reject' | 'ignore'): ValidateFunction {
  const key = `${kind}:${mode}`;
  let fn = compiled.get(key);
  if (!fn) {
    const schema = kind in openApiSchemas ? openApiSchemas[kind as KedaKind] : eventingOpenApiSchemas[kind as EventingKind];
    fn = getAjv().compile(mode === 'reject' ? rejectingUnknownFields(schema) : schema);
    compiled.set(key, fn);
  }
  return fn;
}

/** Converts a JSON pointer into a dotted path, using the data to tell array indexes from keys. */
function pointerToPath(pointer: string, data: unknown): string {
  if (!pointer) return '';
  let path = '';
  let current: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(current)) {
      path = fieldPath(path, Number(segment));
      current = current[Number(segment)];
    } else {
      path = fieldPath(path, segment);
      current =
        current !== null && typeof current === 'object'
          ? (current as Record<string, unknown>)[segment]
          : undefined;
    }
  }
  return path;
}

const TYPE_NAMES: Record<string, string> = {
  integer: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'a boolean',
  object: 'an object',
  array: 'an array',
};

const FORMAT_MESSAGES: Record<string, string> = {
  int32: 'must be a 32-bit integer (int32, -2147483648 to 2147483647)',
  int64: 'must be a 64-bit integer (int64)',
  'date-time': 'must be an RFC 3339 date-time such as 2024-01-02T15:04:05Z',
};

const showValue = (v: unknown) => (v === '' ? '""' : String(v));

function toIssue(error: ErrorObject, data: unknown): ValidationIssue {
  const path = pointerToPath(error.instancePath, data);
  const params = error.params as Record<string, unknown>;
  const parent = (error.parentSchema ?? {}) as JSONSchemaProps;
  switch (error.keyword) {
    case 'required':
      return { path: fieldPath(path, String(params['missingProperty'])), message: 'is required' };
    case 'additionalProperties': {
      const allowed = Object.keys(parent.properties ?? {}).sort();
      return {
        path: fieldPath(path, String(params['additionalProperty'])),
        message: `unknown field; allowed fields here: ${allowed.join(', ')}`,
      };
    }
    case 'enum':
      return {
        path,
        message: `must be one of: ${(params['allowedValues'] as unknown[]).map(showValue).join(', ')}`,
      };
    case 'type': {
      const types = String(params['type']).split(',');
      return { path, message: `must be ${types.map((t) => TYPE_NAMES[t] ?? t).join(' or ')}` };
    }
    case 'minimum':
      return { path, message: `must be >= ${params['limit']}` };
    case 'maximum':
      return { path, message: `must be <= ${params['limit']}` };
    case 'minItems': {
      const limit = Number(params['limit']);
      return { path, message: `must have at least ${limit} item${limit === 1 ? '' : 's'}` };
    }
    case 'minLength': {
      const limit = Number(params['limit']);
      return {
        path,
        message: limit === 1 ? 'must not be empty' : `must be at least ${limit} characters long`,
      };
    }
    case 'format':
      return {
        path,
        message: FORMAT_MESSAGES[String(params['format'])] ?? `must be in format ${params['format']}`,
      };
    case 'pattern':
      return parent['x-kubernetes-int-or-string']
        ? { path, message: 'must be a quantity, for example 100m, 0.5 or 2Gi' }
        : { path, message: `must match the pattern ${params['pattern']}` };
    case 'anyOf':
      return parent['x-kubernetes-int-or-string']
        ? { path, message: 'must be an integer or a string' }
        : { path, message: 'must match one of the allowed forms' };
    default:
      return { path, message: error.message ?? `is invalid (${error.keyword})` };
  }
}

function issuesFrom(errors: readonly ErrorObject[] | null | undefined, data: unknown): ValidationIssue[] {
  const all = errors ?? [];
  // The branches of an anyOf are reported once, by the anyOf error itself.
  const anyOfPaths = all.filter((e) => e.keyword === 'anyOf').map((e) => `${e.schemaPath}/`);
  const kept = all.filter((e) => !anyOfPaths.some((p) => e.schemaPath.startsWith(p)));
  const seen = new Set<string>();
  const issues: ValidationIssue[] = [];
  for (const error of kept) {
    const issue = toIssue(error, data);
    const key = `${issue.path}\u0000${issue.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      issues.push(issue);
    }
  }
  return issues;
}

/** Validates an object of the given kind against its CRD schema (and CEL rule). */
export function validateKind(kind: KedaKind, obj: unknown, options: ValidateOptions = {}): ValidationResult {
  const validate = validatorFor(kind, options.unknownFields ?? 'reject');
  validate(obj);
  const errors = issuesFrom(validate.errors, obj);
  if (obj !== null && typeof obj === 'object' && !Array.isArray(obj)) {
    const { apiVersion, kind: objKind } = obj as { apiVersion?: unknown; kind?: unknown };
    if (typeof apiVersion === 'string' && apiVersion !== API_GROUP_VERSION) {
      errors.unshift({ path: 'apiVersion', message: `must be ${API_GROUP_VERSION}` });
    }
    if (typeof objKind === 'string' && objKind !== kind) {
      errors.unshift({ path: 'kind', message: `must be ${kind}` });
    }
    if (kind === 'ScaledObject') {
      const spec = (obj as { spec?: unknown }).spec;
      if (spec !== null && typeof spec === 'object') {
        errors.push(...checkMinNotAboveMax({ spec }).map((p) => ({ path: p.field, message: p.message })));
      }
    }
  }
  return { valid: errors.length === 0, errors };
}

export const validateScaledObject = (obj: unknown, options?: ValidateOptions) =>
  validateKind('ScaledObject', obj, options);
export const validateScaledJob = (obj: unknown, options?: ValidateOptions) =>
  validateKind('ScaledJob', obj, options);
export const validateTriggerAuthentication = (obj: unknown, options?: ValidateOptions) =>
  validateKind('TriggerAuthentication', obj, options);
export const validateClusterTriggerAuthentication = (obj: unknown, options?: ValidateOptions) =>
  validateKind('ClusterTriggerAuthentication', obj, options);

/** Validates any keda.sh object, choosing the schema by its `kind`. */
export function validateKedaObject(obj: unknown, options?: ValidateOptions): ValidationResult {
  const kind = (obj as { kind?: unknown } | null)?.kind;
  if (typeof kind !== 'string' || !(KEDA_KINDS as readonly string[]).includes(kind)) {
    return { valid: false, errors: [{ path: 'kind', message: `must be one of: ${KEDA_KINDS.join(', ')}` }] };
  }
  return validateKind(kind as KedaKind, obj, options);
}

/** Validates a CloudEventSource or ClusterCloudEventSource (eventing.keda.sh/v1alpha1) against its CRD schema. */
export function validateEventingKind(kind: EventingKind, obj: unknown, options: ValidateOptions = {}): ValidationResult {
  const validate = validatorFor(kind, options.unknownFields ?? 'reject');
  validate(obj);
  const errors = issuesFrom(validate.errors, obj);
  if (obj !== null && typeof obj === 'object' && !Array.isArray(obj)) {
    const { apiVersion, kind: objKind } = obj as { apiVersion?: unknown; kind?: unknown };
    if (typeof apiVersion === 'string' && apiVersion !== EVENTING_API_GROUP_VERSION) {
      errors.unshift({ path: 'apiVersion', message: `must be ${EVENTING_API_GROUP_VERSION}` });
    }
    if (typeof objKind === 'string' && objKind !== kind) errors.unshift({ path: 'kind', message: `must be ${kind}` });
  }
  return { valid: errors.length === 0, errors };
}
