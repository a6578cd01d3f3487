/**
 * `redis-streams`, `redis-cluster-streams` and `redis-sentinel-streams` (KEDA
 * redis_streams_scaler.go). The mode follows from the metadata:
 *  - `consumerGroup` and a non-zero `lagCount`: the group's lag (XINFO GROUPS; Redis >= 7);
 *  - `consumerGroup` alone: the group's pending entries (XPENDING summary);
 *  - neither: the stream length (XLEN).
 */
import { describeScaler, type ScalerDescriptor } from '../descriptor';
import { param, type ParamSpecs } from '../params';
import { REDIS_CONNECTION_PARAMS, REDIS_DESCRIPTION_NOTE, REDIS_EXAMPLE_AUTH, REDIS_EXAMPLE_CONNECTION, REDIS_FORM_SOURCE, type RedisConnectionConfig, type RedisMode, validateRedisConnection } from './redis-connection';

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

export interface StreamsConfig extends RedisConnectionConfig {
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

const TYPES: Record<RedisMode, string> = { standalone: 'redis-streams', cluster: 'redis-cluster-streams', sentinel: 'redis-sentinel-streams' };

function describeStreams(form: RedisMode): ScalerDescriptor<ParamSpecs> {
  const type = TYPES[form];
  const what = REDIS_FORM_SOURCE[form];
  return describeScaler({
    type,
    description:
      `Scales on a Redis stream in ${what}: the lag of a consumer group (consumerGroup + lagCount, Redis 7+), ` +
      `its pending entries (consumerGroup), or the stream length. ${REDIS_DESCRIPTION_NOTE}`,
    params: { ...streamParams, ...REDIS_CONNECTION_PARAMS[form] },
    example: { ...REDIS_EXAMPLE_CONNECTION[form], stream: 'orders', consumerGroup: 'workers', lagCount: '10', activationLagCount: '1' },
    exampleAuth: REDIS_EXAMPLE_AUTH[form],
    validate: (config) => validateRedisConnection(config as RedisConnectionConfig, form),
  }) as unknown as ScalerDescriptor<ParamSpecs>;
}

export const redisStreamsDescriptor = describeStreams('standalone');
export const redisClusterStreamsDescriptor = describeStreams('cluster');
export const redisSentinelStreamsDescriptor = describeStreams('sentinel');
