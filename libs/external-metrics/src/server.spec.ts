import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { MetricsServiceError, scaledObjectNotFoundError } from '@keda-ts/metrics-service';
import { createLogger } from '@keda-ts/runtime';
import { parseAuthenticationConfigMap, type AuthenticationConfig, type UserInfo } from './authn';
import type { ResourceAttributes } from './authz';
import { AdapterMetrics } from './prom';
import { ExternalMetricsServer, type ExternalMetricsServerOptions } from './server';

let dir: string;
const file = (n: string) => readFileSync(path.join(dir, n), 'utf8');

function openssl(args: string[]) {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}
function ca(name: string) {
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,digitalSignature']);
}
function leaf(caName: string, name: string, subject: string, eku: string, san?: string) {
  writeFileSync(path.join(dir, `${name}.ext`), `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=${eku}\n${san ? `subjectAltName=${san}\n` : ''}`);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.crt`, '-CAkey', `${caName}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`]);
}

let server: ExternalMetricsServer;
let options: ExternalMetricsServerOptions;
let port: number;
let auth: AuthenticationConfig;
let grpcReady = true;
const decisions: { user: UserInfo; attributes: ResourceAttributes }[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'external-metrics-spec-'));
  ca('front-proxy-ca');
  ca('client-ca');
  ca('other-ca');
  ca('serving-ca');
  leaf('serving-ca', 'serving', '/CN=localhost', 'serverAuth', 'DNS:localhost,IP:127.0.0.1');
  leaf('front-proxy-ca', 'front-proxy-client', '/CN=front-proxy-client', 'clientAuth');
  leaf('front-proxy-ca', 'front-proxy-intruder', '/CN=someone-else', 'clientAuth');
  leaf('client-ca', 'bob', '/O=devs/O=ops/CN=bob', 'clientAuth');
  leaf('other-ca', 'mallory', '/CN=mallory', 'clientAuth');
  leaf('client-ca', 'server-only', '/CN=server-only', 'serverAuth');
  auth = parseAuthenticationConfigMap({
    'client-ca-file': file('client-ca.crt'),
    'requestheader-client-ca-file': file('front-proxy-ca.crt'),
    'requestheader-allowed-names': '["front-proxy-client"]',
    'requestheader-username-headers': '["X-Remote-User"]',
    'requestheader-group-headers': '["X-Remote-Group"]',
    'requestheader-extra-headers-prefix': '["X-Remote-Extra-"]',
  });
  options = {
    metrics: {
      async getMetrics(ref) {
        if (ref.name === 'down') throw new MetricsServiceError(14, 'No connection established');
        if (ref.name !== 'so') throw scaledObjectNotFoundError(ref.name);
        return [{ metricName: ref.metricName, timestamp: new Date('2026-01-01T00:00:00Z'), value: 7 }];
      },
    },
    controllerAddress: 'ctrl:9666',
    authentication: () => ({ config: auth, generation: 1 }),
    authorize: async (user, attributes) => {
      decisions.push({ user, attributes });
      return { allowed: user.name !== 'denied-user' && user.name !== 'bob' ? true : user.name === 'bob' && attributes.namespace === 'ns', reason: 'nope' };
    },
    readiness: { 'metrics-service': () => (grpcReady ? { ok: true } : { ok: false, message: 'KEDA metrics service ctrl:9666: gRPC channel TRANSIENT_FAILURE' }) },
    tls: { certFile: path.join(dir, 'serving.crt'), keyFile: path.join(dir, 'serving.key') },
    bindAddress: '127.0.0.1',
    port: 0,
    logger: createLogger({ component: 'test', version: '0', level: 'silent' as never }),
  };
  server = new ExternalMetricsServer(options);
  port = await server.listen();
}, 60_000);

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Which protocol `get` speaks: the aggregator uses HTTP/2; other clients may use HTTP/1.1. */
let useHttp2 = false;

function get(p: string, cert?: string, headers: Record<string, string | string[]> = {}, method = 'GET') {
  if (useHttp2) return getHttp2(p, cert, headers, method);
  return new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: p,
        method,
        ca: file('serving-ca.crt'),
        servername: 'localhost',
        headers,
        agent: false,
        ...(cert ? { cert: file(`${cert}.crt`), key: file(`${cert}.key`) } : {}),
      },
      (res) => {
        let t = '';
        res.on('data', (c: Buffer) => (t += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: t, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}
function getHttp2(p: string, cert: string | undefined, headers: Record<string, string | string[]>, method: string) {
  return new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((resolve, reject) => {
    const session = http2.connect(`https://127.0.0.1:${port}`, {
      ca: file('serving-ca.crt'),
      servername: 'localhost',
      ...(cert ? { cert: file(`${cert}.crt`), key: file(`${cert}.key`) } : {}),
    });
    session.on('error', reject);
    const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    const stream = session.request({ ':method': method, ':path': p, ...lower }, { endStream: true });
    let status = 0;
    let responseHeaders: Record<string, unknown> = {};
    let text = '';
    stream.on('response', (h) => {
      status = Number(h[':status']);
      responseHeaders = h;
    });
    stream.on('data', (c: Buffer) => (text += c.toString()));
    stream.on('error', reject);
    stream.on('close', () => {
      session.close();
      resolve({ status, body: text, headers: responseHeaders });
    });
  });
}

