import { connectToApiServer } from '@keda-ts/k8s';
import { KEDA_TS_VERSION, runApp } from '@keda-ts/runtime';
import { webhookOptions } from './options';

void runApp({
  command: {
    name: 'keda-ts-webhook',
    description: 'KEDA admission webhooks: validate ScaledObjects, ScaledJobs and TriggerAuthentications.',
    version: KEDA_TS_VERSION,
  },
  component: 'webhook',
  options: webhookOptions,
  start({ config, ...app }) {
    connectToApiServer(app, { kubeconfigPath: config.kubeconfig });
  },
});
