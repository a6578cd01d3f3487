/**
 * The whole system on the real control plane: a metrics-api source, the controller (scale loop,
 * HPA, gRPC metrics service), the metrics adapter behind the aggregation layer, and the real HPA
 * controller of kube-controller-manager scaling a Deployment between 0 and 10.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeCertDir } from '../src/certs';
import { startApps, stopApps, type RunningApp } from '../src/local-system';
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
  readObject,
  registerApiServiceToLocalhost,
  unregisterApiService,
  useTestNamespace,
  waitFor,
} from '../src/testing';

const ns = useTestNamespace('loop');
const kc = kubeConfig();
const SERVICE = 'keda-metrics-apiserver';
const apiService = () => ({
  group: 'external.metrics.k8s.io',
  version: 'v1beta1',
  namespace: ns.name,
  serviceName: SERVICE,
});

let sourceValue = 0;
const source = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ value: sourceValue }));
});
let apps: RunningApp[] = [];
let dir = '';
let registered = false;
let releaseLock: (() => void) | undefined;

beforeAll(async () => {
  releaseLock = await acquireClusterLock(EXTERNAL_METRICS_API_LOCK);
  await new Promise<void>((r) => source.listen(0, '127.0.0.1', r));
  dir = mkdtempSync(path.join(os.tmpdir(), 'keda-ts-loop-'));
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
        ],
      },
      {
        name: 'metrics-adapter',
        args: [
          '--bind-address=127.0.0.1',
          `--secure-port=${securePort}`,
          `--port=${await freePort()}`,
          `--cert-dir=${certs.dir}`,
          `--metrics-service-address=127.0.0.1:${grpcPort}`,
          '--metrics-service-grpc-authority=keda-operator.keda.svc',
        ],
      },
    ],
    dir,
  );
  await registerApiServiceToLocalhost(kc, { ...apiService(), port: securePort, caPem: certs.caPem });
  registered = true;
}, 180_000);

afterAll(async () => {
  if (registered) await unregisterApiService(kc, apiService());
  await stopApps(apps);
  source.close();
  if (dir && process.env['KEDA_E2E_KEEP_STATE'] !== '1') rmSync(dir, { recursive: true, force: true });
  releaseLock?.();
}, 60_000);

const replicas = async () =>
  (await kc.makeApiClient(k8s.AppsV1Api).readNamespacedDeployment({ name: 'web', namespace: ns.name })).spec
    ?.replicas;

async function expectReplicas(n: number, timeoutMs = 60_000): Promise<void> {
  await waitFor(async () => (await replicas()) === n, {
    description: `web at ${n} replicas (now ${await replicas()})`,
    timeoutMs,
    intervalMs: 250,
  });
}

describe('the full loop: source -> controller -> adapter -> real HPA', () => {
  it('scales 0 -> 5 -> 10 -> 0 as the source reports 0, 45, 200 and 0', async () => {
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
          cooldownPeriod: 2,
          minReplicaCount: 0,
          maxReplicaCount: 10,
          triggers: [
            {
              type: 'metrics-api',
              metadata: {
                url: `http://127.0.0.1:${(source.address() as AddressInfo).port}/`,
                valueLocation: 'value',
                targetValue: '10',
              },
            },
          ],
        },
      } as k8s.KubernetesObject,
      ns.name,
    );

    await expectReplicas(0);
    const selector = encodeURIComponent('scaledobject.keda.sh/name=web');
    sourceValue = 45;
    const raw = JSON.parse(
      await kubectl([
        'get',
        '--raw',
        `/apis/external.metrics.k8s.io/v1beta1/namespaces/${ns.name}/s0-metric-api-value?labelSelector=${selector}`,
      ]),
    ) as { items: { metricName: string; value: string }[] };
    expect(raw.items).toEqual([expect.objectContaining({ metricName: 's0-metric-api-value', value: '45' })]);
    await expectReplicas(5, 90_000);

    sourceValue = 200;
    await expectReplicas(10, 90_000);
    const hpa = await readObject<k8s.V2HorizontalPodAutoscaler>(kc, {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      name: 'keda-hpa-web',
      namespace: ns.name,
    });
    expect(hpa?.status?.currentMetrics?.[0]?.external?.metric.name).toBe('s0-metric-api-value');

    sourceValue = 0;
    await expectReplicas(0, 90_000);
  }, 300_000);
});
