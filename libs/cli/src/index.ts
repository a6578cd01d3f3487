export * from './exit-codes';
export * from './table';
export * from './explain';
export * from './check';
export { createProgram, runCli, type CliIo } from './program';
export { issueOperatorCertificate, OPERATOR_CERT_FILES, parseValidity, readClientCertDir, writeOperatorCertDir } from './operator-cert';
