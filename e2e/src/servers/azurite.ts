import * as path from 'node:path';
import type { TestServerDefinition } from './launcher';

/** Azurite's well-known development account (public, documented by Microsoft; not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export type AzuritePort = 'blob' | 'queue' | 'table';

/** A connection string to the blob and queue services of a running Azurite (`key` overrides the account key). */
export function azuriteConnectionString(ports: Record<AzuritePort, number>, key = AZURITE_KEY): string {
  return [
    'DefaultEndpointsProtocol=http',
    `AccountName=${AZURITE_ACCOUNT}`,
    `AccountKey=${key}`,
    `BlobEndpoint=http://127.0.0.1:${ports.blob}/${AZURITE_ACCOUNT}`,
    `QueueEndpoint=http://127.0.0.1:${ports.queue}/${AZURITE_ACCOUNT}`,
  ].join(';');
}

/**
 * Azurite 3.35.0 (npm; Microsoft's Storage emulator; 3.37 needs Node 22): blob, queue and table
 * services on 127.0.0.1 with their data in the temp dir, telemetry off.
 */
export function azuriteServer(): TestServerDefinition<AzuritePort> {
  const bin = path.join(path.dirname(require.resolve('azurite/package.json')), 'dist', 'src', 'azurite.js');
  return {
    name: 'azurite',
    ports: ['blob', 'queue', 'table'],
    command: ({ ports, dataDir }) => ({
      command: process.execPath,
      args: [
        bin,
        '--location', dataDir, '--silent', '--disableTelemetry', '--skipApiVersionCheck', '--loose',
        '--blobHost', '127.0.0.1', '--blobPort', String(ports.blob),
        '--queueHost', '127.0.0.1', '--queuePort', String(ports.queue),
        '--tableHost', '127.0.0.1', '--tablePort', String(ports.table),
      ],
    }),
    // Any HTTP answer (403 without credentials) means the service is up.
    ready: async ({ ports }) => {
      for (const port of [ports.blob, ports.queue]) {
        await fetch(`http://127.0.0.1:${port}/${AZURITE_ACCOUNT}?comp=list`, { signal: AbortSignal.timeout(1000) });
      }
      return true;
    },
    readyTimeoutMs: 60_000,
  };
}
