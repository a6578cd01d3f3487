/**
 * The scaler implementations (the event-source clients) behind the runtime registry the controller
 * and `keda-ts check` build scalers with, and the network plumbing they share (egress policy, HTTP
 * agents). Descriptors, parameter declarations and the SDK types are in @keda-ts/scaler-sdk.
 */
export { scalers } from './all';
export { createRegistry, type ScalerRegistry } from './registry';
export { metricsApiScaler } from './families/http/metrics-api';
export { defineScaler, implementScaler, type ScalerImplementation } from './implementation';
export type { KubernetesReader, ScalerContext, ScalerLogger, ScalerTelemetry } from './context';
export { EgressDeniedError, EgressPolicy, EgressPolicyConfigError, defaultEgressPolicy, parseCidrList } from './net/egress-policy';
export { AgentPool, sharedAgentPool, type AgentLease } from './http/agent-pool';
// Pools and client counts (e2e tests check that clients are shared and released).
export { AmqpConnectionPool, createRabbitMqScaler } from './families/amqp/rabbitmq';
export { sqsClientCount } from './families/cloud-aws/aws-sqs-queue';
export { azureStorageClientCount } from './families/cloud-azure/azure-storage';
export { externalChannelPoolSize } from './families/grpc/external';
export { kafkaClientCount } from './families/kafka/kafka';
export { mongodbClients } from './families/mongodb/mongodb';
export { redisPoolSize } from './families/redis/redis-connection';
export { mysqlServers } from './families/sql/mysql';
export { postgresServers } from './families/sql/postgresql';
