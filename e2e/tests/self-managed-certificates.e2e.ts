/**
 * Self-managed certificates on the real control plane: the controller starts with no certificates,
 * creates the Secret with one leaf per component (its gRPC server, the adapter's gRPC client, the
 * adapter's and the webhook's HTTPS servers), writes them into the cert dir and patches the caBundle
 * of the webhook configuration (registered by URL on 127.0.0.1) and of the APIService (ExternalName
 * -> localhost). Each app finds its own pair in the dir. Then, with lifetimes of seconds, it renews
 * every leaf and rolls the CA over while the real HPA reads metrics through the aggregator: every
 * component reloads, and no request fails (asserted: zero non-200 answers of the adapter, zero
 * failed gRPC calls, zero HPA failure events, zero failed reads of our own).
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import * as os from 'node:os';
import * as path from 'node:path';
import { createTestPki } from '@keda-ts/certificates/testing';
import { adapterSpec, startApps, stopApps, type RunningApp } from '../src/local-system';
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
  registerValidatingWebhookByUrl,
  unregisterApiService,
  unregisterValidatingWebhook,
  useTestNamespace,
  waitFor,
} from '../src/testing';

const ns = useTestNamespace('certs');
const kc = kubeConfig();
const SERVICE = 'keda-metrics-apiserver';
const apiService = () => ({ group: 'external.metrics.k8s.io', version: 'v1beta1', namespace: ns.name, serviceName: SERVICE });
const webhookConfiguration = () => `keda-admission-${ns.name}`;

const sourceValue = 30;
const source = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ value: sourceValue }));
});
let apps: RunningApp[] = [];
let dir = '';
let certDir = '';
let adapterMetricsPort = 0;
let adapterSecurePort = 0;
let webhookServingPort = 0;
let releaseLock: (() => void) | undefined;

const core = () => kc.makeApiClient(k8s.CoreV1Api);
const readSecret = () => core().readNamespacedSecret({ name: 'kedaorg-certs', namespace: ns.name });
const pem = (s: k8s.V1Secret, key: string) => Buffer.from(s.data?.[key] ?? '', 'base64').toString('utf8');
const caBundleOf = (s: k8s.V1Secret) => s.data?.['ca.crt'];
/** The Secret keys of the four leaves (controller gRPC server, adapter gRPC client, adapter HTTPS, webhook HTTPS). */
const LEAF_CERTS = ['tls.crt', 'metrics-adapter-client.crt', 'metrics-adapter.crt', 'webhook.crt'];
const SECRET_KEYS = ['ca.crt', 'ca.key', ...LEAF_CERTS.flatMap((c) => [c, c.replace(/\.crt$/, '.key')])].sort();
const leafSerial = (s: k8s.V1Secret) => new X509Certificate(pem(s, 'tls.crt')).serialNumber;
/** Serial numbers of every leaf, one string per generation of the Secret. */
const leafSerials = (s: k8s.V1Secret) => LEAF_CERTS.map((c) => new X509Certificate(pem(s, c)).serialNumber);
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/** The subject CN of the certificate a TLS server on 127.0.0.1:`port` presents. */
function servedCommonName(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost' }, () => {
      const cn = socket.getPeerCertificate().subject?.CN;
      socket.end();
      resolve(Array.isArray(cn) ? cn[0] : (cn ?? ''));
    });
    socket.on('error', reject);
  });
}
const caCount = (s: k8s.V1Secret) => (pem(s, 'ca.crt').match(/BEGIN CERTIFICATE/g) ?? []).length;

