import * as path from 'node:path';
import type { TestServerDefinition } from './launcher';

/**
 * fauxqs 1.9.2 (npm, SQS emulator: no real SQS runs off AWS) on 127.0.0.1. It accepts any
 * credentials; queue URLs are `http://127.0.0.1:<port>/000000000000/<name>`.
 */
export function fauxqsServer(): TestServerDefinition<'sqs'> {
  return {
    name: 'fauxqs',
    ports: ['sqs'],
    command: ({ ports }) => ({ command: process.execPath, args: [path.join(__dirname, 'fauxqs-main.mjs'), String(ports.sqs)] }),
    ready: async ({ ports }) => {
      const res = await fetch(`http://127.0.0.1:${ports.sqs}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': 'AmazonSQS.ListQueues' },
        body: '{}',
        signal: AbortSignal.timeout(1000),
      });
      return res.status === 200;
    },
    readyTimeoutMs: 30_000,
  };
}
