/**
 * The azure-blob scaler against Azurite (Microsoft's Storage emulator): blob
 * counts (hierarchical, prefix, recursive, glob), a wrong account key, a stopped server, and one shared client per connection string.
 */
import { BlobServiceClient } from '@azure/storage-blob';
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

describe('azure-blob scaler against Azurite', () => {
  let server: RunningTestServer<AzuritePort>;
  let connection: string;

  beforeAll(async () => {
    server = await startTestServer(azuriteServer());
    connection = azuriteConnectionString(server.ports);
  });
  afterAll(async () => server?.stop());

  it('azure-blob: hierarchical, prefix, recursive and glob counts', async () => {
    const container = BlobServiceClient.fromConnectionString(connection).getContainerClient('uploads');
    await container.create();
    const put = (name: string) => container.getBlockBlobClient(name).upload('x', 1);
    const top = build('azure-blob', { blobContainerName: 'uploads' }, connection);
    const incoming = build('azure-blob', { blobContainerName: 'uploads', blobPrefix: 'incoming', activationBlobCount: '1' }, connection);
    const recursive = build('azure-blob', { blobContainerName: 'uploads', recursive: 'true' }, connection);
    const csv = build('azure-blob', { blobContainerName: 'uploads', globPattern: '/incoming/*.csv' }, connection);
    try {
      expect(top.getMetricSpecForScaling()[0].external?.metric.name).toBe('s0-azure-blob-uploads');
      expect(await poll(top)).toEqual({ value: 0, isActive: false });
      await Promise.all(['a.txt', 'incoming/1.csv', 'incoming/2.json', 'incoming/deep/3.csv', 'archive/4.csv'].map(put));
      // Virtual directories are not counted.
      expect(await poll(top)).toEqual({ value: 1, isActive: true });
      expect(await poll(incoming)).toEqual({ value: 2, isActive: true });
      expect(await poll(recursive)).toEqual({ value: 5, isActive: true });
      expect(await poll(csv)).toEqual({ value: 2, isActive: true });
      expect(azureStorageClientCount().blob).toBe(1);
    } finally {
      await Promise.all([top.close(), incoming.close(), recursive.close(), csv.close()]);
    }
  });

  it('a wrong account key is an authentication error that does not contain the key', async () => {
    const wrongKey = Buffer.from('not-the-right-key-for-devstore').toString('base64');
    const q = build('azure-blob', { blobContainerName: 'uploads' }, azuriteConnectionString(server.ports, wrongKey));
    try {
      const err = (await poll(q).catch((e: Error) => e)) as Error;
      expect(err.message).toMatch(/^error listing blobs of azure blob container "uploads" at http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1: status 403/);
      expect(err.message).not.toContain(wrongKey);
      expect(err.message).not.toContain(AZURITE_KEY);
    } finally {
      await q.close();
    }
  });

  it('a missing container is a clear error', async () => {
    const q = build('azure-blob', { blobContainerName: 'nope' }, connection);
    try {
      await expect(poll(q)).rejects.toThrow(/status 404 ContainerNotFound/);
    } finally {
      await q.close();
    }
  });

  it('a stopped server fails within the timeout', async () => {
    const q = build('azure-blob', { blobContainerName: 'uploads' }, connection);
    try {
      await server.pause();
      const started = Date.now();
      await expect(poll(q)).rejects.toThrow(/^error listing blobs of azure blob container/);
      expect(Date.now() - started).toBeLessThan(ctx.httpTimeoutMs + 1500);
    } finally {
      await q.close();
    }
  });
});
