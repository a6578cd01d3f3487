
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { scalers } from '../../all';
import { sharedAgentPool } from '../../http/agent-pool';
import { context, input } from '../../../test/fixtures';
import { checkInput, type MetricTarget, type PrometheusConfig, type Scaler, type ScalerInput } from '@keda-ts/scaler-sdk';
import { prometheusRequest, prometheusScaler, prometheusValue } from './prometheus';

const ADDR = 'http://127.0.0.1:9090';
const base = { serverAddress: ADDR, query: 'sum(up)', threshold: '10' };

type ParseCase = {
  name: string;
  metadata: Record<string, string>;
  authParams?: Record<string, string>;
  resolvedEnv?: Record<string, string>;
  metricType?: ScalerInput['metricType'];
  asMetricSource?: boolean;
  errors?: string[];
  target?: MetricTarget;
  config?: Partial<PrometheusConfig>;
};

const RESERVED = (parameter: string, header: string) =>
  `parameter "${parameter}" must not set the header "${header}": it is reserved (cloud metadata, Host, hop-by-hop and framing headers cannot be set from a trigger)`;
const parseCases: ParseCase[] = [
  {
    name: 'customHeaders: a cloud metadata header',
    metadata: { serverAddress: 'http://p:9090', query: 'q', threshold: '1', customHeaders: 'Metadata-Flavor=Google' },
    errors: [RESERVED('customHeaders', 'Metadata-Flavor')],
  },
  {
    name: 'customHeaders: Host and Transfer-Encoding, in any case',
    metadata: { serverAddress: 'http://p:9090', query: 'q', threshold: '1', customHeaders: 'host=x,TRANSFER-ENCODING=chunked' },
    errors: [RESERVED('customHeaders', 'host'), RESERVED('customHeaders', 'TRANSFER-ENCODING')],
  },
  {
    name: 'customHeaders: an invalid header name',
    metadata: { serverAddress: 'http://p:9090', query: 'q', threshold: '1', customHeaders: 'X Bad=1' },
    errors: ["parameter \"customHeaders\" must be a valid HTTP header name (letters, digits and !#$%&'*+.^_`|~-)"],
  },
  {
    name: 'apiKey header: X-aws-ec2-metadata-token',
    metadata: { serverAddress: 'http://p:9090', query: 'q', threshold: '1', authModes: 'apiKey', keyParamName: 'X-aws-ec2-metadata-token' },
    authParams: { apiKey: 'k' },
    errors: [RESERVED('keyParamName', 'X-aws-ec2-metadata-token')],
  },
  {
    name: 'minimal: defaults',
    metadata: base,
    target: { type: 'AverageValue', averageValue: '10' },
    config: { activationThreshold: 0, ignoreNullValues: true, unsafeSsl: false, method: 'header', timeout: undefined },
  },
  {
    name: 'milli threshold with Value',
    metadata: { ...base, threshold: '2.5', activationThreshold: '1.5' },
    metricType: 'Value',
    target: { type: 'Value', value: '2500m' },
    config: { activationThreshold: 1.5 },
  },
  {
    name: 'maps, namespace, timeout, ignoreNullValues',
    metadata: {
      ...base,
      queryParameters: 'dedup=false, partial_response=true',
      customHeaders: 'X-Scope-OrgID=team-a',
      namespace: 'ns1',
      ignoreNullValues: 'false',
      timeout: '1500',
      unsafeSsl: 'true',
    },
    target: { type: 'AverageValue', averageValue: '10' },
    config: {
      queryParameters: { dedup: 'false', partial_response: 'true' },
      customHeaders: { 'X-Scope-OrgID': 'team-a' },
      namespace: 'ns1',
      ignoreNullValues: false,
      timeout: 1500,
      unsafeSsl: true,
    },
  },
  {
    name: 'auth from authParams (authMode alias, token alias)',
    metadata: base,
    authParams: { authMode: 'bearer', token: 't0k' },
    target: { type: 'AverageValue', averageValue: '10' },
    config: { authModes: ['bearer'], bearerToken: 't0k' },
  },
  {
    name: 'awsRegion from authParams, Go duration timeout',
    metadata: { ...base, timeout: '2s' },
    authParams: { awsRegion: 'eu-west-1' },
    target: { type: 'AverageValue', averageValue: '10' },
    config: { awsRegion: 'eu-west-1', timeout: 2000 },
  },
  {
    name: 'zero threshold allowed for a scaling-modifiers source',
    metadata: { ...base, threshold: '0' },
    asMetricSource: true,
    target: { type: 'AverageValue', averageValue: '0' },
  },
  {
    name: 'everything missing',
    metadata: {},
    errors: [
      'missing required parameter "serverAddress" in [triggerMetadata]',
      'missing required parameter "query" in [triggerMetadata]',
      'missing required parameter "threshold" in [triggerMetadata]',
    ],
  },
  {
    name: 'serverAddress only from metadata (FromEnv is not a source)',
    metadata: { query: 'q', threshold: '1', serverAddressFromEnv: 'ADDR' },
    resolvedEnv: { ADDR },
    errors: ['missing required parameter "serverAddress" in [triggerMetadata]'],
  },
  {
    name: 'bad numbers and booleans',
    metadata: { ...base, threshold: 'ten', activationThreshold: '1,5', ignoreNullValues: 'yes' },
    errors: [
      'unable to set param "threshold" value "ten": must be a number',
      'unable to set param "activationThreshold" value "1,5": must be a number',
      'unable to set param "ignoreNullValues" value "yes": must be a boolean (true or false)',
    ],
  },
  { name: 'zero threshold', metadata: { ...base, threshold: '0' }, errors: ['parameter "threshold" must not be 0'] },
  {
    name: 'not an http URL (credentials never echoed)',
    metadata: { ...base, serverAddress: 'ftp://user:secret@prom:9090' },
    errors: ['parameter "serverAddress" must be an absolute http:// or https:// URL, got "ftp://prom:9090/"'],
  },
  { name: 'bad timeout', metadata: { ...base, timeout: 'soon' }, errors: ["unable to set param \"timeout\" value \"soon\": must be either a duration string (e.g. '30s', '5m') or a number of milliseconds"] },
  { name: 'zero timeout', metadata: { ...base, timeout: '0' }, errors: ['parameter "timeout" must be greater than 0, got 0ms'] },
  {
    name: 'bad identityOwner',
    metadata: { ...base, identityOwner: 'nobody' },
    errors: ['parameter "identityOwner" value "nobody" must be one of [pod operator]'],
  },
  {
    name: 'unknown and exclusive auth modes',
    metadata: { ...base, authModes: 'basic,bearer' },
    authParams: { username: 'u', bearerToken: 't' },
    errors: ['parameter "authModes,authMode" value "basic,bearer" must contain only one of [bearer basic oauth]'],
  },
  {
    name: 'oauth not supported yet',
    metadata: { ...base, authModes: 'oauth' },
    errors: ['authMode "oauth" is not supported yet, supported values are [apiKey basic bearer custom tls]'],
  },
  {
    name: 'credentials missing for their modes',
    metadata: { ...base, authModes: 'bearer,tls,custom' },
    authParams: { cert: 'C' },
    errors: [
      'bearer token is required when bearer auth is enabled',
      'cert and key are required when tls auth is enabled',
      'customAuthHeader and customAuthValue are required when custom auth is enabled',
    ],
  },
  {
    name: 'Utilization',
    metadata: base,
    metricType: 'Utilization',
    errors: ["'Utilization' metric type is unsupported for external metrics, allowed values are 'Value' or 'AverageValue'"],
  },
];

