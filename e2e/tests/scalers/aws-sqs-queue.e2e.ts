/**
 * The aws-sqs-queue scaler against fauxqs (an SQS emulator; only emulators exist off AWS) through
 * `awsEndpoint`: visible, in-flight and delayed messages, activation, a shared client, and a
 * server that goes away. fauxqs does not check credentials, so a wrong key cannot be tested here.
 */
import {
  CreateQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { Scaler } from '@keda-ts/scaler-sdk';
import { scalers, sqsClientCount, type ScalerContext } from '@keda-ts/scalers';
import { fauxqsServer, startTestServer, type RunningTestServer } from '../../src/servers';

jest.setTimeout(120_000);

const ctx: ScalerContext = {
  httpTimeoutMs: 3000,
  now: () => new Date(),
  kubernetes: { countPods: () => Promise.reject(new Error('not used')) },
};
const KEYS = { awsAccessKeyID: 'AKIDLOCAL', awsSecretAccessKey: 'local-Secret-Key' };

describe('aws-sqs-queue scaler against fauxqs', () => {
  let server: RunningTestServer<'sqs'>;
  let endpoint: string;
  let sqs: SQSClient;
  let queueUrl: string;

  beforeAll(async () => {
    server = await startTestServer(fauxqsServer());
    endpoint = `http://127.0.0.1:${server.ports.sqs}`;
    sqs = new SQSClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'orders' }))).QueueUrl ?? '';
  });
  afterAll(async () => {
    sqs?.destroy();
    await server?.stop();
  });

  const build = (metadata: Record<string, string>): Scaler =>
    scalers.build(
      {
        triggerIndex: 0,
        triggerType: 'aws-sqs-queue',
        metadata: { queueURL: queueUrl, awsRegion: 'us-east-1', awsEndpoint: endpoint, ...metadata },
        authParams: KEYS,
        resolvedEnv: {},
        scalableObject: { kind: 'ScaledObject', namespace: 'default', name: 'worker' },
      },
      ctx,
    );
  const poll = async (s: Scaler) => {
    const r = await s.getMetricsAndActivity(s.getMetricSpecForScaling()[0].external?.metric.name ?? '');
    return { value: r.metrics[0].value, isActive: r.isActive };
  };

  it('counts visible, in-flight and delayed messages as configured; activation is strictly greater', async () => {
    const all = build({ scaleOnDelayed: 'true', queueLength: '2' });
    const visibleOnly = build({ scaleOnInFlight: 'false', activationQueueLength: '3' });
    try {
      expect(all.getMetricSpecForScaling()[0].external).toEqual({
        metric: { name: 's0-aws-sqs-orders' },
        target: { type: 'AverageValue', averageValue: '2' },
      });
      expect(await poll(all)).toEqual({ value: 0, isActive: false });

      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Array.from({ length: 5 }, (_, i) => ({ Id: `m${i}`, MessageBody: `job ${i}` })),
        }),
      );
      expect(await poll(all)).toEqual({ value: 5, isActive: true });
      expect(await poll(visibleOnly)).toEqual({ value: 5, isActive: true });

      // Two in flight: still counted by default, not by scaleOnInFlight=false.
      await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 2, VisibilityTimeout: 300 }));
      expect(await poll(all)).toEqual({ value: 5, isActive: true });
      expect(await poll(visibleOnly)).toEqual({ value: 3, isActive: false });

      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'later', DelaySeconds: 600 }));
      expect(await poll(all)).toEqual({ value: 6, isActive: true });
      expect(await poll(visibleOnly)).toEqual({ value: 3, isActive: false });

      expect(sqsClientCount()).toBe(1);
    } finally {
      await all.close();
      await visibleOnly.close();
    }
    expect(sqsClientCount()).toBe(0);
  });

  it('a queue that does not exist is a clear error', async () => {
    const s = build({ queueURL: `${endpoint}/000000000000/missing` });
    try {
      await expect(poll(s)).rejects.toThrow(/^error getting length of SQS queue ".*\/missing" at http:\/\/127\.0\.0\.1:\d+: .+/);
    } finally {
      await s.close();
    }
  });

  it('a server that is down fails within the timeout, never with the secret key', async () => {
    const s = build({});
    try {
      await server.pause();
      const started = Date.now();
      const err = (await poll(s).catch((e: Error) => e)) as Error;
      expect(err.message).toMatch(/^error getting length of SQS queue/);
      expect(err.message).not.toContain(KEYS.awsSecretAccessKey);
      expect(Date.now() - started).toBeLessThan(ctx.httpTimeoutMs + 1500);
    } finally {
      await s.close();
    }
  });
});
