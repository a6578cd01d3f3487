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
export { descriptorSet, loadEmbeddedPackageDefinition, type DescriptorSetName } from './descriptors';
export {
  CONNECTION_TIMEOUT_MESSAGE,
  MetricsServiceError,
  metricEncounteredError,
  noMatchingMetricsError,
  scaledObjectNotFoundError,
} from './errors';
export { HealthService, type ServingStatus } from './health';
export type { MetricsServiceLogger } from './logger';
export { addReflection } from './reflection';
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
/** The generated ts-proto code of proto/metrics/metrics.proto (package `api`). */
export * as metricsProto from './generated/metrics/metrics';
/** The generated ts-proto code of proto/externalscaler/externalscaler.proto (package `externalscaler`). */
export * as externalScalerProto from './generated/externalscaler/externalscaler';
/** The generated ts-proto code of proto/debug/debug.proto (package `kedats.debug.v1`, keda-ts's own). */
export * as debugProto from './generated/debug/debug';
