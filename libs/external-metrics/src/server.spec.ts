import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { MetricsServiceError, scaledObjectNotFoundError } from '@keda-ts/metrics-service';
import { createLogger } from '@keda-ts/runtime';
import { parseAuthenticationConfigMap, type AuthenticationConfig, type UserInfo } from './authn';
import type { ResourceAttributes } from './authz';
import { ExternalMetricsServer } from './server';

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
  server = new ExternalMetricsServer({
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
  });
  port = await server.listen();
}, 60_000);

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

function get(p: string, cert?: string, headers: Record<string, string | string[]> = {}) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: p,
        ca: file('serving-ca.crt'),
        servername: 'localhost',
        headers,
        agent: false,
        ...(cert ? { cert: file(`${cert}.crt`), key: file(`${cert}.key`) } : {}),
      },
      (res) => {
        let t = '';
        res.on('data', (c: Buffer) => (t += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: t }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}
const metric = (ns = 'ns', so = 'so') => `/apis/external.metrics.k8s.io/v1beta1/namespaces/${ns}/s0-x?labelSelector=scaledobject.keda.sh%2Fname%3D${so}`;
const asProxy = { 'X-Remote-User': 'system:serviceaccount:kube-system:horizontal-pod-autoscaler', 'X-Remote-Group': ['system:serviceaccounts', 'system:authenticated'], 'X-Remote-Extra-Authentication.kubernetes.io%2fpod-Name': 'p1' };

describe('ExternalMetricsServer', () => {
  it('serves health without credentials and readiness with the reason', async () => {
    expect(await get('/healthz')).toEqual({ status: 200, body: 'ok' });
    expect(await get('/livez')).toEqual({ status: 200, body: 'ok' });
    expect(await get('/readyz')).toEqual({ status: 200, body: 'ok' });
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
    expect((await get(metric('ns'), 'bob')).status).toBe(200);
    expect(decisions[0].user).toEqual({ name: 'bob', groups: ['devs', 'ops'], extra: {} });
    const denied = await get(metric('other'), 'bob');
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.body)).toMatchObject({ kind: 'Status', code: 403, reason: 'Forbidden' });
    expect(JSON.parse(denied.body).message).toContain('User "bob" cannot list resource "s0-x"');
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
});
