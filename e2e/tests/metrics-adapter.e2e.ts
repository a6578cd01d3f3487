/**
 * The metrics adapter as the API server's aggregation layer and the real HPA controller use it:
 * the built adapter bundle on 127.0.0.1, a fake controller gRPC metrics service (mutual TLS) whose
 * values the test sets, and the APIService v1beta1.external.metrics.k8s.io registered through an
 * ExternalName Service -> localhost.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  createMetricsServer,
  noMatchingMetricsError,
  scaledObjectNotFoundError,
  type MetricsServer,
  type MetricsServiceLogger,
} from '@keda-ts/metrics-service';
import { writeCertDir, type CertDir } from '../src/certs';
import { adapterSpec, startApps, stopApps, type RunningApp } from '../src/local-system';
import { issueCert } from '../src/pki';
import { freePort, probeOnce } from '../src/processes';
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

const ns = useTestNamespace('madapter');
const kc = kubeConfig();
const SERVICE = 'keda-metrics-apiserver';
const GV = 'external.metrics.k8s.io/v1beta1';
const silent: MetricsServiceLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/** What the fake controller answers: `<namespace>/<scaledObject>/<metric>` → value. */
const values = new Map<string, number>();
let dir: string;
let certs: CertDir;
let grpcPort: number;
let grpc: MetricsServer | undefined;
let securePort: number;
let promPort: number;
let adapter: RunningApp[] = [];
let registered = false;
let releaseLock: (() => void) | undefined;

function startFakeController(): Promise<number> {
  grpc = createMetricsServer({
    provider: {
      async getMetrics(ref) {
        const prefix = `${ref.namespace}/${ref.name}/`;
        if (![...values.keys()].some((k) => k.startsWith(prefix))) throw scaledObjectNotFoundError(ref.name);
        const v = values.get(prefix + ref.metricName);
        if (v === undefined) throw noMatchingMetricsError(ref.metricName);
        return [
          {
            metricName: ref.metricName,
            metricLabels: { scaledobject: ref.name },
            timestamp: new Date(),
            value: v,
          },
        ];
      },
    },
    tls: { certDir: certs.dir },
    bindAddress: '127.0.0.1',
    port: grpcPort,
    logger: silent,
  });
  return grpc.start();
}

const metricPath = (metric: string, selector?: string) =>
  `/apis/${GV}/namespaces/${ns.name}/${metric}${selector === undefined ? '' : `?labelSelector=${encodeURIComponent(selector)}`}`;

let rawClient: Promise<{ server: string; opts: https.RequestOptions }> | undefined;

