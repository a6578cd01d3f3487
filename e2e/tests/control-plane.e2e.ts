import { apply, deploymentManifest, k8s, kubeConfig, useTestNamespace, waitFor, waitForCondition, readClusterInfo } from '../src/testing';

const ns = useTestNamespace('cp');
const kc = kubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const batch = kc.makeApiClient(k8s.BatchV1Api);
const autoscaling = kc.makeApiClient(k8s.AutoscalingV2Api);
const deployment = (name: string, replicas: number) =>
  deploymentManifest(name, replicas, { image: 'registry.invalid/demo:1', resources: { requests: { cpu: '100m' } } });

describe('the local control plane', () => {
  it('reports the pinned Kubernetes version', async () => {
    const version = await kc.makeApiClient(k8s.VersionApi).getCode();
    expect(version.gitVersion).toBe(`v${readClusterInfo().kubernetesVersion}`);
  });

  it('has Ready kwok nodes', async () => {
    const nodes = await core.listNode();
    expect(nodes.items.length).toBeGreaterThanOrEqual(1);
    for (const node of nodes.items) {
      expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    }
  });

  it('schedules the Pods of a 2-replica Deployment on kwok nodes and they become Running', async () => {
    await apply(kc, deployment('web', 2), ns.name);
    const pods = await waitFor(
      async () => {
        const list = await core.listNamespacedPod({ namespace: ns.name, labelSelector: 'app=web' });
        const running = list.items.filter((p) => p.status?.phase === 'Running' && p.spec?.nodeName?.startsWith('kwok-node-'));
        return running.length === 2 ? running : undefined;
      },
      { description: '2 Running pods of deployment web', timeoutMs: 60_000 },
    );
    expect(pods).toHaveLength(2);
    const dep = await waitForCondition<k8s.V1Deployment>(
      kc,
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: ns.name },
      'Available',
    );
    expect(dep.status?.readyReplicas).toBe(2);
  });

  it("completes a Job's Pod (kwok pod-complete stage) and the Job controller marks it Complete", async () => {
    await apply(
      kc,
      {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'once' },
        spec: {
          backoffLimit: 0,
          template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'registry.invalid/job:1' }] } },
        },
      } as k8s.KubernetesObject,
      ns.name,
    );
    const job = await waitFor(
      async () => {
        const j = await batch.readNamespacedJob({ name: 'once', namespace: ns.name });
        return j.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True') ? j : undefined;
      },
      { description: 'job once Complete', timeoutMs: 60_000 },
    );
    expect(job.status?.succeeded).toBe(1);
    const pods = await core.listNamespacedPod({ namespace: ns.name, labelSelector: 'job-name=once' });
    expect(pods.items.map((p) => p.status?.phase)).toEqual(['Succeeded']);
  });

  it('runs the HPA controller: an HPA on a Deployment gets a status', async () => {
    await apply(kc, deployment('scaled', 1), ns.name);
    await apply(
      kc,
      {
        apiVersion: 'autoscaling/v2',
        kind: 'HorizontalPodAutoscaler',
        metadata: { name: 'scaled' },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'scaled' },
          minReplicas: 1,
          maxReplicas: 3,
          metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }],
        },
      } as k8s.KubernetesObject,
      ns.name,
    );
    // No metrics.k8s.io here, so the controller reports that it cannot compute the metric:
    // proof that it is running and reconciling this HPA.
    const hpa = await waitFor(
      async () => {
        const h = await autoscaling.readNamespacedHorizontalPodAutoscaler({ name: 'scaled', namespace: ns.name });
        return h.status?.conditions?.some((c) => c.type === 'AbleToScale') ? h : undefined;
      },
      { description: 'HPA scaled has status conditions', timeoutMs: 60_000 },
    );
    expect(hpa.status?.currentReplicas).toBe(1);
    expect(hpa.status?.conditions?.find((c) => c.type === 'ScalingActive')?.status).toBe('False');
  });
});
