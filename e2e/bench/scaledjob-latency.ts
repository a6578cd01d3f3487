/**
 * ScaledJob latency benchmark (issue 6): the time from a message being published to RabbitMQ to
 * its Job existing, with pollingInterval 1 s. A real local control plane and a real broker; the
 * controller's Operator runs in this process. Nothing consumes the messages, so with the default
 * strategy message k yields Job k (the strategy subtracts the k-1 Jobs that already exist). Job
 * creation is observed through a watch.
 *
 * Open loop (e2e/bench/open-loop.ts): `--messages` (default 200) messages due at a fixed rate, one
 * every --gap-ms (300 ms is no divisor of the 1 s polling interval, so the due times sweep every
 * phase of it); each one's latency counts from its scheduled publish time to its Job, a message
 * without a Job within 30 s is a timeout and a rejected publish an error, both in the `all`
 * percentiles and counted beside them. Target: p99 < 1.5 s.
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
import { openLoop, type Outcome } from './open-loop';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const messages = arg('messages', 200);
const gapMs = arg('gap-ms', 300);
const JOB_TIMEOUT_MS = 30_000;
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
    /** Waiters for Job k (the k-th created), by k. */
    const waiters = new Map<number, () => void>();
    const client = new KubeClient(kubeConfig);
    jobs = new Watched(kubeConfig, client, { path: '/apis/batch/v1/namespaces/bench/jobs', logger: createLogger({ component: 'bench', version: 'bench', level: 'error' }) });
    jobs.on((type) => {
      if (type !== 'add') return;
      created.push(performance.now());
      waiters.get(created.length - 1)?.();
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

    // Message i, then its Job (the i-th created): published in due order, as openLoop sends them.
    const send = (i: number) =>
      new Promise<Outcome>((resolve) => {
        const timer = setTimeout(() => {
          waiters.delete(i);
          resolve('timeout');
        }, JOB_TIMEOUT_MS);
        const done = (outcome: Outcome) => {
          clearTimeout(timer);
          waiters.delete(i);
          resolve(outcome);
        };
        waiters.set(i, () => done('ok'));
        channel.sendToQueue('bench', Buffer.from(String(i)), {}, (err) => {
          if (err) done('error');
        });
        if (created.length > i) done('ok');
      });
    const rate = 1000 / gapMs;
    const result = await openLoop({ rate, seconds: messages / rate, send });
    const extra = created.length - messages;
    process.stdout.write(
      `${JSON.stringify(
        {
          messages,
          gapMs,
          pollingIntervalSeconds: 1,
          ...result,
          jobsCreatedBeyondOnePerMessage: extra,
          targetP99Under1500Ms: result.failedPercent === 0 && result.all.p99Ms < 1500 ? 'met' : 'NOT met',
        },
        null,
        2,
      )}\n`,
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
