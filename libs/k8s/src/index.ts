export {
  ApiServerConnection,
  connectToApiServer,
  type ApiServerConnectionOptions,
  type ConnectToApiServerOptions,
} from './api-server-connection';
export {
  SERVICE_ACCOUNT_TOKEN_PATH,
  kubeApiBurstOption,
  kubeApiQpsOption,
  kubeconfigOption,
  loadKubeConfig,
  summarizeKubeConfig,
  type KubeConfigSource,
  type KubeConfigSummary,
  type LoadKubeConfigOptions,
  type LoadedKubeConfig,
} from './kubeconfig';
export { TokenBucket, TokenBucketFullError } from './token-bucket';
export { WorkQueue, type Reconcile, type WorkQueueOptions } from './work-queue';
export {
  KubeClient,
  PodReader,
  KubeApiError,
  type KubeStatusDetails,
  WriteRefusedError,
  isNotFound,
  isConflict,
  groupVersionPath,
  resourcePath,
  type GroupVersionResource,
  type KubeClientOptions,
  type PatchType,
  type ResolvedResource,
} from './kube-client';
export { Watched, dropManagedFields, objectKey, stripManagedFields, type WatchableObject, type WatchEventType, type WatchHandler, type WatchedOptions } from './informer';
export { InformerGroup, NamespacedWatch, collectionPath, type InformerRole, type InformerSpec } from './informer-group';
export { ControllerManager, leaderWorkQueue, type ControllerManagerOptions, type ManagedController } from './controller-manager';
export { EventRecorder, microTime, type EventDropReason, type EventRecorderOptions, type EventSubject, type EventType, type RecordedEvent } from './events';
export { EVENT_CORRELATOR_DEFAULTS, EventCorrelator, type EventCorrelatorOptions } from './event-correlator';
export {
  DEFAULT_LEADER_ELECTION_TIMING,
  KubeLeaseStore,
  LeaderElector,
  LeaderOnly,
  checkLeaderElectionTiming,
  type Lease,
  type LeaseSpec,
  type LeaseStore,
  type LeaderElectionTiming,
  type LeaderElectorOptions,
  type LeaderOnlyService,
} from './leader-election';
export {
  DEFAULT_MANAGED_BY,
  HOLDER_ANNOTATION,
  LeaderEndpointSlice,
  MANAGED_BY_LABEL,
  SERVICE_NAME_LABEL,
  checkLeaderEndpointSpec,
  desiredLeaderEndpointSlice,
  endpointSliceDrift,
  mergeOver,
  sliceNameOf,
  stepDownEdit,
  type Endpoint,
  type EndpointPort,
  type EndpointSlice,
  type LeaderEndpointSliceOptions,
  type LeaderEndpointSpec,
  type LeaderEndpointState,
} from './leader-endpoint-slice';
