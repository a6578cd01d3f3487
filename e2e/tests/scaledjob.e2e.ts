/**
 * ScaledJob end to end: the built controller against the real local control plane and a real
 * RabbitMQ broker. The test plays the worker: for each Job the controller creates it takes exactly
 * one message off the queue and then marks the Job's Pod Succeeded, so the Job controller of
 * kube-controller-manager completes the Job. Job pods carry a nodeSelector that no kwok node has,
 * so kwok never runs or completes them on its own: the test decides when a Job is done.
 */
import * as amqp from 'amqplib';
import { apply, k8s, kubeConfig, readClusterInfo, readObject, useTestNamespace, waitFor, waitForCondition } from '../src/testing';
import { startApps, stopApps, type RunningApp } from '../src/local-system';
import { rabbitMqServer, rabbitMqUrls, startTestServer, type RabbitMqPorts, type RunningTestServer } from '../src/servers';

const ns = useTestNamespace('sj');
const kc = kubeConfig();
const core = kc.makeApiClient(k8s.CoreV1Api);
const batch = kc.makeApiClient(k8s.BatchV1Api);
const eventsApi = kc.makeApiClient(k8s.EventsV1Api);

let broker: RunningTestServer<RabbitMqPorts>;
let urls: { amqp: string; http: string };
let controller: RunningApp[] = [];
let conn: amqp.ChannelModel | undefined;
let channel: amqp.ConfirmChannel | undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function publisher(): Promise<amqp.ConfirmChannel> {
  if (!channel) {
    conn = await amqp.connect(urls.amqp);
    conn.on('error', () => undefined);
    conn.on('close', () => {
      conn = undefined;
      channel = undefined;
    });
    channel = await conn.createConfirmChannel();
    channel.on('error', () => undefined);
  }
  return channel;
}

async function publish(queue: string, bodies: string[]): Promise<void> {
  const ch = await publisher();
  await ch.assertQueue(queue);
  for (const b of bodies) ch.sendToQueue(queue, Buffer.from(b));
  await ch.waitForConfirms();
}

async function queueDepth(queue: string): Promise<number> {
  return (await (await publisher()).checkQueue(queue)).messageCount;
}

/** A Job template whose pods never land on a kwok node (see the file comment). */
const jobTemplate = (extra: Record<string, unknown> = {}) => ({
  backoffLimit: 0,
  ...extra,
  template: {
    spec: {
      nodeSelector: { 'keda-e2e/no-such-node': 'true' },
      containers: [{ name: 'worker', image: 'busybox', env: [{ name: 'QUEUE_NAME', value: 'unused' }] }],
    },
  },
});

function scaledJob(name: string, queue: string, spec: Record<string, unknown>) {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledJob',
    metadata: { name },
    spec: {
      jobTargetRef: jobTemplate(),
      pollingInterval: 1,
      maxReplicaCount: 10,
      triggers: [{ type: 'rabbitmq', metadata: { queueName: queue, mode: 'QueueLength', value: '1' }, authenticationRef: { name: 'rabbit' } }],
      ...spec,
    },
  };
}

type Job = k8s.V1Job;
const labelOf = (sj: string) => `scaledjob.keda.sh/name=${sj}`;
const jobsOf = async (sj: string): Promise<Job[]> => (await batch.listNamespacedJob({ namespace: ns.name, labelSelector: labelOf(sj) })).items;
const finished = (j: Job) => (j.status?.conditions ?? []).some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');

async function podOf(job: string): Promise<k8s.V1Pod | undefined> {
  return (await core.listNamespacedPod({ namespace: ns.name, labelSelector: `job-name=${job}` })).items[0];
}