/** `kubectl get --raw` through the aggregator; resolves with the parsed body or the Status of an error. */
async function raw(p: string): Promise<{ ok: boolean; body: Record<string, unknown> }> {
  rawClient ??= (async () => {
    const client = new k8s.KubeConfig();
    client.loadFromFile(readClusterInfo().kubeconfig);
    const base: https.RequestOptions = {};
    await client.applyToHTTPSOptions(base);
    const tls = (base.agent as https.Agent & { options: https.AgentOptions }).options;
    // One keep-alive connection pool, as the HPA controller has.
    return {
      server: client.getCurrentCluster()!.server,
      opts: { ...base, agent: new https.Agent({ ...tls, keepAlive: true }) },
    };
  })();
  const { server, opts } = await rawClient;
  const url = new URL(server + p);
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      { ...opts, method: 'GET', headers: { Accept: 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          try {
            resolve({ ok: (res.statusCode ?? 0) < 300, body: JSON.parse(text) as Record<string, unknown> });
          } catch {
            reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 300)}`));
          }
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** A direct HTTPS call to the adapter (not through the aggregator), with an optional client cert. */
function direct(p: string, cert?: { cert: string; key: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: securePort,
        path: p,
        method: 'GET',
        ca: certs.caPem,
        servername: 'localhost',
        ...(cert ?? {}),
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  releaseLock = await acquireClusterLock(EXTERNAL_METRICS_API_LOCK);
  dir = mkdtempSync(path.join(os.tmpdir(), 'keda-ts-madapter-'));
  certs = await writeCertDir(path.join(dir, 'certs'), [`${SERVICE}.${ns.name}.svc`]);
  grpcPort = await freePort();
  await startFakeController();
  securePort = await freePort();
  promPort = await freePort();
  adapter = await startApps(
    readClusterInfo().kubeconfig,
    [
      adapterSpec({ securePort, metricsPort: promPort, certDir: certs.dir, grpcPort, authority: 'keda-operator.keda.svc', extraArgs: ['--log-level=debug'] }),
    ],
    dir,
  );
  await registerApiServiceToLocalhost(kc, {
    group: 'external.metrics.k8s.io',
    version: 'v1beta1',
    namespace: ns.name,
    serviceName: SERVICE,
    port: securePort,
    caPem: certs.caPem,
  });
  registered = true;
}, 180_000);

afterAll(async () => {
  // The APIService first: while it is unavailable, namespace deletion blocks on discovery.
  if (registered)
    await unregisterApiService(kc, {
      group: 'external.metrics.k8s.io',
      version: 'v1beta1',
      namespace: ns.name,
      serviceName: SERVICE,
    });
  await stopApps(adapter);
  ((await rawClient)?.opts.agent as https.Agent | undefined)?.destroy();
  await grpc?.stop();
  if (process.env['KEDA_E2E_KEEP_STATE'] !== '1') rmSync(dir, { recursive: true, force: true });
  releaseLock?.();
}, 60_000);

describe('metrics adapter through the aggregation layer', () => {
  it('serves discovery: kubectl get --raw /apis/external.metrics.k8s.io/v1beta1', async () => {
    const list = JSON.parse(await kubectl(['get', '--raw', `/apis/${GV}`])) as {
      kind: string;
      resources: unknown[];
    };
    expect(list.kind).toBe('APIResourceList');
    expect(list.resources).toEqual([
      expect.objectContaining({
        name: 'externalmetrics',
        namespaced: true,
        kind: 'ExternalMetricValueList',
        verbs: ['get'],
      }),
    ]);
    const groups = await kubectl(['api-versions']);
    expect(groups.split('\n')).toContain(GV);
  });

  it('returns the value the controller reports, and measures the latency through the aggregator', async () => {
    values.set(`${ns.name}/so/s0-x`, 1.5);
    const out = JSON.parse(
      await kubectl(['get', '--raw', metricPath('s0-x', 'scaledobject.keda.sh/name=so')]),
    ) as {
      kind: string;
      apiVersion: string;
      items: { metricName: string; metricLabels: Record<string, string>; timestamp: string; value: string }[];
    };
    expect(out.kind).toBe('ExternalMetricValueList');
    expect(out.apiVersion).toBe(GV);
    expect(out.items).toHaveLength(1);
    expect(out.items[0]).toMatchObject({
      metricName: 's0-x',
      metricLabels: { scaledobject: 'so' },
      value: '1500m',
    });
    expect(out.items[0].timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const samples: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = process.hrtime.bigint();
      const r = await raw(metricPath('s0-x', 'scaledobject.keda.sh/name=so'));
      samples.push(Number(process.hrtime.bigint() - t) / 1e6);
      expect(r.ok).toBe(true);
    }
    samples.sort((a, b) => a - b);
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    const p = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
    console.log(
      `latency through the aggregator (200 sequential GETs, admin): mean ${mean.toFixed(2)} ms, p50 ${p(0.5).toFixed(2)} ms, p99 ${p(0.99).toFixed(2)} ms, max ${p(1).toFixed(2)} ms`,
    );
    expect(p(0.99)).toBeLessThan(250);
  });

  it('answers errors as Status objects: 400 without the ScaledObject, 404 for unknown ones', async () => {
    const noSelector = await raw(metricPath('s0-x'));
    expect(noSelector.body).toMatchObject({
      kind: 'Status',
      code: 400,
      reason: 'BadRequest',
      message: 'scaledObject name is not specified',
    });
    const otherLabel = await raw(metricPath('s0-x', 'app=x'));
    expect(otherLabel.body).toMatchObject({ code: 400, message: 'scaledObject name is not specified' });
    const unknownSo = await raw(metricPath('s0-x', 'scaledobject.keda.sh/name=nope'));
    expect(unknownSo.body).toMatchObject({
      kind: 'Status',
      code: 404,
      reason: 'NotFound',
      message: 'scaledobjects.keda.sh "nope" not found',
    });
    const unknownMetric = await raw(metricPath('s9-y', 'scaledobject.keda.sh/name=so'));
    expect(unknownMetric.body).toMatchObject({ code: 404, message: 'no matching metrics found for s9-y' });
  });

  it('refuses a request without the front-proxy certificate (401) and a user without RBAC (403)', async () => {
    const anonymous = await direct(metricPath('s0-x', 'scaledobject.keda.sh/name=so'));
    expect(anonymous.status).toBe(401);
    expect(JSON.parse(anonymous.body)).toMatchObject({ kind: 'Status', code: 401, reason: 'Unauthorized' });
    expect((await direct('/apis')).status).toBe(401);
    // Health needs no credentials.
    expect((await direct('/healthz')).status).toBe(200);
    expect((await direct('/livez')).status).toBe(200);
    expect((await direct('/readyz')).status).toBe(200);

    // A user of the cluster CA without any role: authenticated by the aggregator, denied by the SAR.
    const pki = readClusterInfo().pki;
    const userDir = path.join(dir, 'user');
    mkdirSync(userDir, { recursive: true });
    copyFileSync(pki.caCert, path.join(userDir, 'ca.crt'));
    copyFileSync(pki.caKey, path.join(userDir, 'ca.key'));
    await issueCert(userDir, 'ca', 'alice', '/O=team-a/CN=alice', 'client');
    const server = new URL(readClusterInfo().server);
    const asAlice = (p: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = https.request(
          {
            host: server.hostname,
            port: server.port,
            path: p,
            ca: readFileSync(pki.caCert),
            cert: readFileSync(path.join(userDir, 'alice.crt')),
            key: readFileSync(path.join(userDir, 'alice.key')),
          },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          },
        );
        req.on('error', reject);
        req.end();
      });
    const denied = await asAlice(metricPath('s0-x', 'scaledobject.keda.sh/name=so'));
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.body)).toMatchObject({ kind: 'Status', code: 403, reason: 'Forbidden' });
    expect(denied.body).toContain('alice');

    // With a role that allows reading external metrics in the namespace, the same user gets the value.
    await apply(
      kc,
      [
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'Role',
          metadata: { name: 'metrics-reader' },
          rules: [{ apiGroups: ['external.metrics.k8s.io'], resources: ['*'], verbs: ['get', 'list'] }],
        },
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'alice-metrics' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'metrics-reader' },
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
        },
      ] as unknown as k8s.KubernetesObject[],
      ns.name,
    );
    // The adapter caches the denial for 10 s.
    await waitFor(
      async () =>
        (await asAlice(metricPath('s0-x', 'scaledobject.keda.sh/name=so'))).status === 200 || undefined,
      {
        timeoutMs: 30_000,
        description: 'alice allowed after the RoleBinding',
      },
    );
  });

  it('drives the real HPA controller: a Deployment scales up and down with the reported value', async () => {
    values.set(`${ns.name}/web/s0-x`, 10);
    await apply(kc, deploymentManifest('web', 1), ns.name);
    await apply(kc, externalMetricHpaManifest('web', { metricName: 's0-x', maxReplicas: 10 }), ns.name);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const autoscaling = kc.makeApiClient(k8s.AutoscalingV2Api);
    const replicas = async () =>
      (await apps.readNamespacedDeployment({ name: 'web', namespace: ns.name })).spec?.replicas;
    await waitFor(async () => ((await replicas()) === 5 ? true : undefined), {
      timeoutMs: 60_000,
      description: 'web scaled to 5 (10 / 2)',
    });
    // The HPA's status shows the external metric (10 over 5 replicas = 2 per replica).
    const current = await waitFor(
      async () => {
        const hpa = await autoscaling.readNamespacedHorizontalPodAutoscaler({
          name: 'web',
          namespace: ns.name,
        });
        const m = hpa.status?.currentMetrics?.find((x) => x.type === 'External');
        return m?.external?.current.averageValue === '2' ? m : undefined;
      },
      { timeoutMs: 30_000, description: 'HPA status with s0-x at 2 per replica' },
    );
    expect(current.external?.metric.name).toBe('s0-x');

    values.set(`${ns.name}/web/s0-x`, 50);
    await waitFor(async () => ((await replicas()) === 10 ? true : undefined), {
      timeoutMs: 90_000,
      description: 'web scaled to 10 (max)',
    });
    values.set(`${ns.name}/web/s0-x`, 3);
    await waitFor(async () => ((await replicas()) === 2 ? true : undefined), {
      timeoutMs: 60_000,
      description: 'web scaled down to 2 (3 / 2)',
    });
  });

  it('answers 503 naming the controller while it is down, and reconnects when it is back', async () => {
    values.set(`${ns.name}/so/s0-x`, 4);
    await grpc!.stop();
    grpc = undefined;
    const down = await raw(metricPath('s0-x', 'scaledobject.keda.sh/name=so'));
    expect(down.body).toMatchObject({ kind: 'Status', code: 503, reason: 'ServiceUnavailable' });
    expect(String(down.body['message'])).toContain(`127.0.0.1:${grpcPort}`);
    const readyz = await direct('/readyz?verbose');
    expect(readyz.status).toBe(503);
    expect(readyz.body).toContain(`127.0.0.1:${grpcPort}`);
    expect(await probeOnce({ url: `http://127.0.0.1:${adapter[0].healthPort}/readyz` })).toBe(503);

    await startFakeController();
    const back = await waitFor(
      async () => {
        const r = await raw(metricPath('s0-x', 'scaledobject.keda.sh/name=so'));
        return r.ok ? r : undefined;
      },
      { timeoutMs: 60_000, description: 'values flow again after the controller restart' },
    );
    expect((back.body['items'] as { value: string }[])[0].value).toBe('4');
    await waitFor(
      async () =>
        (await probeOnce({ url: `http://127.0.0.1:${adapter[0].healthPort}/readyz` })) === 200
          ? true
          : undefined,
      {
        timeoutMs: 30_000,
        description: 'adapter ready again',
      },
    );
  });

  it('exports Prometheus metrics for requests and gRPC calls', async () => {
    const text = await new Promise<string>((resolve, reject) => {
      const req = http.get(`http://127.0.0.1:${promPort}/metrics`, (res) => {
        let t = '';
        res.on('data', (c: Buffer) => (t += c.toString()));
        res.on('end', () => resolve(t));
      });
      req.on('error', reject);
    });
    expect(text).toMatch(
      /keda_internal_metricsservice_grpc_client_handled_total\{[^}]*grpc_code="OK"[^}]*\} \d+/,
    );
    expect(text).toMatch(
      /keda_internal_metricsservice_grpc_client_handled_total\{[^}]*grpc_code="(Unavailable|DeadlineExceeded)"/,
    );
    expect(text).toContain('keda_internal_metricsservice_grpc_client_handling_seconds_bucket');
    expect(text).toMatch(/apiserver_request_total\{[^}]*code="200"/);
    expect(text).toContain('apiserver_request_duration_seconds_bucket');
  });
});
