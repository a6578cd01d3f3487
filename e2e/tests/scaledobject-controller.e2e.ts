import { execFile } from 'node:child_process';
import { mkdtempSync, renameSync } from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { createServingCertificate, issueCert } from '../src/pki';
import { ensureToolchain } from '../src/toolchain';
import { apply, deploymentManifest, deleteObject, k8s, kubeConfig, readClusterInfo, readObject, useTestNamespace, waitFor, waitForCondition } from '../src/testing';
import { startApps, stopApps, type RunningApp } from '../src/local-system';
import { freePort } from '../src/processes';

const ns = useTestNamespace('so');
const kc = kubeConfig();
const appsApi = kc.makeApiClient(k8s.AppsV1Api);

/** A metrics endpoint the metrics-api trigger reads: {"value": <current>}. */
let metricValue = 0;
const metricsServer = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ value: metricValue }));
});
let metricsPort = 0;
let grpcPort = 0;
let controller: RunningApp[] = [];
const certDir = mkdtempSync(path.join(os.tmpdir(), 'keda-ts-controller-certs-'));

/** ca.crt, tls.crt, tls.key (server and client use) as the controller reads them, plus a client pair for grpcurl. */
async function writeCertDir(): Promise<void> {
  await createServingCertificate(certDir, ['127.0.0.1', 'localhost']);
  await issueCert(certDir, 'serving-ca', 'tls', '/CN=keda-operator', 'both', ['IP:127.0.0.1', 'DNS:localhost']);
  // The adapter's identity: the controller serves GetMetrics to CN=keda-metrics-adapter only.
  await issueCert(certDir, 'serving-ca', 'client', '/O=KEDAORG/CN=keda-metrics-adapter', 'client');
  renameSync(path.join(certDir, 'serving-ca.crt'), path.join(certDir, 'ca.crt'));
}

beforeAll(async () => {
  await new Promise<void>((r) => metricsServer.listen(0, '127.0.0.1', r));
  metricsPort = (metricsServer.address() as AddressInfo).port;
  await writeCertDir();
  grpcPort = await freePort();
  controller = await startApps(readClusterInfo().kubeconfig, [
    {
      name: 'controller',
      args: [`--watch-namespace=${ns.name}`, `--metrics-service-bind-address=127.0.0.1:${grpcPort}`, `--cert-dir=${certDir}`, '--log-level=debug'],
    },
  ]);
});

async function grpcurl(args: string[]): Promise<string> {
  const { grpcurl: bin } = await ensureToolchain('extras');
  const tls = ['-cacert', path.join(certDir, 'ca.crt'), '-cert', path.join(certDir, 'client.crt'), '-key', path.join(certDir, 'client.key')];
  const { stdout } = await promisify(execFile)(bin, [...tls, ...args]);
  return stdout;
}

afterAll(async () => {
  await stopApps(controller);
  metricsServer.close();
});

const replicasOf = async (name: string) => (await appsApi.readNamespacedDeployment({ name, namespace: ns.name })).spec?.replicas;

describe('ScaledObject controller', () => {
  it('creates the HPA, scales to zero after the cooldown, activates from zero, and restores on delete', async () => {
    metricValue = 3;
    await apply(kc, deploymentManifest('web', 3), ns.name);
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
          advanced: { restoreToOriginalReplicaCount: true },
          triggers: [
            {
              type: 'metrics-api',
              metadata: { url: `http://127.0.0.1:${metricsPort}/metric`, valueLocation: 'value', targetValue: '5', activationTargetValue: '10' },
            },
          ],
        },
      } as k8s.KubernetesObject,
      ns.name,
    );
    const ref = { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', name: 'web', namespace: ns.name };
    const so = await waitForCondition<k8s.KubernetesObject & { status: Record<string, unknown> }>(kc, ref, 'Ready');
    expect(so.status).toMatchObject({
      scaleTargetKind: 'apps/v1.Deployment',
      originalReplicaCount: 3,
      hpaName: 'keda-hpa-web',
      externalMetricNames: ['s0-metric-api-value'],
      triggersTypes: 'metrics-api',
    });
    expect(so.metadata?.finalizers).toContain('finalizer.keda.sh');
    expect(so.metadata?.labels?.['scaledobject.keda.sh/name']).toBe('web');

    const hpa = await waitFor(() => readObject<k8s.V2HorizontalPodAutoscaler>(kc, { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', name: 'keda-hpa-web', namespace: ns.name }), {
      description: 'HPA keda-hpa-web',
    });
    expect(hpa.spec?.minReplicas).toBe(1);
    expect(hpa.spec?.maxReplicas).toBe(10);
    expect(hpa.spec?.metrics).toEqual([
      {
        type: 'External',
        external: {
          metric: { name: 's0-metric-api-value', selector: { matchLabels: { 'scaledobject.keda.sh/name': 'web' } } },
          target: { type: 'AverageValue', averageValue: '5' },
        },
      },
    ]);
    expect(hpa.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'ScaledObject', name: 'web', controller: true });

    // 3 is below activationTargetValue 10: inactive, so to zero once the cooldown has passed.
    await waitFor(async () => (await replicasOf('web')) === 0, { description: 'web scaled to 0', timeoutMs: 30_000 });
    const inactive = await waitForCondition<k8s.KubernetesObject & { status: { conditions: { type: string; reason: string }[] } }>(kc, ref, 'Active', 'False');
    expect(inactive.status.conditions.find((c) => c.type === 'Active')?.reason).toBe('ScalerNotActive');

    // 20 is above the activation threshold: the controller scales 0 -> 1 itself.
    metricValue = 20;
    await waitFor(async () => ((await replicasOf('web')) ?? 0) >= 1, { description: 'web activated to 1', timeoutMs: 30_000 });
    await waitForCondition(kc, ref, 'Active', 'True');
    const events = await kc.makeApiClient(k8s.EventsV1Api).listNamespacedEvent({ namespace: ns.name });
    const reasons = events.items.map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['KEDAScalersStarted', 'ScaledObjectReady', 'KEDAScaleTargetDeactivated', 'KEDAScaleTargetActivated']));
    const activated = events.items.find((e) => e.reason === 'KEDAScaleTargetActivated');
    expect(activated?.note).toBe(`Scaled apps/v1.Deployment ${ns.name}/web from 0 to 1, triggered by s0-metric-api-value`);

    // The gRPC metrics service the adapter calls, listed and called through reflection with grpcurl.
    expect(await grpcurl([`127.0.0.1:${grpcPort}`, 'list'])).toContain('api.MetricsService');
    const reply = JSON.parse(
      await grpcurl(['-d', JSON.stringify({ name: 'web', namespace: ns.name, metricName: 's0-metric-api-value' }), `127.0.0.1:${grpcPort}`, 'api.MetricsService/GetMetrics']),
    ) as { items: { metricName: string; value: { string: string } }[] };
    expect(reply.items).toEqual([expect.objectContaining({ metricName: 's0-metric-api-value', value: { string: '20' } })]);

    // Delete: the original 3 replicas come back and the HPA goes with its owner.
    await deleteObject(kc, ref);
    await waitFor(async () => (await readObject(kc, ref)) === undefined, { description: 'ScaledObject gone' });
    expect(await replicasOf('web')).toBe(3);
    await waitFor(
      async () => (await readObject(kc, { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', name: 'keda-hpa-web', namespace: ns.name })) === undefined,
      { description: 'HPA garbage-collected', timeoutMs: 30_000 },
    );
  });
});