describe('prometheus: parsing', () => {
  it.each(parseCases)('$name', async (c) => {
    const i = input({
      triggerType: 'prometheus',
      metadata: c.metadata,
      authParams: c.authParams ?? {},
      resolvedEnv: c.resolvedEnv ?? {},
      metricType: c.metricType,
      asMetricSource: c.asMetricSource,
    });
    expect(scalers.validate(i).map((p) => p.message)).toEqual(c.errors ?? []);
    if (c.errors) return;
    if (c.config) expect(checkConfig(i)).toMatchObject(c.config);
    const s = scalers.build(i, context());
    expect(s.getMetricSpecForScaling()).toEqual([{ type: 'External', external: { metric: { name: 's0-prometheus' }, target: c.target } }]);
    await s.close();
  });

  it('names the metric by trigger index', async () => {
    const s = scalers.build(input({ triggerType: 'prometheus', triggerIndex: 3, metadata: base }), context());
    expect(s.getMetricSpecForScaling()[0].external?.metric.name).toBe('s3-prometheus');
    await s.close();
  });

  it('never puts secrets in problems', () => {
    const problems = scalers.validate(
      input({
        triggerType: 'prometheus',
        metadata: { ...base, serverAddress: 'mailto://u:pw1@x', authModes: 'basic,bearer' },
        authParams: { username: 'u', password: 'pw2', bearerToken: 'tok' },
      }),
    );
    expect(problems.length).toBeGreaterThan(0);
    expect(JSON.stringify(problems)).not.toMatch(/pw1|pw2|tok/);
  });
});

