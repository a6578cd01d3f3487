export * from './types';
export * from './params';
export * from './descriptor';
export * from './registry';
export * from './activation';
export * from './metrics';
export { formatMilliQuantity, toMilliUnits } from '@keda-ts/api';
export * from './schema';
export * from './docs';
export * from './value-location';
export { AgentPool, sharedAgentPool, type AgentLease, type TlsSettings } from './http/agent-pool';
export {
  defaultEgressPolicy,
  EGRESS_SETTINGS,
  EgressDeniedError,
  EgressPolicy,
  EgressPolicyConfigError,
  METADATA_ADDRESSES,
  METADATA_HOST_NAMES,
  parseCidrList,
  type EgressDecision,
  type EgressPolicyOptions,
} from './net/egress-policy';
export { displayUrl, httpGet, HttpGetError, type HttpGetOptions, type HttpResponse } from './http/get';
export { cpuScaler, memoryScaler } from './scalers/cpu-memory';
export { cronScaler, cronTimeFormat, isInCronWindow } from './scalers/cron';
export { ALL_NAMESPACES, kubernetesWorkloadScaler } from './scalers/kubernetes-workload';
export {
  AUTH_MODES,
  METRICS_API_FORMATS,
  SUPPORTED_AUTH_MODES,
  SUPPORTED_METRICS_API_FORMATS,
  buildRequest,
  metricsApiScaler,
  valueFromBody,
  type MetricsApiConfig,
} from './scalers/metrics-api';
export { consumerLag, jszUrl, natsJetStreamScaler, type NatsJetStreamConfig } from './scalers/nats-jetstream';
export {
  PUSH_BACKOFF,
  channelKey,
  channelSettings,
  externalChannelPoolSize,
  externalPushScaler,
  externalScaler,
  scalerMetadata,
  type ExternalChannelSettings,
  type ExternalConfig,
} from './scalers/external';
export { REDIS_CONNECTION_PARAMS, redisPoolKey, redisPoolSize, type RedisConnectionSettings, type RedisMode } from './scalers/redis-connection';
export { REDIS_LENGTH_SCRIPT, redisClusterScaler, redisScaler, redisSentinelScaler } from './scalers/redis';
export {
  parseXinfoGroups,
  redisClusterStreamsScaler,
  redisMajorVersion,
  redisSentinelStreamsScaler,
  redisStreamsScaler,
  streamsMode,
  type RedisStreamsMode,
} from './scalers/redis-streams';
export {
  KAFKA_CONNECTIONS_PER_BROKER,
  KAFKA_SASL_MODES,
  SUPPORTED_KAFKA_SASL_MODES,
  computeLag as computeKafkaLag,
  kafkaClientCount,
  kafkaScaler,
  parsePartitionLimitation,
  type PartitionOffsets as KafkaPartitionOffsets,
} from './scalers/kafka';
export { credentialsHash, redact, withDeadline } from './pools/shared-clients';
export {
  PROMETHEUS_AUTH_MODES,
  prometheusRequest,
  prometheusScaler,
  prometheusValue,
  type PrometheusConfig,
} from './scalers/prometheus';
export {
  MYSQL_POOL_SIZE,
  MYSQL_TLS_MODES,
  MysqlServer,
  mysqlScaler,
  mysqlServers,
  mysqlTarget,
  parseMysqlDsn,
  type MysqlConfig,
  type MysqlTarget,
  type MysqlTlsMode,
} from './scalers/mysql';
export { sqlResultValue, type SqlResult } from './scalers/sql-value';
export {
  MONGODB_POOL_SIZE,
  MONGODB_SCHEMES,
  MONGODB_TIMEOUT_MS,
  MONGODB_TLS_MODES,
  MongodbScaler,
  mongodbClientOptions,
  mongodbClients,
  mongodbHosts,
  mongodbScaler,
  mongodbSecrets,
  mongodbUri,
  parseMongodbFilter,
  type MongodbConfig,
} from './scalers/mongodb';
export {
  POSTGRESQL_POOL_SIZE,
  PostgresServer,
  postgresServers,
  postgresTarget,
  postgresValue,
  postgresqlScaler,
  type PostgresqlConfig,
} from './scalers/postgresql';
export { SSL_MODES, parsePostgresConnection, type PostgresTarget, type SslMode } from './scalers/postgresql-connection';
export { FORBIDDEN_HEADERS, headerProblem, httpAuthParams, applyHttpAuth, validateHttpAuth, type AuthMode, type HttpAuthConfig } from './http/auth';
export * from './upstream-errors';
export * from './vetted-file';
export { VETTING } from './vetting';
export { MONGODB_ALLOWED_MECHANISMS, MONGODB_ALLOWED_OPTIONS, vetMongodbUri } from './scalers/mongodb-uri';
export { SharedClients, abortable, connectionKey, type SharedLease } from './pools/shared-pool';
export { awsSqsQueueScaler, sqsClientCount, sqsQueueName } from './scalers/aws-sqs-queue';
export { azureBlobScaler, compileBlobGlob } from './scalers/azure-blob';
export * from './glob';
export { MAX_PEEK_MESSAGES, azureQueueScaler } from './scalers/azure-queue';
export { AZURE_CLOUDS, azureStorageClientCount } from './scalers/azure-storage';
export { SCALER_DESCRIPTORS, scalers } from './all';
export {
  AmqpConnectionPool,
  RABBITMQ_MODES,
  createRabbitMqScaler,
  rabbitmqScaler,
  settleConfig as settleRabbitMqConfig,
  sharedAmqpPool,
  type RabbitMqConfig,
} from './scalers/rabbitmq';
