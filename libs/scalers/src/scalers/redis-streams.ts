/**
 * `redis-streams`, `redis-cluster-streams` and `redis-sentinel-streams` (KEDA
 * redis_streams_scaler.go). The mode follows from the metadata:
 *  - `consumerGroup` and a non-zero `lagCount`: the group's lag (XINFO GROUPS; Redis >= 7);
 *  - `consumerGroup` alone: the group's pending entries (XPENDING summary);
 *  - neither: the stream length (XLEN).
 */
import { defineScaler, type ScalerDescriptor } from '../descriptor';
import { externalMetricSpec, externalMetricType, isActiveValue, metricName, metricTargetInt, metricValue } from '../metrics';
import { param, type ParamSpecs } from '../params';
import type { MetricsAndActivity, Scaler, ScalerContext } from '../types';
import {
  REDIS_CONNECTION_PARAMS,
  REDIS_DESCRIPTION_NOTE,
  REDIS_EXAMPLE_AUTH,
  REDIS_EXAMPLE_CONNECTION,
  REDIS_FORM_SOURCE,
  acquireRedis,
  redisSettings,
  validateRedisConnection,
  withRedis,
  type RedisConnectionConfig,
  type RedisHandle,
  type RedisMode,
} from './redis-connection';
import type { Cluster, Redis } from 'ioredis';
import { LocalError } from '../upstream-errors';

const M = ['triggerMetadata'] as const;

const streamParams = {
  stream: param.string({ name: 'stream', order: M, description: 'Name of the stream.' }),
  consumerGroup: param.string({
    name: 'consumerGroup',
    order: M,
    optional: true,
    description: 'Consumer group: with `lagCount` the scaler measures lag, without it pending entries.',
  }),
  pendingEntriesCount: param.int({
    name: 'pendingEntriesCount',
    order: M,
    default: '5',
    description: 'Target pending entries per replica (consumerGroup without lagCount).',
  }),
  streamLength: param.int({ name: 'streamLength', order: M, default: '5', description: 'Target stream length per replica (no consumerGroup).' }),
  lagCount: param.int({
    name: 'lagCount',
    order: M,
    optional: true,
    description: 'Target lag per replica; with `consumerGroup` and non-zero it selects the lag mode (Redis 7 or newer).',
  }),
  activationLagCount: param.int({
    name: 'activationLagCount',
    order: M,
    default: '0',
    description: 'Active when the measured count (lag, pending entries or length) is greater than this.',
  }),
};

export type RedisStreamsMode = 'lag' | 'pending' | 'length';

interface StreamsConfig extends RedisConnectionConfig {
  stream: string;
  consumerGroup?: string;
  pendingEntriesCount: number;
  streamLength: number;
  lagCount?: number;
  activationLagCount: number;
}

/** What the scaler measures for a config, and its target. */
export function streamsMode(config: Pick<StreamsConfig, 'consumerGroup' | 'lagCount' | 'pendingEntriesCount' | 'streamLength'>): {
  mode: RedisStreamsMode;
  target: number;
} {
  if (config.consumerGroup && config.lagCount) return { mode: 'lag', target: config.lagCount };
  if (config.consumerGroup) return { mode: 'pending', target: config.pendingEntriesCount };
  return { mode: 'length', target: config.streamLength };
}

/** XINFO GROUPS rows (flat field/value arrays) as objects. */
export function parseXinfoGroups(reply: unknown): Record<string, unknown>[] {
  if (!Array.isArray(reply)) return [];
  return reply.map((row) => {
    const out: Record<string, unknown> = {};
    if (Array.isArray(row)) for (let i = 0; i + 1 < row.length; i += 2) out[String(row[i])] = row[i + 1];
    return out;
  });
}

/** The major version of a `redis_version:x.y.z` line in INFO output. */
export function redisMajorVersion(info: string): number | undefined {
  const m = /^redis_version:(\d+)/m.exec(info);
  return m ? Number(m[1]) : undefined;
}