function checkConfig(i: ScalerInput): PrometheusConfig {
  const config = checkInput(prometheusScaler, i).config;
  if (!config) throw new Error('invalid input');
  return config;
}

describe('prometheus: request', () => {
  const config = (extra: Partial<PrometheusConfig> = {}): PrometheusConfig => ({
    ...checkConfig(input({ triggerType: 'prometheus', metadata: base })),
    ...extra,
  });

  it('queries /api/v1/query at the given time with namespace and query parameters', () => {
    const r = prometheusRequest(
      config({ serverAddress: 'http://prom:9090/prefix/', query: 'sum(rate(x{a="b"}[1m]))', namespace: 'ns', queryParameters: { dedup: 'false' } }),
      new Date('2026-01-02T03:04:05.678Z'),
    );
    expect(r.url.origin + r.url.pathname).toBe('http://prom:9090/prefix/api/v1/query');
    expect([...r.url.searchParams]).toEqual([
      ['query', 'sum(rate(x{a="b"}[1m]))'],
      ['time', '2026-01-02T03:04:05Z'],
      ['namespace', 'ns'],
      ['dedup', 'false'],
    ]);
    expect(r.headers).toEqual({});
  });

  it('adds custom headers and auth headers', () => {
    expect(prometheusRequest(config({ customHeaders: { 'X-Scope-OrgID': 't' }, authModes: ['basic'], username: 'u', password: 'p' }), new Date()).headers).toEqual({
      'X-Scope-OrgID': 't',
      authorization: `Basic ${Buffer.from('u:p').toString('base64')}`,
    });
    expect(prometheusRequest(config({ authModes: ['bearer'], bearerToken: 'tk' }), new Date()).headers).toEqual({ authorization: 'Bearer tk' });
    expect(prometheusRequest(config({ authModes: ['custom'], customAuthHeader: 'X-K', customAuthValue: 'v' }), new Date()).headers).toEqual({ 'X-K': 'v' });
    const q = prometheusRequest(config({ authModes: ['apiKey'], apiKey: 'k', method: 'query' }), new Date());
    expect(q.url.searchParams.get('api_key')).toBe('k');
  });
});

