import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeCertDir } from '../certs';
import { adapterSpec, startApps, stopApps, type RunningApp } from '../local-system';
import { freePort } from '../processes';
import { k8s, waitFor } from './kube';
import { EXTERNAL_METRICS_API_LOCK, acquireClusterLock } from './lock';
import { registerApiServiceToLocalhost, unregisterApiService } from './registration';
import { readClusterInfo } from './state';

const SERVICE = 'keda-metrics-apiserver';

/** The controller and the metrics adapter of one test file, registered as the external metrics API. */
export interface AutoscalingLoop {
  readonly apps: RunningApp[];
  /** Unregisters the APIService, stops the apps, removes the state dir and releases the run-wide lock. */
  stop(): Promise<void>;
}

/**
 * Starts what the real HPA needs to scale on KEDA metrics: the built controller (watching
 * `namespace`, serving gRPC) and metrics adapter (behind the aggregation layer as
 * external.metrics.k8s.io). The APIService is cluster-wide, so this holds the run-wide lock until
 * stop(). Build the apps first (`npx nx run-many -t build -p controller metrics-adapter`).
 */
export async function startAutoscalingLoop(kc: k8s.KubeConfig, namespace: string): Promise<AutoscalingLoop> {
  const releaseLock = await acquireClusterLock(EXTERNAL_METRICS_API_LOCK);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keda-ts-loop-'));
  const apiService = { group: 'external.metrics.k8s.io', version: 'v1beta1', namespace, serviceName: SERVICE };
  let apps: RunningApp[] = [];
  let registered = false;
  const stop = async (): Promise<void> => {
    try {
      if (registered) await unregisterApiService(kc, apiService);
      await stopApps(apps);
      if (process.env['KEDA_E2E_KEEP_STATE'] !== '1') rmSync(dir, { recursive: true, force: true });
    } finally {
      releaseLock();
    }
  };
  try {
    const certs = await writeCertDir(path.join(dir, 'certs'), [`${SERVICE}.${namespace}.svc`]);
    const grpcPort = await freePort();
    const securePort = await freePort();
    apps = await startApps(
      readClusterInfo().kubeconfig,
      [
        {
          name: 'controller',
          args: [
            `--watch-namespace=${namespace}`,
            `--metrics-service-bind-address=127.0.0.1:${grpcPort}`,
            // Each app its own cert material, as the chart mounts it.
            `--cert-dir=${certs.appDirs.controller}`,
            `--metrics-bind-address=127.0.0.1:${await freePort()}`,
          ],
        },
        adapterSpec({ securePort, metricsPort: await freePort(), certDir: certs.appDirs['metrics-adapter'], grpcPort, authority: 'keda-operator.keda.svc' }),
      ],
      dir,
    );
    await registerApiServiceToLocalhost(kc, { ...apiService, port: securePort, caPem: certs.caPem });
    registered = true;
  } catch (err) {
    await stop();
    throw err;
  }
  return { apps, stop };
}

/** spec.replicas of a Deployment. */
export async function deploymentReplicas(kc: k8s.KubeConfig, namespace: string, name: string): Promise<number | undefined> {
  return (await kc.makeApiClient(k8s.AppsV1Api).readNamespacedDeployment({ name, namespace })).spec?.replicas;
}

/** Waits until the Deployment's spec.replicas is `n`. */
export async function expectDeploymentReplicas(kc: k8s.KubeConfig, namespace: string, name: string, n: number, timeoutMs = 60_000): Promise<void> {
  await waitFor(async () => (await deploymentReplicas(kc, namespace, name)) === n, {
    description: `${name} at ${n} replicas (now ${await deploymentReplicas(kc, namespace, name).catch(() => '?')})`,
    timeoutMs,
    intervalMs: 250,
  });
}
