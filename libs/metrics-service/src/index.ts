export { createMetricsClient, type ConnectivityStateName, type MetricsClient, type MetricsClientOptions } from './client';
export { authorize, type AuthorizationDecision, type AuthorizationPolicy, type MethodClass, type PeerIdentity } from './authz';
export { MetricsServiceError, metricEncounteredError, noMatchingMetricsError, scaledObjectNotFoundError } from './errors';
export { grpcCodeLabel } from './grpc-metrics';
export { type ServingStatus } from './health';
export type { MetricsServiceLogger } from './logger';
export {
  type RawMetricsBatch,
  type RawMetricsSource,
  type RawMetricsStream,
  type RawMetricsSubscribeOutcome,
  type RawMetricsTarget,
  type RawMetricValue,
} from './raw-metrics';
export { type DecisionDebugProvider, createMetricsServer, type MetricsServer, type MetricsServerOptions } from './server';
export { type CertDirSource, type MinTlsVersion, type MutualTlsListener, type ServerTlsOptions, type TlsMaterial, type TlsSource } from './tls';
export type { ExternalMetricValue, MetricRef, MetricsProvider } from './types';