/** Sets a Job pod's phase through the status subresource, as a kubelet would. */
async function setPodPhase(pod: k8s.V1Pod, phase: 'Running' | 'Succeeded'): Promise<void> {
  const now = new Date().toISOString();
  const container = pod.spec?.containers[0].name ?? 'worker';
  const state = phase === 'Running' ? { running: { startedAt: now } } : { terminated: { exitCode: 0, reason: 'Completed', startedAt: now, finishedAt: now } };
  await core.patchNamespacedPodStatus(
    {
      name: pod.metadata?.name ?? '',
      namespace: ns.name,
      body: { status: { phase, startTime: now, containerStatuses: [{ name: container, image: 'busybox', imageID: '', ready: phase === 'Running', restartCount: 0, state }] } },
    },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
}

async function events(name: string): Promise<{ reason?: string; note?: string; type?: string }[]> {
  const list = await eventsApi.listNamespacedEvent({ namespace: ns.name, fieldSelector: `regarding.name=${name}` });
  return list.items.map((e) => ({ reason: e.reason, note: e.note, type: e.type }));
}

/**
 * The worker: takes one message for every new Job, holds the Job "running" for `holdMs`, then
 * completes its pod. Records which message each Job got and the most unfinished Jobs seen at once.
 */
class Worker {
  readonly messageOf = new Map<string, string>();
  /** Jobs whose pod the worker has completed. */
  readonly completed = new Set<string>();
  readonly jobsWithoutMessage: string[] = [];
  maxUnfinished = 0;
  private stopped = false;
  private readonly done: Promise<void>;
  private consumer?: amqp.ChannelModel;

  constructor(
    private readonly sj: string,
    private readonly queue: string,
    private readonly holdMs: number,
  ) {
    this.done = this.run();
  }

  private async take(): Promise<string | undefined> {
    if (!this.consumer) this.consumer = await amqp.connect(urls.amqp);
    const ch = await this.consumer.createChannel();
    try {
      const msg = await ch.get(this.queue, { noAck: false });
      if (!msg) return undefined;
      ch.ack(msg);
      return msg.content.toString();
    } finally {
      await ch.close().catch(() => undefined);
    }
  }

  private async run(): Promise<void> {
    const completing = new Set<string>();
    while (!this.stopped) {
      const jobs = await jobsOf(this.sj).catch(() => [] as Job[]);
      this.maxUnfinished = Math.max(this.maxUnfinished, jobs.filter((j) => !finished(j)).length);
      for (const job of jobs) {
        const name = job.metadata?.name ?? '';
        if (this.messageOf.has(name) || this.jobsWithoutMessage.includes(name)) continue;
        const body = await this.take();
        if (body === undefined) {
          this.jobsWithoutMessage.push(name);
          continue;
        }
        this.messageOf.set(name, body);
        completing.add(name);
        void (async () => {
          await sleep(this.holdMs);
          const pod = await waitFor(() => podOf(name), { description: `pod of job ${name}`, timeoutMs: 60_000, intervalMs: 200 });
          await setPodPhase(pod, 'Succeeded');
          completing.delete(name);
          this.completed.add(name);
        })().catch((err: unknown) => process.stderr.write(`worker: completing ${name} failed: ${String(err)}\n`));
      }
      await sleep(100);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
    await this.consumer?.close().catch(() => undefined);
  }
}

beforeAll(async () => {
  broker = await startTestServer(rabbitMqServer());
  urls = rabbitMqUrls(broker.ports);
  // The host (with credentials) comes from a Secret through a TriggerAuthentication.
  await apply(
    kc,
    [
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'rabbit' }, stringData: { host: urls.amqp, httpHost: urls.http } } as k8s.KubernetesObject,
      {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'TriggerAuthentication',
        metadata: { name: 'rabbit' },
        spec: { secretTargetRef: [{ parameter: 'host', name: 'rabbit', key: 'host' }] },
      } as k8s.KubernetesObject,
    ],
    ns.name,
  );
  controller = await startApps(readClusterInfo().kubeconfig, [{ name: 'controller', args: [`--watch-namespace=${ns.name}`, '--log-level=debug'] }]);
}, 240_000);

afterAll(async () => {
  await stopApps(controller);
  await conn?.close().catch(() => undefined);
  await broker?.stop();
});

