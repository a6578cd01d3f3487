/**
 * `redis`, `redis-cluster` and `redis-sentinel` (KEDA redis_scaler.go): the length of a list (or
 * the size of a set, sorted set or hash) read with one Lua script, so the type check and the count
 * are a single round trip that a cluster routes by the key's slot.
 */
import { externalMetricSpec, externalMetricType, isActiveValue, type ListConfig, metricName, type MetricsAndActivity, metricTargetInt, metricValue, type ParamSpecs, redisClusterDescriptor, redisDescriptor, type RedisMode, redisSentinelDescriptor, type Scaler, type ScalerDescriptor } from '@keda-ts/scaler-sdk';
import type { ScalerContext } from '../../context';
import { acquireRedis, type RedisHandle, redisSettings, withRedis } from './redis-connection';
import { implementScaler } from '../../implementation';

/** Counts the key by its type; a missing key counts as an empty list. */
export const REDIS_LENGTH_SCRIPT = `
local t = redis.call('TYPE', KEYS[1])['ok']
if t == 'list' or t == 'none' then return redis.call('LLEN', KEYS[1]) end
if t == 'zset' then return redis.call('ZCARD', KEYS[1]) end
if t == 'set' then return redis.call('SCARD', KEYS[1]) end
if t == 'hash' then return redis.call('HLEN', KEYS[1]) end
return redis.error_reply('key has type ' .. t .. ', expected list, set, sorted set or hash')
`;
class RedisListScaler implements Scaler {
  private readonly lease;
  private closed = false;

  constructor(
    readonly type: string,
    private readonly config: ListConfig,
    private readonly name: string,
    private readonly metricType: 'AverageValue' | 'Value',
    mode: RedisMode,
    private readonly ctx: ScalerContext,
  ) {
    this.lease = acquireRedis(redisSettings(config, mode, ctx.httpTimeoutMs, ctx.egress));
  }

  getMetricSpecForScaling() {
    return [externalMetricSpec(this.name, metricTargetInt(this.metricType, this.config.listLength))];
  }

  async getMetricsAndActivity(requested: string, options?: { signal?: AbortSignal }): Promise<MetricsAndActivity> {
    if (this.closed) throw new Error(`${this.type}: the scaler is closed`);
    const handle: RedisHandle = this.lease.client;
    const length = await withRedis(
      handle,
      `reading the length of ${JSON.stringify(this.config.listName)}`,
      async (client) => Number(await client.eval(REDIS_LENGTH_SCRIPT, 1, this.config.listName)),
      options?.signal,
    );
    return {
      metrics: [metricValue(requested, length, this.ctx.now())],
      isActive: isActiveValue(length, this.config.activationListLength),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.lease.release();
  }
}

function implementList(mode: RedisMode, descriptor: ScalerDescriptor<ParamSpecs>) {
  const type = descriptor.type;
  return implementScaler(descriptor, (config, input, ctx) => {
    const c = config as unknown as ListConfig;
    return new RedisListScaler(type, c, metricName(input.triggerIndex, `redis-${c.listName}`), externalMetricType(input.metricType), mode, ctx);
  });
}

export const redisScaler = implementList('standalone', redisDescriptor);
export const redisClusterScaler = implementList('cluster', redisClusterDescriptor);
export const redisSentinelScaler = implementList('sentinel', redisSentinelDescriptor);
