/**
 * What the six Redis descriptors share (KEDA redis_scaler.go): the connection parameters of the
 * standalone, cluster and sentinel forms and their cross-field checks. The shared ioredis clients
 * are in @keda-ts/scalers (families/redis/redis-connection.ts).
 */
import type { ValidationIssue } from '../descriptor';
import { param, type ParsedParams, q } from '../params';
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

function parsePort(raw: string): number | undefined {
  if (!/^\d+$/.test(raw)) return undefined;
  const n = Number(raw);
  return n > 0 && n < 65536 ? n : undefined;
}

/** The endpoints of a config, or the problems that prevent them. */
export function endpointsOf(config: RedisConnectionConfig, mode: RedisMode): { endpoints: RedisEndpoint[]; problems: ValidationIssue[] } {
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
export function tlsEnabled(config: RedisConnectionConfig): boolean {
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
