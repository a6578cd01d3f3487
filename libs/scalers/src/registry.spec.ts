import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  SCALER_DESCRIPTORS,
  SCALER_DOCS_DIR,
  SECURITY_ENDPOINTS_DOC,
  ScalerConfigError,
  authParamSpecs,
  exampleManifests,
  param,
  scalerDescriptors,
  scalerDocs,
  scalerJsonSchema,
  scalersIndex,
  securityEndpointsDoc,
  unexpectedMetadataKeys,
} from '@keda-ts/scaler-sdk';
import { SCALER_IMPLEMENTATIONS, scalers } from './all';
import { defineScaler } from './implementation';
import { createRegistry } from './registry';
import { context, input } from '../test/fixtures';

describe('implementations', () => {
  it('bind every descriptor of @keda-ts/scaler-sdk, declarations unchanged', () => {
    expect(SCALER_IMPLEMENTATIONS.map((i) => i.type)).toEqual(SCALER_DESCRIPTORS.map((d) => d.type));
    for (const d of SCALER_DESCRIPTORS) {
      const i = scalers.descriptor(d.type);
      expect(i?.params).toBe(d.params);
      expect(i?.description).toBe(d.description);
      expect(i?.metricTypes).toBe(d.metricTypes);
      expect(i?.kinds).toBe(d.kinds);
      expect(i?.example).toBe(d.example);
      expect(i?.exampleAuth).toBe(d.exampleAuth);
      expect(typeof i?.create).toBe('function');
    }
  });
});

describe('registry', () => {
  it('lists every scaler alphabetically', () => {
    expect(scalers.types()).toEqual(expect.arrayContaining(['cpu', 'cron', 'kubernetes-workload', 'memory', 'metrics-api', 'rabbitmq']));
    expect(scalers.types()).toEqual([...scalers.types()].sort());
    expect(SCALER_DESCRIPTORS.map((d) => d.type)).toEqual(scalers.types());
    expect(scalerDescriptors.types()).toEqual(scalers.types());
    expect(scalers.descriptor('cron')?.type).toBe('cron');
    expect(scalers.descriptor('nope')).toBeUndefined();
  });

  it('reports an unknown type with the known ones', () => {
    const i = input({ triggerType: 'kafkaa' });
    const message = `no scaler found for type: kafkaa (known types: ${scalers.types().join(', ')})`;
    expect(scalers.validate(i)).toEqual([{ message }]);
    expect(() => scalers.build(i, context())).toThrow(message);
  });

  it('throws ScalerConfigError carrying every problem', () => {
    let error: unknown;
    try {
      scalers.build(input({ triggerType: 'cron', triggerIndex: 3, metadata: { timezone: 'UTC' } }), context());
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ScalerConfigError);
    const e = error as ScalerConfigError;
    expect(e.triggerType).toBe('cron');
    expect(e.triggerIndex).toBe(3);
    expect(e.problems.map((p) => p.parameter)).toEqual(['start', 'end', 'desiredReplicas']);
    expect(e.message).toBe(
      'error parsing cron metadata (trigger 3): missing required parameter "start" in [triggerMetadata]; ' +
        'missing required parameter "end" in [triggerMetadata]; missing required parameter "desiredReplicas" in [triggerMetadata]',
    );
  });

  it('runs validate() only when every parameter parsed, and logs deprecatedAnnounce notices', () => {
    const validate = jest.fn(() => ['cross-field problem']);
    const create = jest.fn();
    const d = defineScaler({
      type: 'demo',
      description: 'demo',
      params: {
        a: param.int({ name: 'a', order: ['triggerMetadata'], description: '' }),
        old: param.string({ name: 'old', order: ['triggerMetadata'], optional: true, deprecatedAnnounce: 'old goes away in v3', description: '' }),
      },
      validate,
      create,
    });
    const registry = createRegistry([d]);
    expect(registry.validate(input({ triggerType: 'demo', metadata: { a: 'x' } })).map((p) => p.message)).toEqual([
      'unable to set param "a" value "x": must be an integer',
    ]);
    expect(validate).not.toHaveBeenCalled();
    expect(registry.validate(input({ triggerType: 'demo', metadata: { a: '1' } }))).toEqual([{ message: 'cross-field problem' }]);
    validate.mockReturnValue([]);
    const info = jest.fn();
    const logger = { debug: jest.fn(), info, warn: jest.fn(), error: jest.fn() };
    registry.build(input({ triggerType: 'demo', metadata: { a: '1', old: 'v' } }), context({ logger }));
    expect(create).toHaveBeenCalledWith({ a: 1, old: 'v' }, expect.anything(), expect.anything());
    expect(info).toHaveBeenCalledWith(expect.objectContaining({ scaler: 'demo' }), 'scaler demo info: old goes away in v3');
    expect(() => createRegistry([d, d])).toThrow('scaler type demo registered twice');
  });

  it('finds metadata keys a scaler does not read', () => {
    const d = scalers.descriptor('metrics-api');
    expect(d).toBeDefined();
    if (!d) return;
    expect(unexpectedMetadataKeys(d, { url: 'u', valueLocation: 'v', authMode: 'basic', urll: 'typo', valueLocationFromEnv: 'X' })).toEqual([
      'urll',
      'valueLocationFromEnv',
    ]);
  });
});

