export * from './kube';
export * from './manifests';
export * from './namespaces';
export * from './registration';
export { readClusterInfo, CLUSTER_FILE_ENV } from './state';
export { acquireClusterLock, EXTERNAL_METRICS_API_LOCK } from './lock';
export * from './autoscaling-loop';
