export { issueCertificate, type CertificateAuthority, type CreateCaOptions, type IssueCertificateOptions, type IssuedCertificate } from './issue';
export { METRICS_CLIENT_COMMON_NAME, OPERATOR_GROUP, kedaLeafSpecs, leafFilesIn, type KeyUsage, type LeafName, type LeafSpec } from './components';
export { subjectField, inspectBundle, type CertFacts, type CertState, type CertificateBundle, type LeafFacts } from './inspect';
export { type RotationPlan, type RotationPolicy } from './plan';
export { rotate, serviceHosts, type Identity, type Rotation } from './rotate';
export { CertificateManager, type CertificateApi, type CertificateManagerOptions } from './manager';
export {
  CertificateFilesWatcher,
  waitForFiles,
  type CertificateFiles,
  type CertificateFilesWatcherOptions,
  type CertificateMaterial,
  type WatchLogger,
} from './watch';
