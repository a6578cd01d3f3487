/**
 * --enable-opentelemetry-metrics: the controller pushes KEDA's operator metrics over OTLP to a real
 * OpenTelemetry Collector (built by e2e/toolchain/build.sh, OTLP receiver + file exporter) while a
 * ScaledObject with a metrics-api trigger polls a local source. Instrument and attribute names as
 * KEDA's OTel collector sends them; both OTLP transports (http/protobuf, KEDA's default, and grpc);
 * and a collector that goes away neither stops the controller nor floods its log.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeCertDir } from '../src/certs';
import { startApps, stopApps, type RunningApp } from '../src/local-system';
import { freePort } from '../src/processes';
import { otelCollectorServer, readOtlpMetrics, startTestServer, type OtlpPoint, type RunningTestServer } from '../src/servers';
import { apply, deploymentManifest, k8s, kubeConfig, kubectl, readClusterInfo, useTestNamespace, waitFor } from '../src/testing';
import { ensureToolchain } from '../src/toolchain';

const ns = useTestNamespace('otel');
const kc = kubeConfig();

let sourceValue = 45;
let sourceFails = false;
const source = http.createServer((_req, res) => {
  if (sourceFails) {
    res.writeHead(500).end('down');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ value: sourceValue }));
});
let collector: RunningTestServer<'grpc' | 'http'> | undefined;
let apps: RunningApp[] = [];
let dir = '';
let certDir = '';

/** Starts the controller pushing to the collector with `protocol`, every 500 ms. */
async function startController(protocol: 'http/protobuf' | 'grpc', endpoint: string, logDir: string): Promise<RunningApp[]> {
  mkdirSync(logDir, { recursive: true });
  return startApps(
    readClusterInfo().kubeconfig,
    [
      {
        name: 'controller',
        args: [`--watch-namespace=${ns.name}`, `--metrics-service-bind-address=127.0.0.1:${await freePort()}`, `--cert-dir=${certDir}`, '--enable-opentelemetry-metrics'],
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: protocol, OTEL_METRIC_EXPORT_INTERVAL: '500' },
      },
    ],
    logDir,
  );
}

/** The newest point of `metric` whose attributes include `attrs`, once `accept` holds for it. */
function pointUntil(metric: string, attrs: Record<string, string>, accept: (p: OtlpPoint) => boolean, description: string, timeoutMs = 60_000): Promise<OtlpPoint> {
  return waitFor(
    async () => {
      const points = readOtlpMetrics(collector!.dataDir).filter((p) => p.metric === metric && Object.entries(attrs).every(([k, v]) => p.attributes[k] === v));
      const last = points[points.length - 1];
      return last && accept(last) ? last : undefined;
    },
    { timeoutMs, description },
  );
}

beforeAll(async () => {
  const tools = await ensureToolchain('otelcol');
  collector = await startTestServer(otelCollectorServer({ binary: tools.otelcol }));
  await new Promise<void>((r) => source.listen(0, '127.0.0.1', r));
  dir = mkdtempSync(path.join(os.tmpdir(), 'keda-ts-otel-'));
  certDir = (await writeCertDir(path.join(dir, 'certs'))).dir;
  apps = await startController('http/protobuf', `http://127.0.0.1:${collector.ports.http}`, path.join(dir, 'http'));
}, 600_000);

afterAll(async () => {
  await stopApps(apps);
  await collector?.stop();
  source.close();
  if (dir && process.env['KEDA_E2E_KEEP_STATE'] !== '1') rmSync(dir, { recursive: true, force: true });
}, 60_000);

const so = (name: string) => ({ namespace: ns.name, scaledObject: name, scaler: 'metricsAPIScaler', scalerIndex: '0', metric: 's0-metric-api-value' });

async function applyScaledObject(name: string): Promise<void> {
  await apply(kc, deploymentManifest(name, 1), ns.name);
  await apply(
    kc,
    {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata: { name },
      spec: {
        scaleTargetRef: { name },
        pollingInterval: 1,
        minReplicaCount: 1,
        maxReplicaCount: 10,
        triggers: [{ type: 'metrics-api', metadata: { url: `http://127.0.0.1:${(source.address() as AddressInfo).port}/`, valueLocation: 'value', targetValue: '10' } }],
      },
    } as k8s.KubernetesObject,
    ns.name,
  );
}

