/**
 * Bad event sources next to good ones (issue 9), through the whole loop (controller -> adapter ->
 * real HPA): a source that accepts connections and never answers gets its ScaledObject's fallback
 * (the HPA scales the target to fallback.replicas), a source that answers after 500 ms works
 * normally, and the 20 healthy ScaledObjects beside them keep polling on time: their scale-loop
 * lag, measured at the source as the gap between consecutive polls minus pollingInterval, stays
 * small.
 */
import { mkdtempSync, rmSync } from 'node:fs';
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
  MetricsSource,
  readClusterInfo,
  readObject,
  registerApiServiceToLocalhost,
  unregisterApiService,
  useTestNamespace,
  waitFor,
} from '../src/testing';

const ns = useTestNamespace('slow');
const kc = kubeConfig();
const SERVICE = 'keda-metrics-apiserver';
const apiService = () => ({ group: 'external.metrics.k8s.io', version: 'v1beta1', namespace: ns.name, serviceName: SERVICE });
const source = new MetricsSource();
let apps: RunningApp[] = [];
let dir = '';
let registered = false;
let releaseLock: (() => void) | undefined;
const HEALTHY = Array.from({ length: 20 }, (_, i) => `h${i}`);
/**
 * Bounds every read of a trigger without its own `timeout`. Below the adapter's 3 s gRPC deadline
 * (M-27), so GetMetrics can answer with the fallback value before the HPA's request gives up; with
 * the default 3 s the HPA's request hits that deadline first.
 */
const HTTP_TIMEOUT_MS = 1000;

beforeAll(async () => {
  releaseLock = await acquireClusterLock(EXTERNAL_METRICS_API_LOCK);
  await source.listen();
  dir = mkdtempSync(path.join(os.tmpdir(), 'keda-ts-slow-'));
  const certs = await writeCertDir(path.join(dir, 'certs'), [`${SERVICE}.${ns.name}.svc`]);
  const grpcPort = await freePort();
  const securePort = await freePort();
  apps = await startApps(
    readClusterInfo().kubeconfig,
    [
      {
        name: 'controller',
        args: [
          `--watch-namespace=${ns.name}`,
          `--metrics-service-bind-address=127.0.0.1:${grpcPort}`,
          `--cert-dir=${certs.dir}`,
          `--metrics-bind-address=127.0.0.1:${await freePort()}`,
          `--http-default-timeout=${HTTP_TIMEOUT_MS}`,
        ],
      },
      adapterSpec({ securePort, metricsPort: await freePort(), certDir: certs.dir, grpcPort, authority: 'keda-operator.keda.svc' }),
    ],
    dir,
  );
  await registerApiServiceToLocalhost(kc, { ...apiService(), port: securePort, caPem: certs.caPem });
  registered = true;
}, 240_000);

afterAll(async () => {
  if (registered) await unregisterApiService(kc, apiService());
  await stopApps(apps);
  await source.close();
  if (dir && process.env['KEDA_E2E_KEEP_STATE'] !== '1') rmSync(dir, { recursive: true, force: true });
  releaseLock?.();
}, 90_000);

type SO = k8s.KubernetesObject & {
  status?: { conditions?: { type: string; status: string; reason?: string }[]; health?: Record<string, { numberOfFailures?: number; status?: string }> };
};

async function scaledObject(name: string, replicas: number, extra: Record<string, unknown> = {}): Promise<void> {
  await apply(kc, deploymentManifest(name, replicas), ns.name);
  await apply(
    kc,
    {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata: { name },
      spec: {
        scaleTargetRef: { name },
        pollingInterval: 1,
        cooldownPeriod: 1,
        minReplicaCount: 0,
        maxReplicaCount: 5,
        triggers: [{ type: 'metrics-api', metadata: { url: source.url(`/${name}`), valueLocation: 'value', targetValue: '10', activationTargetValue: '5' } }],
        ...extra,
      },
    } as k8s.KubernetesObject,
    ns.name,
  );
}

const readSo = (name: string) => readObject<SO>(kc, { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', name, namespace: ns.name });
const replicas = async (name: string) =>
  (await kc.makeApiClient(k8s.AppsV1Api).readNamespacedDeployment({ name, namespace: ns.name })).spec?.replicas;
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

describe('a black-holed and a slow source beside healthy ones', () => {
  it('fallback applies to the black hole, the 500 ms source scales, and the healthy loops stay on time', async () => {
    for (const h of HEALTHY) {
      source.set(`/${h}`, { value: 0 });
      await scaledObject(h, 0);
    }
    source.set('/blackhole', { blackHole: true });
    await scaledObject('blackhole', 1, { fallback: { failureThreshold: 3, replicas: 2 } });
    // 500 ms to answer 25: active, and the HPA wants 3 replicas.
    source.set('/slow', { value: 25, delayMs: 500 });
    await scaledObject('slow', 0);

    // The black hole: three failed polls (each bounded by the HTTP timeout), then the
    // Fallback condition, and the HPA takes the target to fallback.replicas through the adapter.
    const fallback = await waitFor(
      async () => {
        const so = await readSo('blackhole');
        return so?.status?.conditions?.some((c) => c.type === 'Fallback' && c.status === 'True') ? so : undefined;
      },
      { description: 'Fallback=True on blackhole', timeoutMs: 90_000 },
    );
    expect(Object.values(fallback.status?.health ?? {})[0]?.numberOfFailures).toBeGreaterThanOrEqual(3);
    let hpa: k8s.V2HorizontalPodAutoscaler | undefined;
    await waitFor(
      async () => {
        hpa = await readObject<k8s.V2HorizontalPodAutoscaler>(kc, { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', name: 'keda-hpa-blackhole', namespace: ns.name });
        return (await replicas('blackhole')) === 2;
      },
      { description: () => `blackhole at the fallback 2 replicas; HPA status ${JSON.stringify(hpa?.status)}`, timeoutMs: 90_000 },
    );
    // The slow source works: activated by the controller, scaled to 3 by the HPA.
    await waitFor(async () => (await replicas('slow')) === 3, { description: 'slow at 3 replicas', timeoutMs: 90_000 });

    // Lag of the healthy loops over the next 20 s, while the black hole keeps failing.
    const from = performance.timeOrigin + performance.now();
    await new Promise((r) => setTimeout(r, 20_000));
    const lags: number[] = [];
    for (const h of HEALTHY) {
      const times = (source.arrivals.get(`/${h}`) ?? []).filter((t) => t >= from);
      for (let i = 1; i < times.length; i++) lags.push(Math.max(0, times[i] - times[i - 1] - 1000));
    }
    lags.sort((a, b) => a - b);
    const figures = { polls: lags.length, p50: Math.round(pct(lags, 50)), p95: Math.round(pct(lags, 95)), p99: Math.round(pct(lags, 99)), max: Math.round(lags.at(-1) ?? 0) };
    process.stderr.write(`[slow-sources] healthy scale-loop lag (ms): ${JSON.stringify(figures)}\n`);
    // 20 loops at 1 s for 20 s: about 400 polls; none was held up by the hanging reads of the black hole.
    expect(lags.length).toBeGreaterThan(HEALTHY.length * 15);
    expect(figures.p99).toBeLessThan(500);
    expect(figures.max).toBeLessThan(2_000);
    expect(await replicas('blackhole')).toBe(2);
    // The 500 ms source was polled about every 1.5 s or faster (its interval counts from the start of the previous poll).
    const slowTimes = (source.arrivals.get('/slow') ?? []).filter((t) => t >= from);
    expect(slowTimes.length).toBeGreaterThanOrEqual(10);
  }, 360_000);
});
