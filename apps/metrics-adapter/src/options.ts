import { isIP } from 'node:net';
import { kubeApiBurstOption, kubeApiQpsOption, kubeconfigOption } from '@keda-ts/k8s';
import { option, runtimeOptions } from '@keda-ts/runtime';

/** Flags follow KEDA's metrics API server (a Kubernetes aggregated API server) where it has them. */
export const metricsAdapterOptions = {
  ...runtimeOptions,
  kubeconfig: kubeconfigOption,
  securePort: option.int({
    flag: 'secure-port',
    env: 'SECURE_PORT',
    placeholder: '<port>',
    default: 6443,
    min: 0,
    max: 65535,
    description: 'Port of the HTTPS external metrics API (external.metrics.k8s.io, /healthz, /readyz, /livez).',
  }),
  bindAddress: option.string({
    flag: 'bind-address',
    env: 'BIND_ADDRESS',
    default: '0.0.0.0',
    placeholder: '<ip>',
    check: (value) => isIP(value) !== 0,
    expected: 'an IPv4 or IPv6 address',
    description: 'IP address the external metrics API and the Prometheus metrics listen on.',
  }),
  certDir: option.string({
    flag: 'cert-dir',
    env: 'CERT_DIR',
    default: '/certs',
    placeholder: '<dir>',
    description:
      'Directory with ca.crt and the certificates: metrics-adapter-client.crt/.key (gRPC client) and metrics-adapter.crt/.key (HTTPS) when the controller manages them, else the shared tls.crt/tls.key for both.',
  }),
  tlsCertFile: option.string({
    flag: 'tls-cert-file',
    env: 'TLS_CERT_FILE',
    default: '',
    placeholder: '<file>',
    description: 'Serving certificate of the HTTPS API (default: <cert-dir>/metrics-adapter.crt, else <cert-dir>/tls.crt); re-read every minute.',
  }),
  tlsPrivateKeyFile: option.string({
    flag: 'tls-private-key-file',
    env: 'TLS_PRIVATE_KEY_FILE',
    default: '',
    placeholder: '<file>',
    description: 'Private key of the serving certificate (default: <cert-dir>/metrics-adapter.key, else <cert-dir>/tls.key).',
  }),
  clientCaFile: option.string({
    flag: 'client-ca-file',
    env: 'CLIENT_CA_FILE',
    default: '',
    placeholder: '<file>',
    description:
      'More CAs for client-certificate users (user = CN, groups = O), besides the client-ca-file of kube-system/extension-apiserver-authentication.',
  }),
  metricsServiceAddress: option.address({
    flag: 'metrics-service-address',
    env: 'METRICS_SERVICE_ADDRESS',
    default: 'keda-operator.keda.svc.cluster.local:9666',
    requireHost: true,
    description: "The controller's gRPC metrics service (mutual TLS with the --cert-dir credentials).",
  }),
  metricsServiceGrpcAuthority: option.string({
    flag: 'metrics-service-grpc-authority',
    env: 'METRICS_SERVICE_GRPC_AUTHORITY',
    default: '',
    placeholder: '<host>',
    description: 'Overrides the :authority and TLS server name of the gRPC calls to the metrics service.',
  }),
  enableHighCardinalityMetricsLabels: option.bool({
    flag: 'enable-high-cardinality-metrics-labels',
    env: 'ENABLE_HIGH_CARDINALITY_METRICS_LABELS',
    default: false,
    description:
      'Label apiserver_request_total / apiserver_request_duration_seconds with each metric name (resource="<metric>", one series per ScaledObject trigger) instead of resource="*".',
  }),
  kubeApiQps: kubeApiQpsOption,
  kubeApiBurst: kubeApiBurstOption,
  port: option.int({
    flag: 'port',
    env: 'METRICS_PORT',
    default: 8080,
    min: -1,
    max: 65535,
    description: 'Port of the plain-HTTP Prometheus /metrics endpoint (0: any free port, -1: off).',
  }),
};
