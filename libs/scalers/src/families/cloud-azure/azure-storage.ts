/**
 * What the Azure Storage scalers (azure-queue, azure-blob) share: one service client per connection
 * string. The `cloud`/`endpointSuffix` parameters and the connection-string helpers are in
 * @keda-ts/scaler-sdk (descriptors/azure-storage.ts).
 */
import type * as StorageBlob from '@azure/storage-blob';
import type * as StorageQueue from '@azure/storage-queue';
import { EgressHttpAgent, EgressHttpsAgent } from '../../net/egress-connect';
import { defaultEgressPolicy, type EgressPolicy } from '../../net/egress-policy';
import { credentialsHash, SharedClients, withDeadline } from '../../pools/shared-clients';
import { safeErrorText, upstreamError } from '../../upstream-errors';
import { onFirstUse } from '../../lazy-module';

// Loaded on first use, not at start-up. `require` on purpose also because bundlers then pick the
// SDKs' CommonJS builds; their ESM builds read import.meta.url, which does not exist in the apps'
// CommonJS bundles.
const storageBlob = onFirstUse(() => require('@azure/storage-blob') as typeof StorageBlob);
const storageQueue = onFirstUse(() => require('@azure/storage-queue') as typeof StorageQueue);

function clientOptions(timeoutMs: number) {
  return { retryOptions: { maxTries: 2, tryTimeoutInMs: timeoutMs, retryDelayInMs: 100, maxRetryDelayInMs: 500 } };
}

// The SDK clients hold no sockets of their own between calls (the egress agents below keep them), so closing is a no-op.
const queueServices = new SharedClients<StorageQueue.QueueServiceClient>(async () => undefined);
const blobServices = new SharedClients<StorageBlob.BlobServiceClient>(async () => undefined);

/** One keep-alive agent pair per egress policy, shared by every storage client (as Node's global agent was). */
const egressAgents = new WeakMap<EgressPolicy, { http: EgressHttpAgent; https: EgressHttpsAgent }>();

/**
 * A request policy (the SDKs' public `Pipeline.factories`) that sends every request through an
 * agent under the egress policy. The SDK follows redirects on the same request object, so each
 * hop goes through the agent, whose sockets check the address they connect to.
 */
function egressRequestPolicy(egress: EgressPolicy): StorageQueue.RequestPolicyFactory {
  let agents = egressAgents.get(egress);
  if (!agents) {
    agents = { http: new EgressHttpAgent(egress, { keepAlive: true }), https: new EgressHttpsAgent(egress, { keepAlive: true }) };
    egressAgents.set(egress, agents);
  }
  const { http, https } = agents;
  return {
    create: (next) => ({
      sendRequest: async (request) => {
        const url = new URL(request.url);
        egress.assertHost(url.hostname);
        request.agent = url.protocol === 'https:' ? https : http;
        return next.sendRequest(request);
      },
    }),
  };
}

/** Azurite's published development account key (UseDevelopmentStorage=true). */
const DEVELOPMENT_ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** The shared key of a connection string (AccountKey, or the development key), else undefined (SAS in the URL). */
function connectionAccountKey(connection: string): string | undefined {
  const fields = new Map<string, string>();
  for (const part of connection.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  return fields.get('accountkey') || (fields.get('usedevelopmentstorage') === 'true' ? DEVELOPMENT_ACCOUNT_KEY : undefined);
}

// The SDK parses the connection string (URL, account, SAS); the client is then rebuilt on a
// pipeline (newPipeline, public) that carries the egress request policy.
export function acquireQueueService(connection: string, timeoutMs: number, egress: EgressPolicy = defaultEgressPolicy) {
  return queueServices.acquire(`${credentialsHash(connection)}|${timeoutMs}|egress:${egress.id}`, () => {
    const sdk = storageQueue();
    const parsed = sdk.QueueServiceClient.fromConnectionString(connection, clientOptions(timeoutMs));
    const key = connectionAccountKey(connection);
    const credential = key ? new sdk.StorageSharedKeyCredential(parsed.accountName, key) : new sdk.AnonymousCredential();
    const pipeline = sdk.newPipeline(credential, clientOptions(timeoutMs));
    pipeline.factories.push(egressRequestPolicy(egress));
    return new sdk.QueueServiceClient(parsed.url, pipeline);
  });
}

export function acquireBlobService(connection: string, timeoutMs: number, egress: EgressPolicy = defaultEgressPolicy) {
  return blobServices.acquire(`${credentialsHash(connection)}|${timeoutMs}|egress:${egress.id}`, () => {
    const sdk = storageBlob();
    const parsed = sdk.BlobServiceClient.fromConnectionString(connection, clientOptions(timeoutMs));
    const key = connectionAccountKey(connection);
    const credential = key ? new sdk.StorageSharedKeyCredential(parsed.accountName, key) : new sdk.AnonymousCredential();
    const pipeline = sdk.newPipeline(credential, clientOptions(timeoutMs));
    pipeline.factories.push(egressRequestPolicy(egress) as StorageBlob.RequestPolicyFactory);
    return new sdk.BlobServiceClient(parsed.url, pipeline);
  });
}

/** Live shared clients (tests, benchmarks). */
export function azureStorageClientCount(): { queue: number; blob: number } {
  return { queue: queueServices.size, blob: blobServices.size };
}

/** A short, secret-free message of an SDK error: status and code, never the service's text. */
export function azureErrorMessage(err: unknown): string {
  return safeErrorText(err);
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
    throw upstreamError(options.failure, err, options.secrets);
  } finally {
    abort.abort();
  }
}
