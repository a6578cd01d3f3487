/**
 * Kafka lag through the whole system: a real Kafka broker, the controller's kafka scaler, the
 * metrics adapter behind the aggregation layer and the real HPA of kube-controller-manager scale
 * a Deployment 0 -> 5 -> 10 (capped at the partition count) -> 0 as the consumer group's lag moves.
 */
import { KafkaTestClient, kafkaServer, startTestServer, type KafkaPort, type RunningTestServer } from '../src/servers';
import { ensureToolchain } from '../src/toolchain';
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

const ns = useTestNamespace('kafka-hpa');
const kc = kubeConfig();
const TOPIC = 'jobs';
const GROUP = 'job-workers';
const PARTITIONS = 10;

let kafka: RunningTestServer<KafkaPort> | undefined;
let loop: AutoscalingLoop | undefined;
let client: KafkaTestClient;
let brokers = '';

beforeAll(async () => {
  const tools = await ensureToolchain('extras');
  kafka = await startTestServer(kafkaServer({ libsDir: tools.kafkaLibsDir }));
  brokers = `127.0.0.1:${kafka.ports.plain}`;
  client = new KafkaTestClient(kafka.ports.plain);
  await client.createTopics([{ topic: TOPIC, partitions: PARTITIONS }]);
  // The group starts caught up on an empty topic: lag 0.
  await client.commit(GROUP, TOPIC, Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, offset: 0 })));
  loop = await startAutoscalingLoop(kc, ns.name);
}, 300_000);

afterAll(async () => {
  await loop?.stop();
  await client?.close();
  await kafka?.stop();
}, 60_000);

/** Produces `count` messages spread round-robin over the partitions. */
async function produce(count: number): Promise<void> {
  for (let partition = 0; partition < PARTITIONS; partition++) {
    const n = Math.floor(count / PARTITIONS) + (partition < count % PARTITIONS ? 1 : 0);
    if (n > 0) await client.send(TOPIC, n, partition, (i) => `job ${i * PARTITIONS + partition}`);
  }
}

/** The group consumes everything: commits the newest offset of every partition. */
async function consumeAll(): Promise<void> {
  await client.commit(GROUP, TOPIC, await client.topicOffsets(TOPIC));
}

const expectReplicas = (n: number, timeoutMs = 90_000) => expectDeploymentReplicas(kc, ns.name, 'consumer', n, timeoutMs);

describe('kafka lag drives a Deployment through the real HPA', () => {
  it('scales 0 -> 5 -> 10 -> 0 as the lag goes 0, 23, 200 (capped at 10 partitions x 5) and 0', async () => {
    await apply(kc, deploymentManifest('consumer', 1), ns.name);
    await apply(
      kc,
      {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'ScaledObject',
        metadata: { name: 'consumer' },
        spec: {
          scaleTargetRef: { name: 'consumer' },
          pollingInterval: 1,
          cooldownPeriod: 2,
          minReplicaCount: 0,
          maxReplicaCount: 20,
          triggers: [{ type: 'kafka', metadata: { bootstrapServers: brokers, consumerGroup: GROUP, topic: TOPIC, lagThreshold: '5' } }],
        },
      } as k8s.KubernetesObject,
      ns.name,
    );
    await expectReplicas(0);

    await produce(23);
    await expectReplicas(5);
    const selector = encodeURIComponent('scaledobject.keda.sh/name=consumer');
    const raw = JSON.parse(
      await kubectl(['get', '--raw', `/apis/external.metrics.k8s.io/v1beta1/namespaces/${ns.name}/s0-kafka-jobs?labelSelector=${selector}`]),
    ) as { items: { metricName: string; value: string }[] };
    expect(raw.items).toEqual([expect.objectContaining({ metricName: 's0-kafka-jobs', value: '23' })]);

    // 200 messages of lag, but never more consumers than partitions: 10 x 5 = 50 -> 10 replicas (max is 20).
    await produce(177);
    await expectReplicas(10);
    const hpa = await readObject<k8s.V2HorizontalPodAutoscaler>(kc, {
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      name: 'keda-hpa-consumer',
      namespace: ns.name,
    });
    expect(hpa?.status?.currentMetrics?.[0]?.external?.metric.name).toBe('s0-kafka-jobs');

    await consumeAll();
    await expectReplicas(0);
  }, 400_000);
});
