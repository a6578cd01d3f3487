/* eslint-disable @typescript-eslint/no-non-null-assertion -- test code pokes at loosely typed manifests */
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { KEDA_KINDS, type KedaKind } from './constants';
import { crdFileName, type CustomResourceDefinition } from './crd';
import { customResourceDefinitionFor } from './crds';
import { openApiSchemas } from './generated/schemas';
import { KUBERNETES_SCHEMA_EXTENSIONS, type JSONSchemaProps } from './openapi';

const CRD_DIR = join(__dirname, '../../../charts/keda/crds');

function committedCrd(kind: KedaKind): CustomResourceDefinition {
  const docs = parseAllDocuments(readFileSync(join(CRD_DIR, crdFileName(kind)), 'utf8'));
  expect(docs).toHaveLength(1);
  expect(docs[0].errors).toEqual([]);
  return docs[0].toJS() as CustomResourceDefinition;
}

const columnNames = (crd: CustomResourceDefinition) =>
  crd.spec.versions[0].additionalPrinterColumns.map((c) => c.name);

describe('committed CRD YAML (charts/keda/crds)', () => {
  it.each<[KedaKind, string, string[], string, string[]]>([
    [
      'ScaledObject',
      'scaledobjects.keda.sh',
      ['so'],
      'Namespaced',
      [
        'ScaleTargetKind',
        'ScaleTargetName',
        'Min',
        'Max',
        'Ready',
        'Active',
        'Fallback',
        'Paused',
        'Triggers',
        'Authentications',
        'Age',
      ],
    ],
    [
      'ScaledJob',
      'scaledjobs.keda.sh',
      ['sj'],
      'Namespaced',
      ['Min', 'Max', 'Ready', 'Active', 'Paused', 'Triggers', 'Authentications', 'Age'],
    ],
    [
      'TriggerAuthentication',
      'triggerauthentications.keda.sh',
      ['ta', 'triggerauth'],
      'Namespaced',
      ['PodIdentity', 'Secret', 'Env', 'VaultAddress', 'ScaledObjects', 'ScaledJobs'],
    ],
    [
      'ClusterTriggerAuthentication',
      'clustertriggerauthentications.keda.sh',
      ['cta', 'clustertriggerauth'],
      'Cluster',
      ['PodIdentity', 'Secret', 'Env', 'FilePath', 'VaultAddress', 'ScaledObjects', 'ScaledJobs'],
    ],
  ])('%s', (kind, name, shortNames, scope, columns) => {
    const crd = committedCrd(kind);
    expect(crd.apiVersion).toBe('apiextensions.k8s.io/v1');
    expect(crd.kind).toBe('CustomResourceDefinition');
    expect(crd.metadata.name).toBe(name);
    expect(crd.spec.group).toBe('keda.sh');
    expect(crd.spec.scope).toBe(scope);
    expect(crd.spec.names).toEqual({
      kind,
      listKind: `${kind}List`,
      plural: name.split('.')[0],
      singular: kind.toLowerCase(),
      shortNames,
    });
    expect(crd.spec.versions).toHaveLength(1);
    const [version] = crd.spec.versions;
    expect(version).toMatchObject({
      name: 'v1alpha1',
      served: true,
      storage: true,
      subresources: { status: {} },
    });
    expect(columnNames(crd)).toEqual(columns);
    expect(version.schema.openAPIV3Schema.required).toEqual(['spec']);
    // The committed file is exactly what the library builds from the generated schema.
    expect(crd).toEqual(customResourceDefinitionFor(kind));
  });

  it('ScaledObject columns, CEL rule and CRD-level defaults', () => {
    const crd = committedCrd('ScaledObject');
    const cols = crd.spec.versions[0].additionalPrinterColumns;
    expect(cols.find((c) => c.name === 'Ready')).toEqual({
      name: 'Ready',
      type: 'string',
      jsonPath: '.status.conditions[?(@.type=="Ready")].status',
    });
    expect(cols.find((c) => c.name === 'Min')?.type).toBe('integer');
    expect(cols.find((c) => c.name === 'Age')).toEqual({
      name: 'Age',
      type: 'date',
      jsonPath: '.metadata.creationTimestamp',
    });
    const spec = crd.spec.versions[0].schema.openAPIV3Schema.properties!['spec'];
    expect(spec['x-kubernetes-validations']).toEqual([
      {
        rule: '!has(self.minReplicaCount) || self.minReplicaCount <= (has(self.maxReplicaCount) ? self.maxReplicaCount : 100)',
        message: 'minReplicaCount must be less than or equal to maxReplicaCount',
      },
    ]);
    expect(spec.required).toEqual(['scaleTargetRef', 'triggers']);
    expect(spec.properties!['fallback'].properties!['behavior'].default).toBe('static');
    expect(
      spec.properties!['triggers'].items!.properties!['authenticationRef'].properties!['kind'].default,
    ).toBe('TriggerAuthentication');
    const behavior =
      spec.properties!['advanced'].properties!['horizontalPodAutoscalerConfig'].properties!['behavior'];
    for (const dir of ['scaleUp', 'scaleDown']) {
      expect(behavior.properties![dir].properties!['stabilizationWindowSeconds']).toMatchObject({
        type: 'integer',
        format: 'int32',
        minimum: 0,
        maximum: 3600,
      });
    }
  });

  it('ScaledJob has no triggers[].metricType and keeps the pod template opaque', () => {
    const spec = committedCrd('ScaledJob').spec.versions[0].schema.openAPIV3Schema.properties!['spec'];
    expect(Object.keys(spec.properties!['triggers'].items!.properties!)).not.toContain('metricType');
    const job = spec.properties!['jobTargetRef'];
    expect(job.required).toEqual(['template']);
    expect(job.properties!['template']).toMatchObject({
      type: 'object',
      'x-kubernetes-preserve-unknown-fields': true,
    });
    expect(job.properties!['activeDeadlineSeconds']).toMatchObject({ type: 'integer', format: 'int64' });
  });

  it('TriggerAuthentication oauth2.type defaults to clientCredentials', () => {
    const spec =
      committedCrd('TriggerAuthentication').spec.versions[0].schema.openAPIV3Schema.properties!['spec'];
    expect(spec.properties!['oauth2'].properties!['type'].default).toBe('clientCredentials');
  });
});

