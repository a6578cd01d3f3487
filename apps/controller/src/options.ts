import { kubeApiBurstOption, kubeApiQpsOption, kubeconfigOption } from '@keda-ts/k8s';
import { option, runtimeOptions } from '@keda-ts/runtime';

/** Flags follow KEDA's operator where it has them. */
export const controllerOptions = {
  ...runtimeOptions,
  kubeconfig: kubeconfigOption,
  metricsBindAddress: option.address({
    flag: 'metrics-bind-address',
    env: 'METRICS_BIND_ADDRESS',
    default: ':8080',
    description: 'Address the Prometheus metrics endpoint binds to (accepted, not served yet).',
  }),
  metricsServiceBindAddress: option.address({
    flag: 'metrics-service-bind-address',
    env: 'METRICS_SERVICE_BIND_ADDRESS',
    default: ':9666',
    description: 'Address of the gRPC metrics service that the metrics adapter calls.',
  }),
  certDir: option.string({
    flag: 'cert-dir',
    env: 'CERT_DIR',
    default: '/certs',
    placeholder: '<dir>',
    description: 'Directory with ca.crt, tls.crt and tls.key for the gRPC metrics service (mutual TLS); reloaded when they change.',
  }),
  watchNamespace: option.string({
    flag: 'watch-namespace',
    env: 'WATCH_NAMESPACE',
    placeholder: '<namespaces>',
    description: 'Comma-separated namespaces to watch; empty watches all namespaces.',
  }),
  watchLabelSelector: option.string({
    flag: 'watch-label-selector',
    env: 'WATCH_LABEL_SELECTOR',
    placeholder: '<selector>',
    description: 'Only ScaledObjects with these labels; empty means all.',
  }),
  leaderElect: option.bool({
    flag: 'leader-elect',
    env: 'LEADER_ELECT',
    description: 'Elect a leader through a coordination.k8s.io/v1 Lease; only the leader reconciles, scales, writes status and serves gRPC.',
  }),
  leaderElectionId: option.string({
    flag: 'leader-election-id',
    env: 'LEADER_ELECTION_ID',
    default: 'operator.keda.sh',
    placeholder: '<name>',
    description: 'Name of the leader election Lease (in the POD_NAMESPACE namespace).',
  }),
  leaderElectionLeaseDuration: option.duration({
    flag: 'leader-election-lease-duration',
    env: 'KEDA_OPERATOR_LEADER_ELECTION_LEASE_DURATION',
    default: '15s',
    description: 'How long standbys wait after the last renewal they saw before taking the Lease.',
  }),
  leaderElectionRenewDeadline: option.duration({
    flag: 'leader-election-renew-deadline',
    env: 'KEDA_OPERATOR_LEADER_ELECTION_RENEW_DEADLINE',
    default: '10s',
    description: 'How long the leader keeps leading without a successful renewal; below the lease duration.',
  }),
  leaderElectionRetryPeriod: option.duration({
    flag: 'leader-election-retry-period',
    env: 'KEDA_OPERATOR_LEADER_ELECTION_RETRY_PERIOD',
    default: '2s',
    description: 'Pause between renewals of the leader and attempts of the standbys.',
  }),
  podName: option.string({
    flag: 'pod-name',
    env: 'POD_NAME',
    placeholder: '<name>',
    description: 'Name of this pod; the leader election identity is it (or the host name) plus a unique suffix.',
  }),
  podNamespace: option.string({
    flag: 'pod-namespace',
    env: 'POD_NAMESPACE',
    default: 'keda',
    placeholder: '<namespace>',
    description: "KEDA's own namespace: where the leader election Lease lives.",
  }),
  watchLabelSelectorForTriggerAuth: option.string({
    flag: 'watch-label-selector-for-triggerauth',
    env: 'WATCH_LABEL_SELECTOR_FOR_TRIGGERAUTH',
    placeholder: '<selector>',
    description: 'Only TriggerAuthentications and ClusterTriggerAuthentications with these labels; empty means all.',
  }),
  clusterObjectNamespace: option.string({
    flag: 'cluster-object-namespace',
    env: 'KEDA_CLUSTER_OBJECT_NAMESPACE',
    placeholder: '<namespace>',
    description:
      'Namespace of the Secrets and ConfigMaps that ClusterTriggerAuthentications refer to; empty means the namespace of the service account (else POD_NAMESPACE, else keda).',
  }),
  restrictSecretAccess: option.bool({
    flag: 'restrict-secret-access',
    env: 'KEDA_RESTRICT_SECRET_ACCESS',
    default: false,
    description: 'Read Secrets only from the cluster object namespace.',
  }),
  filepathAuthRootPath: option.string({
    flag: 'filepath-auth-root-path',
    env: 'KEDA_FILEPATH_AUTH_ROOT_PATH',
    placeholder: '<dir>',
    description: 'Directory that ClusterTriggerAuthentication filePath values are relative to; empty refuses filePath.',
  }),
  boundServiceAccountTokenExpiry: option.duration({
    flag: 'bound-service-account-token-expiry',
    env: 'KEDA_BOUND_SERVICE_ACCOUNT_TOKEN_EXPIRY',
    default: '1h',
    description: 'Lifetime of tokens requested for boundServiceAccountToken, between 1h and 6h.',
  }),
  kubeApiQps: kubeApiQpsOption,
  kubeApiBurst: kubeApiBurstOption,
  httpDefaultTimeout: option.int({
    flag: 'http-default-timeout',
    env: 'KEDA_HTTP_DEFAULT_TIMEOUT',
    default: 3000,
    min: 1,
    max: 600_000,
    description: 'Timeout in milliseconds of the HTTP requests scalers make.',
  }),
  decisionTraceSize: option.int({
    flag: 'decision-trace-size',
    env: 'KEDA_TS_DECISION_TRACE_SIZE',
    default: 10,
    min: 1,
    max: 1000,
    description: 'Recent scaling decisions kept per ScaledObject/ScaledJob for `keda-ts explain` (memory grows with it).',
  }),
  scaleLoopLagReportInterval: option.int({
    flag: 'scale-loop-lag-report-interval',
    env: 'KEDA_TS_SCALE_LOOP_LAG_REPORT_SECONDS',
    default: 0,
    min: 0,
    max: 86_400,
    description: 'Every this many seconds, log the scale-loop lag percentiles since the last report (0: off). For soak runs.',
  }),
};
