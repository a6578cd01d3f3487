import { kubeApiBurstOption, kubeApiQpsOption, kubeconfigOption } from '@keda-ts/k8s';
import { checkLeaderEndpointSpec, type EndpointPort } from '@keda-ts/k8s';
import { option, runtimeOptions, type HostPort } from '@keda-ts/runtime';
import { parseCidrList } from '@keda-ts/scalers';

/** A comma-separated CIDR list (the message of a bad entry comes from the controller's start). */
const cidrList = (value: string) => {
  try {
    parseCidrList(value, '');
    return true;
  } catch {
    return false;
  }
};
const CIDRS_EXPECTED = 'comma-separated CIDRs or addresses, e.g. 10.0.0.0/8,fd00::/8,192.0.2.1';

/** Flags follow KEDA's operator where it has them. */
export const controllerOptions = {
  ...runtimeOptions,
  kubeconfig: kubeconfigOption,
  metricsBindAddress: option.address({
    flag: 'metrics-bind-address',
    env: 'METRICS_BIND_ADDRESS',
    default: ':8080',
    description: 'Address the Prometheus /metrics endpoint binds to (with --enable-prometheus-metrics).',
  }),
  enablePrometheusMetrics: option.bool({
    flag: 'enable-prometheus-metrics',
    env: 'ENABLE_PROMETHEUS_METRICS',
    default: true,
    description: "Serve KEDA's Prometheus metrics on --metrics-bind-address.",
  }),
  enableOpentelemetryMetrics: option.bool({
    flag: 'enable-opentelemetry-metrics',
    env: 'ENABLE_OPENTELEMETRY_METRICS',
    default: false,
    description:
      "Push KEDA's operator metrics over OTLP to OTEL_EXPORTER_OTLP_ENDPOINT (protocol OTEL_EXPORTER_OTLP_PROTOCOL: http/protobuf by default, or grpc; every OTEL_EXPORTER_OTLP_* and OTEL_METRIC_EXPORT_INTERVAL is honoured). See docs/opentelemetry.md.",
  }),
  enableHighCardinalityMetricsLabels: option.bool({
    flag: 'enable-high-cardinality-metrics-labels',
    env: 'ENABLE_HIGH_CARDINALITY_METRICS_LABELS',
    default: false,
    description:
      'Label keda_scaler_http_request_duration_seconds with namespace, scaled_resource, trigger_name and metric_name too (one histogram per trigger and status) instead of only scaler and status_code.',
  }),
  metricsServiceBindAddress: option.address({
    flag: 'metrics-service-bind-address',
    env: 'METRICS_SERVICE_BIND_ADDRESS',
    default: ':9666',
    description: 'Address of the gRPC metrics service that the metrics adapter calls.',
  }),
  rawMetricsGrpcProtocol: option.enum({
    flag: 'raw-metrics-grpc-protocol',
    env: 'RAW_METRICS_GRPC_PROTOCOL',
    values: ['disabled', 'enabled'] as const,
    default: 'disabled',
    description: "Also serve KEDA's api.RawMetricsService on the gRPC port: the scalers' raw values, streamed to subscribers with an operator certificate.",
  }),
  rawMetricsMode: option.enum({
    flag: 'raw-metrics-mode',
    env: 'RAW_METRICS_MODE',
    values: ['all', 'hpa', 'pollinginterval'] as const,
    default: 'all',
    description: 'Which reads feed the raw metrics streams: the scale loops (pollinginterval), the HPA\'s GetMetrics calls (hpa), or both (all).',
  }),
  metricsServiceEndpointSlice: option.string({
    flag: 'metrics-service-endpoint-slice',
    env: 'METRICS_SERVICE_ENDPOINT_SLICE',
    default: '',
    placeholder: '<service>',
    description:
      'Name of the selectorless Service (in --pod-namespace) of the gRPC metrics service: the leader keeps its EndpointSlice <service>-leader pointing at --pod-ip, so the Service leads only to the leader; empty: off (a Service with a selector).',
  }),
  podIP: option.string({
    flag: 'pod-ip',
    env: 'POD_IP',
    default: '',
    placeholder: '<ip>',
    description: "This pod's IP (downward API status.podIP), the address the leader publishes with --metrics-service-endpoint-slice.",
  }),
  certDir: option.string({
    flag: 'cert-dir',
    env: 'CERT_DIR',
    default: '/certs',
    placeholder: '<dir>',
    description:
      'Directory with ca.crt, tls.crt and tls.key for the gRPC metrics service (mutual TLS); reloaded when they change. With --enable-cert-rotation every key of the Secret is copied here when writable.',
  }),
  enableCertRotation: option.bool({
    flag: 'enable-cert-rotation',
    env: 'ENABLE_CERT_ROTATION',
    default: false,
    description:
      'Create the CA and serving certificates in the Secret --cert-secret-name when missing, rotate them before they expire, copy them into --cert-dir (when writable) and patch the caBundles.',
  }),
  certSecretName: option.string({
    flag: 'cert-secret-name',
    env: 'CERT_SECRET_NAME',
    default: 'kedaorg-certs',
    placeholder: '<name>',
    description:
      'Secret (in --pod-namespace) with ca.crt, ca.key, tls.crt and tls.key (the gRPC server), plus metrics-adapter-client.crt/.key, metrics-adapter.crt/.key and webhook.crt/.key with --enable-cert-rotation.',
  }),
  podNamespace: option.string({
    flag: 'pod-namespace',
    env: 'POD_NAMESPACE',
    default: 'keda',
    placeholder: '<namespace>',
    description: "KEDA's own namespace: the leader election Lease, the certificate Secret and the service DNS names in the certificates.",
  }),
  operatorServiceName: option.string({
    flag: 'operator-service-name',
    env: 'OPERATOR_SERVICE_NAME',
    default: 'keda-operator',
    placeholder: '<name>',
    description: "Service of the controller's gRPC metrics service (the names in the controller's certificate).",
  }),
  metricsServerServiceName: option.string({
    flag: 'metrics-server-service-name',
    env: 'METRICS_SERVER_SERVICE_NAME',
    default: 'keda-metrics-apiserver',
    placeholder: '<name>',
    description: "Service of the metrics adapter (the names in the adapter's serving certificate).",
  }),
  webhooksServiceName: option.string({
    flag: 'webhooks-service-name',
    env: 'WEBHOOKS_SERVICE_NAME',
    default: 'keda-admission-webhooks',
    placeholder: '<name>',
    description: "Service of the admission webhooks (the names in the webhook's certificate).",
  }),
  k8sClusterName: option.string({
    flag: 'k8s-cluster-name',
    env: 'K8S_CLUSTER_NAME',
    default: 'kubernetes-default',
    placeholder: '<name>',
    description: 'Cluster name in the source and subject of CloudEvents (a CloudEventSource spec.clusterName wins).',
  }),
  k8sClusterDomain: option.string({
    flag: 'k8s-cluster-domain',
    env: 'K8S_CLUSTER_DOMAIN',
    default: 'cluster.local',
    placeholder: '<domain>',
    description: 'Cluster DNS domain for the certificate names.',
  }),
  certExtraHosts: option.string({
    flag: 'cert-extra-hosts',
    env: 'CERT_EXTRA_HOSTS',
    default: '',
    placeholder: '<names>',
    description: 'More comma-separated DNS names or IPs for the serving certificate (e.g. localhost,127.0.0.1 for local runs).',
  }),
  validatingWebhookName: option.string({
    flag: 'validating-webhook-name',
    env: 'VALIDATING_WEBHOOK_NAME',
    default: 'keda-admission',
    placeholder: '<name>',
    description: 'ValidatingWebhookConfiguration whose caBundle is patched.',
  }),
  enableWebhookPatching: option.bool({
    flag: 'enable-webhook-patching',
    env: 'ENABLE_WEBHOOK_PATCHING',
    default: true,
    description: 'Patch the caBundle of --validating-webhook-name (with --enable-cert-rotation).',
  }),
  enableApiservicePatching: option.bool({
    flag: 'enable-apiservice-patching',
    env: 'ENABLE_APISERVICE_PATCHING',
    default: true,
    description: 'Patch the caBundle of the APIService v1beta1.external.metrics.k8s.io (with --enable-cert-rotation).',
  }),
  caValidity: option.duration({
    flag: 'ca-validity',
    env: 'CA_VALIDITY',
    default: '87600h',
    description: 'Lifetime of a generated CA.',
  }),
  caRenewBefore: option.duration({
    flag: 'ca-renew-before',
    env: 'CA_RENEW_BEFORE',
    default: '2160h',
    description: 'Replace the CA this long before it expires (the old one stays trusted until then).',
  }),
  certValidity: option.duration({
    flag: 'cert-validity',
    env: 'CERT_VALIDITY',
    default: '8760h',
    description: 'Lifetime of a generated serving certificate.',
  }),
  certRenewBefore: option.duration({
    flag: 'cert-renew-before',
    env: 'CERT_RENEW_BEFORE',
    default: '2160h',
    description: 'Re-issue the serving certificate this long before it expires.',
  }),
  certRolloverDelay: option.duration({
    flag: 'cert-rollover-delay',
    env: 'CERT_ROLLOVER_DELAY',
    default: '5m',
    description: 'After a new CA joins ca.crt, wait this long (for mounted Secrets to update) before signing with it.',
  }),
  certCheckInterval: option.duration({
    flag: 'cert-check-interval',
    env: 'CERT_CHECK_INTERVAL',
    default: '12h',
    description: 'Regular check of the certificates besides the computed renewal times.',
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
    description: 'Only ScaledObjects and ScaledJobs with these labels; empty means all.',
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
  boundServiceAccountTokenShortLived: option.bool({
    flag: 'bound-service-account-token-short-lived',
    env: 'KEDA_TS_BOUND_SERVICE_ACCOUNT_TOKEN_SHORT_LIVED',
    default: false,
    description:
      "Request boundServiceAccountToken tokens for 10 minutes, kube-apiserver's minimum, instead of KEDA_BOUND_SERVICE_ACCOUNT_TOKEN_EXPIRY (scalers are rebuilt with new tokens at 80 % of any token's lifetime).",
  }),
  boundServiceAccountTokenAudience: option.string({
    flag: 'bound-service-account-token-audience',
    env: 'KEDA_TS_BOUND_SERVICE_ACCOUNT_TOKEN_AUDIENCE',
    placeholder: '<audience,...>',
    description:
      "Comma-separated audiences of boundServiceAccountToken tokens, so that a token sent to an event source is not accepted by the API server; empty means the API server's default audience (KEDA's behaviour).",
  }),
  scaledObjectMaxReconciles: option.int({
    flag: 'scaledobject-max-reconciles',
    env: 'KEDA_SCALEDOBJECT_CTRL_MAX_RECONCILES',
    default: 5,
    min: 1,
    max: 100,
    description: 'ScaledObjects reconciled at the same time (scale loops run independently of this).',
  }),
  scaledJobMaxReconciles: option.int({
    flag: 'scaledjob-max-reconciles',
    env: 'KEDA_SCALEDJOB_CTRL_MAX_RECONCILES',
    default: 1,
    min: 1,
    max: 100,
    description: 'ScaledJobs reconciled at the same time.',
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
  maxConcurrentScalerReads: option.int({
    flag: 'max-concurrent-scaler-reads',
    env: 'KEDA_TS_MAX_CONCURRENT_SCALER_READS',
    default: 2000,
    min: 1,
    max: 1_000_000,
    description:
      'Scaler reads in flight at once (scale loops and HPA metric requests together). A read waiting for a slot counts against its own timeout. The default covers 10,000 ScaledObjects at a 30 s pollingInterval with every source at the 3 s scaler timeout.',
  }),
  scalerEgressDenyCidrs: option.string({
    flag: 'scaler-egress-deny-cidrs',
    env: 'KEDA_TS_SCALER_EGRESS_DENY_CIDRS',
    default: '',
    placeholder: '<cidrs>',
    check: cidrList,
    expected: CIDRS_EXPECTED,
    description:
      'Comma-separated CIDRs (or addresses) scalers never connect to, checked on every resolved address; wins over --scaler-egress-allow-cidrs.',
  }),
  scalerEgressAllowCidrs: option.string({
    flag: 'scaler-egress-allow-cidrs',
    env: 'KEDA_TS_SCALER_EGRESS_ALLOW_CIDRS',
    default: '',
    placeholder: '<cidrs>',
    check: cidrList,
    expected: CIDRS_EXPECTED,
    description: 'Comma-separated CIDRs; when set, scalers connect only to addresses in them. Empty allows all but the denied ones.',
  }),
  scalerEgressAllowLinkLocal: option.bool({
    flag: 'scaler-egress-allow-link-local',
    env: 'KEDA_TS_SCALER_EGRESS_ALLOW_LINK_LOCAL',
    default: false,
    description:
      'Let scalers connect to link-local addresses (169.254.0.0/16, fe80::/10), refused by default. Cloud metadata addresses and names stay refused.',
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

/** What the leader's EndpointSlice publishes, from the flags (see {@link leaderEndpointSettings}). */
export interface LeaderEndpointSettings {
  serviceName: string;
  podIP: string;
  ports: EndpointPort[];
  /** What the start logs as warnings: ports not published, a loopback bind address. */
  warnings: string[];
}

const UNSPECIFIED_HOSTS = new Set(['', '0.0.0.0', '::', '[::]']);
const isLoopback = (host: string) => /^127\./.test(host) || host === '::1' || host === '[::1]' || host === 'localhost';

/**
 * The leader EndpointSlice settings, or undefined when --metrics-service-endpoint-slice is empty.
 * Throws, naming the flags, when POD_IP is missing, not an IP or a loopback address (the API server
 * refuses those in EndpointSlices), or when the gRPC server binds another interface than the pod IP
 * (the Service would lead to an address nothing listens on). A loopback bind address is allowed with a
 * warning: only a local run that forwards the pod IP to loopback (the e2e tests) can reach it. The
 * Prometheus port (named metrics, as the chart's Service names it) is published too when it listens on
 * the pod IP.
 */
export function leaderEndpointSettings(config: {
  metricsServiceEndpointSlice: string;
  podIP: string;
  metricsServiceBindAddress: HostPort;
  enablePrometheusMetrics: boolean;
  metricsBindAddress: HostPort;
}): LeaderEndpointSettings | undefined {
  const serviceName = config.metricsServiceEndpointSlice.trim();
  if (!serviceName) return undefined;
  const podIP = config.podIP.trim();
  const flag = '--metrics-service-endpoint-slice';
  if (!podIP) throw new Error(`${flag}=${serviceName} needs this pod's IP: set POD_IP from the downward API (fieldPath status.podIP) or --pod-ip`);
  if (isLoopback(podIP)) throw new Error(`${flag}: POD_IP ${podIP} is a loopback address, which the API server refuses in an EndpointSlice; give the pod's own IP`);
  const grpc = config.metricsServiceBindAddress;
  const warnings: string[] = [];
  const onPodIP = (a: HostPort) => UNSPECIFIED_HOSTS.has(a.host) || a.host === podIP || a.host === `[${podIP}]`;
  if (!onPodIP(grpc)) {
    if (!isLoopback(grpc.host)) {
      throw new Error(`${flag}: --metrics-service-bind-address ${grpc.host}:${grpc.port} does not listen on the pod IP ${podIP}; bind :${grpc.port} or ${podIP}:${grpc.port}`);
    }
    warnings.push(`--metrics-service-bind-address ${grpc.host}:${grpc.port} is a loopback address: the Service reaches it only where ${podIP} is forwarded there (a local run)`);
  }
  const ports: EndpointPort[] = [{ name: 'metricsservice', port: grpc.port, appProtocol: 'grpc' }];
  if (config.enablePrometheusMetrics) {
    if (onPodIP(config.metricsBindAddress)) ports.push({ name: 'metrics', port: config.metricsBindAddress.port });
    else warnings.push(`port metrics not published: --metrics-bind-address ${config.metricsBindAddress.host}:${config.metricsBindAddress.port} is not on the pod IP`);
  }
  const problems = checkLeaderEndpointSpec({ namespace: 'x', serviceName, podIP, identity: 'x', ports });
  if (problems.length) throw new Error(`${flag}: ${problems.join('; ')}`);
  return { serviceName, podIP, ports, warnings };
}
