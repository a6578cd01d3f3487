import { isIP } from 'node:net';
import { kubeconfigOption } from '@keda-ts/k8s';
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
    description: 'Port of the HTTPS external metrics API (accepted, not served yet).',
  }),
  bindAddress: option.string({
    flag: 'bind-address',
    env: 'BIND_ADDRESS',
    default: '0.0.0.0',
    placeholder: '<ip>',
    check: (value) => isIP(value) !== 0,
    expected: 'an IPv4 or IPv6 address',
    description: 'IP address the external metrics API listens on.',
  }),
  metricsServiceAddress: option.address({
    flag: 'metrics-service-address',
    env: 'METRICS_SERVICE_ADDRESS',
    default: 'keda-operator.keda.svc.cluster.local:9666',
    requireHost: true,
    description: "The controller's gRPC metrics service (not used yet).",
  }),
};
