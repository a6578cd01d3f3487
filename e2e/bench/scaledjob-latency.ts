/**
 * ScaledJob latency benchmark (issue 6): the time from a message being published to RabbitMQ to
 * its Job existing, with pollingInterval 1 s. A real local control plane and a real broker; the
 * controller's Operator runs in this process. Messages are published one at a time at random
 * intervals; nothing consumes them, so with the default strategy message k yields Job k (the
 * strategy subtracts the k-1 Jobs that already exist). Job creation is observed through a watch.
 * Reports p50/p95/p99/max over `--messages` (default 200). Target: p99 < 1.5 s.
 *
 *   node --import tsx --conditions=@keda-ts/source e2e/bench/scaledjob-latency.ts [--messages 200] [--gap-ms 300]
 */
import * as amqp from 'amqplib';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient, Watched } from '@keda-ts/k8s';
import { Operator } from '@keda-ts/operator';
import { createLogger } from '@keda-ts/runtime';
import { scalers } from '@keda-ts/scalers';
import { LocalControlPlane } from '../src/control-plane';
import { installCrds } from '../src/crds';
import { rabbitMqServer, rabbitMqUrls, startTestServer } from '../src/servers';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const messages = arg('messages', 200);
const gapMs = arg('gap-ms', 300);
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const cp = new LocalControlPlane({ nodes: 1, log: () => undefined });
  const info = await cp.start();
  const broker = await startTestServer(rabbitMqServer());
  const urls = rabbitMqUrls(broker.ports);
  const conn = await amqp.connect(urls.amqp);
  const channel = await conn.createConfirmChannel();
  await channel.assertQueue('bench');
  let operator: Operator | undefined;
  let jobs: Watched<{ metadata?: { name?: string; namespace?: string } }> | undefined;
  try {
    await installCrds((args, input) => cp.kubectl(args, input));
    await cp.kubectl(['create', 'namespace', 'bench']);
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(info.kubeconfig);

    // Job creation times, observed by a watch in this process.
    const created: number[] = [];
    const client = new KubeClient(kubeConfig);
    jobs = new Watched(kubeConfig, client, { path: '/apis/batch/v1/namespaces/bench/jobs', logger: createLogger({ component: 'bench', version: 'bench', level: 'error' }) });
    jobs.on((type) => {
      if (type === 'add') created.push(performance.now());
    });
    await jobs.start();
    await jobs.waitForSync();

    operator = new Operator({
      kubeConfig,
      logger: createLogger({ component: 'bench', version: 'bench', level: 'error' }),
      registry: scalers,
      kedaVersion: 'bench',
      watchNamespaces: ['bench'],
      clusterObjectNamespace: 'bench',
      qps: 50,
      burst: 100,
    });
    await operator.start();
    await cp.kubectl(
      ['apply', '-f', '-'],
      `apiVersion: keda.sh/v1alpha1
kind: ScaledJob
metadata: { name: bench, namespace: bench }
spec:
  pollingInterval: 1
  maxReplicaCount: ${messages + 50}
  successfulJobsHistoryLimit: ${messages + 50}
  jobTargetRef:
    suspend: true
    template:
      spec:
        containers: [{ name: w, image: registry.invalid/x:1, env: [{ name: RABBIT_URL, value: "${urls.amqp}" }] }]
  triggers:
    - type: rabbitmq
      metadata: { queueName: bench, mode: QueueLength, value: "1", hostFromEnv: RABBIT_URL }`,
    );
    // Ready and polling before the first message.
    await sleep(5000);

    const published: number[] = [];
    for (let i = 0; i < messages; i++) {
      channel.sendToQueue('bench', Buffer.from(String(i)));
      await channel.waitForConfirms();
      published.push(performance.now());
      await sleep(gapMs * (0.5 + Math.random()));
    }
    const deadline = Date.now() + 30_000;
    while (created.length < messages && Date.now() < deadline) await sleep(200);
    if (created.length < messages) throw new Error(`only ${created.length} of ${messages} jobs were created`);
    const latencies = published.map((t, i) => created[i] - t).sort((a, b) => a - b);
    const fmt = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
    const extra = created.length - messages;
    process.stdout.write(
      [
        `ScaledJob publish -> Job latency over ${messages} messages (pollingInterval 1 s, gap ~${gapMs} ms):`,
        `  p50 ${fmt(pct(latencies, 50))}  p95 ${fmt(pct(latencies, 95))}  p99 ${fmt(pct(latencies, 99))}  max ${fmt(latencies[latencies.length - 1])}`,
        `  jobs created beyond one per message: ${extra}`,
        `  target p99 < 1.5 s: ${pct(latencies, 99) < 1500 ? 'met' : 'NOT met'}`,
        '',
      ].join('\n'),
    );
  } finally {
    await operator?.stop();
    await jobs?.stop();
    await conn.close().catch(() => undefined);
    await broker.stop();
    await cp.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
