/**
 * external-push through the real controller: a `true` pushed on StreamIsActive scales the target
 * from 0 to 1 at once (C-98), long before the next poll (pollingInterval 300 s).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startApps, stopApps, type RunningApp } from '../../src/local-system';
import { freePort } from '../../src/processes';
import { startExternalScalerServer, type RunningExternalScaler } from '../../src/servers';
import { apply, deleteObject, deploymentManifest, k8s, kubeConfig, readClusterInfo, readObject, useTestNamespace, waitFor } from '../../src/testing';

const ns = useTestNamespace('ext-push');
const kc = kubeConfig();
let apps: RunningApp[] = [];
let dir = '';
let scaler: RunningExternalScaler;

beforeAll(async () => {
  scaler = await startExternalScalerServer();
  dir = mkdtempSync(path.join(os.tmpdir(), 'keda-ts-ext-push-'));
  apps = await startApps(
    readClusterInfo().kubeconfig,
    [
      {
        name: 'controller',
        args: [
          `--watch-namespace=${ns.name}`,
          `--metrics-service-bind-address=127.0.0.1:${await freePort()}`,
          `--metrics-bind-address=127.0.0.1:${await freePort()}`,
        ],
      },
    ],
    dir,
  );
}, 120_000);

const SO = { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', name: 'worker' };

afterAll(async () => {
  // Let the controller remove its finalizer before it stops, so the namespace can go.
  await deleteObject(kc, { ...SO, namespace: ns.name }).catch(() => undefined);
  await waitFor(async () => !(await readObject(kc, { ...SO, namespace: ns.name })), { description: 'the ScaledObject to be deleted', timeoutMs: 30_000 }).catch(
    () => undefined,
  );
  await stopApps(apps);
  await scaler?.stop();
  if (dir && process.env['KEDA_E2E_KEEP_STATE'] !== '1') rmSync(dir, { recursive: true, force: true });
}, 60_000);

const replicas = async () => (await kc.makeApiClient(k8s.AppsV1Api).readNamespacedDeployment({ name: 'worker', namespace: ns.name })).spec?.replicas;

it('a pushed true activates the target immediately; the HPA carries the external metric', async () => {
  Object.assign(scaler.state, { metricName: 'jobs', targetSize: 3, metricValue: 0, active: false });
  await apply(kc, deploymentManifest('worker', 0), ns.name);
  await apply(
    kc,
    {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata: { name: 'worker' },
      spec: {
        scaleTargetRef: { name: 'worker' },
        pollingInterval: 300,
        cooldownPeriod: 300,
        minReplicaCount: 0,
        maxReplicaCount: 5,
        triggers: [{ type: 'external-push', metadata: { scalerAddress: scaler.address, queue: 'jobs' } }],
      },
    } as k8s.KubernetesObject,
    ns.name,
  );
  // Built and streaming: the HPA exists and StreamIsActive is open; nothing polls for 300 s.
  await waitFor(async () => scaler.openStreams === 1 && (await readObject(kc, { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', name: 'keda-hpa-worker', namespace: ns.name })) !== undefined, {
    description: () => `the HPA and an open StreamIsActive (streams ${scaler.openStreams}, calls ${scaler.calls.map((c) => c.rpc).join(' ')})`,
    timeoutMs: 60_000,
    intervalMs: 250,
  });
  expect(await replicas()).toBe(0);
  const hpa = await readObject<k8s.V2HorizontalPodAutoscaler>(kc, {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    name: 'keda-hpa-worker',
    namespace: ns.name,
  });
  expect(hpa?.spec?.metrics?.[0]?.external?.metric.name).toBe('s0-jobs');
  expect(hpa?.spec?.metrics?.[0]?.external?.target).toEqual({ type: 'AverageValue', averageValue: '3' });
  const stream = scaler.calls.find((c) => c.rpc === 'StreamIsActive');
  expect(stream?.ref).toEqual({ name: 'worker', namespace: ns.name, scalerMetadata: { scalerAddress: scaler.address, queue: 'jobs' } });

  const pushedAt = Date.now();
  Object.assign(scaler.state, { metricValue: 4, active: true });
  scaler.push(true);
  await waitFor(async () => (await replicas()) === 1, { description: 'worker at 1 replica after the push', timeoutMs: 30_000, intervalMs: 100 });
  // Far sooner than the 300 s polling interval.
  expect(Date.now() - pushedAt).toBeLessThan(30_000);
}, 180_000);
