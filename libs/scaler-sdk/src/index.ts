/**
 * The scaler SDK: the contracts (types), parameter declarations, descriptors of every scaler, the
 * descriptor registry, JSON Schema and docs generation. It imports no event-source client: the
 * implementations are in @keda-ts/scalers.
 */
export * from './types';
export * from './params';
export * from './descriptor';
export * from './registry';
export * from './activation';
export * from './metrics';
export * from './schema';
export * from './docs';
export * from './glob';
export * from './value-location';
export * from './vetting';
export * from './url';
export * from './file-paths';
export * from './http-auth';
export * from './all';
export * from './descriptors/aws-sqs-queue';
export * from './descriptors/azure-blob';
export * from './descriptors/azure-queue';
export * from './descriptors/azure-storage';
export * from './descriptors/cpu-memory';
export * from './descriptors/cron';
export * from './descriptors/external';
export * from './descriptors/kafka';
export * from './descriptors/kubernetes-workload';
export * from './descriptors/metrics-api';
export * from './descriptors/mongodb';
export * from './descriptors/mongodb-uri';
export * from './descriptors/mysql';
export * from './descriptors/nats-jetstream';
export * from './descriptors/postgresql';
export * from './descriptors/postgresql-connection';
export * from './descriptors/prometheus';
export * from './descriptors/rabbitmq';
export * from './descriptors/redis';
export * from './descriptors/redis-connection';
export * from './descriptors/redis-streams';