describe('ScaledJob with RabbitMQ', () => {
  it('0 messages -> no Jobs; 7 -> 7 Jobs; 20 more -> at most 10 at once; each message consumed once; history trimmed', async () => {
    const queue = 'work';
    await publish(queue, []);
    await apply(kc, scaledJob('flow', queue, { successfulJobsHistoryLimit: 4, failedJobsHistoryLimit: 2 }), ns.name);
    const ref = { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledJob', name: 'flow', namespace: ns.name };
    const ready = await waitForCondition<k8s.KubernetesObject & { status?: Record<string, unknown>; metadata: { finalizers?: string[] } }>(kc, ref, 'Ready', 'True', 90_000);
    expect(ready.metadata.finalizers).toContain('finalizer.keda.sh');
    expect(ready.status?.['triggersTypes']).toBe('rabbitmq');
    expect(ready.status?.['authenticationsTypes']).toBe('rabbit');
    // The TriggerAuthentication lists the ScaledJob among its referrers.
    await waitFor(
      async () =>
        (await readObject<k8s.KubernetesObject & { status?: { scaledjobs?: string } }>(kc, { apiVersion: 'keda.sh/v1alpha1', kind: 'TriggerAuthentication', name: 'rabbit', namespace: ns.name }))?.status?.scaledjobs?.split(',').includes('flow'),
      { description: 'TriggerAuthentication status.scaledjobs to name flow', timeoutMs: 30_000 },
    );

    // 1. Nothing waiting: no Jobs over several polling intervals, and the ScaledJob says inactive.
    await waitForCondition(kc, ref, 'Active', 'False', 30_000);
    await sleep(5000);
    expect(await jobsOf('flow')).toHaveLength(0);

    const worker = new Worker('flow', queue, 1500);
    try {
      // 2-3. Seven messages: seven Jobs, each takes one message and completes.
      const first = Array.from({ length: 7 }, (_, i) => `m${i}`);
      await publish(queue, first);
      await waitFor(() => worker.messageOf.size === 7, { description: '7 jobs with a message each', timeoutMs: 60_000 });
      await waitFor(() => worker.completed.size === 7, { description: '7 completed jobs', timeoutMs: 60_000 });
      await waitFor(async () => (await jobsOf('flow')).every(finished), { description: 'every job finished', timeoutMs: 60_000 });
      await sleep(4000);
      expect(worker.messageOf.size).toBe(7);
      expect(worker.jobsWithoutMessage).toEqual([]);
      const job = (await jobsOf('flow'))[0];
      expect(job).toBeDefined();
      expect(job.metadata?.labels).toMatchObject({ 'scaledjob.keda.sh/name': 'flow', 'app.kubernetes.io/managed-by': 'keda-operator' });
      expect(job.metadata?.annotations?.['scaledjob.keda.sh/generation']).toBe('1');
      expect(job.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'ScaledJob', name: 'flow', controller: true });

      // 4. Twenty more: never more than maxReplicaCount unfinished at once.
      const second = Array.from({ length: 20 }, (_, i) => `n${i}`);
      await publish(queue, second);
      await waitFor(() => worker.messageOf.size === 27, { description: () => `27 consumed messages (have ${worker.messageOf.size})`, timeoutMs: 120_000 });
      await waitFor(() => worker.completed.size === 27, { description: '27 completed jobs', timeoutMs: 60_000 });
      await waitFor(async () => (await jobsOf('flow')).every(finished), { description: 'every job finished', timeoutMs: 60_000 });

      // Every message exactly once, one per Job, and no Job without a message.
      expect([...worker.messageOf.values()].sort()).toEqual([...first, ...second].sort());
      expect(worker.jobsWithoutMessage).toEqual([]);
      expect(worker.maxUnfinished).toBeLessThanOrEqual(10);
      expect(worker.maxUnfinished).toBeGreaterThan(7);
    } finally {
      await worker.stop();
    }

    // 5. Afterwards: empty queue, no new Jobs, finished Jobs trimmed to successfulJobsHistoryLimit.
    expect(await queueDepth(queue)).toBe(0);
    await waitFor(async () => (await jobsOf('flow')).length === 4, { description: 'history trimmed to 4 jobs', timeoutMs: 30_000 });
    const kept = await jobsOf('flow');
    await sleep(4000);
    const after = await jobsOf('flow');
    expect(after.map((j) => j.metadata?.name).sort()).toEqual(kept.map((j) => j.metadata?.name).sort());
    // The kept Jobs are among the latest completions. completionTime has a resolution of one second
    // and up to 10 Jobs complete together, so "latest" means within the last batch of 10.
    const keptNames = new Set(kept.map((j) => j.metadata?.name));
    const order = [...worker.completed];
    const firstKept = Math.min(...order.map((n, i) => (keptNames.has(n) ? i : Infinity)));
    expect(firstKept).toBeGreaterThanOrEqual(order.length - 10);
    const reasons = (await events('flow')).map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['ScaledJobReady', 'KEDAJobsCreated', 'ScaledJobActive']));
  }, 420_000);

  it('each strategy creates what its formula gives for a prepared state', async () => {
    const queue = 'strategy';
    await publish(queue, Array.from({ length: 6 }, (_, i) => `s${i}`));
    // Prepared per ScaledJob: 4 unfinished Jobs of the current generation, 3 with a Running pod and 1 pending (suspended).
    // queue 6, target 1, max 8 (effMax 8), running 4 (r 4), pending 1:
    const cases = [
      { name: 'st-default', strategy: { strategy: 'default' }, expected: 2 }, // 6 - 4
      { name: 'st-custom', strategy: { strategy: 'custom', customScalingQueueLengthDeduction: 0, customScalingRunningJobPercentage: '0.25' }, expected: 5 }, // min(6 - 0 - trunc(1), 8)
      { name: 'st-accurate', strategy: { strategy: 'accurate' }, expected: 4 }, // 6 + 4 - 1 = 9 > 8 -> 8 - 4
      { name: 'st-eager', strategy: { strategy: 'eager' }, expected: 3 }, // min(8 - 4 - 1, 6)
    ];
    for (const c of cases) {
      for (let i = 0; i < 4; i++) {
        const suspended = i === 3;
        await batch.createNamespacedJob({
          namespace: ns.name,
          body: {
            metadata: { name: `${c.name}-pre-${i}`, labels: { 'scaledjob.keda.sh/name': c.name }, annotations: { 'scaledjob.keda.sh/generation': '1' } },
            spec: {
              ...jobTemplate(),
              suspend: suspended,
              template: { metadata: { labels: { 'scaledjob.keda.sh/name': c.name } }, spec: { ...jobTemplate().template.spec, restartPolicy: 'Never' } },
            } as never,
          },
        });
        if (!suspended) {
          const pod = await waitFor(() => podOf(`${c.name}-pre-${i}`), { description: `pod of ${c.name}-pre-${i}`, timeoutMs: 60_000 });
          await setPodPhase(pod, 'Running');
        }
      }
    }
    // A long polling interval: the loop ticks once when it starts, and the test reads that tick.
    for (const c of cases) await apply(kc, scaledJob(c.name, queue, { pollingInterval: 600, maxReplicaCount: 8, scalingStrategy: c.strategy }), ns.name);
    for (const c of cases) {
      await waitFor(async () => (await jobsOf(c.name)).length >= 4 + c.expected, { description: `${c.name}: ${c.expected} new jobs`, timeoutMs: 60_000 });
    }
    await sleep(3000);
    for (const c of cases) expect({ name: c.name, created: (await jobsOf(c.name)).length - 4 }).toEqual({ name: c.name, created: c.expected });
  }, 300_000);

  it('broker down: error in conditions and events, no Jobs, recovery when it returns', async () => {
    const queue = 'outage';
    await publish(queue, []);
    await apply(kc, scaledJob('outage', queue, {}), ns.name);
    const ref = { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledJob', name: 'outage', namespace: ns.name };
    await waitForCondition(kc, ref, 'Ready', 'True', 60_000);
    await waitForCondition(kc, ref, 'Active', 'False', 30_000);

    await conn?.close().catch(() => undefined);
    await broker.pause();
    try {
      const failed = await waitForCondition<k8s.KubernetesObject & { status?: { conditions?: { type: string; reason?: string; message?: string }[] } }>(kc, ref, 'Ready', 'False', 60_000);
      expect(failed.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ reason: 'TriggerError', message: 'Triggers defined in ScaledJob are not working correctly' });
      const failure = await waitFor(async () => (await events('outage')).find((e) => e.reason === 'KEDAScalerFailed'), { description: 'a KEDAScalerFailed event', timeoutMs: 30_000 });
      expect(failure.type).toBe('Warning');
      expect(failure.note).toMatch(/error inspecting rabbitMQ queue "outage"/);
      expect(failure.note).not.toContain(urls.amqp.split('@')[0].split(':')[2]);
      await sleep(3000);
      expect(await jobsOf('outage')).toHaveLength(0);
    } finally {
      await broker.resume();
    }
    await publish(queue, ['a', 'b']);
    await waitForCondition(kc, ref, 'Ready', 'True', 90_000);
    await waitFor(async () => (await jobsOf('outage')).length === 2, { description: '2 jobs after the broker returned', timeoutMs: 60_000 });
    const obj = await readObject<k8s.KubernetesObject & { status?: { conditions?: { type: string; status: string }[] } }>(kc, ref);
    expect(obj?.status?.conditions?.find((c) => c.type === 'Active')?.status).toBe('True');
  }, 300_000);
});
