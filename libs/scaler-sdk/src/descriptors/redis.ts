/**
 * `redis`, `redis-cluster` and `redis-sentinel` (KEDA redis_scaler.go): the length of a list (or
 * the size of a set, sorted set or hash) read with one Lua script, so the type check and the count
 * are a single round trip that a cluster routes by the key's slot.
 */
import { describeScaler, type ScalerDescriptor } from '../descriptor';
import { param, type ParamSpecs } from '../params';
import { REDIS_CONNECTION_PARAMS, REDIS_DESCRIPTION_NOTE, REDIS_EXAMPLE_AUTH, REDIS_EXAMPLE_CONNECTION, REDIS_FORM_SOURCE, type RedisConnectionConfig, type RedisMode, validateRedisConnection } from './redis-connection';

const M = ['triggerMetadata'] as const;

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

export interface ListConfig extends RedisConnectionConfig {
  listName: string;
  listLength: number;
  activationListLength: number;
}

const TYPES: Record<RedisMode, string> = { standalone: 'redis', cluster: 'redis-cluster', sentinel: 'redis-sentinel' };

function describeList(mode: RedisMode): ScalerDescriptor<ParamSpecs> {
  const type = TYPES[mode];
  const what = REDIS_FORM_SOURCE[mode];
  return describeScaler({
    type,
    description:
      `Scales on the length of a list (or the size of a set, sorted set or hash) in ${what}. ${REDIS_DESCRIPTION_NOTE}`,
    params: { ...listParams, ...REDIS_CONNECTION_PARAMS[mode] },
    example: { ...REDIS_EXAMPLE_CONNECTION[mode], listName: 'jobs', listLength: '10', activationListLength: '1' },
    exampleAuth: REDIS_EXAMPLE_AUTH[mode],
    validate: (config) => validateRedisConnection(config as RedisConnectionConfig, mode),
  }) as unknown as ScalerDescriptor<ParamSpecs>;
}

export const redisDescriptor = describeList('standalone');
export const redisClusterDescriptor = describeList('cluster');
export const redisSentinelDescriptor = describeList('sentinel');
