import { connectToApiServer } from '@keda-ts/k8s';
import { KEDA_TS_VERSION, runApp } from '@keda-ts/runtime';
import { controllerOptions } from './options';

void runApp({
  command: {
    name: 'keda-ts-controller',
    description: 'KEDA operator: reconciles ScaledObjects, ScaledJobs and TriggerAuthentications.',
    version: KEDA_TS_VERSION,
  },
  component: 'controller',
  options: controllerOptions,
  start({ config, ...app }) {
    connectToApiServer(app, { kubeconfigPath: config.kubeconfig });
  },
});
