import { connectToApiServer } from '@keda-ts/k8s';
import { KEDA_TS_VERSION, runApp } from '@keda-ts/runtime';
import { metricsAdapterOptions } from './options';

void runApp({
  command: {
    name: 'keda-ts-metrics-adapter',
    description: 'KEDA metrics API server: serves external.metrics.k8s.io to the Horizontal Pod Autoscaler.',
    version: KEDA_TS_VERSION,
  },
  component: 'metrics-adapter',
  options: metricsAdapterOptions,
  start({ config, ...app }) {
    connectToApiServer(app, { kubeconfigPath: config.kubeconfig });
  },
});
