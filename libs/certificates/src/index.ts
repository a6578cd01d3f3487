export {
  BACKDATE_MS,
  createCertificateAuthority,
  generateKeyPair,
  issueCertificate,
  type CertificateAuthority,
  type CreateCaOptions,
  type IssueCertificateOptions,
  type IssuedCertificate,
} from './issue';
export {
  KEDA_ORGANIZATION,
  LEAF_COMMON_NAMES,
  LEAF_FILES,
  LEAF_NAMES,
  LEAF_USAGES,
  METRICS_CLIENT_COMMON_NAME,
  OPERATOR_GROUP,
  SHARED_PAIR,
  kedaLeafSpecs,
  leafFilesIn,
  type KeyUsage,
  type LeafName,
  type LeafSpec,
} from './components';
export { BUNDLE_KEYS, subjectField, inspectBundle, splitPemCertificates, subjectAltNames, type CertFacts, type CertState, type CertificateBundle, type LeafFacts } from './inspect';
export { checkPolicy, planRotation, type RotationPlan, type RotationPolicy } from './plan';
export { KEDA_IDENTITY, rotate, serviceHosts, type Identity, type Rotation } from './rotate';
export { CERT_SECRET_LABELS, CertificateManager, type CertificateApi, type CertificateManagerOptions } from './manager';
export {
  CertificateFilesWatcher,
  certDirFiles,
  waitForFiles,
  type CertificateFiles,
  type CertificateFilesWatcherOptions,
  type CertificateMaterial,
  type WatchLogger,
} from './watch';
