/**
 * `redis`, `redis-cluster` and `redis-sentinel` (KEDA redis_scaler.go): the length of a list (or
 * the size of a set, sorted set or hash) read with one Lua script, so the type check and the count
 * are a single round trip that a cluster routes by the key's slot.
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

const M = ['triggerMetadata'] as const;

/** Counts the key by its type; a missing key counts as an empty list. */
export const REDIS_LENGTH_SCRIPT = `
local t = redis.call('TYPE', KEYS[1])['ok']
if t == 'list' or t == 'none' then return redis.call('LLEN', KEYS[1]) end
if t == 'zset' then return redis.call('ZCARD', KEYS[1]) end
if t == 'set' then return redis.call('SCARD', KEYS[1]) end
if t == 'hash' then return redis.call('HLEN', KEYS[1]) end
return redis.error_reply('key has type ' .. t .. ', expected list, set, sorted set or hash')
`;

const listParams = {
  listName: param.string({ name: 'listName', order: M, description: 'The key to measure: a list (LLEN), set, sorted set or hash.' }),
  listLength: param.int({ name: 'listLength', order: M, default: '5', description: 'Target length per replica.' }),
  activationListLength: param.int({
    name: 'activationListLength',
    order: M,
    default: '0',
    description: 'Active when the length is greater than this.',
  }),
};

interface ListConfig extends RedisConnectionConfig {
  listName: string;
  listLength: number;
  activationListLength: number;
}

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

const TYPES: Record<RedisMode, string> = { standalone: 'redis', cluster: 'redis-cluster', sentinel: 'redis-sentinel' };

function listScaler(mode: RedisMode): ScalerDescriptor<ParamSpecs> {
  const type = TYPES[mode];
  const what = REDIS_FORM_SOURCE[mode];
  return defineScaler({
    type,
    description:
      `Scales on the length of a list (or the size of a set, sorted set or hash) in ${what}. ${REDIS_DESCRIPTION_NOTE}`,
    params: { ...listParams, ...REDIS_CONNECTION_PARAMS[mode] },
    example: { ...REDIS_EXAMPLE_CONNECTION[mode], listName: 'jobs', listLength: '10', activationListLength: '1' },
    exampleAuth: REDIS_EXAMPLE_AUTH[mode],
    validate: (config) => validateRedisConnection(config as RedisConnectionConfig, mode),
    create(config, input, ctx) {
      const c = config as unknown as ListConfig;
      return new RedisListScaler(type, c, metricName(input.triggerIndex, `redis-${c.listName}`), externalMetricType(input.metricType), mode, ctx);
    },
  }) as unknown as ScalerDescriptor<ParamSpecs>;
}

export const redisScaler = listScaler('standalone');
export const redisClusterScaler = listScaler('cluster');
export const redisSentinelScaler = listScaler('sentinel');
