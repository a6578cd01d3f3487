import { kubeconfigOption } from '@keda-ts/k8s';
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
  watchNamespace: option.string({
    flag: 'watch-namespace',
    env: 'WATCH_NAMESPACE',
    placeholder: '<namespaces>',
    description: 'Comma-separated namespaces to watch; empty watches all namespaces.',
  }),
};
