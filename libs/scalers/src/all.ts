/** Every scaler of this library, alphabetically by type. Register new scalers here. */
import type { ScalerDescriptor } from './descriptor';
import type { ParamSpecs } from './params';
import { createRegistry, type ScalerRegistry } from './registry';
import { cpuScaler, memoryScaler } from './scalers/cpu-memory';
import { cronScaler } from './scalers/cron';
import { externalPushScaler, externalScaler } from './scalers/external';
import { kubernetesWorkloadScaler } from './scalers/kubernetes-workload';
import { metricsApiScaler } from './scalers/metrics-api';
import { mysqlScaler } from './scalers/mysql';
import { natsJetStreamScaler } from './scalers/nats-jetstream';
import { postgresqlScaler } from './scalers/postgresql';
import { prometheusScaler } from './scalers/prometheus';
import { rabbitmqScaler } from './scalers/rabbitmq';
import { redisClusterScaler, redisScaler, redisSentinelScaler } from './scalers/redis';
import { redisClusterStreamsScaler, redisSentinelStreamsScaler, redisStreamsScaler } from './scalers/redis-streams';

export const SCALER_DESCRIPTORS: readonly ScalerDescriptor<ParamSpecs>[] = [
  cpuScaler,
  cronScaler,
  externalScaler,
  externalPushScaler,
  kubernetesWorkloadScaler,
  memoryScaler,
  metricsApiScaler,
  mysqlScaler,
  natsJetStreamScaler,
  postgresqlScaler,
  prometheusScaler,
  rabbitmqScaler,
  redisScaler,
  redisClusterScaler,
  redisClusterStreamsScaler,
  redisSentinelScaler,
  redisSentinelStreamsScaler,
  redisStreamsScaler,
];

/** The default registry with every scaler of this library. */
export const scalers: ScalerRegistry = createRegistry(SCALER_DESCRIPTORS);
