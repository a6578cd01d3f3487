/**
 * A Prometheus value drives a Deployment through the whole system: a real Prometheus scraping a
 * gauge served by this test, the controller's prometheus scaler, the metrics adapter behind the
 * aggregation layer, and the real HPA of kube-controller-manager (0 -> 5 -> 10 -> 0).
 */
import {
  prometheusServer,
  prometheusUrl,
  startGaugeExporter,
  startTestServer,
  type GaugeExporter,
  type RunningTestServer,
} from '../src/servers';
import {
  apply,
  deploymentManifest,
  expectDeploymentReplicas,
  k8s,
  kubeConfig,
  kubectl,
  readObject,
  startAutoscalingLoop,
  useTestNamespace,
  type AutoscalingLoop,
} from '../src/testing';

const ns = useTestNamespace('prom-hpa');
const kc = kubeConfig();
const GAUGE = 'keda_e2e_backlog';

let exporter: GaugeExporter | undefined;
let prom: RunningTestServer<'http'> | undefined;
let loop: AutoscalingLoop | undefined;

beforeAll(async () => {
  exporter = await startGaugeExporter();
  prom = await startTestServer(prometheusServer({ scrapeTargets: [exporter.target] }));
  loop = await startAutoscalingLoop(kc, ns.name);
}, 240_000);

afterAll(async () => {
  await loop?.stop();
  await prom?.stop();
  await exporter?.close();
}, 60_000);

const expectReplicas = (n: number, timeoutMs = 90_000) => expectDeploymentReplicas(kc, ns.name, 'worker', n, timeoutMs);

describe('prometheus -> controller -> adapter -> real HPA', () => {
  it('scales 0 -> 5 -> 10 -> 0 as the scraped backlog goes 0, 45, 200 and away', async () => {
    if (!exporter || !prom) throw new Error('setup failed');
    await apply(kc, deploymentManifest('worker', 1), ns.name);
    await apply(
      kc,
      {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'ScaledObject',
        metadata: { name: 'worker' },
        spec: {
          scaleTargetRef: { name: 'worker' },
          pollingInterval: 1,
          cooldownPeriod: 2,
          minReplicaCount: 0,
          maxReplicaCount: 10,
          triggers: [
            {
              type: 'prometheus',
              metadata: {
                serverAddress: prometheusUrl(prom.ports.http),
                // No series yet: sum() of nothing is an empty result, which counts as 0.
                query: `sum(${GAUGE}{queue="jobs"})`,
                threshold: '10',
              },
            },
          ],
        },
      } as k8s.KubernetesObject,
      ns.name,
    );

    await expectReplicas(0);

    exporter.set(GAUGE, 45, { queue: 'jobs' });
    await expectReplicas(5);
    const selector = encodeURIComponent('scaledobject.keda.sh/name=worker');
    const raw = JSON.parse(
      await kubectl(['get', '--raw', `/apis/external.metrics.k8s.io/v1beta1/namespaces/${ns.name}/s0-prometheus?labelSelector=${selector}`]),
    ) as { items: { metricName: string; value: string }[] };
    expect(raw.items).toEqual([expect.objectContaining({ metricName: 's0-prometheus', value: '45' })]);

    exporter.set(GAUGE, 200, { queue: 'jobs' });
    await expectReplicas(10);
    const hpa = await readObject<k8s.V2HorizontalPodAutoscaler>(kc, {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      name: 'keda-hpa-worker',
      namespace: ns.name,
    });
    expect(hpa?.spec?.metrics?.[0]?.external).toEqual({
      metric: { name: 's0-prometheus', selector: { matchLabels: { 'scaledobject.keda.sh/name': 'worker' } } },
      target: { type: 'AverageValue', averageValue: '10' },
    });
    expect(hpa?.status?.currentMetrics?.[0]?.external?.metric.name).toBe('s0-prometheus');

    // The series goes stale in Prometheus: the query is empty again, so inactive, so back to zero.
    exporter.clear(GAUGE);
    await expectReplicas(0);
  }, 420_000);
});
