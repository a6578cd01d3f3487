/** Redis lists and streams (standalone, cluster, sentinel). */
import { redisClusterScaler, redisScaler, redisSentinelScaler } from './redis';
import { redisClusterStreamsScaler, redisSentinelStreamsScaler, redisStreamsScaler } from './redis-streams';
export const redisScalers = [redisScaler, redisClusterScaler, redisSentinelScaler, redisStreamsScaler, redisClusterStreamsScaler, redisSentinelStreamsScaler];