describe('OpenTelemetry metrics pushed to a collector', () => {
  it("OTLP http/protobuf (KEDA's default): the keda.* instruments of a running ScaledObject, with KEDA's attributes", async () => {
    await applyScaledObject('web');
    const value = await pointUntil('keda.scaler.metrics.value', so('web'), (p) => p.value === 45, 'keda.scaler.metrics.value 45 for web');
    expect(value.kind).toBe('gauge');
    expect(value.attributes).toEqual(so('web'));
    expect(value.scope).toBe('keda-open-telemetry-metrics');
    expect(value.resource['service.name']).toBe('keda-operator');

    const all = readOtlpMetrics(collector!.dataDir);
    const last = (metric: string, attrs: Record<string, string> = {}) =>
      all.filter((p) => p.metric === metric && Object.entries(attrs).every(([k, v]) => p.attributes[k] === v)).pop();
    expect(last('keda.scaler.active', so('web'))?.value).toBe(1);
    const latency = last('keda.scaler.metrics.latency.seconds', so('web'));
    expect(latency?.unit).toBe('s');
    expect(latency?.value).toBeGreaterThan(0);
    expect(latency?.value).toBeLessThan(5);
    const loop = last('keda.internal.scale.loop.latency.seconds', { namespace: ns.name, type: 'scaledobject', name: 'web' });
    expect(loop?.value).toBeGreaterThanOrEqual(0);
    expect(loop?.value).toBeLessThan(5);
    const resources = last('keda.resource.registered.count', { namespace: ns.name, type: 'scaled_object' });
    expect(resources).toMatchObject({ kind: 'sum', isMonotonic: false, value: 1 });
    expect(last('keda.trigger.registered.count', { type: 'metrics-api' })?.value).toBeGreaterThanOrEqual(1);
    expect(last('keda.scaled.object.paused', { namespace: ns.name, scaledObject: 'web' })?.value).toBe(0);
    const info = last('keda.build.info');
    expect(info?.value).toBe(1);
    expect(Object.keys(info?.attributes ?? {}).sort()).toEqual(['git_commit', 'goarch', 'goos', 'goversion', 'version']);
    expect(info?.attributes['goversion']).toMatch(/^v\d+/);

    // Inactive below the activation target.
    sourceValue = 0;
    await pointUntil('keda.scaler.active', so('web'), (p) => p.value === 0, 'keda.scaler.active 0');

    // A failing source: keda.scaler.errors and keda.scaledobject.errors (monotonic sums) move.
    sourceFails = true;
    try {
      const errors = await pointUntil('keda.scaler.errors', so('web'), (p) => p.value >= 2, 'keda.scaler.errors >= 2');
      expect(errors).toMatchObject({ kind: 'sum', isMonotonic: true });
      await pointUntil('keda.scaledobject.errors', { namespace: ns.name, scaledObject: 'web' }, (p) => p.value >= 2, 'keda.scaledobject.errors >= 2');
    } finally {
      sourceFails = false;
      sourceValue = 45;
    }

    // Paused shows in keda.scaled.object.paused.
    await kubectl(['annotate', '-n', ns.name, 'scaledobject', 'web', 'autoscaling.keda.sh/paused=true']);
    await pointUntil('keda.scaled.object.paused', { namespace: ns.name, scaledObject: 'web' }, (p) => p.value === 1, 'keda.scaled.object.paused 1');
    await kubectl(['annotate', '-n', ns.name, 'scaledobject', 'web', 'autoscaling.keda.sh/paused-']);
  }, 180_000);

  it('a collector that is down: the controller keeps running and logs the failure rarely; it exports again once the collector is back', async () => {
    const logFile = apps[0]!.process.logFile;
    const warnings = () =>
      readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => l.includes('OpenTelemetry metrics export failed')).length;
    await collector!.pause();
    try {
      // ~10 exports at 500 ms fail; one warning for all of them.
      await new Promise((r) => setTimeout(r, 5_000));
      expect(apps[0]!.process.running).toBe(true);
      expect(warnings()).toBe(1);
    } finally {
      await collector!.resume();
    }
    sourceValue = 46;
    await pointUntil('keda.scaler.metrics.value', so('web'), (p) => p.value === 46, 'exports reach the restarted collector', 60_000);
    sourceValue = 45;
  }, 120_000);

  it('OTLP grpc: the same instruments reach the collector', async () => {
    await stopApps(apps);
    apps = await startController('grpc', `http://127.0.0.1:${collector!.ports.grpc}`, path.join(dir, 'grpc'));
    sourceValue = 47;
    const value = await pointUntil('keda.scaler.metrics.value', so('web'), (p) => p.value === 47, 'keda.scaler.metrics.value 47 over gRPC');
    expect(value.attributes).toEqual(so('web'));
    sourceValue = 45;
  }, 120_000);
});
