/**
 * What the Azure Storage scalers (azure-queue, azure-blob) share: the `cloud`/`endpointSuffix`
 * parameters, connection-string secrets for redaction, one service client per connection string.
 */
// `require` form on purpose: bundlers then pick the SDKs' CommonJS builds; their ESM builds read
// import.meta.url, which does not exist in the apps' CommonJS bundles.
import storageBlob = require('@azure/storage-blob');
import storageQueue = require('@azure/storage-queue');
import type { ValidationIssue } from '../descriptor';
import { param, q } from '../params';
import { credentialsHash, redact, SharedClients, withDeadline } from '../pools/shared-clients';

export const AZURE_CLOUDS = ['AzurePublicCloud', 'AzureChinaCloud', 'AzureGermanCloud', 'AzureUSGovernmentCloud', 'Private'] as const;

export const azureCloudParams = {
  cloud: param.string({
    name: 'cloud',
    order: ['triggerMetadata'],
    optional: true,
    description: `Azure cloud of the account when it is named by \`accountName\`: ${AZURE_CLOUDS.map((c) => `\`${c}\``).join(', ')} (\`Private\` needs \`endpointSuffix\`).`,
  }),
  endpointSuffix: param.string({
    name: 'endpointSuffix',
    order: ['triggerMetadata'],
    optional: true,
    description: 'Storage endpoint suffix for `cloud: Private` (e.g. `core.example.net`).',
  }),
};

/** KEDA's ParseAzureStorageEndpointSuffix checks. */
export function validateAzureCloud(c: { cloud?: string; endpointSuffix?: string }): ValidationIssue[] {
  if (!c.cloud) return [];
  const known = AZURE_CLOUDS.find((k) => k.toLowerCase() === c.cloud?.toLowerCase());
  if (!known) return [{ parameter: 'cloud', message: `unknown cloud ${q(c.cloud)}, allowed values are [${AZURE_CLOUDS.join(' ')}]` }];
  if (known === 'Private' && !c.endpointSuffix)
    return [{ parameter: 'endpointSuffix', message: 'endpointSuffix must be provided for Private cloud' }];
  return [];
}

/** The secret parts of a storage connection string (AccountKey, SharedAccessSignature), for redaction. */
export function connectionStringSecrets(connection: string): string[] {
  const out = [connection];
  for (const part of connection.split(';')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim().toLowerCase();
    if (key === 'accountkey' || key === 'sharedaccesssignature') out.push(part.slice(eq + 1).trim());
  }
  return out;
}

/** The endpoint named by a connection string (for messages): explicit endpoint, else account + suffix. */
export function connectionEndpoint(connection: string, service: 'queue' | 'blob'): string {
  const fields = new Map<string, string>();
  for (const part of connection.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const explicit = fields.get(`${service}endpoint`);
  if (explicit) return explicit.replace(/\?.*$/, '');
  if (fields.get('usedevelopmentstorage') === 'true') return `http://127.0.0.1:${service === 'blob' ? 10000 : 10001}/devstoreaccount1`;
  const account = fields.get('accountname') ?? '<unknown account>';
  return `${fields.get('defaultendpointsprotocol') ?? 'https'}://${account}.${service}.${fields.get('endpointsuffix') ?? 'core.windows.net'}`;
}

function clientOptions(timeoutMs: number) {
  return { retryOptions: { maxTries: 2, tryTimeoutInMs: timeoutMs, retryDelayInMs: 100, maxRetryDelayInMs: 500 } };
}

// The SDK clients hold no sockets of their own between calls (Node's global agent keeps them), so closing is a no-op.
const queueServices = new SharedClients<storageQueue.QueueServiceClient>(async () => undefined);
const blobServices = new SharedClients<storageBlob.BlobServiceClient>(async () => undefined);

export function acquireQueueService(connection: string, timeoutMs: number) {
  return queueServices.acquire(`${credentialsHash(connection)}|${timeoutMs}`, () =>
    storageQueue.QueueServiceClient.fromConnectionString(connection, clientOptions(timeoutMs)),
  );
}

export function acquireBlobService(connection: string, timeoutMs: number) {
  return blobServices.acquire(`${credentialsHash(connection)}|${timeoutMs}`, () =>
    storageBlob.BlobServiceClient.fromConnectionString(connection, clientOptions(timeoutMs)),
  );
}

/** Live shared clients (tests, benchmarks). */
export function azureStorageClientCount(): { queue: number; blob: number } {
  return { queue: queueServices.size, blob: blobServices.size };
}

/** A short, secret-free message of an SDK error (RestError carries status and code). */
export function azureErrorMessage(err: unknown): string {
  const e = err as { statusCode?: number; code?: string; message?: string };
  const first = (e.message ?? String(err)).split('\n')[0];
  return e.statusCode ? `status ${e.statusCode}${e.code ? ` ${e.code}` : ''}: ${first}` : first;
}

/**
 * One count read from the service within `timeoutMs` (or until `signal` aborts); the request is
 * aborted once the read settles or is given up. A failure reads `<failure>: <SDK message>`, secrets redacted.
 */
export async function readAzureCount(
  read: (abortSignal: AbortSignal) => Promise<number>,
  options: { timeoutMs: number; failure: string; secrets: readonly string[]; signal?: AbortSignal },
): Promise<number> {
  const abort = new AbortController();
  try {
    return await withDeadline(read(abort.signal), options.timeoutMs, 'request', options.signal);
  } catch (err) {
    throw new Error(`${options.failure}: ${redact(azureErrorMessage(err), options.secrets)}`, { cause: err });
  } finally {
    abort.abort();
  }
}
