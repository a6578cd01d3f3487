/**
 * KEDA's Prometheus metrics, scraped from each component's /metrics while a ScaledObject with a
 * metrics-api trigger runs on the real control plane: names, labels and values as KEDA has them.
 * Also the Event a ScaledObject gets when its scale target's kind maps to no resource.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeCertDir } from '../src/certs';
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

const ns = useTestNamespace('prom');
const kc = kubeConfig();
const eventsApi = kc.makeApiClient(k8s.EventsV1Api);
const SERVICE = 'keda-metrics-apiserver';
const apiService = () => ({ group: 'external.metrics.k8s.io', version: 'v1beta1', namespace: ns.name, serviceName: SERVICE });
const webhookConfiguration = () => `keda-admission-${ns.name}`;

let sourceValue = 45;
let sourceFails = false;
/** The source closes each connection without an answer: a transport error for the scaler. */
let sourceResets = false;
const source = http.createServer((req, res) => {
  if (sourceResets) {
    req.socket.destroy();
    return;
  }
  if (sourceFails) {
    res.writeHead(500).end('down');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ value: sourceValue }));
});
let apps: RunningApp[] = [];
let dir = '';
const ports = { controller: 0, adapter: 0, webhook: 0 };
let releaseLock: (() => void) | undefined;
let registered = false;

function scrape(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(`http://127.0.0.1:${port}/metrics`, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`/metrics answered ${res.statusCode}`))));
      })
      .on('error', reject);
  });
}

/** Scrapes the controller's /metrics until `accept` holds for the text; returns that text. */
function scrapeUntil(accept: (text: string) => boolean, description: string, timeoutMs = 30_000): Promise<string> {
  return waitFor(
    async () => {
      const text = await scrape(ports.controller);
      return accept(text) ? text : undefined;
    },
    { timeoutMs, description },
  );
}

/** The value of the series of `name` whose labels are exactly `labels`; undefined when absent. */
function valueOf(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    const keys = Object.keys(labels);
    if (Object.keys(got).length === keys.length && keys.every((k) => got[k] === labels[k])) return Number(m[3]);
  }
  return undefined;
}

beforeAll(async () => {
  releaseLock = await acquireClusterLock(EXTERNAL_METRICS_API_LOCK);
  await new Promise<void>((r) => source.listen(0, '127.0.0.1', r));
  dir = mkdtempSync(path.join(os.tmpdir(), 'keda-ts-prom-'));
  const certs = await writeCertDir(path.join(dir, 'certs'), [`${SERVICE}.${ns.name}.svc`]);
  const grpcPort = await freePort();
  const securePort = await freePort();
  const webhookPort = await freePort();
  ports.controller = await freePort();
  ports.adapter = await freePort();
  ports.webhook = await freePort();
  await kubectl(['label', 'namespace', ns.name, `keda-ts-e2e-prom=${ns.name}`]);
  apps = await startApps(
    readClusterInfo().kubeconfig,
    [
      {
        name: 'controller',
        args: [
          `--watch-namespace=${ns.name}`,
          `--metrics-service-bind-address=127.0.0.1:${grpcPort}`,
          `--cert-dir=${certs.dir}`,
          `--metrics-bind-address=127.0.0.1:${ports.controller}`,
        ],
      },
      adapterSpec({ securePort, metricsPort: ports.adapter, certDir: certs.dir, grpcPort, authority: 'keda-operator.keda.svc' }),
      { name: 'webhook', args: [`--port=${webhookPort}`, `--cert-dir=${certs.dir}`, `--metrics-bind-address=127.0.0.1:${ports.webhook}`] },
    ],
    dir,
  );
  await registerValidatingWebhookByUrl(kc, {
    configurationName: webhookConfiguration(),
    port: webhookPort,
    caPem: certs.caPem,
    failurePolicy: 'Fail',
    namespaceSelector: { matchLabels: { 'keda-ts-e2e-prom': ns.name } },
    webhooks: [
      {
        name: 'vscaledobject.kb.io',
        path: '/validate-keda-sh-v1alpha1-scaledobject',
        rules: [{ apiGroups: ['keda.sh'], apiVersions: ['v1alpha1'], resources: ['scaledobjects'] }],
      },
    ],
  });
  await registerApiServiceToLocalhost(kc, { ...apiService(), port: securePort, caPem: certs.caPem });
  registered = true;
}, 180_000);

