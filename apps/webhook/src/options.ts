import { kubeApiBurstOption, kubeApiQpsOption, kubeconfigOption } from '@keda-ts/k8s';
import { option, runtimeOptions } from '@keda-ts/runtime';

/** Flags follow KEDA's admission webhooks where it has them. */
export const webhookOptions = {
  ...runtimeOptions,
  kubeconfig: kubeconfigOption,
  port: option.int({
    flag: 'port',
    // Not plain PORT: that name is set by many platforms for other purposes.
    env: 'WEBHOOK_PORT',
    placeholder: '<port>',
    default: 9443,
    min: 0,
    max: 65535,
    description: 'Port of the HTTPS admission webhook server.',
  }),
  certDir: option.string({
    flag: 'cert-dir',
    env: 'CERT_DIR',
    placeholder: '<dir>',
    default: '/certs',
    description: 'Directory with the serving certificate: webhook.crt/webhook.key when the controller manages them, else tls.crt/tls.key; reloaded when they change.',
  }),
  metricsBindAddress: option.address({
    flag: 'metrics-bind-address',
    env: 'METRICS_BIND_ADDRESS',
    default: ':8080',
    description: 'Address the Prometheus /metrics endpoint binds to.',
  }),
  kubeApiQps: kubeApiQpsOption,
  kubeApiBurst: kubeApiBurstOption,
};