async function scrape(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(`http://127.0.0.1:${port}/metrics`, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

/** Sum of a counter's series whose labels satisfy `match`. */
function sumCounter(text: string, name: string, match: (labels: string) => boolean): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`).exec(line);
    if (m && match(m[1])) sum += Number(m[2]);
  }
  return sum;
}

/**
 * Failures seen by the adapter: non-200 external metric requests and non-OK gRPC calls (and the
 * series, to tell why). A 404 / NotFound is left out: it is the controller's answer about a
 * ScaledObject it does not serve, after a good TLS exchange, and comes from HPAs that other test
 * files left in the cluster (kube-controller-manager polls every HPA through whichever adapter holds
 * the APIService). This test's own HPA is covered by its failure events and the reads below.
 */
async function adapterFailures(): Promise<{ requests: number; grpc: number; ok: number; series: string[] }> {
  const text = await scrape(adapterMetricsPort);
  const notFound = /code="(404|NotFound)"/;
  return {
    series: text.split('\n').filter((l) => /^(apiserver_request_total\{.*group="external.metrics.k8s.io"|keda_internal_metricsservice_grpc_client_handled_total)/.test(l) && !/code="(200|OK)"/.test(l) && !notFound.test(l)),
    requests: sumCounter(text, 'apiserver_request_total', (l) => /group="external.metrics.k8s.io"/.test(l) && !/code="200"/.test(l) && !notFound.test(l)),
    grpc: sumCounter(text, 'keda_internal_metricsservice_grpc_client_handled_total', (l) => !/grpc_code="OK"/.test(l) && !notFound.test(l)),
    ok: sumCounter(text, 'keda_internal_metricsservice_grpc_client_handled_total', (l) => /grpc_code="OK"/.test(l)),
  };
}

async function hpaMetricFailures(): Promise<number> {
  const events = await core().listNamespacedEvent({ namespace: ns.name });
  return events.items
    .filter((e) => e.involvedObject.kind === 'HorizontalPodAutoscaler' && /FailedGetExternalMetric|FailedComputeMetricsReplicas/.test(e.reason ?? ''))
    .reduce((n, e) => n + (e.count ?? 1), 0);
}

beforeAll(async () => {
  releaseLock = await acquireClusterLock(EXTERNAL_METRICS_API_LOCK);
  await new Promise<void>((r) => source.listen(0, '127.0.0.1', r));
  dir = mkdtempSync(path.join(os.tmpdir(), 'keda-ts-certs-'));
  certDir = path.join(dir, 'certs');
  const grpcPort = await freePort();
  const securePort = await freePort();
  const webhookPort = await freePort();
  adapterMetricsPort = await freePort();
  adapterSecurePort = securePort;
  webhookServingPort = webhookPort;

  // Registered before any certificate exists, with a CA that signed nothing we serve: the
  // controller must replace both caBundles for anything to work.
  const stranger = await createTestPki(['nobody.invalid'], { caName: 'stranger' });
  await kubectl(['label', 'namespace', ns.name, `keda-ts-e2e-certs=${ns.name}`]);
  await registerValidatingWebhookByUrl(kc, {
    configurationName: webhookConfiguration(),
    port: webhookPort,
    caPem: stranger.ca.certPem,
    failurePolicy: 'Fail',
    namespaceSelector: { matchLabels: { 'keda-ts-e2e-certs': ns.name } },
    webhooks: [
      {
        name: 'vscaledobject.kb.io',
        path: '/validate-keda-sh-v1alpha1-scaledobject',
        rules: [{ apiGroups: ['keda.sh'], apiVersions: ['v1alpha1'], resources: ['scaledobjects'] }],
      },
    ],
  });
  await registerApiServiceToLocalhost(kc, { ...apiService(), port: securePort, caPem: stranger.ca.certPem, waitAvailable: false });

  expect(existsSync(certDir)).toBe(false);
  apps = await startApps(
    readClusterInfo().kubeconfig,
    [
      {
        name: 'controller',
        args: [
          `--watch-namespace=${ns.name}`,
          `--metrics-service-bind-address=127.0.0.1:${grpcPort}`,
          `--metrics-bind-address=127.0.0.1:${await freePort()}`,
          `--cert-dir=${certDir}`,
          '--enable-cert-rotation',
          `--pod-namespace=${ns.name}`,
          '--cert-extra-hosts=localhost,127.0.0.1',
          `--validating-webhook-name=${webhookConfiguration()}`,
          // Seconds instead of years: the leaf renews every ~20 s, the CA rolls over ~80 s in.
          '--ca-validity=150s',
          '--ca-renew-before=70s',
          '--cert-validity=40s',
          '--cert-renew-before=20s',
          '--cert-rollover-delay=8s',
        ],
      },
      adapterSpec({ securePort, metricsPort: adapterMetricsPort, certDir: certDir, grpcPort, authority: `keda-operator.${ns.name}.svc` }),
      { name: 'webhook', args: [`--port=${webhookPort}`, `--cert-dir=${certDir}`, `--metrics-bind-address=127.0.0.1:${await freePort()}`] },
    ],
    dir,
  );
}, 180_000);

afterAll(async () => {
  await unregisterApiService(kc, apiService()).catch(() => undefined);
  await unregisterValidatingWebhook(kc, webhookConfiguration()).catch(() => undefined);
  await stopApps(apps);
  source.close();
  if (dir && process.env['KEDA_E2E_KEEP_STATE'] !== '1') rmSync(dir, { recursive: true, force: true });
  releaseLock?.();
}, 60_000);

describe('self-managed certificates', () => {
  it('creates the Secret and cert dir, patches both caBundles, and everything talks TLS', async () => {
    const secret = await readSecret();
    expect(Object.keys(secret.data ?? {}).sort()).toEqual(SECRET_KEYS);
    expect(secret.metadata?.labels).toMatchObject({ app: 'keda-operator', 'app.kubernetes.io/part-of': 'keda' });
    // One leaf per component, each with only its usage and its own names.
    const cert = (key: string) => new X509Certificate(pem(secret, key));
    expect(cert('tls.crt').subject).toBe('CN=keda-operator\nO=KEDAORG');
    expect(cert('tls.crt').keyUsage).toEqual([SERVER_AUTH]);
    expect(cert('tls.crt').subjectAltName).toContain(`DNS:keda-operator.${ns.name}.svc`);
    expect(cert('tls.crt').subjectAltName).not.toContain('keda-metrics-apiserver');
    expect(cert('tls.crt').subjectAltName).toContain('IP Address:127.0.0.1');
    expect(cert('metrics-adapter-client.crt').subject).toBe('CN=keda-metrics-adapter\nO=KEDAORG');
    expect(cert('metrics-adapter-client.crt').keyUsage).toEqual([CLIENT_AUTH]);
    expect(cert('metrics-adapter.crt').keyUsage).toEqual([SERVER_AUTH]);
    expect(cert('metrics-adapter.crt').subjectAltName).toContain(`DNS:keda-metrics-apiserver.${ns.name}.svc`);
    expect(cert('webhook.crt').keyUsage).toEqual([SERVER_AUTH]);
    expect(cert('webhook.crt').subjectAltName).toContain(`DNS:keda-admission-webhooks.${ns.name}.svc`);
    for (const key of SECRET_KEYS) expect(readFileSync(path.join(certDir, key), 'utf8')).toBe(pem(secret, key));
    // Each server presents its own certificate.
    expect(await servedCommonName(adapterSecurePort)).toBe('keda-metrics-apiserver');
    expect(await servedCommonName(webhookServingPort)).toBe('keda-admission-webhooks');

    const vwc = await kc.makeApiClient(k8s.AdmissionregistrationV1Api).readValidatingWebhookConfiguration({ name: webhookConfiguration() });
    await waitFor(
      async () => {
        const [v, a] = await Promise.all([
          kc.makeApiClient(k8s.AdmissionregistrationV1Api).readValidatingWebhookConfiguration({ name: webhookConfiguration() }),
          kc.makeApiClient(k8s.ApiregistrationV1Api).readAPIService({ name: 'v1beta1.external.metrics.k8s.io' }),
        ]);
        const want = caBundleOf(await readSecret());
        return v.webhooks?.every((w) => w.clientConfig.caBundle === want) && a.spec?.caBundle === want;
      },
      { timeoutMs: 30_000, description: `caBundles patched (webhook had ${vwc.webhooks?.[0]?.clientConfig.caBundle?.slice(0, 12)}...)` },
    );
    await waitFor(
      async () => {
        const a = await kc.makeApiClient(k8s.ApiregistrationV1Api).readAPIService({ name: 'v1beta1.external.metrics.k8s.io' });
        return a.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True');
      },
      { timeoutMs: 60_000, description: 'APIService Available with the generated caBundle' },
    );

    // The webhook answers over TLS with the generated certificate: a bad ScaledObject is refused.
    await apply(kc, deploymentManifest('web', 1), ns.name);
    await expect(
      apply(
        kc,
        {
          apiVersion: 'keda.sh/v1alpha1',
          kind: 'ScaledObject',
          // Only the webhook checks this (the API server allows 253 characters).
          metadata: { name: 'n'.repeat(64) },
          spec: { scaleTargetRef: { name: 'web' }, triggers: [{ type: 'cron', metadata: { timezone: 'UTC', start: '0 * * * *', end: '1 * * * *', desiredReplicas: '1' } }] },
        } as k8s.KubernetesObject,
        ns.name,
      ),
    ).rejects.toThrow(/64 characters long but must be at most 63/);
  }, 120_000);

  it('renews the serving certificate and rolls the CA over while the HPA reads metrics, with no failed request', async () => {
    await apply(
      kc,
      {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'ScaledObject',
        metadata: { name: 'web' },
        spec: {
          scaleTargetRef: { name: 'web' },
          pollingInterval: 1,
          minReplicaCount: 1,
          maxReplicaCount: 10,
          triggers: [{ type: 'metrics-api', metadata: { url: `http://127.0.0.1:${(source.address() as AddressInfo).port}/`, valueLocation: 'value', targetValue: '10' } }],
        },
      } as k8s.KubernetesObject,
      ns.name,
    );
    const replicas = async () => (await kc.makeApiClient(k8s.AppsV1Api).readNamespacedDeployment({ name: 'web', namespace: ns.name })).spec?.replicas;
    await waitFor(async () => (await replicas()) === 3, { timeoutMs: 90_000, description: 'the HPA scaled web to 3 through the aggregator' });

    // Steady state reached: from here on nothing may fail.
    const baseline = { adapter: await adapterFailures(), hpa: await hpaMetricFailures() };
    const first = await readSecret();
    const serials = new Set([leafSerial(first)]);
    // Every leaf renews, not just the controller's.
    const allSerials = LEAF_CERTS.map((_, i) => new Set([leafSerials(first)[i]]));
    const cas = new Set([caBundleOf(first)]);
    let sawTwoCas = false;
    let rawFailures = 0;
    let rawReads = 0;
    const selector = encodeURIComponent('scaledobject.keda.sh/name=web');
    const deadline = Date.now() + 150_000;
    // Until the CA rolled over (two CAs in ca.crt, then a leaf of the new one) and two leaf renewals happened.
    while (Date.now() < deadline) {
      const s = await readSecret();
      serials.add(leafSerial(s));
      leafSerials(s).forEach((serial, i) => allSerials[i].add(serial));
      cas.add(caBundleOf(s));
      if (caCount(s) === 2) sawTwoCas = true;
      // Our own reads through the aggregator as well (new connections each time).
      rawReads++;
      await kubectl(['get', '--raw', `/apis/external.metrics.k8s.io/v1beta1/namespaces/${ns.name}/s0-metric-api-value?labelSelector=${selector}`]).catch(() => rawFailures++);
      // Every leaf signed by the head of ca.crt (the new CA; both CAs have the same subject, so verify the signature).
      const head = new X509Certificate(pem(s, 'ca.crt').split(/(?<=-----END CERTIFICATE-----\n)/)[0]).publicKey;
      const rolledOver = sawTwoCas && LEAF_CERTS.every((c) => new X509Certificate(pem(s, c)).verify(head));
      if (rolledOver && serials.size >= 4) break;
      await new Promise((r) => setTimeout(r, 1_000));
    }
    expect(sawTwoCas).toBe(true);
    expect(serials.size).toBeGreaterThanOrEqual(4);
    // Everyone follows: the files in the cert dir are the Secret's, the caBundles too.
    const last = await readSecret();
    await waitFor(
      async () => {
        const a = await kc.makeApiClient(k8s.ApiregistrationV1Api).readAPIService({ name: 'v1beta1.external.metrics.k8s.io' });
        return a.spec?.caBundle === caBundleOf(await readSecret()) ? a : undefined;
      },
      { timeoutMs: 30_000, description: 'APIService caBundle follows the rotation' },
    );
    const now = await readSecret();
    for (const key of SECRET_KEYS) expect(readFileSync(path.join(certDir, key), 'utf8')).toBe(pem(now, key));
    expect(cas.size).toBeGreaterThanOrEqual(2);
    for (const set of allSerials) expect(set.size).toBeGreaterThanOrEqual(4);

    const after = { adapter: await adapterFailures(), hpa: await hpaMetricFailures() };
    expect(rawFailures).toBe(0);
    expect(rawReads).toBeGreaterThan(20);
    expect(after.hpa - baseline.hpa).toBe(0);
    // The adapter's own answers and its gRPC calls to the controller: none failed through the renewals
    // and the CA rollover (the series are printed to tell why if any did).
    const adapterNon200 = after.adapter.requests - baseline.adapter.requests;
    const grpcFailures = after.adapter.grpc - baseline.adapter.grpc;
    const grpcOk = after.adapter.ok - baseline.adapter.ok;
    process.stderr.write(
      `[self-managed-certificates] through ${serials.size - 1} renewals and the CA rollover: ${grpcOk} gRPC calls OK, ${grpcFailures} failed; ${adapterNon200} non-200 metric answers; ${after.hpa - baseline.hpa} HPA failure events; ${rawReads} own reads, ${rawFailures} failed\n`,
    );
    expect({ adapterNon200, grpcFailures, series: adapterNon200 || grpcFailures ? after.adapter.series : [] }).toEqual({ adapterNon200: 0, grpcFailures: 0, series: [] });
    // The HPA kept asking (every 2 s) and got answers all along.
    expect(after.adapter.ok - baseline.adapter.ok).toBeGreaterThan(30);
    expect(await replicas()).toBe(3);
    expect(leafSerial(last)).toBeDefined();
  }, 240_000);
});