afterAll(async () => {
  if (registered) await unregisterApiService(kc, apiService());
  await unregisterValidatingWebhook(kc, webhookConfiguration()).catch(() => undefined);
  await stopApps(apps);
  source.close();
  if (dir && process.env['KEDA_E2E_KEEP_STATE'] !== '1') rmSync(dir, { recursive: true, force: true });
  releaseLock?.();
}, 60_000);

const scaler = () => ({ namespace: ns.name, metric: 's0-metric-api-value', scaledObject: 'web', scaler: 'metricsAPIScaler', triggerIndex: '0', type: 'scaledobject' });
/** The labels of keda_scaler_http_requests_total for the metrics-api trigger of `web` (it has no name). */
const httpRequest = (status_code: string) => ({ namespace: ns.name, scaled_resource: 'web', scaler: 'metricsAPIScaler', trigger_name: '', metric_name: 's0-metric-api-value', status_code });

describe('Prometheus metrics of every component', () => {
  it("the controller's keda_* series for a running ScaledObject, then its errors", async () => {
    await apply(kc, deploymentManifest('web', 1), ns.name);
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
    const text = await scrapeUntil((t) => valueOf(t, 'keda_scaler_metrics_value', scaler()) === 45, 'keda_scaler_metrics_value 45 for web', 60_000);
    expect(valueOf(text, 'keda_scaler_active', scaler())).toBe(1);
    expect(valueOf(text, 'keda_scaler_detail_errors_total', scaler())).toBe(0);
    const latency = valueOf(text, 'keda_scaler_metrics_latency_seconds', scaler());
    expect(latency).toBeGreaterThan(0);
    expect(latency).toBeLessThan(5);
    const loop = valueOf(text, 'keda_internal_scale_loop_latency_seconds', { namespace: ns.name, type: 'scaledobject', resource: 'web' });
    expect(loop).toBeGreaterThanOrEqual(0);
    expect(loop).toBeLessThan(5);
    expect(valueOf(text, 'keda_resource_registered_total', { type: 'scaled_object', namespace: ns.name })).toBe(1);
    expect(valueOf(text, 'keda_trigger_registered_total', { type: 'metrics-api' })).toBe(1);
    expect(valueOf(text, 'keda_scaled_object_paused', { namespace: ns.name, scaledObject: 'web' })).toBe(0);
    expect(text).toMatch(/^keda_build_info\{version="[^"]+",git_commit="[^"]*",goversion="v\d+[^"]*",goos="linux",goarch="[^"]+"\} 1$/m);
    expect(text).toContain('# TYPE keda_scaled_job_errors_total counter');
    expect(text).toContain('# TYPE keda_scaler_metrics_value gauge');

    // Every poll is an outbound HTTP request: counted per object and trigger, timed per scaler and status.
    expect(valueOf(text, 'keda_scaler_http_requests_total', httpRequest('200'))).toBeGreaterThanOrEqual(1);
    expect(valueOf(text, 'keda_scaler_http_request_duration_seconds_count', { scaler: 'metricsAPIScaler', status_code: '200' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(text, 'keda_scaler_http_request_duration_seconds_bucket', { scaler: 'metricsAPIScaler', status_code: '200', le: '10' })).toBeGreaterThanOrEqual(1);
    expect(text).toContain('# TYPE keda_scaler_empty_upstream_responses_total counter');

    // The value follows the source; inactive below the activation target (0 by default).
    sourceValue = 0;
    await scrapeUntil((t) => valueOf(t, 'keda_scaler_active', scaler()) === 0, 'keda_scaler_active 0');

    // A failing source: per-scaler and per-ScaledObject error counters move.
    sourceFails = true;
    const failing = await scrapeUntil((t) => (valueOf(t, 'keda_scaler_detail_errors_total', scaler()) ?? 0) >= 2, 'keda_scaler_detail_errors_total >= 2');
    expect(valueOf(failing, 'keda_scaled_object_errors_total', { namespace: ns.name, scaledObject: 'web' })).toBeGreaterThanOrEqual(2);
    expect(valueOf(failing, 'keda_scaler_http_requests_total', httpRequest('500'))).toBeGreaterThanOrEqual(1);
    sourceFails = false;
    // No response at all: status_code="error".
    sourceResets = true;
    try {
      await scrapeUntil((t) => (valueOf(t, 'keda_scaler_http_requests_total', httpRequest('error')) ?? 0) >= 1, 'keda_scaler_http_requests_total{status_code="error"} >= 1');
    } finally {
      sourceResets = false;
    }
    sourceValue = 45;

    // Pausing shows in keda_scaled_object_paused.
    await kubectl(['annotate', '-n', ns.name, 'scaledobject', 'web', 'autoscaling.keda.sh/paused=true']);
    await scrapeUntil((t) => valueOf(t, 'keda_scaled_object_paused', { namespace: ns.name, scaledObject: 'web' }) === 1, 'keda_scaled_object_paused 1');
    await kubectl(['annotate', '-n', ns.name, 'scaledobject', 'web', 'autoscaling.keda.sh/paused-']);
  }, 180_000);

  it("a ScaledJob's scaler series, registration and errors", async () => {
    const job = (labels: Record<string, string> = {}) => ({ namespace: ns.name, metric: 's0-metric-api-value', scaledObject: 'jobs', scaler: 'metricsAPIScaler', triggerIndex: '0', type: 'scaledjob', ...labels });
    await apply(
      kc,
      {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'ScaledJob',
        metadata: { name: 'jobs' },
        spec: {
          jobTargetRef: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'w', image: 'busybox' }] } } },
          pollingInterval: 1,
          maxReplicaCount: 1,
          triggers: [{ type: 'metrics-api', metadata: { url: `http://127.0.0.1:${(source.address() as AddressInfo).port}/`, valueLocation: 'value', targetValue: '10' } }],
        },
      } as k8s.KubernetesObject,
      ns.name,
    );
    const text = await scrapeUntil((t) => valueOf(t, 'keda_scaler_metrics_value', job()) === 45, 'keda_scaler_metrics_value 45 for the ScaledJob', 60_000);
    expect(valueOf(text, 'keda_resource_registered_total', { type: 'scaled_job', namespace: ns.name })).toBe(1);
    expect(valueOf(text, 'keda_internal_scale_loop_latency_seconds', { namespace: ns.name, type: 'scaledjob', resource: 'jobs' })).toBeLessThan(5);
    sourceFails = true;
    try {
      await scrapeUntil((t) => (valueOf(t, 'keda_scaled_job_errors_total', { namespace: ns.name, scaledJob: 'jobs' }) ?? 0) >= 2, 'keda_scaled_job_errors_total >= 2');
    } finally {
      sourceFails = false;
    }
    await kubectl(['delete', '-n', ns.name, 'scaledjob', 'jobs', '--wait=true']);
    await scrapeUntil(
      (t) => valueOf(t, 'keda_resource_registered_total', { type: 'scaled_job', namespace: ns.name }) === 0 && valueOf(t, 'keda_scaler_metrics_value', job()) === undefined,
      "the ScaledJob's series gone after its deletion",
    );
  }, 120_000);

  it("the adapter's request and gRPC client series after a metric read through the aggregator", async () => {
    await scrapeUntil((t) => valueOf(t, 'keda_scaler_metrics_value', scaler()) === 45, 'source back at 45');
    const selector = encodeURIComponent('scaledobject.keda.sh/name=web');
    const raw = JSON.parse(
      await kubectl(['get', '--raw', `/apis/external.metrics.k8s.io/v1beta1/namespaces/${ns.name}/s0-metric-api-value?labelSelector=${selector}`]),
    ) as { items: { value: string }[] };
    expect(raw.items[0].value).toBe('45');
    const text = await scrape(ports.adapter);
    const grpc = { grpc_type: 'unary', grpc_service: 'api.MetricsService', grpc_method: 'GetMetrics' };
    expect(valueOf(text, 'keda_internal_metricsservice_grpc_client_handled_total', { ...grpc, grpc_code: 'OK' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(text, 'keda_internal_metricsservice_grpc_client_started_total', grpc)).toBeGreaterThanOrEqual(1);
    // The controller's side of the same call.
    const controller = await scrape(ports.controller);
    expect(valueOf(controller, 'keda_internal_metricsservice_grpc_server_started_total', grpc)).toBeGreaterThanOrEqual(1);
    expect(valueOf(controller, 'keda_internal_metricsservice_grpc_server_msg_received_total', grpc)).toBeGreaterThanOrEqual(1);
    expect(valueOf(controller, 'keda_internal_metricsservice_grpc_server_msg_sent_total', grpc)).toBeGreaterThanOrEqual(1);
    expect(valueOf(controller, 'keda_internal_metricsservice_grpc_server_handled_total', { ...grpc, grpc_code: 'OK' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(controller, 'keda_internal_metricsservice_grpc_server_handling_seconds_count', grpc)).toBeGreaterThanOrEqual(1);
    expect(valueOf(controller, 'keda_internal_metricsservice_grpc_server_handling_seconds_bucket', { ...grpc, le: '120' })).toBeGreaterThanOrEqual(1);
    expect(
      valueOf(text, 'apiserver_request_total', {
        verb: 'GET',
        group: 'external.metrics.k8s.io',
        version: 'v1beta1',
        // One series for all metric names unless --enable-high-cardinality-metrics-labels.
        resource: '*',
        scope: 'namespace',
        component: 'apiserver',
        code: '200',
      }),
    ).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('a scale target kind that maps to no resource: the Event ScaledObjectUpdateFailed', async () => {
    await apply(
      kc,
      {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'ScaledObject',
        metadata: { name: 'lost' },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Nothing', name: 'x' },
          triggers: [{ type: 'cron', metadata: { timezone: 'UTC', start: '0 * * * *', end: '1 * * * *', desiredReplicas: '1' } }],
        },
      } as k8s.KubernetesObject,
      ns.name,
    );
    let seen: string[] = [];
    const event = await waitFor(
      async () => {
        const events = (await eventsApi.listNamespacedEvent({ namespace: ns.name })).items.filter((e) => e.regarding?.kind === 'ScaledObject' && e.regarding?.name === 'lost');
        seen = events.map((e) => e.reason ?? '');
        return events.find((e) => e.reason === 'ScaledObjectUpdateFailed');
      },
      { description: () => `event ScaledObjectUpdateFailed of lost; seen ${JSON.stringify(seen)}`, timeoutMs: 30_000 },
    );
    expect(event.type).toBe('Warning');
    expect(event.note).toMatch(/failed to resolve the scale target's kind: .*Nothing/);
    await kubectl(['delete', '-n', ns.name, 'scaledobject', 'lost', '--wait=false']);
  }, 60_000);

  it("the webhook's validation counters", async () => {
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
    const text = await scrape(ports.webhook);
    expect(valueOf(text, 'keda_webhook_scaled_object_validations_total', { namespace: ns.name, action: 'create' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(text, 'keda_webhook_scaled_object_validation_errors_total', { namespace: ns.name, action: 'create', reason: 'name-too-long' })).toBe(1);
  }, 60_000);
});
