/**
 * The azure-queue scaler against Azurite (Microsoft's Storage emulator): queue
 * counts (all / visible only, with the 32-message peek limit), a wrong account key, a stopped server, and one shared client per connection string.
 */
import { QueueServiceClient } from '@azure/storage-queue';
import type { Scaler } from '@keda-ts/scaler-sdk';
import { azureStorageClientCount, scalers, type ScalerContext } from '@keda-ts/scalers';
import {
  AZURITE_KEY,
  azuriteConnectionString,
  azuriteServer,
  startTestServer,
  type AzuritePort,
  type RunningTestServer,
} from '../../src/servers';

jest.setTimeout(120_000);

const ctx: ScalerContext = {
  httpTimeoutMs: 3000,
  now: () => new Date(),
  kubernetes: { countPods: () => Promise.reject(new Error('not used')) },
};

function build(type: 'azure-queue' | 'azure-blob', metadata: Record<string, string>, connection: string): Scaler {
  return scalers.build(
    {
      triggerIndex: 0,
      triggerType: type,
      metadata,
      authParams: { connection },
      resolvedEnv: {},
      scalableObject: { kind: 'ScaledObject', namespace: 'default', name: 'worker' },
    },
    ctx,
  );
}

async function poll(s: Scaler): Promise<{ value: number; isActive: boolean }> {
  const r = await s.getMetricsAndActivity(s.getMetricSpecForScaling()[0].external?.metric.name ?? '');
  return { value: r.metrics[0].value, isActive: r.isActive };
}

describe('azure-queue scaler against Azurite', () => {
  let server: RunningTestServer<AzuritePort>;
  let connection: string;

  beforeAll(async () => {
    server = await startTestServer(azuriteServer());
    connection = azuriteConnectionString(server.ports);
  });
  afterAll(async () => server?.stop());

  it('azure-queue: approximate count includes invisible messages; visibleonly peeks (and falls back past 32)', async () => {
    const queue = QueueServiceClient.fromConnectionString(connection).getQueueClient('orders');
    await queue.create();
    const all = build('azure-queue', { queueName: 'orders', queueLength: '4' }, connection);
    const visible = build('azure-queue', { queueName: 'orders', queueLengthStrategy: 'visibleonly', activationQueueLength: '2' }, connection);
    try {
      expect(all.getMetricSpecForScaling()[0].external).toEqual({
        metric: { name: 's0-azure-queue-orders' },
        target: { type: 'AverageValue', averageValue: '4' },
      });
      expect(await poll(all)).toEqual({ value: 0, isActive: false });
      for (let i = 0; i < 5; i++) await queue.sendMessage(`job ${i}`);
      expect(await poll(all)).toEqual({ value: 5, isActive: true });
      expect(await poll(visible)).toEqual({ value: 5, isActive: true });

      await queue.receiveMessages({ numberOfMessages: 3, visibilityTimeout: 300 });
      expect(await poll(all)).toEqual({ value: 5, isActive: true });
      expect(await poll(visible)).toEqual({ value: 2, isActive: false });

      for (let i = 0; i < 40; i++) await queue.sendMessage(`more ${i}`);
      // 42 visible: the peek returns 32, so the approximate count (45) is used.
      expect(await poll(visible)).toEqual({ value: 45, isActive: true });
      expect(azureStorageClientCount().queue).toBe(1);
    } finally {
      await all.close();
      await visible.close();
    }
    expect(azureStorageClientCount().queue).toBe(0);
  });

  it('a wrong account key is an authentication error that does not contain the key', async () => {
    const wrongKey = Buffer.from('not-the-right-key-for-devstore').toString('base64');
    const q = build('azure-queue', { queueName: 'orders' }, azuriteConnectionString(server.ports, wrongKey));
    try {
      const err = (await poll(q).catch((e: Error) => e)) as Error;
      expect(err.message).toMatch(/^error getting length of azure queue "orders" at http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1: status 403/);
      expect(err.message).not.toContain(wrongKey);
      expect(err.message).not.toContain(AZURITE_KEY);
    } finally {
      await q.close();
    }
  });

  it('a missing queue is a clear error', async () => {
    const q = build('azure-queue', { queueName: 'nope' }, connection);
    try {
      await expect(poll(q)).rejects.toThrow(/status 404 QueueNotFound/);
    } finally {
      await q.close();
    }
  });

  it('a stopped server fails within the timeout', async () => {
    const q = build('azure-queue', { queueName: 'orders' }, connection);
    try {
      await server.pause();
      const started = Date.now();
      await expect(poll(q)).rejects.toThrow(/^error getting length of azure queue/);
      expect(Date.now() - started).toBeLessThan(ctx.httpTimeoutMs + 1500);
    } finally {
      await q.close();
    }
  });
});
