/**
 * What the six Redis scalers share (KEDA redis_scaler.go): the connection parameters of the
 * standalone, cluster and sentinel forms, their cross-field checks, and one ioredis client per
 * server and credentials, shared by every scaler that points at it.
 *
 * Every command is bounded by the operator-wide timeout (KEDA_HTTP_DEFAULT_TIMEOUT): ioredis'
 * connect and command timeouts plus our own deadline around the whole poll, so a poll of a
 * server that is down, refuses the password or hangs fails within the timeout with a clear error.
 */
import { AbstractConnector, Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { ConnectionOptions } from 'node:tls';
import { egressNetConnect, egressTlsConnect } from '../net/egress-connect';
import { defaultEgressPolicy, EgressDeniedError, type EgressPolicy } from '../net/egress-policy';
import type { ValidationIssue } from '../descriptor';
import { param, q, type ParsedParams } from '../params';
import { SharedClients, connectionKey } from '../pools/shared-pool';
import { LocalError, safeErrorText } from '../upstream-errors';
import { VETTING } from '../vetting';

export type RedisMode = 'standalone' | 'cluster' | 'sentinel';

const M = ['triggerMetadata'] as const;
const A = ['authParams'] as const;
const MAE = ['triggerMetadata', 'authParams', 'resolvedEnv'] as const;

function baseParams(mode: RedisMode) {
  const many = mode !== 'standalone';
  return {
    address: param.list({ refersTo: 'endpoint', vetting: VETTING.redisAddress,
      name: ['address', 'addresses'],
      order: MAE,
      optional: true,
      description: many
        ? `Comma-separated \`host:port\` of the ${mode === 'cluster' ? 'cluster nodes' : 'sentinels'}; or use \`hosts\` and \`ports\`.`
        : '`host:port` of the server; or use `host` and `port`.',
    }),
    host: param.list({ refersTo: 'endpoint', vetting: VETTING.redisAddress,
      name: ['host', 'hosts'],
      order: MAE,
      optional: true,
      description: many ? 'Comma-separated host names, paired with `ports`.' : 'Host name, with `port`.',
    }),
    port: param.list({
      name: ['port', 'ports'],
      order: MAE,
      optional: true,
      description: many ? 'Comma-separated ports, as many as `hosts`.' : 'Port, with `host`.',
    }),
    username: param.string({ name: 'username', order: MAE, optional: true, description: 'Redis ACL user name.' }),
    password: param.string({ name: 'password', order: MAE, optional: true, secret: true, description: 'Redis password.' }),
    enableTLS: param.bool({
      name: 'enableTLS',
      order: M,
      optional: true,
      description: 'Connect with TLS. Alternatively set authParams `tls: enable`; setting both is an error.',
    }),
    tls: param.enum(['enable', 'disable'], {
      name: 'tls',
      order: A,
      optional: true,
      description: 'authParams form of `enableTLS`: `enable` or `disable`.',
    }),
    unsafeSsl: param.bool({
      name: 'unsafeSsl',
      order: M,
      default: 'false',
      description: "Skip verification of the server's TLS certificate.",
    }),
    cert: param.string({ name: ['cert', 'Cert'], order: A, optional: true, description: 'PEM client certificate (TLS).' }),
    key: param.string({ name: 'key', order: A, optional: true, secret: true, description: 'PEM client key (TLS).' }),
    keyPassword: param.string({
      name: 'keyPassword',
      order: A,
      optional: true,
      secret: true,
      description: 'Passphrase of an encrypted client key (TLS).',
    }),
    ca: param.string({ name: 'ca', order: A, optional: true, description: 'PEM CA certificate that signed the server certificate (TLS).' }),
  };
}

const databaseParams = {
  databaseIndex: param.int({ name: 'databaseIndex', order: M, default: '0', min: 0, description: 'Database number (`SELECT`).' }),
};

const sentinelParams = {
  sentinelUsername: param.string({ name: 'sentinelUsername', order: MAE, optional: true, description: 'User name for the sentinels.' }),
  sentinelPassword: param.string({
    name: 'sentinelPassword',
    order: MAE,
    optional: true,
    secret: true,
    description: 'Password for the sentinels.',
  }),
  sentinelMaster: param.string({
    name: 'sentinelMaster',
    order: MAE,
    optional: true,
    description: 'Name of the master the sentinels monitor (required).',
  }),
};

/** Connection parameters per form: databases exist outside cluster mode, sentinel adds its own. */
export const REDIS_CONNECTION_PARAMS = {
  standalone: { ...baseParams('standalone'), ...databaseParams },
  cluster: baseParams('cluster'),
  sentinel: { ...baseParams('sentinel'), ...sentinelParams, ...databaseParams },
};

/** Docs: the end of every Redis scaler's description. */
export const REDIS_DESCRIPTION_NOTE =
  'Commands time out after KEDA_HTTP_DEFAULT_TIMEOUT; one connection per server and credentials is shared by all triggers.';

/** Docs: what each form reads from (the scalers' descriptions). */
export const REDIS_FORM_SOURCE: Record<RedisMode, string> = {
  standalone: 'a Redis server',
  cluster: 'a Redis Cluster (any node as entry point)',
  sentinel: 'the master that Redis Sentinel names',
};

/** Docs examples: the connection part per form. */
export const REDIS_EXAMPLE_CONNECTION: Record<RedisMode, Record<string, string>> = {
  standalone: { address: 'redis.default.svc:6379' },
  cluster: { addresses: 'redis-0.redis.default.svc:6379,redis-1.redis.default.svc:6379,redis-2.redis.default.svc:6379' },
  sentinel: { addresses: 'redis-sentinel.default.svc:26379', sentinelMaster: 'mymaster' },
};

/** Docs examples: what a TriggerAuthentication supplies per form. */
export const REDIS_EXAMPLE_AUTH: Record<RedisMode, Record<string, string>> = {
  standalone: { password: 'replace-with-the-password' },
  cluster: { password: 'replace-with-the-password' },
  sentinel: { password: 'replace-with-the-password', sentinelPassword: 'replace-with-the-sentinel-password' },
};

type AllConnectionParams = typeof REDIS_CONNECTION_PARAMS.sentinel;
/** Parsed connection parameters of any form (fields of other forms are undefined). */
export type RedisConnectionConfig = Partial<ParsedParams<AllConnectionParams>> & Pick<ParsedParams<AllConnectionParams>, 'unsafeSsl'>;

export interface RedisEndpoint {
  host: string;
  port: number;
}

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

function parsePort(raw: string): number | undefined {
  if (!/^\d+$/.test(raw)) return undefined;
  const n = Number(raw);
  return n > 0 && n < 65536 ? n : undefined;
}

/** The endpoints of a config, or the problems that prevent them. */
function endpointsOf(config: RedisConnectionConfig, mode: RedisMode): { endpoints: RedisEndpoint[]; problems: ValidationIssue[] } {
  const problems: ValidationIssue[] = [];
  const endpoints: RedisEndpoint[] = [];
  const addresses = (config.address ?? []).filter((a) => a !== '');
  const hosts = (config.host ?? []).filter((h) => h !== '');
  const ports = (config.port ?? []).filter((p) => p !== '');
  if (addresses.length > 0 && hosts.length > 0) {
    problems.push({ parameter: 'address', message: 'set either "address" or "host" and "port", not both' });
    return { endpoints, problems };
  }
  if (addresses.length > 0) {
    for (const address of addresses) {
      const m = /^(.+):([^:]+)$/.exec(address);
      const port = m ? parsePort(m[2]) : undefined;
      if (!m || port === undefined) {
        problems.push({ parameter: 'address', message: `parameter "address" value ${q(address)} must be host:port` });
        continue;
      }
      endpoints.push({ host: m[1].replace(/^\[(.*)\]$/, '$1'), port });
    }
  } else if (hosts.length > 0) {
    if (hosts.length !== ports.length) {
      problems.push({
        parameter: 'port',
        message: `not enough hosts or ports given: the number of hosts (${hosts.length}) must equal the number of ports (${ports.length})`,
      });
      return { endpoints, problems };
    }
    hosts.forEach((host, i) => {
      const port = parsePort(ports[i]);
      if (port === undefined) problems.push({ parameter: 'port', message: `parameter "port" value ${q(ports[i])} must be a port number (1-65535)` });
      else endpoints.push({ host, port });
    });
  } else {
    problems.push({
      parameter: 'address',
      message: 'no address or host given: set "address" (host:port) or "host" and "port"',
    });
  }
  if (mode === 'standalone' && endpoints.length > 1) {
    problems.push({ parameter: 'address', message: `the standalone form takes one server, got ${endpoints.length}; use redis-cluster or redis-sentinel` });
  }
  return { endpoints, problems };
}

/** TLS on or off: metadata `enableTLS` or authParams `tls`, never both. */
function tlsEnabled(config: RedisConnectionConfig): boolean {
  return config.enableTLS ?? config.tls === 'enable';
}

/** The cross-field checks of the connection parameters. */
export function validateRedisConnection(config: RedisConnectionConfig, mode: RedisMode): ValidationIssue[] {
  const problems = [...endpointsOf(config, mode).problems];
  if (config.enableTLS !== undefined && config.tls !== undefined) {
    problems.push({ parameter: 'tls', message: 'unable to set `tls` in both ScaledObject and TriggerAuthentication together' });
  }
  if (mode === 'sentinel' && !config.sentinelMaster) {
    problems.push({
      parameter: 'sentinelMaster',
      message: 'missing required parameter "sentinelMaster" in [triggerMetadata authParams resolvedEnv]: the sentinel form needs the master name',
    });
  }
  if ((config.cert && !config.key) || (!config.cert && config.key)) {
    problems.push({ parameter: 'cert', message: 'both "cert" and "key" must be given for a TLS client certificate' });
  }
  if ((config.cert || config.ca || config.keyPassword) && !tlsEnabled(config)) {
    problems.push({ parameter: 'tls', message: 'TLS material (ca, cert, key) is given but TLS is not enabled: set enableTLS "true" or tls "enable"' });
  }
  return problems;
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
 * servers and every cluster node, including nodes learned from CLUSTER SLOTS.
 */
function egressConnector(egress: EgressPolicy, onRefused: (err: Error) => void): NonNullable<RedisOptions['Connector']> {
  return class EgressRedisConnector extends AbstractConnector {
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
    client = new Cluster(settings.endpoints, options);
  } else if (settings.mode === 'sentinel') {
    client = new Redis({
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
    client = new Redis({
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
