
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { scalers } from '../../all';
import { sharedAgentPool } from '../../http/agent-pool';
import { context, input } from '../../../test/fixtures';
import type { MetricTarget, Scaler, ScalerInput } from '@keda-ts/scaler-sdk';
import { valueFromBody } from './metrics-api';

const URL_OK = 'http://127.0.0.1:8080/metrics';

type ParseCase = {
  name: string;
  metadata: Record<string, string>;
  authParams?: Record<string, string>;
  metricType?: ScalerInput['metricType'];
  errors?: string[];
  metric?: string;
  target?: MetricTarget;
};

const parseCases: ParseCase[] = [
  {
    name: 'minimal',
    metadata: { url: URL_OK, valueLocation: 'components.worker.tasks', targetValue: '5' },
    metric: 's0-metric-api-components-worker-tasks',
    target: { type: 'AverageValue', averageValue: '5' },
  },
  {
    name: 'milli target, Value, normalised name',
    metadata: { url: URL_OK, valueLocation: 'data.(x):y%z/0', targetValue: '1.5' },
    metricType: 'Value',
    metric: 's0-metric-api-data--x--y-z-0',
    target: { type: 'Value', value: '1500m' },
  },
  {
    name: 'prometheus selector',
    metadata: { url: URL_OK, valueLocation: 'queue_depth{queue="a"}', targetValue: '10', format: 'prometheus' },
    metric: 's0-metric-api-queue_depth{queue="a"}',
    target: { type: 'AverageValue', averageValue: '10' },
  },
  {
    name: 'all auth modes that can be combined',
    metadata: { url: URL_OK, valueLocation: 'v', targetValue: '1', authModes: 'apiKey,bearer,tls,custom', method: 'query' },
    authParams: { apiKey: 'k', token: 't', ca: 'CA', cert: 'C', key: 'K', customAuthHeader: 'X-A', customAuthValue: 'v' },
    metric: 's0-metric-api-v',
    target: { type: 'AverageValue', averageValue: '1' },
  },
  {
    name: 'everything missing',
    metadata: {},
    errors: [
      'missing required parameter "url" in [triggerMetadata]',
      'missing required parameter "valueLocation" in [triggerMetadata]',
    ],
  },
  { name: 'no targetValue', metadata: { url: URL_OK, valueLocation: 'v' }, errors: ['no targetValue given in metadata'] },
  { name: 'zero targetValue', metadata: { url: URL_OK, valueLocation: 'v', targetValue: '0' }, errors: ['no targetValue given in metadata'] },
  {
    name: 'bad numbers',
    metadata: { url: URL_OK, valueLocation: 'v', targetValue: 'five', activationTargetValue: '1,5' },
    errors: [
      'unable to set param "targetValue" value "five": must be a number',
      'unable to set param "activationTargetValue" value "1,5": must be a number',
    ],
  },
  {
    name: 'unknown format',
    metadata: { url: URL_OK, valueLocation: 'v', targetValue: '1', format: 'csv' },
    errors: ['parameter "format" value "csv" must be one of [prometheus json xml yaml]'],
  },
  {
    name: 'xml not supported yet',
    metadata: { url: URL_OK, valueLocation: 'v', targetValue: '1', format: 'xml' },
    errors: ['parameter "format" value "xml" is not supported yet, supported values are [json yaml prometheus]'],
  },
  {
    name: 'not a URL, credentials not echoed',
    metadata: { url: 'ftp://user:secret@host/x?token=abc', valueLocation: 'v', targetValue: '1' },
    errors: ['parameter "url" must be an absolute http:// or https:// URL, got "ftp://host/x"'],
  },
  {
    name: 'unsupported gjson syntax',
    metadata: { url: URL_OK, valueLocation: 'items.#(name=="a").count', targetValue: '1' },
    errors: ['valueLocation "items.#(name==\\"a\\").count": queries (#(...)) are not supported'],
  },
  {
    name: 'apiKey header mode: a cloud metadata header',
    metadata: { url: URL_OK, valueLocation: 'v', targetValue: '1', authModes: 'apiKey', keyParamName: 'Metadata' },
    authParams: { apiKey: 'true' },
    errors: [
      'parameter "keyParamName" must not set the header "Metadata": it is reserved (cloud metadata, Host, hop-by-hop and framing headers cannot be set from a trigger)',
    ],
  },
  {
    name: 'apiKey header mode: x-aws-ec2-metadata-token-ttl-seconds and Content-Length',
    metadata: { url: URL_OK, valueLocation: 'v', targetValue: '1', authModes: 'apiKey', keyParamName: 'x-aws-ec2-metadata-token-ttl-seconds' },
    authParams: { apiKey: '21600' },
    errors: [
      'parameter "keyParamName" must not set the header "x-aws-ec2-metadata-token-ttl-seconds": it is reserved (cloud metadata, Host, hop-by-hop and framing headers cannot be set from a trigger)',
    ],
  },
  {
    name: 'apiKey header mode: a name with CR LF',
    metadata: { url: URL_OK, valueLocation: 'v', targetValue: '1', authModes: 'apiKey', keyParamName: 'X-Key\r\nHost: evil' },
    authParams: { apiKey: 'k' },
    errors: ["parameter \"keyParamName\" must be a valid HTTP header name (letters, digits and !#$%&'*+.^_`|~-)"],
  },
  {
    name: 'apiKey header mode: a value with CR LF',
    metadata: { url: URL_OK, valueLocation: 'v', targetValue: '1', authModes: 'apiKey' },
    authParams: { apiKey: 'k\r\nX-Other: 1' },
    errors: ['parameter "keyParamName" has a header value with CR, LF or other control characters'],
  },
  {
    name: 'custom auth: a reserved header',
    metadata: { url: URL_OK, valueLocation: 'v', targetValue: '1', authModes: 'custom' },
    authParams: { customAuthHeader: 'Connection', customAuthValue: 'close' },
    errors: [
      'parameter "customAuthHeader" must not set the header "Connection": it is reserved (cloud metadata, Host, hop-by-hop and framing headers cannot be set from a trigger)',
    ],
  },
  {
    name: 'wildcard over the length cap',
    metadata: { url: URL_OK, valueLocation: `items.${'*a'.repeat(150)}.count`, targetValue: '1' },
    errors: ['parameter "valueLocation": wildcard component is 300 characters long, at most 256 are allowed'],
  },
  {
    name: 'prometheus selector made of whitespace runs (no cubic RegExp)',
    metadata: { url: URL_OK, valueLocation: `q${' '.repeat(20000)}!`, targetValue: '1', format: 'prometheus' },
    errors: [`invalid metric selector ${JSON.stringify(`q${' '.repeat(20000)}!`)}`],
  },
  {
    name: 'bad prometheus selector',
    metadata: { url: URL_OK, valueLocation: 'q{a=~"x"}', targetValue: '1', format: 'prometheus' },
    errors: ['invalid metric selector "q{a=~\\"x\\"}": only equality matchers (label="value") are supported'],
  },
  {
    name: 'bad auth mode',
    metadata: { url: URL_OK, valueLocation: 'v', targetValue: '1', authMode: 'digest' },
    errors: ['parameter "authModes,authMode" value "digest" must be one of [apiKey basic tls bearer custom oauth]'],
  },
  {
    name: 'exclusive auth modes',
    metadata: { url: URL_OK, valueLocation: 'v', targetValue: '1' },
    authParams: { authModes: 'basic,bearer' },
    errors: ['parameter "authModes,authMode" value "<redacted>" must contain only one of [bearer basic oauth]'],
  },
  {
    name: 'auth modes without their params',
    metadata: { url: URL_OK, valueLocation: 'v', targetValue: '1', authModes: 'bearer,tls,custom,apiKey' },
    errors: [
      'bearer token is required when bearer auth is enabled',
      'cert and key are required when tls auth is enabled',
      'customAuthHeader and customAuthValue are required when custom auth is enabled',
      'apiKey is required when apiKey auth is enabled',
    ],
  },
  {
    name: 'basic without username, tls without ca',
    metadata: { url: URL_OK, valueLocation: 'v', targetValue: '1', authModes: 'basic,tls' },
    authParams: { cert: 'C', key: 'K' },
    errors: ['username is required when basic auth is enabled', 'ca is required when tls auth is enabled'],
  },
  {
    name: 'oauth not supported yet',
    metadata: { url: URL_OK, valueLocation: 'v', targetValue: '1', authModes: 'oauth' },
    errors: ['authMode "oauth" is not supported yet, supported values are [apiKey basic tls bearer custom]'],
  },
  {
    name: 'apiKey method enum',
    metadata: { url: URL_OK, valueLocation: 'v', targetValue: '1', authModes: 'apiKey', method: 'cookie' },
    authParams: { apiKey: 'k' },
    errors: ['parameter "method" value "cookie" must be one of [header query]'],
  },
  {
    name: 'aggregation not supported yet',
    metadata: { url: URL_OK, valueLocation: 'v', targetValue: '1', aggregateFromKubeServiceEndpoints: 'true' },
    errors: ['aggregateFromKubeServiceEndpoints is not supported yet'],
  },
  {
    name: 'Utilization',
    metadata: { url: URL_OK, valueLocation: 'v', targetValue: '1' },
    metricType: 'Utilization',
    errors: ["'Utilization' metric type is unsupported for external metrics, allowed values are 'Value' or 'AverageValue'"],
  },
];