async function readLag(handle: RedisHandle, client: Redis | Cluster, stream: string, group: string): Promise<number> {
  if (handle.serverVersion === undefined) {
    const info = await client.info('server');
    handle.serverVersion = /^redis_version:(\S+)/m.exec(info)?.[1] ?? 'unknown';
  }
  const major = redisMajorVersion(`redis_version:${handle.serverVersion}`);
  if (major === undefined || major < 7) {
    // The version string is the server's: only digits and dots of it are shown.
    throw new LocalError(`the lag mode (lagCount) needs Redis 7 or newer, the server runs ${String(handle.serverVersion ?? '').replace(/[^0-9.]/g, '').slice(0, 20) || 'an unknown version'}`);
  }
  let groups: Record<string, unknown>[];
  try {
    groups = parseXinfoGroups(await client.xinfo('GROUPS', stream));
  } catch (err) {
    // A stream that does not exist has no lag.
    if (/no such key/i.test((err as Error).message)) return 0;
    throw err;
  }
  const found = groups.find((g) => String(g['name']) === group);
  // A group that does not exist yet would read the whole stream.
  if (!found) return Number(await client.xlen(stream));
  // Redis reports no lag when it cannot compute it (entries deleted); the length bounds it.
  const lag = found['lag'];
  return lag === null || lag === undefined ? Number(await client.xlen(stream)) : Number(lag);
}

class RedisStreamsScaler implements Scaler {
  private readonly lease;
  private readonly mode;
  private closed = false;

  constructor(
    readonly type: string,
    private readonly config: StreamsConfig,
    private readonly name: string,
    private readonly metricType: 'AverageValue' | 'Value',
    form: RedisMode,
    private readonly ctx: ScalerContext,
  ) {
    this.mode = streamsMode(config);
    this.lease = acquireRedis(redisSettings(config, form, ctx.httpTimeoutMs, ctx.egress));
  }

  getMetricSpecForScaling() {
    return [externalMetricSpec(this.name, metricTargetInt(this.metricType, this.mode.target))];
  }

  async getMetricsAndActivity(requested: string, options?: { signal?: AbortSignal }): Promise<MetricsAndActivity> {
    if (this.closed) throw new Error(`${this.type}: the scaler is closed`);
    const { stream, consumerGroup } = this.config;
    const handle: RedisHandle = this.lease.client;
    const what =
      this.mode.mode === 'length'
        ? `reading the length of stream ${JSON.stringify(stream)}`
        : `reading the ${this.mode.mode === 'lag' ? 'lag' : 'pending entries'} of group ${JSON.stringify(consumerGroup)} on stream ${JSON.stringify(stream)}`;
    const count = await withRedis(
      handle,
      what,
      async (client) => {
        if (this.mode.mode === 'length') return Number(await client.xlen(stream));
        if (this.mode.mode === 'pending') {
          const summary = (await client.xpending(stream, consumerGroup as string)) as unknown[];
          return Number(summary[0] ?? 0);
        }
        return readLag(handle, client, stream, consumerGroup as string);
      },
      options?.signal,
    );
    return {
      metrics: [metricValue(requested, count, this.ctx.now())],
      isActive: isActiveValue(count, this.config.activationLagCount),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.lease.release();
  }
}

const TYPES: Record<RedisMode, string> = { standalone: 'redis-streams', cluster: 'redis-cluster-streams', sentinel: 'redis-sentinel-streams' };

function streamsScaler(form: RedisMode): ScalerDescriptor<ParamSpecs> {
  const type = TYPES[form];
  const what = REDIS_FORM_SOURCE[form];
  return defineScaler({
    type,
    description:
      `Scales on a Redis stream in ${what}: the lag of a consumer group (consumerGroup + lagCount, Redis 7+), ` +
      `its pending entries (consumerGroup), or the stream length. ${REDIS_DESCRIPTION_NOTE}`,
    params: { ...streamParams, ...REDIS_CONNECTION_PARAMS[form] },
    example: { ...REDIS_EXAMPLE_CONNECTION[form], stream: 'orders', consumerGroup: 'workers', lagCount: '10', activationLagCount: '1' },
    exampleAuth: REDIS_EXAMPLE_AUTH[form],
    validate: (config) => validateRedisConnection(config as RedisConnectionConfig, form),
    create(config, input, ctx) {
      const c = config as unknown as StreamsConfig;
      return new RedisStreamsScaler(type, c, metricName(input.triggerIndex, `redis-streams-${c.stream}`), externalMetricType(input.metricType), form, ctx);
    },
  }) as unknown as ScalerDescriptor<ParamSpecs>;
}

export const redisStreamsScaler = streamsScaler('standalone');
export const redisClusterStreamsScaler = streamsScaler('cluster');
export const redisSentinelStreamsScaler = streamsScaler('sentinel');
