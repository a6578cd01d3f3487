export { startMetricsAdapter, type MetricsAdapterConfig, type RunningMetricsAdapter } from './adapter';
export { type AuthConfigSourceOptions } from './auth-config';
export {
  parseAuthenticationConfigMap,
  type AuthenticationConfig,
  type AuthenticationResult,
  type CertificateIdentity,
  type RequestHeaderConfig,
  type UserInfo,
} from './authn';
export { SarAuthorizer, type Decision, type ResourceAttributes, type SarAuthorizerOptions, type SubjectAccessReview } from './authz';
export { GROUP, apiGroup } from './discovery';
export { AdapterMetrics } from './prom';
export { ExternalMetricsServer, rfc3339, createStreamsAndHttp1Server, type ExternalMetricsServerOptions, type MetricsSource } from './server';
export { statusOf, type KubeStatus } from './status';
