/**
 * `redis-streams`, `redis-cluster-streams` and `redis-sentinel-streams` (KEDA
 * redis_streams_scaler.go). The mode follows from the metadata:
 *  - `consumerGroup` and a non-zero `lagCount`: the group's lag (XINFO GROUPS; Redis >= 7);
 *  - `consumerGroup` alone: the group's pending entries (XPENDING summary);
 *  - neither: the stream length (XLEN).
 */
import { externalMetricSpec, externalMetricType, isActiveValue, metricName, type MetricsAndActivity, metricTargetInt, metricValue, type ParamSpecs, redisClusterStreamsDescriptor, type RedisMode, redisSentinelStreamsDescriptor, redisStreamsDescriptor, type Scaler, type ScalerDescriptor, type StreamsConfig, streamsMode } from '@keda-ts/scaler-sdk';
import type { ScalerContext } from '../../context';
import { acquireRedis, type RedisHandle, redisSettings, withRedis } from './redis-connection';
import type { Cluster, Redis } from 'ioredis';
import { LocalError } from '../../upstream-errors';
import { implementScaler } from '../../implementation';

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

function implementStreams(form: RedisMode, descriptor: ScalerDescriptor<ParamSpecs>) {
  const type = descriptor.type;
  return implementScaler(descriptor, (config, input, ctx) => {
    const c = config as unknown as StreamsConfig;
    return new RedisStreamsScaler(type, c, metricName(input.triggerIndex, `redis-streams-${c.stream}`), externalMetricType(input.metricType), form, ctx);
  });
}

export const redisStreamsScaler = implementStreams('standalone', redisStreamsDescriptor);
export const redisClusterStreamsScaler = implementStreams('cluster', redisClusterStreamsDescriptor);
export const redisSentinelStreamsScaler = implementStreams('sentinel', redisSentinelStreamsDescriptor);
