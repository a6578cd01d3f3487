import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { build } from 'esbuild';

const { eventSourceClients, leaveOut } = require('../esbuild-leave-out.cjs') as {
  eventSourceClients: () => string[];
  leaveOut: (packages: string[]) => import('esbuild').Plugin;
};

describe('the webhook bundle leaves out event-source clients', () => {
  it('lists the client libraries of @keda-ts/scalers, not what the descriptors need', () => {
    const left = eventSourceClients();
    expect(left).toEqual(expect.arrayContaining(['@platformatic/kafka', 'pg', 'mysql2', 'ioredis', 'amqplib', '@aws-sdk/client-sqs', '@azure/storage-blob', '@azure/storage-queue']));
    expect(left).not.toEqual(expect.arrayContaining(['cron-parser']));
    expect(left.filter((p) => p.startsWith('@keda-ts/') || p === 'yaml' || p === '@grpc/grpc-js')).toEqual([]);
  });

  it('stands in for them: modules that import them load, a use throws naming the package', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'webhook-leave-out-'));
    try {
      // The shapes the scaler modules use: named, namespace, `import x = require()` and subpath imports.
      writeFileSync(
        join(dir, 'entry.ts'),
        [
          "import { Admin, FindCoordinatorKeyTypes } from '@platformatic/kafka';",
          "import * as amqp from 'amqplib';",
          "import blob = require('@azure/storage-blob');",
          "import { SQSClient } from '@aws-sdk/client-sqs/dist-cjs/index.js';",
          'class Wrapped extends Admin {}',
          'const level = FindCoordinatorKeyTypes.GROUP;',
          'export const loaded = typeof level !== "undefined" && typeof amqp.connect === "function" && Wrapped !== undefined;',
          'export const notInstance = ({}) instanceof SQSClient;',
          'export const construct = () => new Admin({ clientId: "x", bootstrapBrokers: [] });',
          'export const call = () => amqp.connect("amqp://x");',
          'export const member = () => new blob.BlobServiceClient("x");',
          'export const awaited = async () => (await import("@platformatic/kafka")).Admin;',
        ].join('\n'),
      );
      const out = await build({
        entryPoints: [join(dir, 'entry.ts')],
        bundle: true,
        platform: 'node',
        format: 'cjs',
        write: false,
        logLevel: 'silent',
        plugins: [leaveOut(['@platformatic/kafka', 'amqplib', '@azure/storage-blob', '@aws-sdk/client-sqs'])],
      });
      const module = { exports: {} as Record<string, unknown> };
      runInNewContext(out.outputFiles[0].text, { module, exports: module.exports, require });
      const m = module.exports as { loaded: boolean; notInstance: boolean; construct: () => unknown; call: () => unknown; member: () => unknown; awaited: () => Promise<unknown> };
      expect(m.loaded).toBe(true);
      expect(m.notInstance).toBe(false);
      expect(m.construct).toThrow('@platformatic/kafka is not in the webhook bundle: the webhook checks trigger metadata and never connects to event sources');
      expect(m.call).toThrow('amqplib is not in the webhook bundle');
      expect(m.member).toThrow('@azure/storage-blob is not in the webhook bundle');
      await expect(m.awaited()).resolves.toBeDefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