const metric = (ns = 'ns', so = 'so') => `/apis/external.metrics.k8s.io/v1beta1/namespaces/${ns}/s0-x?labelSelector=scaledobject.keda.sh%2Fname%3D${so}`;
const asProxy = { 'X-Remote-User': 'system:serviceaccount:kube-system:horizontal-pod-autoscaler', 'X-Remote-Group': ['system:serviceaccounts', 'system:authenticated'], 'X-Remote-Extra-Authentication.kubernetes.io%2fpod-Name': 'p1' };

describe.each(['HTTP/1.1', 'HTTP/2'])('ExternalMetricsServer over %s', (transport) => {
  beforeAll(() => {
    useHttp2 = transport === 'HTTP/2';
  });

  it('serves health without credentials and readiness with the reason', async () => {
    expect(await get('/healthz')).toMatchObject({ status: 200, body: 'ok' });
    expect(await get('/livez')).toMatchObject({ status: 200, body: 'ok' });
    expect(await get('/readyz')).toMatchObject({ status: 200, body: 'ok' });
    expect((await get('/readyz?verbose')).body).toBe('[+]metrics-service ok\nreadyz check passed\n');
    grpcReady = false;
    const r = await get('/readyz');
    grpcReady = true;
    expect(r.status).toBe(503);
    expect(r.body).toContain('[-]metrics-service failed: KEDA metrics service ctrl:9666: gRPC channel TRANSIENT_FAILURE');
  });

  it('answers 401 Status without a trusted certificate', async () => {
    for (const [cert, headers] of [[undefined, asProxy], ['mallory', {}], ['front-proxy-intruder', asProxy], ['front-proxy-client', {}], ['server-only', {}]] as const) {
      const r = await get(metric(), cert, headers);
      expect([cert, r.status]).toEqual([cert, 401]);
      expect(JSON.parse(r.body)).toMatchObject({ kind: 'Status', code: 401, reason: 'Unauthorized' });
    }
  });

  it('takes the user from the front proxy headers and authorizes the metric read', async () => {
    decisions.length = 0;
    const r = await get(metric(), 'front-proxy-client', asProxy);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({
      kind: 'ExternalMetricValueList',
      apiVersion: 'external.metrics.k8s.io/v1beta1',
      metadata: {},
      items: [{ metricName: 's0-x', metricLabels: {}, timestamp: '2026-01-01T00:00:00Z', value: '7' }],
    });
    expect(decisions).toEqual([
      {
        user: {
          name: 'system:serviceaccount:kube-system:horizontal-pod-autoscaler',
          groups: ['system:serviceaccounts', 'system:authenticated'],
          extra: { 'authentication.kubernetes.io/pod-name': ['p1'] },
        },
        attributes: { group: 'external.metrics.k8s.io', version: 'v1beta1', resource: 's0-x', namespace: 'ns', verb: 'list' },
      },
    ]);
  });

  it('accepts client certificates of the client CA (user = CN, groups = O) and answers 403 when denied', async () => {
    decisions.length = 0;
    const info = jest.spyOn(options.logger, 'info');
    expect((await get(metric('ns'), 'bob')).status).toBe(200);
    expect(decisions[0].user).toEqual({ name: 'bob', groups: ['devs', 'ops'], extra: {} });
    expect(info).not.toHaveBeenCalled();
    const denied = await get(metric('other'), 'bob');
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.body)).toMatchObject({ kind: 'Status', code: 403, reason: 'Forbidden' });
    expect(JSON.parse(denied.body).message).toContain('User "bob" cannot list resource "s0-x"');
    // The refusal is logged with who and what, and the authorizer's reason.
    expect(info).toHaveBeenCalledWith(
      { user: 'bob', groups: ['devs', 'ops'], verb: 'list', group: 'external.metrics.k8s.io', resource: 's0-x', namespace: 'other', reason: 'nope' },
      'SubjectAccessReview denied the metric request',
    );
    info.mockRestore();
  });

  it('serves discovery and OpenAPI to any authenticated user without a review', async () => {
    decisions.length = 0;
    for (const p of ['/apis', '/apis/external.metrics.k8s.io', '/apis/external.metrics.k8s.io/v1beta1', '/openapi/v2', '/openapi/v3', '/openapi/v3/apis/external.metrics.k8s.io/v1beta1']) {
      expect([p, (await get(p, 'front-proxy-client', { 'X-Remote-User': 'system:kube-aggregator', 'X-Remote-Group': 'system:masters' })).status]).toEqual([p, 200]);
    }
    expect(decisions).toHaveLength(0);
  });

  it('maps errors to Status objects', async () => {
    const body = async (p: string) => JSON.parse((await get(p, 'front-proxy-client', asProxy)).body) as Record<string, unknown>;
    expect(await body('/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/s0-x')).toMatchObject({ code: 400, message: 'scaledObject name is not specified' });
    expect(await body(metric('ns', 'missing'))).toMatchObject({ code: 404, reason: 'NotFound', message: 'scaledobjects.keda.sh "missing" not found' });
    expect(await body(metric('ns', 'down'))).toMatchObject({ code: 503, reason: 'ServiceUnavailable' });
    expect(String((await body(metric('ns', 'down')))['message'])).toContain('ctrl:9666');
    expect(await body('/apis/other.group/v1')).toMatchObject({ code: 404, reason: 'NotFound' });
  });

  it('answers methods, encodings and content types as an API server does', async () => {
    const proxy = (p: string, method = 'GET') => get(p, 'front-proxy-client', asProxy, method);
    const ok = await proxy(metric());
    expect(ok.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(Number(ok.headers['content-length'])).toBe(Buffer.byteLength(ok.body));
    // Percent-encoded path segments are decoded before they reach the controller and the review.
    decisions.length = 0;
    expect((await proxy('/apis/external.metrics.k8s.io/v1beta1/namespaces/n%73/s0-x?labelSelector=scaledobject.keda.sh%2Fname%3Dso')).status).toBe(200);
    expect(decisions[0].attributes).toMatchObject({ namespace: 'ns', resource: 's0-x' });
    expect(JSON.parse((await proxy('/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/s0-%E0%A4%A')).body)).toMatchObject({ code: 400 });
    // Only GET reads a metric; discovery is GET/HEAD; anything else is not found.
    expect(JSON.parse((await proxy(metric(), 'POST')).body)).toMatchObject({ kind: 'Status', code: 405, reason: 'MethodNotAllowed' });
    const head = await proxy('/apis', 'HEAD');
    expect([head.status, head.body, head.headers['content-type']]).toEqual([200, '', 'application/json; charset=utf-8']);
    expect((await proxy('/apis', 'POST')).status).toBe(404);
    expect((await get('/healthz', undefined, {}, 'POST')).status).toBe(401);
    expect((await get('/healthz/ping')).body).toBe('ok');
  });

  it('labels request series with resource="*" unless per-metric-name labels are asked for', async () => {
    const bounded = new AdapterMetrics({ defaultMetrics: false });
    const perName = new AdapterMetrics({ defaultMetrics: false, metricNameLabels: true });
    for (const prom of [bounded, perName]) {
      for (const resource of ['s0-a', 's1-b', 's0-a']) {
        prom.request({ verb: 'GET', group: 'external.metrics.k8s.io', version: 'v1beta1', resource, scope: 'namespace', code: 200 }, 0.001);
      }
    }
    const labels = (resource: string) => `{verb="GET",group="external.metrics.k8s.io",version="v1beta1",resource="${resource}",scope="namespace",component="apiserver",code="200"}`;
    const boundedText = await bounded.registry.metrics();
    expect(boundedText).toContain(`apiserver_request_total${labels('*')} 3`);
    expect(boundedText).not.toContain('s0-a');
    const perNameText = await perName.registry.metrics();
    expect(perNameText).toContain(`apiserver_request_total${labels('s0-a')} 2`);
    expect(perNameText).toContain(`apiserver_request_total${labels('s1-b')} 1`);
  });

  it('counts requests and gRPC calls in the Prometheus metrics', async () => {
    const prom = new AdapterMetrics({ defaultMetrics: false, metricNameLabels: true });
    const counted = new ExternalMetricsServer({
      ...options,
      prom,
      port: 0,
    });
    const countedPort = await counted.listen();
    try {
      const saved = port;
      port = countedPort;
      await get(metric(), 'front-proxy-client', asProxy);
      await get(metric('ns', 'missing'), 'front-proxy-client', asProxy);
      await get('/apis', 'front-proxy-client', asProxy);
      port = saved;
      const text = await prom.registry.metrics();
      expect(text).toContain('apiserver_request_total{verb="GET",group="external.metrics.k8s.io",version="v1beta1",resource="s0-x",scope="namespace",component="apiserver",code="200"} 1');
      expect(text).toContain('apiserver_request_total{verb="GET",group="external.metrics.k8s.io",version="v1beta1",resource="s0-x",scope="namespace",component="apiserver",code="404"} 1');
      expect(text).toContain('apiserver_request_total{verb="GET",group="",version="",resource="",scope="",component="apiserver",code="200"} 1');
      expect(text).toContain('keda_internal_metricsservice_grpc_client_handled_total{grpc_type="unary",grpc_service="api.MetricsService",grpc_method="GetMetrics",grpc_code="OK"} 1');
      expect(text).toContain('keda_internal_metricsservice_grpc_client_handled_total{grpc_type="unary",grpc_service="api.MetricsService",grpc_method="GetMetrics",grpc_code="NotFound"} 1');
      expect(text).toMatch(/apiserver_request_duration_seconds_count\{verb="GET",group="external.metrics.k8s.io",version="v1beta1",resource="s0-x",scope="namespace",component="apiserver"\} 2/);
    } finally {
      await counted.close();
    }
  });
});