describe('prometheus: values', () => {
  const vector = (...values: string[]) =>
    JSON.stringify({ status: 'success', data: { resultType: 'vector', result: values.map((v) => ({ metric: {}, value: [1, v] })) } });

  it.each([
    ['one element', vector('42'), true, 42],
    ['a float', vector('1.25'), true, 1.25],
    ['a negative', vector('-3'), true, -3],
    ['no element, ignoreNullValues', vector(), true, 0],
    ['NaN, ignoreNullValues', vector('NaN'), true, 0],
    ['+Inf, ignoreNullValues', vector('+Inf'), true, 0],
    ['a scalar', JSON.stringify({ status: 'success', data: { resultType: 'scalar', result: [1, '7'] } }), false, 7],
  ])('%s', (_name, body, ignoreNull, expected) => {
    expect(prometheusValue(body, ignoreNull)).toBe(expected);
  });

  it.each([
    ['no element', vector(), false, 'the query returned no elements (the target may be lost; set ignoreNullValues to report 0)'],
    ['two elements', vector('1', '2'), true, 'the query returned 2 elements, it must return one'],
    ['NaN', vector('NaN'), false, 'the query returned NaN'],
    ['-Inf', vector('-Inf'), false, 'the query returned -Inf'],
    ['not a number', vector('abc'), true, 'the sample value (a string of 3 characters) is not a number'],
    ['out of range', vector('1e999'), false, 'the query returned a value out of range'],
    ['a matrix', JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [] } }), true, 'the query returned a matrix, it must return an instant vector or a scalar'],
    ['an error status', JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'bad query' }), true, 'query failed (errorType bad_data)'],
    ['not JSON', '<html>', true, 'invalid JSON in response of 6 bytes (syntax error)'],
    ['a JSON string', '"x"', true, 'the response is a JSON string, not an object'],
    ['a hostile result type', JSON.stringify({ status: 'success', data: { resultType: 'MARKER-xyz', result: [] } }), true, 'the query returned a result of an unknown type'],
  ])('%s is an error', (_name, body, ignoreNull, message) => {
    expect(() => prometheusValue(body, ignoreNull)).toThrow(message);
  });
});

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

