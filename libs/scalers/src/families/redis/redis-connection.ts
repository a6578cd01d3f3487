/**
 * What the six Redis scalers share (KEDA redis_scaler.go): one ioredis client per server and
 * credentials, shared by every scaler that points at it. The connection parameters and their
 * checks are in @keda-ts/scaler-sdk (descriptors/redis-connection.ts).
 *
 * Every command is bounded by the operator-wide timeout (KEDA_HTTP_DEFAULT_TIMEOUT): ioredis'
 * connect and command timeouts plus our own deadline around the whole poll, so a poll of a
 * server that is down, refuses the password or hangs fails within the timeout with a clear error.
 */
import type { AbstractConnector, Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type * as IORedis from 'ioredis';
import type { ConnectionOptions } from 'node:tls';
import { egressNetConnect, egressTlsConnect } from '../../net/egress-connect';
import { defaultEgressPolicy, EgressDeniedError, type EgressPolicy } from '../../net/egress-policy';
import { endpointsOf, q, type RedisConnectionConfig, type RedisEndpoint, type RedisMode, tlsEnabled } from '@keda-ts/scaler-sdk';
import { connectionKey, SharedClients } from '../../pools/shared-pool';
import { LocalError, safeErrorText } from '../../upstream-errors';
import { onFirstUse } from '../../lazy-module';

// The client library is loaded by the first Redis scaler, not at start-up (lazy-module.ts).
const ioredis = onFirstUse(() => require('ioredis') as typeof IORedis);

/** Everything a client is built from (and the pool key). */
export interface RedisConnectionSettings {
  mode: RedisMode;
  endpoints: RedisEndpoint[];
  username?: string;
  password?: string;
  sentinelUsername?: string;
  sentinelPassword?: string;
  sentinelMaster?: string;
  db: number;
  tls?: { ca?: string; cert?: string; key?: string; passphrase?: string; unsafeSsl: boolean };
  timeoutMs: number;
  /** The egress policy of every connection (default: the default policy). */
  egress?: EgressPolicy;
}
/** Settings of a valid config. */
export function redisSettings(config: RedisConnectionConfig, mode: RedisMode, timeoutMs: number, egress?: EgressPolicy): RedisConnectionSettings {
  return {
    egress,
    mode,
    endpoints: endpointsOf(config, mode).endpoints,
    username: config.username,
    password: config.password,
    sentinelUsername: config.sentinelUsername,
    sentinelPassword: config.sentinelPassword,
    sentinelMaster: config.sentinelMaster,
    db: config.databaseIndex ?? 0,
    tls: tlsEnabled(config)
      ? { ca: config.ca, cert: config.cert, key: config.key, passphrase: config.keyPassword, unsafeSsl: config.unsafeSsl }
      : undefined,
    timeoutMs,
  };
}

/** A pooled client plus what it has learned about the server. */
export interface RedisHandle {
  readonly client: Redis | Cluster;
  readonly settings: RedisConnectionSettings;
  /** The last connection error ioredis reported (message only; never holds credentials). */
  lastError?: string;
  /** `redis_version` from INFO, once read. */
  serverVersion?: string;
}

function tlsOptions(tls: RedisConnectionSettings['tls']): ConnectionOptions | undefined {
  if (!tls) return undefined;
  const options: ConnectionOptions = { rejectUnauthorized: !tls.unsafeSsl };
  // Only set what is given: tls.connect rejects an explicit `checkServerIdentity: undefined`.
  if (tls.ca) options.ca = tls.ca;
  if (tls.cert) options.cert = tls.cert;
  if (tls.key) options.key = tls.key;
  if (tls.passphrase) options.passphrase = tls.passphrase;
  if (tls.unsafeSsl) options.checkServerIdentity = () => undefined;
  return options;
}

const retry = (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2000);

type NetStream = Awaited<ReturnType<AbstractConnector['connect']>>;

/**
 * An ioredis `Connector` (public option) whose sockets go through the egress policy: standalone
 * servers and every cluster node, including nodes learned from CLUSTER SLOTS. The class is made per
 * client, when ioredis is loaded (it extends ioredis' AbstractConnector).
 */
function egressConnector(egress: EgressPolicy, onRefused: (err: Error) => void): NonNullable<RedisOptions['Connector']> {
  return class EgressRedisConnector extends ioredis().AbstractConnector {
    private readonly options: { host?: string; port?: number; family?: number; path?: string; tls?: ConnectionOptions; disconnectTimeout?: number };

    constructor(options: unknown) {
      const o = options as EgressRedisConnector['options'];
      super(o.disconnectTimeout ?? 2000);
      this.options = o;
    }

    connect(): Promise<NetStream> {
      this.connecting = true;
      const { host = 'localhost', port = 6379, family, path, tls } = this.options;
      // As ioredis' own connector: the socket is created on the next tick, unless disconnected meanwhile.
      return new Promise<NetStream>((resolve, reject) => {
        process.nextTick(() => {
          if (!this.connecting) return reject(new LocalError('Connection is closed.'));
          if (path) return reject(new EgressDeniedError('a Unix domain socket', undefined, 'scalers connect over TCP only'));
          const stream = tls
            ? egressTlsConnect(egress, { ...tls, host, port, ...(family ? { family } : {}) })
            : egressNetConnect(egress, { host, port, ...(family ? { family } : {}) });
          this.stream = stream as NetStream;
          stream.once('error', (err: Error) => {
            this.firstError = err;
            if (err instanceof EgressDeniedError) onRefused(err);
          });
          resolve(this.stream);
        });
      });
    }
  };
}

function createClient(settings: RedisConnectionSettings): RedisHandle {
  const egress = settings.egress ?? defaultEgressPolicy;
  // With TLS, ioredis hands these options to tls.connect, also for the sentinels and the master
  // they name: `lookup` checks the resolved addresses there too.
  const tlsBase = tlsOptions(settings.tls);
  const tls = tlsBase ? { ...tlsBase, lookup: egress.lookup } : undefined;
  // Egress refusals, which ioredis reports only as "Connection is closed." for cluster nodes and
  // not at all for the cluster's startup-node lookups; kept until the client is ready again.
  const seen: { lastError?: string; refusal?: string } = {};
  const refused = (err: Error) => (seen.refusal = err.message);
  const common: RedisOptions = {
    username: settings.username || undefined,
    password: settings.password || undefined,
    tls,
    connectTimeout: settings.timeoutMs,
    commandTimeout: settings.timeoutMs,
    lazyConnect: true,
    // A queued command fails after one reconnect attempt rather than waiting for the server forever.
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    connectionName: 'keda-ts',
  };
  let client: Redis | Cluster;
  if (settings.mode === 'cluster') {
    const options: ClusterOptions = {
      redisOptions: { ...common, Connector: egressConnector(egress, refused) },
      dnsLookup: (hostname, callback) =>
        egress.lookup(hostname, {}, (err, address, family) => {
          if (err instanceof EgressDeniedError) refused(err);
          callback(err, address as string, family);
        }),
      lazyConnect: true,
      enableOfflineQueue: true,
      clusterRetryStrategy: retry,
      slotsRefreshTimeout: settings.timeoutMs,
      maxRedirections: 4,
    };
    client = new (ioredis().Cluster)(settings.endpoints, options);
  } else if (settings.mode === 'sentinel') {
    client = new (ioredis().Redis)({
      ...common,
      db: settings.db,
      sentinels: settings.endpoints,
      name: settings.sentinelMaster,
      sentinelUsername: settings.sentinelUsername || undefined,
      sentinelPassword: settings.sentinelPassword || undefined,
      enableTLSForSentinelMode: Boolean(tls),
      sentinelTLS: tls,
      sentinelRetryStrategy: retry,
      retryStrategy: retry,
      // ioredis' SentinelConnector has no socket hook: the sentinels named by the trigger are
      // checked before each connect (withRedis); the master address a sentinel reports is checked
      // here (natMap, a public option), before ioredis connects to it. Sentinels do not add other
      // sentinels to the list, so a sentinel cannot name more connection targets.
      updateSentinels: false,
      natMap: (key: string) => {
        const m = /^(.*):(\d+)$/.exec(key);
        if (!m) return null;
        egress.assertHost(m[1]);
        // An extra `lookup` reaches net.connect in today's ioredis (best effort for host names).
        return { host: m[1], port: Number(m[2]), lookup: egress.lookup } as { host: string; port: number };
      },
    });
  } else {
    client = new (ioredis().Redis)({
      ...common,
      host: settings.endpoints[0].host,
      port: settings.endpoints[0].port,
      db: settings.db,
      retryStrategy: retry,
      Connector: egressConnector(egress, refused),
    });
  }
  const handle: RedisHandle = {
    client,
    settings,
    get lastError() {
      if (!seen.refusal || seen.lastError?.includes(seen.refusal)) return seen.lastError;
      return seen.lastError ? `${seen.lastError} (${seen.refusal})` : seen.refusal;
    },
    set lastError(message: string | undefined) {
      seen.lastError = message;
    },
  };
  client.on('ready', () => (seen.refusal = undefined));
  // Without a listener ioredis prints every connection error; we keep the last one for poll errors.
  client.on('error', (err: Error & { lastNodeError?: Error }) => {
    // A cluster reports "Failed to refresh slots cache." and keeps the node's reason apart.
    // Kept as safe text: a reply error or TLS failure can carry the server's own words.
    handle.lastError = err.lastNodeError ? `${safeErrorText(err)} ${safeErrorText(err.lastNodeError)}` : safeErrorText(err);
  });
  return handle;
}

const redisPool = new SharedClients<RedisHandle>(async (handle) => {
  handle.client.disconnect();
});

/** The pool key: connection parameters, with credentials and TLS material only as a hash. */
export function redisPoolKey(settings: RedisConnectionSettings): string {
  const { password, sentinelPassword, tls, egress, ...parts } = settings;
  return connectionKey(
    {
      ...parts,
      endpoints: JSON.stringify(parts.endpoints),
      tls: Boolean(tls),
      unsafeSsl: tls?.unsafeSsl ?? false,
      egress: (egress ?? defaultEgressPolicy).id,
    },
    { password, sentinelPassword, ca: tls?.ca, cert: tls?.cert, key: tls?.key, passphrase: tls?.passphrase },
  );
}

/** A lease on the shared client for these settings. */
export function acquireRedis(settings: RedisConnectionSettings) {
  return redisPool.acquire(redisPoolKey(settings), () => createClient(settings));
}

/** Live pooled clients (tests, metrics). */
export function redisPoolSize(): number {
  return redisPool.size;
}

/** Where the scaler connects, for error messages (no credentials). */
export function describeEndpoints(settings: RedisConnectionSettings): string {
  const list = settings.endpoints.map((e) => `${e.host}:${e.port}`).join(',');
  return settings.mode === 'sentinel' ? `sentinel master ${q(settings.sentinelMaster ?? '')} via ${list}` : list;
}

/**
 * Resolves and checks the sentinels the trigger names (ioredis connects to them without a socket
 * hook). Residual risk: a name that resolves differently for ioredis a moment later (DNS rebinding)
 * is not caught for the sentinels; the master they report is checked by natMap.
 */
async function vetSentinels(settings: RedisConnectionSettings): Promise<void> {
  const egress = settings.egress ?? defaultEgressPolicy;
  await Promise.all(
    settings.endpoints.map(async (e) => {
      const allowed = await egress.resolve(e.host);
      if (allowed.length === 0) throw new EgressDeniedError(e.host, undefined, 'no allowed address');
    }),
  );
}

/**
 * Runs `work` with the handle, bounded by the timeout; errors name the server and the operation.
 * A timeout reports the last connection error ioredis saw, if any.
 */
export async function withRedis<T>(
  handle: RedisHandle,
  operation: string,
  work: (client: Redis | Cluster) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const { timeoutMs } = handle.settings;
  const where = describeEndpoints(handle.settings);
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const cause = handle.lastError ? `: last error: ${handle.lastError}` : '';
      reject(new LocalError(`redis ${where}: ${operation} timed out after ${timeoutMs} ms${cause}`));
    }, timeoutMs);
    if (signal) {
      onAbort = () => reject(new LocalError(`redis ${where}: ${operation} aborted`));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  try {
    if (handle.settings.mode === 'sentinel') await Promise.race([vetSentinels(handle.settings), deadline]);
    return await Promise.race([work(handle.client), deadline]);
  } catch (err) {
    if (err instanceof LocalError && err.message.startsWith(`redis ${where}:`)) throw err;
    const message = safeErrorText(err);
    const detail = /max retries per request/i.test(message) && handle.lastError ? handle.lastError : message;
    throw new LocalError(`redis ${where}: ${operation} failed: ${detail}`);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}
