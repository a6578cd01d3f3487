export { startMetricsAdapter, type MetricsAdapterConfig, type RunningMetricsAdapter } from './adapter';
export { AuthConfigSource, type AuthConfigSourceOptions } from './auth-config';
export {
  AUTHENTICATION_CONFIGMAP,
  authenticateRequest,
  clientCaPems,
  identifyCertificate,
  parseAuthenticationConfigMap,
  parsePemBundle,
  userFromRequestHeaders,
  verifyClientChain,
  type AuthenticationConfig,
  type AuthenticationResult,
  type CertificateIdentity,
  type RequestHeaderConfig,
  type UserInfo,
} from './authn';
export {
  SUBJECT_ACCESS_REVIEW_PATH,
  SarAuthorizer,
  type Decision,
  type ResourceAttributes,
  type SarAuthorizerOptions,
  type SubjectAccessReview,
} from './authz';
export {
  GROUP,
  GROUP_VERSION,
  VERSION,
  apiGroup,
  apiGroupList,
  apiResourceList,
  openApiV2,
  openApiV3GroupVersion,
  openApiV3Index,
} from './discovery';
export { AdapterMetrics } from './prom';
export { SCALED_OBJECT_NAME_LABEL, scaledObjectNameFromSelector, selectorToMap } from './selector';
export {
  ExternalMetricsServer,
  externalMetricValueList,
  rfc3339,
  createStreamsAndHttp1Server,
  type ExternalMetricsServerOptions,
  type MetricsSource,
} from './server';
export { StatusError, statusFromMetricsError, statusOf, type KubeStatus } from './status';
