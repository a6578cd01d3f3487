/**
 * The whole system on the real control plane: a metrics-api source, the controller (scale loop,
 * HPA, gRPC metrics service), the metrics adapter behind the aggregation layer, and the real HPA
 * controller of kube-controller-manager scaling a Deployment between 0 and 10.
 */
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
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

const ns = useTestNamespace('loop');
const kc = kubeConfig();

let sourceValue = 0;
const source = http.createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ value: sourceValue }));
});
let loop: AutoscalingLoop | undefined;

beforeAll(async () => {
  await new Promise<void>((r) => source.listen(0, '127.0.0.1', r));
  loop = await startAutoscalingLoop(kc, ns.name);
}, 180_000);

afterAll(async () => {
  await loop?.stop();
  source.close();
}, 60_000);

const expectReplicas = (n: number, timeoutMs = 60_000) => expectDeploymentReplicas(kc, ns.name, 'web', n, timeoutMs);

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