describe('prometheus: HTTP', () => {
  let server: Server;
  let address: string;
  let handler: Handler;
  const seen: IncomingMessage[] = [];
  const open: Scaler[] = [];
  const scaler = (metadata: Record<string, string>, authParams: Record<string, string> = {}, httpTimeoutMs = 3000) => {
    const s = scalers.build(input({ triggerType: 'prometheus', metadata, authParams }), context({ httpTimeoutMs }));
    open.push(s);
    return s;
  };
  const reply = (value: string, status = 200): Handler => (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1, value] }] } }));
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req);
      handler(req, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
    seen.length = 0;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('reads the value and reports activation on the raw value', async () => {
    handler = reply('5');
    const s = scaler({ serverAddress: address, query: 'vector(5)', threshold: '2', activationThreshold: '5' });
    expect(await s.getMetricsAndActivity('s0-prometheus')).toEqual({
      metrics: [{ metricName: 's0-prometheus', value: 5, timestamp: expect.any(Date) }],
      isActive: false,
    });
    handler = reply('5.5');
    expect((await s.getMetricsAndActivity('s0-prometheus')).isActive).toBe(true);
    handler = reply('-2');
    expect(await s.getMetricsAndActivity('s0-prometheus')).toMatchObject({ metrics: [{ value: 0 }], isActive: false });
    expect(new URL(seen[0].url ?? '', address).searchParams.get('query')).toBe('vector(5)');
  });

  it.each<[string, Handler | 'refused', Record<string, string>, (number | 'error')[], boolean[], boolean]>([
    ['a sample', reply('5'), {}, [200], [], true],
    ['a 503', reply('5', 503), {}, [503], [], false],
    ['no sample with ignoreNullValues', (_req, res) => res.writeHead(200).end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } })), { ignoreNullValues: 'true' }, [200], [true], true],
    ['no sample without ignoreNullValues', (_req, res) => res.writeHead(200).end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } })), { ignoreNullValues: 'false' }, [200], [false], false],
    ['no server listening', 'refused', {}, ['error'], [], false],
  ])('telemetry: %s', async (_name, answer, metadata, statuses, empties, succeeds) => {
    const http: (number | 'error')[] = [];
    const empty: boolean[] = [];
    const telemetry = { httpRequest: (code: number | 'error', seconds: number) => void http.push(seconds >= 0 ? code : -1), emptyUpstreamResponse: (ignore: boolean) => void empty.push(ignore) };
    let serverAddress = address;
    if (answer === 'refused') {
      const closed = createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      serverAddress = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
      await new Promise((r) => closed.close(r));
    } else handler = answer;
    const s = scalers.build(input({ triggerType: 'prometheus', metadata: { serverAddress, query: 'q', threshold: '1', ...metadata } }), context({ telemetry }));
    open.push(s);
    const read = s.getMetricsAndActivity('s0-prometheus');
    if (succeeds) await read;
    else await expect(read).rejects.toThrow();
    expect(http).toEqual(statuses);
    expect(empty).toEqual(empties);
  });

  it('sends the auth header and reports API errors without secrets', async () => {
    handler = (req, res) => {
      if (req.headers.authorization !== 'Bearer s3cr3t') {
        res.writeHead(401).end('unauthorized');
        return;
      }
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'parse error at char 4' }));
    };
    const s = scaler({ serverAddress: address, query: 'sum(', threshold: '1', authModes: 'bearer' }, { bearerToken: 's3cr3t' });
    await expect(s.getMetricsAndActivity('s0-prometheus')).rejects.toThrow(
      `error executing prometheus query: GET ${address}/api/v1/query: prometheus returned 400 (errorType bad_data)`,
    );
    const wrong = scaler({ serverAddress: address, query: 'x', threshold: '1', authModes: 'bearer' }, { bearerToken: 'nope-token' });
    const err = await wrong.getMetricsAndActivity('s0-prometheus').catch((e: Error) => e);
    expect(String(err)).toContain('prometheus returned 401');
    expect(String(err)).not.toContain('nope-token');
  });

  it.each<[string, number, string, string]>([
    ['an API error', 400, JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'MARKER-9d1c' }), 'prometheus returned 400 (errorType bad_data)'],
    ['a hostile errorType', 500, JSON.stringify({ status: 'error', errorType: 'MARKER-9d1c', error: 'MARKER-9d1c' }), 'prometheus returned 500'],
    ['an error with status 200', 200, JSON.stringify({ status: 'MARKER-9d1c', error: 'MARKER-9d1c' }), 'query failed'],
    ['a non-numeric sample', 200, JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ value: [1, 'MARKER-9d1c'] }] } }), 'the sample value (a string of 11 characters) is not a number'],
    ['HTML', 200, '<html>MARKER-9d1c</html>', 'invalid JSON in response of 24 bytes (syntax error)'],
  ])('never echoes the body: %s', async (_, status, body, expected) => {
    handler = (_req, res) => res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    const err = await scaler({ serverAddress: address, query: 'x', threshold: '1' }).getMetricsAndActivity('m').catch((e: Error) => e);
    expect(String(err)).toContain(expected);
    expect(JSON.stringify(err, Object.getOwnPropertyNames(err))).not.toContain('MARKER');
  });

  it('times out after the operator-wide HTTP timeout, or the timeout parameter', async () => {
    handler = () => undefined; // never answers
    const started = Date.now();
    await expect(scaler({ serverAddress: address, query: 'x', threshold: '1' }, {}, 200).getMetricsAndActivity('m')).rejects.toThrow(
      'request timed out after 200ms',
    );
    await expect(scaler({ serverAddress: address, query: 'x', threshold: '1', timeout: '300ms' }, {}, 60_000).getMetricsAndActivity('m')).rejects.toThrow(
      'request timed out after 300ms',
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('shares one agent per server and releases it with the last scaler', async () => {
    const before = sharedAgentPool.size;
    const a = scaler({ serverAddress: address, query: 'a', threshold: '1' });
    const b = scaler({ serverAddress: `${address}/`, query: 'b', threshold: '1' });
    expect(sharedAgentPool.size).toBe(before + 1);
    await a.close();
    expect(sharedAgentPool.size).toBe(before + 1);
    await b.close();
    await b.close();
    expect(sharedAgentPool.size).toBe(before);
    await expect(a.getMetricsAndActivity('m')).rejects.toThrow('the scaler is closed');
  });
});
