export * from './kube';
export * from './namespaces';
export * from './registration';
export { readClusterInfo, CLUSTER_FILE_ENV } from './state';
