import { connectToApiServer } from '@keda-ts/k8s';
import { KEDA_TS_VERSION, runApp } from '@keda-ts/runtime';
import { startWebhook } from './webhook';
import { webhookOptions } from './options';

void runApp({
  command: {
    name: 'keda-ts-webhook',
    description: 'KEDA admission webhooks: validate ScaledObjects, ScaledJobs and TriggerAuthentications.',
    version: KEDA_TS_VERSION,
  },
  component: 'webhook',
  options: webhookOptions,
  async start({ config, ...app }) {
    const connection = connectToApiServer(app, { kubeconfigPath: config.kubeconfig });
    await startWebhook(app, config, connection.kubeConfig);
  },
});