/** Walks every schema node with its path. */
function walk(node: JSONSchemaProps, path: string, visit: (n: JSONSchemaProps, p: string) => void): void {
  visit(node, path);
  for (const [k, v] of Object.entries(node.properties ?? {})) walk(v, `${path}.${k}`, visit);
  if (node.items) walk(node.items, `${path}[]`, visit);
  if (node.additionalProperties) walk(node.additionalProperties, `${path}{}`, visit);
}

const ALLOWED_KEYWORDS = new Set([
  'type',
  'format',
  'description',
  'properties',
  'additionalProperties',
  'items',
  'required',
  'enum',
  'default',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'pattern',
  'anyOf',
  'nullable',
  ...KUBERNETES_SCHEMA_EXTENSIONS,
]);

describe.each(KEDA_KINDS)('%s schema is structural', (kind) => {
  const schema = openApiSchemas[kind];
  const nodes: [JSONSchemaProps, string][] = [];
  walk(schema, '', (n, p) => nodes.push([n, p]));

  it('every node has a type (int-or-string nodes use the anyOf integer/string form)', () => {
    for (const [node, path] of nodes) {
      if (node['x-kubernetes-int-or-string']) {
        expect({ path, type: node.type, anyOf: node.anyOf }).toEqual({
          path,
          type: undefined,
          anyOf: [{ type: 'integer' }, { type: 'string' }],
        });
      } else {
        expect({ path, hasType: !!node.type }).toEqual({
          path,
          hasType: true,
        });
      }
    }
  });

  it('uses only keywords that Kubernetes knows', () => {
    for (const [node, path] of nodes) {
      for (const key of Object.keys(node))
        expect({ path, key, known: ALLOWED_KEYWORDS.has(key) }).toEqual({ path, key, known: true });
    }
  });

  it('maps use additionalProperties without properties; objects and arrays are consistent', () => {
    for (const [node, path] of nodes) {
      expect({ path, both: !!node.properties && !!node.additionalProperties }).toEqual({ path, both: false });
      if (node.properties || node.additionalProperties)
        expect({ path, type: node.type }).toEqual({ path, type: 'object' });
      if (node.type === 'array') expect({ path, items: !!node.items }).toEqual({ path, items: true });
      if (node.required) {
        for (const r of node.required)
          expect({ path, r, declared: r in (node.properties ?? {}) }).toEqual({ path, r, declared: true });
      }
      if (node['x-kubernetes-preserve-unknown-fields'] !== undefined) {
        expect(node['x-kubernetes-preserve-unknown-fields']).toBe(true);
      }
      if (node['x-kubernetes-list-type'] === 'set')
        expect(['string', 'integer', 'number', 'boolean']).toContain(node.items?.type);
      if (node.format === 'int32' || node.format === 'int64') expect(node.type).toBe('integer');
    }
  });

  it('metadata at the top level is only `type: object`', () => {
    expect(schema.properties!['metadata']).toEqual({ type: 'object' });
    expect(
      nodes.filter(([, p]) => /\.metadata$/.test(p) && p !== '.metadata').every(([n]) => n.type === 'object'),
    ).toBe(true);
  });

  it('defaults validate against their own schema', () => {
    const ajv = new Ajv({ strict: true, strictTypes: false });
    addFormats(ajv);
    ajv.addVocabulary([...KUBERNETES_SCHEMA_EXTENSIONS]);
    for (const [node, path] of nodes) {
      if (node.default === undefined) continue;
      const validate = ajv.compile(node);
      expect({ path, valid: validate(node.default), errors: validate.errors }).toEqual({
        path,
        valid: true,
        errors: null,
      });
    }
  });
});
