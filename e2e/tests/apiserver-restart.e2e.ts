/**
 * kube-apiserver crashes and comes back (issue 9): on a control plane of its own (the run's shared
 * one must stay up for the other files), the controller survives the outage, loses the Lease when
 * the outage outlasts the renew deadline, takes it back, its informers resync, and scaling resumes;
 * kube-controller-manager and kwok reconnect too (the Deployment gets its Pod).
 */
import { LocalControlPlane, type ClusterInfo } from '../src/control-plane';
import { installCrds } from '../src/crds';
import { stopApps } from '../src/local-system';
import { freePort } from '../src/processes';
import {
  apply,
  becameLeaderAt,
  deploymentManifest,
  k8s,
  logLines,
  MetricsSource,
  readObject,
  startController,
  waitFor,
  type ControllerProcess,
} from '../src/testing';

const NS = 'apiserver-restart';
const LEASE = 'keda-ts-restart';
const cp = new LocalControlPlane({ nodes: 1, log: (l) => process.stderr.write(`[apiserver-restart cp] ${l}\n`) });
const source = new MetricsSource();
let info: ClusterInfo;
let kc: k8s.KubeConfig;
let controller: ControllerProcess | undefined;

beforeAll(async () => {
  info = await cp.start();
  kc = new k8s.KubeConfig();
  kc.loadFromFile(info.kubeconfig);
  await installCrds((args, input) => cp.kubectl(args, input));
  await cp.kubectl(['create', 'namespace', NS]);
  await source.listen();
  controller = await startController(info.kubeconfig, 'ctrl-restart', [
    '--leader-elect',
    `--leader-election-id=${LEASE}`,
    `--pod-namespace=${NS}`,
    `--watch-namespace=${NS}`,
    `--metrics-service-bind-address=127.0.0.1:${await freePort()}`,
    `--metrics-bind-address=127.0.0.1:${await freePort()}`,
  ], info.stateDir);
}, 300_000);

afterAll(async () => {
  if (controller) await stopApps([controller.app]);
  await source.close();
  await cp.stop();
}, 120_000);

async function scaledObject(name: string, maxReplicaCount = 3): Promise<void> {
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
        maxReplicaCount,
        triggers: [{ type: 'metrics-api', metadata: { url: source.url(`/${name}`), valueLocation: 'value', targetValue: '5', activationTargetValue: '5' } }],
      },
    } as k8s.KubernetesObject,
    NS,
  );
}

const deployment = (name: string) => kc.makeApiClient(k8s.AppsV1Api).readNamespacedDeployment({ name, namespace: NS });

async function waitReplicas(name: string, want: number, timeoutMs = 60_000): Promise<void> {
  let last: number | undefined;
  await waitFor(async () => (last = (await deployment(name)).spec?.replicas) === want, {
    description: () => `${name} at ${want} replicas (now ${last})`,
    timeoutMs,
    intervalMs: 300,
  });
}

describe('kube-apiserver restart', () => {
  it('the controller reconnects, its informers resync, it leads again and scaling resumes', async () => {
    source.set('/before', { value: 0 });
    await apply(kc, deploymentManifest('before', 1), NS);
    await scaledObject('before');
    await waitReplicas('before', 0);
    source.set('/before', { value: 50 });
    await waitReplicas('before', 1);
    expect(becameLeaderAt(controller!)).toHaveLength(1);

    // Down for longer than the renew deadline (10 s): the controller stops leading meanwhile.
    const restart = cp.restartComponent('kube-apiserver', { downMs: 12_000 });
    await new Promise((r) => setTimeout(r, 1_000));
    source.set('/before', { value: 0 });
    const { downMs } = await restart;
    process.stderr.write(`[apiserver-restart] kube-apiserver down ${downMs} ms\n`);
    controller!.app.process.assertAlive();

    // Scaling resumes: the idle source takes the target back to 0, then up again.
    await waitReplicas('before', 0, 90_000);
    source.set('/before', { value: 50 });
    await waitReplicas('before', 1, 60_000);
    const lines = logLines(controller!.logFile);
    expect(lines.some((l) => l.msg === 'stopped leading')).toBe(true);
    expect(becameLeaderAt(controller!).length).toBeGreaterThanOrEqual(2);
    const lease = await kc.makeApiClient(k8s.CoordinationV1Api).readNamespacedLease({ name: LEASE, namespace: NS });
    expect(lease.spec?.holderIdentity).toBe(controller!.identity);

    // The informers resynced: a ScaledObject created after the restart is reconciled (HPA, Ready)
    // and an edit of an existing one reaches its HPA.
    source.set('/after', { value: 50 });
    await apply(kc, deploymentManifest('after', 1), NS);
    await scaledObject('after');
    await waitFor(
      async () => {
        const so = await readObject<k8s.KubernetesObject & { status?: { conditions?: { type: string; status: string }[] } }>(kc, {
          apiVersion: 'keda.sh/v1alpha1',
          kind: 'ScaledObject',
          name: 'after',
          namespace: NS,
        });
        return so?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      },
      { description: 'ScaledObject "after" Ready', timeoutMs: 60_000 },
    );
    await waitFor(async () => (await readObject(kc, { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', name: 'keda-hpa-after', namespace: NS })) !== undefined, {
      description: 'the HPA of "after"',
      timeoutMs: 30_000,
    });
    await scaledObject('before', 7);
    await waitFor(
      async () =>
        (await readObject<k8s.V2HorizontalPodAutoscaler>(kc, { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', name: 'keda-hpa-before', namespace: NS }))?.spec
          ?.maxReplicas === 7,
      { description: 'the HPA of "before" following the edit (maxReplicas 7)', timeoutMs: 30_000 },
    );

    // kube-controller-manager and kwok reconnected: the Deployment's Pod exists and is ready.
    await waitFor(async () => (await deployment('before')).status?.readyReplicas === 1, { description: '"before" with 1 ready Pod', timeoutMs: 90_000 });
    controller!.app.process.assertAlive();
  }, 400_000);
});