describe('ExternalMetricsServer over HTTP/2', () => {
  it('answers streams through the core API: no empty trailers, and a reset by the client cancels the call', async () => {
    let aborted = false;
    const slow = new ExternalMetricsServer({
      ...options,
      metrics: {
        getMetrics: (ref, callOptions) => {
          if (ref.name !== 'slow') return options.metrics.getMetrics(ref, callOptions);
          // Answers only when cancelled.
          return new Promise((_resolve, reject) =>
            callOptions?.signal?.addEventListener('abort', () => {
              aborted = true;
              reject(new Error('cancelled'));
            }),
          );
        },
      },
      port: 0,
    });
    const slowPort = await slow.listen();
    const session = http2.connect(`https://127.0.0.1:${slowPort}`, {
      ca: file('serving-ca.crt'),
      servername: 'localhost',
      cert: file('front-proxy-client.crt'),
      key: file('front-proxy-client.key'),
    });
    try {
      const proxyHeaders = { 'x-remote-user': 'hpa', 'x-remote-group': 'system:authenticated' };
      const answer = await new Promise<{ status: number; trailers: boolean; body: string }>((resolve, reject) => {
        const stream = session.request({ ':path': metric(), ...proxyHeaders }, { endStream: true });
        const result = { status: 0, trailers: false, body: '' };
        stream.on('response', (h) => (result.status = Number(h[':status'])));
        stream.on('trailers', () => (result.trailers = true));
        stream.on('data', (c: Buffer) => (result.body += c.toString()));
        stream.on('error', reject);
        stream.on('close', () => resolve(result));
      });
      expect(answer).toMatchObject({ status: 200, trailers: false });
      expect(JSON.parse(answer.body)).toMatchObject({ kind: 'ExternalMetricValueList', items: [{ value: '7' }] });
      const pending = session.request({ ':path': metric('ns', 'slow'), ...proxyHeaders }, { endStream: true });
      pending.on('error', () => undefined);
      await new Promise((r) => setTimeout(r, 100));
      expect(aborted).toBe(false);
      pending.close(http2.constants.NGHTTP2_CANCEL);
      for (let i = 0; i < 50 && !aborted; i++) await new Promise((r) => setTimeout(r, 10));
      expect(aborted).toBe(true);
    } finally {
      session.close();
      await slow.close();
    }
  });
});

