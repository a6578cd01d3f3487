/** Every scaler descriptor, alphabetically by type. Register new scalers here (and their implementation in @keda-ts/scalers). */
import type { ScalerDescriptor } from './descriptor';
import { awsSqsQueueDescriptor } from './descriptors/aws-sqs-queue';
import { azureBlobDescriptor } from './descriptors/azure-blob';
import { azureQueueDescriptor } from './descriptors/azure-queue';
import { cpuDescriptor, memoryDescriptor } from './descriptors/cpu-memory';
import { cronDescriptor } from './descriptors/cron';
import { externalDescriptor, externalPushDescriptor } from './descriptors/external';
import { kafkaDescriptor } from './descriptors/kafka';
import { kubernetesWorkloadDescriptor } from './descriptors/kubernetes-workload';
import { metricsApiDescriptor } from './descriptors/metrics-api';
import { mongodbDescriptor } from './descriptors/mongodb';
import { mysqlDescriptor } from './descriptors/mysql';
import { natsJetStreamDescriptor } from './descriptors/nats-jetstream';
import { postgresqlDescriptor } from './descriptors/postgresql';
import { prometheusDescriptor } from './descriptors/prometheus';
import { rabbitmqDescriptor } from './descriptors/rabbitmq';
import { redisClusterDescriptor, redisDescriptor, redisSentinelDescriptor } from './descriptors/redis';
import { redisClusterStreamsDescriptor, redisSentinelStreamsDescriptor, redisStreamsDescriptor } from './descriptors/redis-streams';
import type { ParamSpecs } from './params';
import { createDescriptorRegistry, type DescriptorRegistry } from './registry';

export const SCALER_DESCRIPTORS: readonly ScalerDescriptor<ParamSpecs>[] = [
  awsSqsQueueDescriptor,
  azureBlobDescriptor,
  azureQueueDescriptor,
  cpuDescriptor,
  cronDescriptor,
  externalDescriptor,
  externalPushDescriptor,
  kafkaDescriptor,
  kubernetesWorkloadDescriptor,
  memoryDescriptor,
  metricsApiDescriptor,
  mongodbDescriptor,
  mysqlDescriptor,
  natsJetStreamDescriptor,
  postgresqlDescriptor,
  prometheusDescriptor,
  rabbitmqDescriptor,
  redisDescriptor,
  redisClusterDescriptor,
  redisClusterStreamsDescriptor,
  redisSentinelDescriptor,
  redisSentinelStreamsDescriptor,
  redisStreamsDescriptor,
];

/** The registry of every descriptor: what the webhook and `keda-ts` check trigger metadata with. */
export const scalerDescriptors: DescriptorRegistry = createDescriptorRegistry(SCALER_DESCRIPTORS);