describe('metrics-api: parsing', () => {
  it.each(parseCases)('$name', async (c) => {
    const i = input({ triggerType: 'metrics-api', metadata: c.metadata, authParams: c.authParams ?? {}, metricType: c.metricType });
    expect(scalers.validate(i).map((p) => p.message)).toEqual(c.errors ?? []);
    if (c.errors) return;
    const s = scalers.build(i, context());
    expect(s.getMetricSpecForScaling()).toEqual([
      { type: 'External', external: { metric: { name: c.metric }, target: c.target } },
    ]);
    await s.close();
  });

  it('never puts secrets in problems', () => {
    const problems = scalers.validate(
      input({
        triggerType: 'metrics-api',
        metadata: { url: 'http://u:pw1@127.0.0.1/x', valueLocation: 'v', targetValue: '1', authModes: 'basic,bearer' },
        authParams: { username: 'u', password: 'pw2', bearerToken: 'tok' },
      }),
    );
    expect(JSON.stringify(problems)).not.toMatch(/pw1|pw2|tok/);
  });
});

describe('metrics-api: reading values', () => {
  const json = JSON.stringify({
    components: { worker: { tasks: 12, queued: '10k', small: '500m' } },
    items: [{ count: 3 }, { count: 4 }],
    'a.b': 7,
    flag: true,
    text: 'many',
    nothing: null,
  });
  it.each<[string, string, number | string]>([
    ['number', 'components.worker.tasks', 12],
    ['quantity string', 'components.worker.queued', 10000],
    ['milli quantity string', 'components.worker.small', 0.5],
    ['array index', 'items.1.count', 4],
    ['array length', 'items.#', 2],
    ['escaped dot', 'a\\.b', 7],
    ['wildcard', 'components.work*.tasks', 12],
    ['boolean', 'flag', "valueLocation must point to value of type number or a string representing a Quantity got: 'True'"],
    ['null', 'nothing', "valueLocation must point to value of type number or a string representing a Quantity got: 'Null'"],
    ['object', 'components', "valueLocation must point to value of type number or a string representing a Quantity got: 'JSON'"],
    ['non-numeric string', 'text', "valueLocation must point to value of type number or a string representing a Quantity got: 'String' (4 characters, not a Quantity)"],
    ['missing', 'components.nope', 'valueLocation "components.nope" not found in the response'],
    ['index out of range', 'items.5.count', 'valueLocation "items.5.count" not found in the response'],
  ])('json: %s', (_, valueLocation, expected) => {
    const read = () => valueFromBody(json, { format: 'json', valueLocation });
    if (typeof expected === 'number') expect(read()).toBe(expected);
    else expect(read).toThrow(expected);
  });

  it('yaml', () => {
    const yaml = 'components:\n  worker:\n    tasks: 4\n    mem: 1Ki\nlist:\n  - 1\n  - 2.5\n';
    expect(valueFromBody(yaml, { format: 'yaml', valueLocation: 'components.worker.tasks' })).toBe(4);
    expect(valueFromBody(yaml, { format: 'yaml', valueLocation: 'components.worker.mem' })).toBe(1024);
    expect(valueFromBody(yaml, { format: 'yaml', valueLocation: 'list.1' })).toBe(2.5);
    expect(() => valueFromBody('a: [', { format: 'yaml', valueLocation: 'a' })).toThrow(/^invalid YAML in response of 4 bytes at line 1 column \d+ \([A-Z_]+\)$/);
  });

  it('prometheus', () => {
    const body = [
      '# HELP queue_depth Messages waiting',
      '# TYPE queue_depth gauge',
      'queue_depth{queue="a",region="eu"} 5',
      'queue_depth{queue="b",region="eu, \\"west\\""} 7 1700000000000',
      '# TYPE latency histogram',
      'latency_bucket{le="1"} 3',
      'plain 42',
      'weird NaN',
    ].join('\r\n');
    const read = (valueLocation: string) => valueFromBody(body, { format: 'prometheus', valueLocation });
    expect(read('queue_depth{queue="a"}')).toBe(5);
    expect(read('queue_depth{region="eu, \\"west\\""}')).toBe(7);
    expect(read('queue_depth')).toBe(5);
    expect(read('{__name__="plain"}')).toBe(42);
    expect(read('weird')).toBeNaN();
    expect(() => read('queue_depth{queue="c"}')).toThrow('no sample of metric \'queue_depth\' matches the labels {"queue":"c"}');
    expect(() => read('missing')).toThrow("metric 'missing' not found");
    expect(() => valueFromBody('bad line here x', { format: 'prometheus', valueLocation: 'bad' })).toThrow(
      'prometheus format parsing error: line 1: invalid sample',
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Against real local servers

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

function metricsApi(metadata: Record<string, string>, authParams: Record<string, string> = {}, triggerIndex = 0): Scaler {
  return scalers.build(input({ triggerType: 'metrics-api', triggerIndex, metadata, authParams }), context({ httpTimeoutMs: 2000 }));
}

describe('metrics-api: HTTP', () => {
  let server: Server;
  let host: string;
  let handler: Handler;
  const seen: IncomingMessage[] = [];
  let connections = 0;
  const open: Scaler[] = [];
  const scaler = (metadata: Record<string, string>, authParams?: Record<string, string>) => {
    const s = metricsApi(metadata, authParams);
    open.push(s);
    return s;
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req);
      handler(req, res);
    });
    server.on('connection', () => connections++);
    host = await listen(server);
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
    seen.length = 0;
  });
  afterAll(() => stop(server));

  const json = (body: unknown, status = 200): Handler => (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };

  it('reads the value, reports activation and the normalised metric name', async () => {
    handler = json({ components: { worker: { tasks: 7 } } });
    const s = scaler({ url: `http://${host}/api/v1/stats`, valueLocation: 'components.worker.tasks', targetValue: '2', activationTargetValue: '7' });
    const [spec] = s.getMetricSpecForScaling();
    expect(spec.external?.metric.name).toBe('s0-metric-api-components-worker-tasks');
    const r = await s.getMetricsAndActivity('s0-metric-api-components-worker-tasks');
    expect(r.metrics).toEqual([{ metricName: 's0-metric-api-components-worker-tasks', value: 7, timestamp: expect.any(Date) }]);
    expect(r.isActive).toBe(false);
    handler = json({ components: { worker: { tasks: 7.5 } } });
    expect((await s.getMetricsAndActivity('m')).isActive).toBe(true);
    expect(seen.map((req) => [req.method, req.url])).toEqual([
      ['GET', '/api/v1/stats'],
      ['GET', '/api/v1/stats'],
    ]);
  });

  it('reports negative values as 0 but activates on the raw value', async () => {
    handler = json({ v: -5 });
    const s = scaler({ url: `http://${host}/`, valueLocation: 'v', targetValue: '1', activationTargetValue: '-10' });
    expect(await s.getMetricsAndActivity('m')).toMatchObject({ metrics: [{ value: 0 }], isActive: true });
  });

  // A hostile server puts what it read elsewhere (a metadata endpoint's token) into its answer;
  // none of it may come back in the error, which ends up in Events and conditions.
  const MARKER = 'MARKER-7f3a-secret';
  it.each<[string, string, string, string]>([
    ['a string value', 'json', JSON.stringify({ v: `${MARKER}` }), "got: 'String' (18 characters, not a Quantity)"],
    ['invalid JSON', 'json', `{"v": ${MARKER}}`, 'invalid JSON in response of 25 bytes (syntax error)'],
    ['JSON that is not JSON at all', 'json', `${MARKER}`, 'invalid JSON in response of 18 bytes (syntax error)'],
    ['invalid YAML', 'yaml', `v: [${MARKER}\n  - : {`, 'invalid YAML in response of'],
    ['an invalid prometheus sample', 'prometheus', `v{a="1"} ${MARKER}\n`, 'prometheus format parsing error: line 1: invalid value (18 characters)'],
    ['an invalid prometheus line', 'prometheus', `${MARKER}\n`, 'prometheus format parsing error: line 1: invalid sample'],
    ['invalid prometheus labels', 'prometheus', `v{${MARKER}} 1\n`, 'prometheus format parsing error: line 1: invalid labels'],
  ])('never echoes the body: %s', async (_, format, body, expected) => {
    handler = (_req, res) => res.end(body);
    const s = scaler({ url: `http://${host}/`, valueLocation: 'v', targetValue: '1', format });
    const err = await s.getMetricsAndActivity('m').then(() => undefined, (e: Error) => e);
    expect(err?.message).toContain(expected);
    expect(err?.message).not.toContain(MARKER);
    expect(JSON.stringify(err, Object.getOwnPropertyNames(err))).not.toContain(MARKER);
  });

  it('matches a wildcard bomb against hostile keys quickly', async () => {
    handler = json({ ['a'.repeat(64)]: 1, ['b'.repeat(5000)]: 2 });
    const s = scaler({ url: `http://${host}/`, valueLocation: '*a*a*a*a*a*a*a*a*b', targetValue: '1' });
    const started = Date.now();
    await expect(s.getMetricsAndActivity('m')).rejects.toThrow('valueLocation "*a*a*a*a*a*a*a*a*b" not found in the response');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('reads yaml and prometheus responses', async () => {
    handler = (_req, res) => res.end('queue:\n  depth: "2k"\n');
    expect((await scaler({ url: `http://${host}/`, valueLocation: 'queue.depth', targetValue: '1', format: 'yaml' }).getMetricsAndActivity('m')).metrics[0].value).toBe(2000);
    handler = (_req, res) => res.end('# TYPE q gauge\nq{name="x"} 3\n');
    expect((await scaler({ url: `http://${host}/`, valueLocation: 'q{name="x"}', targetValue: '1', format: 'prometheus' }).getMetricsAndActivity('m')).metrics[0].value).toBe(3);
  });

  it.each<[string, Handler, Record<string, string>, RegExp | string]>([
    ['500', json({ error: 'boom' }, 500), {}, 'error requesting metrics endpoint: GET http://HOST/metrics: api returned 500'],
    ['404', json({}, 404), {}, 'error requesting metrics endpoint: GET http://HOST/metrics: api returned 404'],
    ['bad JSON', json('{"v": '), {}, 'error requesting metrics endpoint: GET http://HOST/metrics: invalid JSON in response of 6 bytes (unexpected end of input)'],
    ['missing valueLocation', json({ other: 1 }), {}, 'error requesting metrics endpoint: GET http://HOST/metrics: valueLocation "v" not found in the response'],
    ['hanging server', () => undefined, { timeout: '150' }, 'error requesting metrics endpoint: GET http://HOST/metrics: request timed out after 150ms'],
    ['body that never ends', (_req, res) => res.write('{"v":'), { timeout: '150ms' }, 'error requesting metrics endpoint: GET http://HOST/metrics: request timed out after 150ms'],
    ['connection dropped', (req) => req.socket.destroy(), {}, /^error requesting metrics endpoint: GET http:\/\/HOST\/metrics: (ECONNRESET|socket hang up)/],
  ])('fails clearly: %s', async (_, h, extra, expected) => {
    handler = h;
    const s = scaler({ url: `http://user:pa55@${host}/metrics?token=s3cret`, valueLocation: 'v', targetValue: '1', ...extra });
    const err = await s.getMetricsAndActivity('m').then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    const message = (err as Error).message.replace(host, 'HOST');
    if (typeof expected === 'string') expect(message).toBe(expected);
    else expect(message).toMatch(expected);
    expect((err as Error).message).not.toMatch(/pa55|s3cret/);
  });

  it('fails clearly when nothing listens', async () => {
    const closed = createServer();
    const closedHost = await listen(closed);
    await stop(closed);
    const s = scaler({ url: `http://${closedHost}/m`, valueLocation: 'v', targetValue: '1' });
    await expect(s.getMetricsAndActivity('m')).rejects.toThrow(`error requesting metrics endpoint: GET http://${closedHost}/m: ECONNREFUSED`);
  });

  it('honours the caller AbortSignal', async () => {
    handler = () => undefined;
    const s = scaler({ url: `http://${host}/slow`, valueLocation: 'v', targetValue: '1' });
    const controller = new AbortController();
    const pending = s.getMetricsAndActivity('m', { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(pending).rejects.toThrow(`error requesting metrics endpoint: GET http://${host}/slow: request aborted`);
  });

  it.each<[string, Record<string, string>, Record<string, string>, (req: IncomingMessage) => unknown, unknown]>([
    ['apiKey header (default name)', { authModes: 'apiKey' }, { apiKey: 'k1' }, (r) => r.headers['x-api-key'], 'k1'],
    ['apiKey header (keyParamName)', { authModes: 'apiKey', keyParamName: 'X-Key' }, { apiKey: 'k2' }, (r) => r.headers['x-key'], 'k2'],
    ['apiKey query (default name)', { authModes: 'apiKey', method: 'query' }, { apiKey: 'k3' }, (r) => new URL(r.url ?? '', 'http://x').searchParams.get('api_key'), 'k3'],
    ['apiKey query (keyParamName)', { authMode: 'apiKey', method: 'query', keyParamName: 'key' }, { apiKey: 'k4' }, (r) => new URL(r.url ?? '', 'http://x').searchParams.get('key'), 'k4'],
    ['basic', {}, { authModes: 'basic', username: 'u', password: 'p' }, (r) => r.headers.authorization, `Basic ${Buffer.from('u:p').toString('base64')}`],
    ['basic without password', { authModes: 'basic' }, { username: 'u' }, (r) => r.headers.authorization, `Basic ${Buffer.from('u:').toString('base64')}`],
    ['bearer (token alias)', { authModes: 'bearer' }, { token: 'tk' }, (r) => r.headers.authorization, 'Bearer tk'],
    ['custom header', { authModes: 'custom' }, { customAuthHeader: 'X-Custom', customAuthValue: 'cv' }, (r) => r.headers['x-custom'], 'cv'],
  ])('auth: %s', async (_, metadata, authParams, pick, expected) => {
    handler = json({ v: 1 });
    const s = scaler({ url: `http://${host}/auth?x=1`, valueLocation: 'v', targetValue: '1', ...metadata }, authParams);
    await s.getMetricsAndActivity('m');
    expect(pick(seen[0])).toBe(expected);
    expect(new URL(seen[0].url ?? '', 'http://x').searchParams.get('x')).toBe('1');
  });

  it('shares one keep-alive agent per origin and releases it with the last scaler', async () => {
    handler = json({ v: 1 });
    const before = sharedAgentPool.size;
    const startConnections = connections;
    const a = metricsApi({ url: `http://${host}/a`, valueLocation: 'v', targetValue: '1' });
    const b = metricsApi({ url: `http://${host}/b`, valueLocation: 'v', targetValue: '1' }, {}, 1);
    expect(sharedAgentPool.size).toBe(before + 1);
    await a.getMetricsAndActivity('m');
    await b.getMetricsAndActivity('m');
    await a.getMetricsAndActivity('m');
    expect(connections - startConnections).toBe(1);
    await a.close();
    await a.close(); // idempotent
    expect(sharedAgentPool.size).toBe(before + 1);
    await b.close();
    expect(sharedAgentPool.size).toBe(before);
    await expect(b.getMetricsAndActivity('m')).rejects.toThrow('the scaler is closed');
  });
});

describe('metrics-api: HTTPS', () => {
  let dir: string;
  let pem: Record<'ca' | 'serverCert' | 'serverKey' | 'clientCert' | 'clientKey', string>;
  let mtlsServer: Server;
  let mtlsHost: string;
  let plainTlsServer: Server;
  let plainTlsHost: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'scalers-tls-'));
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=test-ca');
    const issue = (name: string, subject: string, ext: string) => {
      openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
      writeFileSync(join(dir, `${name}.ext`), ext);
      openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`);
    };
    issue('server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    issue('client', '/CN=keda', 'extendedKeyUsage=clientAuth\n');
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    pem = { ca: read('ca.crt'), serverCert: read('server.crt'), serverKey: read('server.key'), clientCert: read('client.crt'), clientKey: read('client.key') };
    const reply = (req: IncomingMessage, res: ServerResponse) => {
      const socket = req.socket as TLSSocket;
      const peer = socket.getPeerCertificate?.();
      res.end(JSON.stringify({ client: peer?.subject?.CN ?? 'none', v: 9 }));
    };
    mtlsServer = createHttpsServer({ cert: pem.serverCert, key: pem.serverKey, ca: pem.ca, requestCert: true, rejectUnauthorized: true }, reply);
    mtlsHost = await listen(mtlsServer);
    plainTlsServer = createHttpsServer({ cert: pem.serverCert, key: pem.serverKey }, reply);
    plainTlsHost = await listen(plainTlsServer);
  }, 30_000);

  afterAll(async () => {
    await stop(mtlsServer);
    await stop(plainTlsServer);
    rmSync(dir, { recursive: true, force: true });
  });

  it('authenticates with a client certificate (authModes tls)', async () => {
    const s = metricsApi({ url: `https://${mtlsHost}/m`, valueLocation: 'v', targetValue: '1', authModes: 'tls' }, { ca: pem.ca, cert: pem.clientCert, key: pem.clientKey });
    expect((await s.getMetricsAndActivity('m')).metrics[0].value).toBe(9);
    await s.close();
  });

  it('is rejected without a client certificate', async () => {
    const s = metricsApi({ url: `https://${mtlsHost}/m`, valueLocation: 'v', targetValue: '1', unsafeSsl: 'true' });
    await expect(s.getMetricsAndActivity('m')).rejects.toThrow(`error requesting metrics endpoint: GET https://${mtlsHost}/m:`);
    await s.close();
  });

  it('verifies the server certificate unless unsafeSsl', async () => {
    const strict = metricsApi({ url: `https://${plainTlsHost}/m`, valueLocation: 'v', targetValue: '1' });
    await expect(strict.getMetricsAndActivity('m')).rejects.toThrow(/self.signed certificate|unable to verify|UNABLE_TO_VERIFY|SELF_SIGNED/i);
    await strict.close();
    const unsafe = metricsApi({ url: `https://${plainTlsHost}/m`, valueLocation: 'v', targetValue: '1', unsafeSsl: 'true' });
    expect((await unsafe.getMetricsAndActivity('m')).metrics[0].value).toBe(9);
    await unsafe.close();
  });
});
