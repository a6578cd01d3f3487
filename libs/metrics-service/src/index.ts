export {
  createMetricsClient,
  METRICS_CALL_POLICY,
  type ConnectivityStateName,
  type MetricsClient,
  type MetricsClientOptions,
} from './client';
export {
  authorize,
  DEFAULT_AUTHORIZATION_POLICY,
  identityOfPeer,
  sharedPairIdentity,
  type AuthorizationDecision,
  type AuthorizationPolicy,
  type MethodClass,
  type PeerIdentity,
} from './authz';
export { fromWireList, fromWireValue, toWireList, toWireValue } from './convert';
export {
  CONNECTION_TIMEOUT_MESSAGE,
  MetricsServiceError,
  metricEncounteredError,
  noMatchingMetricsError,
  scaledObjectNotFoundError,
} from './errors';
export { GrpcServerMetrics, grpcCodeLabel, grpcMethodLabels } from './grpc-metrics';
export { HealthService, type ServingStatus } from './health';
export type { MetricsServiceLogger } from './logger';
export { addReflection } from './reflection';
export {
  RAW_METRICS_SERVICE_NAME,
  type RawMetricsBatch,
  type RawMetricsSource,
  type RawMetricsStream,
  type RawMetricsSubscribeOutcome,
  type RawMetricsTarget,
  type RawMetricValue,
} from './raw-metrics';
export {
  DECISION_DEBUG_SERVICE_NAME,
  DEFAULT_METRICS_SERVICE_PORT,
  METRICS_SERVICE_NAME,
  type DecisionDebugProvider,
  createMetricsServer,
  type MetricsServer,
  type MetricsServerOptions,
} from './server';
export {
  DEFAULT_CERT_DIR,
  TlsMaterialSource,
  listenMutualTls,
  isCertDirSource,
  type CertDirSource,
  type MinTlsVersion,
  type MutualTlsListener,
  type ServerTlsOptions,
  type TlsMaterial,
  type TlsSource,
} from './tls';
export type { ExternalMetricValue, MetricRef, MetricsProvider } from './types';