describe('HTTP/2 and HTTP/1.1 on one port', () => {
  /** GETs `/healthz` `count` times over one kept-alive HTTP/1.1 connection; resolves with the ALPN protocols and local ports seen. */
  async function keptAlive(count: number, ALPNProtocols?: string[]) {
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: file('serving-ca.crt'), servername: 'localhost', ALPNProtocols });
    const seen: { alpn: string | false | null; localPort?: number; body: string }[] = [];
    try {
      for (let i = 0; i < count; i++) {
        seen.push(
          await new Promise((resolve, reject) => {
            https
              .get({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => {
                const socket = res.socket as import('node:tls').TLSSocket;
                const alpn = socket.alpnProtocol;
                const localPort = socket.localPort;
                let body = '';
                res.on('data', (c: Buffer) => (body += c.toString()));
                res.on('end', () => resolve({ alpn, localPort, body }));
              })
              .on('error', reject);
          }),
        );
      }
    } finally {
      agent.destroy();
    }
    return seen;
  }

  it('serves HTTP/1.1 without ALPN and with ALPN http/1.1, keeping the connection alive', async () => {
    for (const alpn of [undefined, ['http/1.1']]) {
      const seen = await keptAlive(3, alpn);
      expect(seen.map((s) => s.body)).toEqual(['ok', 'ok', 'ok']);
      expect(seen[0].alpn).toBe(alpn ? 'http/1.1' : false);
      expect(new Set(seen.map((s) => s.localPort)).size).toBe(1);
    }
  });

  it('prefers h2 when the client offers both', async () => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { ca: file('serving-ca.crt'), servername: 'localhost', ALPNProtocols: ['http/1.1', 'h2'] });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const stream = session.request({ ':path': '/healthz' }, { endStream: true });
        stream.on('response', (h) => resolve(Number(h[':status'])));
        stream.on('error', reject);
        stream.resume();
      });
      expect(status).toBe(200);
      expect(session.alpnProtocol).toBe('h2');
    } finally {
      session.close();
    }
  });
});
