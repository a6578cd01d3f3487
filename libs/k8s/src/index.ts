export { connectToApiServer, type ApiServerConnectionOptions, type ConnectToApiServerOptions } from './api-server-connection';
export {
  kubeApiBurstOption,
  kubeApiQpsOption,
  kubeconfigOption,
  loadKubeConfig,
  type KubeConfigSource,
  type KubeConfigSummary,
  type LoadKubeConfigOptions,
  type LoadedKubeConfig,
} from './kubeconfig';
export { WorkQueue, type Reconcile, type WorkQueueOptions } from './work-queue';
export {
  KubeClient,
  PodReader,
  KubeApiError,
  type KubeStatusDetails,
  WriteRefusedError,
  isNotFound,
  isConflict,
  resourcePath,
  type GroupVersionResource,
  type KubeClientOptions,
  type PatchType,
  type ResolvedResource,
} from './kube-client';
export { Watched, dropManagedFields, objectKey, type WatchableObject, type WatchEventType, type WatchHandler, type WatchedOptions } from './informer';
export { InformerGroup, NamespacedWatch, type InformerRole, type InformerSpec } from './informer-group';
export { ControllerManager, leaderWorkQueue, type ControllerManagerOptions, type ManagedController } from './controller-manager';
export { EventRecorder, type EventDropReason, type EventRecorderOptions, type EventSubject, type EventType, type RecordedEvent } from './events';
export { EventCorrelator, type EventCorrelatorOptions } from './event-correlator';
export {
  KubeLeaseStore,
  LeaderElector,
  LeaderOnly,
  type Lease,
  type LeaseSpec,
  type LeaseStore,
  type LeaderElectionTiming,
  type LeaderElectorOptions,
  type LeaderOnlyService,
} from './leader-election';
export {
  LeaderEndpointSlice,
  checkLeaderEndpointSpec,
  type Endpoint,
  type EndpointPort,
  type EndpointSlice,
  type LeaderEndpointSliceOptions,
  type LeaderEndpointSpec,
  type LeaderEndpointState,
} from './leader-endpoint-slice';
