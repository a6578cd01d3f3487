/** Every scaler of this library, alphabetically by type. Register new scalers here. */
import type { ScalerDescriptor } from './descriptor';
import type { ParamSpecs } from './params';
import { createRegistry, type ScalerRegistry } from './registry';
import { awsSqsQueueScaler } from './scalers/aws-sqs-queue';
import { azureBlobScaler } from './scalers/azure-blob';
import { azureQueueScaler } from './scalers/azure-queue';
import { cpuScaler, memoryScaler } from './scalers/cpu-memory';
import { cronScaler } from './scalers/cron';
import { externalPushScaler, externalScaler } from './scalers/external';
import { kafkaScaler } from './scalers/kafka';
import { kubernetesWorkloadScaler } from './scalers/kubernetes-workload';
import { metricsApiScaler } from './scalers/metrics-api';
import { mongodbScaler } from './scalers/mongodb';
import { mysqlScaler } from './scalers/mysql';
import { natsJetStreamScaler } from './scalers/nats-jetstream';
import { postgresqlScaler } from './scalers/postgresql';
import { prometheusScaler } from './scalers/prometheus';
import { rabbitmqScaler } from './scalers/rabbitmq';
import { redisClusterScaler, redisScaler, redisSentinelScaler } from './scalers/redis';
import { redisClusterStreamsScaler, redisSentinelStreamsScaler, redisStreamsScaler } from './scalers/redis-streams';

export const SCALER_DESCRIPTORS: readonly ScalerDescriptor<ParamSpecs>[] = [
  awsSqsQueueScaler,
  azureBlobScaler,
  azureQueueScaler,
  cpuScaler,
  cronScaler,
  externalScaler,
  externalPushScaler,
  kafkaScaler,
  kubernetesWorkloadScaler,
  memoryScaler,
  metricsApiScaler,
  mongodbScaler,
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
