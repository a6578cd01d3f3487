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
};