const descriptorOf = (type: string) => {
  const d = SCALER_DESCRIPTORS.find((x) => x.type === type);
  if (!d) throw new Error(`no descriptor ${type}`);
  return d;
};

describe('generated docs and schemas', () => {
  const docs = join(__dirname, '..', '..', '..', SCALER_DOCS_DIR);

  it.each(SCALER_DESCRIPTORS.map((d) => [d.type, d] as const))('%s: committed docs are up to date', (type, d) => {
    expect(readFileSync(join(docs, `${type}.md`), 'utf8')).toBe(scalerDocs(d));
    expect(JSON.parse(readFileSync(join(docs, `${type}.schema.json`), 'utf8'))).toEqual(scalerJsonSchema(d));
  });

  it.each(SCALER_DESCRIPTORS.map((d) => [d.type, d] as const))('%s: has an example that the scaler accepts', (type, d) => {
    expect(d.example).toBeDefined();
    const auth = d.exampleAuth ?? {};
    const authNames = new Set(authParamSpecs(d).flatMap((p) => p.names));
    expect(Object.keys(auth).filter((k) => !authNames.has(k))).toEqual([]);
    const metricType = d.metricTypes[0] === 'AverageValue' ? undefined : d.metricTypes[0];
    const kind = d.kinds.includes('ScaledObject') ? 'ScaledObject' : 'ScaledJob';
    const problems = scalers.validate(
      input({ triggerType: type, metadata: { ...d.example }, authParams: { ...auth }, metricType, scalableObject: { kind, namespace: 'default', name: 'worker' } }),
    );
    expect(problems).toEqual([]);
  });

  it('renders the example as a Secret, a TriggerAuthentication and a ScaledObject', () => {
    const d = defineScaler({
      type: 'demo',
      description: 'Demo.',
      params: {
        host: param.string({ name: 'host', order: ['triggerMetadata'], description: 'Host.' }),
        password: param.string({ name: 'password', order: ['authParams', 'resolvedEnv'], secret: true, description: 'Password.' }),
      },
      example: { host: 'db.example' },
      exampleAuth: { password: 'swordfish' },
      create: () => {
        throw new Error('not built');
      },
    });
    const [secret, auth, so] = exampleManifests(d);
    expect(secret).toMatchObject({ kind: 'Secret', metadata: { name: 'worker-demo' }, stringData: { password: 'swordfish' } });
    expect(auth).toMatchObject({
      kind: 'TriggerAuthentication',
      spec: { secretTargetRef: [{ parameter: 'password', name: 'worker-demo', key: 'password' }] },
    });
    expect(so).toMatchObject({
      kind: 'ScaledObject',
      spec: { scaleTargetRef: { name: 'worker' }, triggers: [{ type: 'demo', metadata: { host: 'db.example' }, authenticationRef: { name: 'worker-demo' } }] },
    });
    const page = scalerDocs(d);
    expect(page).toContain('## Authentication');
    expect(page).toContain('| `password` | authParams, env (`<name>FromEnv`) | yes | Password. |');
    expect(page).toContain('## Example');
    expect(page).toContain('kind: TriggerAuthentication');
    expect(page).toContain('      authenticationRef:\n        name: worker-demo');
  });

  it('says when a scaler reads nothing from a TriggerAuthentication and leaves out a missing example', () => {
    const d = defineScaler({
      type: 'plain',
      description: 'Plain.',
      params: { n: param.int({ name: 'n', order: ['triggerMetadata'], description: 'N.' }) },
      create: () => {
        throw new Error('not built');
      },
    });
    expect(exampleManifests(d)).toEqual([]);
    expect(scalerDocs(d)).toContain('This scaler reads no parameter from a TriggerAuthentication.');
    expect(scalerDocs(d)).not.toContain('## Example');
  });

  it('docs/security-endpoints.md is up to date', () => {
    expect(readFileSync(join(__dirname, '..', '..', '..', SECURITY_ENDPOINTS_DOC), 'utf8')).toBe(securityEndpointsDoc(SCALER_DESCRIPTORS));
  });

  // Words of a camelCase parameter name that say it names something the controller connects to.
  const ENDPOINT_WORDS = new Set(['url', 'urls', 'uri', 'host', 'hosts', 'address', 'addresses', 'endpoint', 'endpoints', 'broker', 'brokers', 'server', 'servers', 'connection', 'dsn', 'file', 'path']);
  const words = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2').toLowerCase().split(/[\s_-]+/);
  /** Names with an endpoint word that are not endpoints (a reason each). */
  const NOT_ENDPOINTS = new Set([
    'connectionTimeout', // a duration
  ]);

  it.each(SCALER_DESCRIPTORS.map((d) => [d.type, d] as const))('%s: every parameter naming an endpoint, connection string or file is marked', (_type, d) => {
    const unmarked = Object.values(d.params)
      // Booleans, numbers, enums and durations cannot name an endpoint (aggregateFromKubeServiceEndpoints).
      .filter((p) => ['string', 'list', 'map'].includes(p.kind))
      .filter((p) => !p.refersTo && p.names.some((n) => !NOT_ENDPOINTS.has(n) && words(n).some((w) => ENDPOINT_WORDS.has(w))))
      .map((p) => p.names[0]);
    expect(unmarked).toEqual([]);
    expect(Object.values(d.params).filter((p) => p.refersTo && !p.vetting).map((p) => p.names[0])).toEqual([]);
  });

  it('the endpoint-name check catches the usual spellings', () => {
    for (const n of ['url', 'serverAddress', 'bootstrapServers', 'connectionString', 'brokers', 'natsServerMonitoringEndpoint', 'queueURL', 'hosts', 'sslRootCertFile']) {
      expect(words(n).some((w) => ENDPOINT_WORDS.has(w))).toBe(true);
    }
    for (const n of ['vhostName', 'sentinelMaster', 'queueName', 'unsafeSsl']) expect(words(n).some((w) => ENDPOINT_WORDS.has(w))).toBe(false);
  });

  it('index is up to date', () => {
    expect(readFileSync(join(docs, 'README.md'), 'utf8')).toBe(scalersIndex(SCALER_DESCRIPTORS));
  });

  it('schema requires metadata-only required params and describes FromEnv keys', () => {
    const cron = scalerJsonSchema(descriptorOf('cron'));
    expect(cron['required']).toEqual(['timezone', 'start', 'end', 'desiredReplicas']);
    const api = scalerJsonSchema(descriptorOf('metrics-api'));
    expect(api['required']).toEqual(['url', 'valueLocation']);
    expect((api['properties'] as Record<string, unknown>)['authMode']).toMatchObject({ 'x-keda-type': 'list' });
    const auth = (api['$defs'] as { authParams: { properties: Record<string, unknown> } }).authParams.properties;
    expect(auth['password']).toMatchObject({ writeOnly: true });
    expect(auth['url']).toBeUndefined();
    const cpu = scalerJsonSchema(descriptorOf('cpu'));
    expect((cpu['properties'] as Record<string, unknown>)['type']).toMatchObject({ deprecated: true });
  });
});
