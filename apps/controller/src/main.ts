import { connectToApiServer } from '@keda-ts/k8s';
import { Operator } from '@keda-ts/operator';
import { KEDA_TS_VERSION, runApp } from '@keda-ts/runtime';
import { scalers } from '@keda-ts/scalers';
import { controllerOptions } from './options';

const list = (value: string) => value.split(',').map((s) => s.trim()).filter(Boolean);

void runApp({
  command: {
    name: 'keda-ts-controller',
    description: 'KEDA operator: reconciles ScaledObjects, ScaledJobs and TriggerAuthentications.',
    version: KEDA_TS_VERSION,
  },
  component: 'controller',
  options: controllerOptions,
  start({ config, ...app }) {
    const connection = connectToApiServer(app, { kubeconfigPath: config.kubeconfig });
    const operator = new Operator({
      kubeConfig: connection.kubeConfig,
      logger: app.logger,
      registry: scalers,
      kedaVersion: KEDA_TS_VERSION,
      watchNamespaces: list(config.watchNamespace),
      labelSelector: config.watchLabelSelector || undefined,
      qps: config.kubeApiQps,
      burst: config.kubeApiBurst,
      httpTimeoutMs: config.httpDefaultTimeout,
    });
    app.health.addReadinessCheck('informers', () =>
      operator.ready ? { ok: true } : { ok: false, message: 'informer caches not synced yet' },
    );
    app.onShutdown('operator', () => operator.stop());
    void operator.start();
  },
});
