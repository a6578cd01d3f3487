/**
 * Who may read external metrics, decided by the adapter's own SubjectAccessReview: the built adapter
 * runs as its chart ServiceAccount (keda/keda-metrics-server, with the chart's auth-delegator binding),
 * the real HPA controller (kube-controller-manager with --use-service-account-credentials) calls it
 * through the aggregator as kube-system/horizontal-pod-autoscaler, which the chart's
 * keda-operator-hpa-controller-external-metrics binding allows. Identities without the chart's reader
 * binding are refused: through the aggregator (by kube-apiserver's own authorization when they have no
 * grant at all; by the adapter when the API server let the request through) and directly at the
 * adapter's HTTPS port with the front-proxy certificate and X-Remote-User/X-Remote-Group headers.
 */
import { mkdirSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { createMetricsServer, scaledObjectNotFoundError, type MetricsServer } from '@keda-ts/metrics-service';
import { writeCertDir, type CertDir } from '../src/certs';
import { appIdentities } from '../src/identities';
import { adapterSpec, startApps, stopApps, type RunningApp } from '../src/local-system';
import { issueCert } from '../src/pki';
import { freePort } from '../src/processes';
import {
  acquireClusterLock,
  apply,
  deploymentManifest,
  EXTERNAL_METRICS_API_LOCK,
  k8s,
  kubeConfig,
  kubectl,
  readClusterInfo,
  registerApiServiceToLocalhost,
  unregisterApiService,
  useTestNamespace,
  waitFor,
  externalMetricHpaManifest,
} from '../src/testing';

const ns = useTestNamespace('authz');
const kc = kubeConfig();
const SERVICE = 'keda-metrics-apiserver';
const GV = 'external.metrics.k8s.io/v1beta1';
const HPA_SA = 'system:serviceaccount:kube-system:horizontal-pod-autoscaler';
const DENIED_LOG = 'SubjectAccessReview denied the metric request';
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

let dir = '';
let certs: CertDir;
let grpc: MetricsServer | undefined;
let securePort = 0;
let promPort = 0;
let adapter: RunningApp[] = [];
let registered = false;
let releaseLock: (() => void) | undefined;
const apiService = () => ({ group: 'external.metrics.k8s.io', version: 'v1beta1', namespace: ns.name, serviceName: SERVICE });

beforeAll(async () => {
  releaseLock = await acquireClusterLock(EXTERNAL_METRICS_API_LOCK);
  dir = mkdtempSync(path.join(os.tmpdir(), 'keda-ts-authz-'));
  // One pair for serving and the gRPC client (KEDA's layout for certificates a user brings).
  certs = await writeCertDir(path.join(dir, 'certs'), [`${SERVICE}.${ns.name}.svc`], { layout: 'shared' });
  const grpcPort = await freePort();
  // A fake controller: every ScaledObject `web` or `so` of this namespace reports 4.
  grpc = createMetricsServer({
    provider: {
      async getMetrics(ref) {
        if (ref.namespace !== ns.name || !['web', 'so'].includes(ref.name)) throw scaledObjectNotFoundError(ref.name);
        return [{ metricName: ref.metricName, metricLabels: { scaledobject: ref.name }, timestamp: new Date(), value: 4 }];
      },
    },
    tls: { certDir: certs.dir },
    bindAddress: '127.0.0.1',
    port: grpcPort,
    logger: silent,
  });
  await grpc.start();
  securePort = await freePort();
  promPort = await freePort();
  adapter = await startApps(
    readClusterInfo().kubeconfig,
    [
      adapterSpec({
        securePort,
        metricsPort: promPort,
        certDir: certs.dir,
        grpcPort,
        authority: 'keda-operator.keda.svc',
        // The per-request line names the caller (user), which the HPA test reads.
        extraArgs: ['--log-level=debug'],
      }),
    ],
    dir,
  );
  await registerApiServiceToLocalhost(kc, { ...apiService(), port: securePort, caPem: certs.caPem });
  registered = true;
}, 180_000);

afterAll(async () => {
  if (registered) await unregisterApiService(kc, apiService());
  await stopApps(adapter);
  await grpc?.stop();
  if (dir && process.env['KEDA_E2E_KEEP_STATE'] !== '1') rmSync(dir, { recursive: true, force: true });
  releaseLock?.();
}, 60_000);

const metricPath = (metric: string, so: string, query = '') =>
  `/apis/${GV}/namespaces/${ns.name}/${metric}?labelSelector=${encodeURIComponent(`scaledobject.keda.sh/name=${so}`)}${query}`;

interface Reply {
  status: number;
  body: string;
}

function request(options: https.RequestOptions): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request({ method: 'GET', agent: false, ...options }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Through kube-apiserver and its aggregator, with a bearer token or a client certificate of the cluster CA. */
function viaAggregator(p: string, auth: { token: string } | { cert: Buffer; key: Buffer }): Promise<Reply> {
  const server = new URL(readClusterInfo().server);
  const ca = readFileSync(readClusterInfo().pki.caCert);
  return 'token' in auth
    ? request({ host: server.hostname, port: server.port, path: p, ca, headers: { Authorization: `Bearer ${auth.token}` } })
    : request({ host: server.hostname, port: server.port, path: p, ca, cert: auth.cert, key: auth.key });
}

/** Straight to the adapter's HTTPS port as the aggregator calls it: front-proxy certificate, X-Remote-* headers. */
function viaFrontProxy(p: string, user: string, groups: string[]): Promise<Reply> {
  const pki = readClusterInfo().pki;
  return request({
    host: '127.0.0.1',
    port: securePort,
    path: p,
    ca: certs.caPem,
    servername: 'localhost',
    cert: readFileSync(pki.frontProxyClientCert),
    key: readFileSync(pki.frontProxyClientKey),
    headers: { 'X-Remote-User': user, 'X-Remote-Group': groups },
  });
}

/** The adapter's JSON log lines. */
function adapterLog(): Record<string, unknown>[] {
  return readFileSync(adapter[0].process.logFile, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

const deniedLines = (user: string) => adapterLog().filter((l) => l['msg'] === DENIED_LOG && l['user'] === user);

/** keda_ts_metrics_adapter_authorization_decisions_total{decision=...} from the adapter's /metrics. */
async function decisions(decision: 'allowed' | 'denied'): Promise<number> {
  const text = await new Promise<string>((resolve, reject) => {
    http.get(`http://127.0.0.1:${promPort}/metrics`, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
  return text
    .split('\n')
    .filter((l) => l.startsWith('keda_ts_metrics_adapter_authorization_decisions_total{') && l.includes(`decision="${decision}"`))
    .reduce((n, l) => n + Number(l.split(' ').pop()), 0);
}

const saGroups = (namespace: string) => ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'];

describe('metrics adapter authorization with chart identities', () => {
  it('runs the adapter as its chart ServiceAccount, not as admin', async () => {
    const ids = await appIdentities(readClusterInfo().kubeconfig);
    expect(ids['metrics-adapter'].username).toBe('system:serviceaccount:keda:keda-metrics-server');
    const kubeconfig = readFileSync(ids['metrics-adapter'].kubeconfig, 'utf8');
    expect(kubeconfig).toContain('token:');
    expect(kubeconfig).not.toContain('client-certificate');
    // The API server saw the adapter's own requests (its authentication ConfigMap) as that ServiceAccount.
    const audit = readClusterInfo().auditLog;
    if (audit) {
      await waitFor(
        async () =>
          readFileSync(audit, 'utf8')
            .split('\n')
            .some((l) => l.includes(`"username":"${ids['metrics-adapter'].username}"`) && l.includes('"name":"extension-apiserver-authentication"')) || undefined,
        { timeoutMs: 20_000, description: 'an audit event of the adapter reading its ConfigMap as keda-metrics-server' },
      );
    }
    // What the chart grants it, and not more: SubjectAccessReviews yes, Secrets no.
    const can = (args: string[]) => kubectl(['auth', 'can-i', ...args, `--as=${ids['metrics-adapter'].username}`]).then((o) => o.trim(), () => 'no');
    expect(await can(['create', 'subjectaccessreviews.authorization.k8s.io'])).toBe('yes');
    expect(await can(['get', 'configmaps/extension-apiserver-authentication', '-n', 'kube-system'])).toBe('yes');
    expect(await can(['list', 'secrets', '-A'])).toBe('no');
  });

  it('the real HPA controller reads external metrics as kube-system/horizontal-pod-autoscaler, allowed by the SubjectAccessReview', async () => {
    await apply(kc, deploymentManifest('web', 1), ns.name);
    await apply(kc, externalMetricHpaManifest('web', { metricName: 's0-x', maxReplicas: 4 }), ns.name);
    const appsApi = kc.makeApiClient(k8s.AppsV1Api);
    await waitFor(async () => ((await appsApi.readNamespacedDeployment({ name: 'web', namespace: ns.name })).spec?.replicas === 2 ? true : undefined), {
      timeoutMs: 60_000,
      description: 'web scaled to 2 (4 / 2) by the HPA',
    });
    // The adapter's request line names the caller: the HPA controller's own ServiceAccount, answered 200.
    const line = adapterLog().find((l) => l['msg'] === 'request' && l['user'] === HPA_SA && l['status'] === 200 && String(l['path']).includes(`/namespaces/${ns.name}/s0-x`));
    expect(line).toBeDefined();
    expect(deniedLines(HPA_SA)).toHaveLength(0);
  });

  it('through the aggregator: no grant is refused by kube-apiserver, a grant that is not the reader role is refused by the adapter', async () => {
    // A ServiceAccount without any binding, and a user (client certificate of the cluster CA) without any.
    await kubectl(['create', 'serviceaccount', 'no-reader', '-n', ns.name]);
    const token = (await kubectl(['create', 'token', 'no-reader', '-n', ns.name, '--duration=10m'])).trim();
    const saUser = `system:serviceaccount:${ns.name}:no-reader`;
    const pki = readClusterInfo().pki;
    const userDir = path.join(dir, 'user');
    mkdirSync(userDir, { recursive: true });
    copyFileSync(pki.caCert, path.join(userDir, 'ca.crt'));
    copyFileSync(pki.caKey, path.join(userDir, 'ca.key'));
    await issueCert(userDir, 'ca', 'mallory', '/O=tenants/CN=mallory', 'client');
    const mallory = { cert: readFileSync(path.join(userDir, 'mallory.crt')), key: readFileSync(path.join(userDir, 'mallory.key')) };

    const deniedBefore = await decisions('denied');
    for (const [who, auth] of [[saUser, { token }], ['mallory', mallory]] as const) {
      const r = await viaAggregator(metricPath('s0-x', 'so'), auth);
      expect([who, r.status]).toEqual([who, 403]);
      expect(JSON.parse(r.body)).toMatchObject({ kind: 'Status', code: 403, reason: 'Forbidden' });
      expect((JSON.parse(r.body) as { message: string }).message).toContain(`User "${who}" cannot list resource "s0-x"`);
    }
    // kube-apiserver authorizes with the same RBAC before it proxies: the adapter was never asked.
    expect(await decisions('denied')).toBe(deniedBefore);
    expect(deniedLines(saUser)).toHaveLength(0);

    // Allowed to watch external metrics (not the chart's reader role: no get/list), the ServiceAccount
    // passes kube-apiserver's check for a watch; the adapter's own review (list) refuses it.
    await apply(
      kc,
      [
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'Role',
          metadata: { name: 'external-metrics-watch' },
          rules: [{ apiGroups: ['external.metrics.k8s.io'], resources: ['*'], verbs: ['watch'] }],
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'no-reader-watch' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'external-metrics-watch' },
          subjects: [{ kind: 'ServiceAccount', name: 'no-reader', namespace: ns.name }],
        },
      ] as unknown as k8s.KubernetesObject[],
      ns.name,
    );
    const refused = await waitFor(
      async () => {
        const r = await viaAggregator(metricPath('s0-x', 'so', '&watch=true'), { token });
        return deniedLines(saUser).length > 0 ? r : undefined;
      },
      { timeoutMs: 30_000, description: 'a watch through the aggregator reaching the adapter and refused there' },
    );
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toMatchObject({ kind: 'Status', code: 403, reason: 'Forbidden' });
    expect(deniedLines(saUser)[0]).toMatchObject({ user: saUser, resource: 's0-x', namespace: ns.name, verb: 'list' });
    expect(await decisions('denied')).toBeGreaterThan(deniedBefore);
  });

  it('directly with the front-proxy certificate: the adapter refuses identities without the reader binding (403) and allows the HPA controller (200)', async () => {
    const saUser = `system:serviceaccount:${ns.name}:stranger`;
    const cases: [user: string, groups: string[]][] = [
      [saUser, saGroups(ns.name)],
      ['eve', ['tenants', 'system:authenticated']],
    ];
    for (const [user, groups] of cases) {
      const before = await decisions('denied');
      const r = await viaFrontProxy(metricPath('s0-x', 'so'), user, groups);
      expect([user, r.status]).toEqual([user, 403]);
      expect(JSON.parse(r.body)).toMatchObject({ kind: 'Status', code: 403, reason: 'Forbidden' });
      expect(JSON.parse(r.body).message).toContain(`User "${user}" cannot list resource "s0-x"`);
      // The refusal is the adapter's own SubjectAccessReview: its counter and its log line say so.
      expect(await decisions('denied')).toBeGreaterThan(before);
      const logged = await waitFor(async () => deniedLines(user)[0], { timeoutMs: 5_000, description: `the adapter's log line refusing ${user}` });
      expect(logged).toMatchObject({ level: expect.anything(), user, groups, verb: 'list', group: 'external.metrics.k8s.io', resource: 's0-x', namespace: ns.name });
      // No credentials in it: no certificate, header or token material.
      expect(JSON.stringify(logged)).not.toMatch(/BEGIN|Bearer|X-Remote/i);
    }

    const allowedBefore = await decisions('allowed');
    const ok = await viaFrontProxy(metricPath('s0-x', 'so'), HPA_SA, saGroups('kube-system'));
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ kind: 'ExternalMetricValueList', items: [{ metricName: 's0-x', value: '4' }] });
    expect(await decisions('allowed')).toBeGreaterThan(allowedBefore);
  });
});
