import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { connectToApiServer } from '@keda-ts/k8s';
import { createMetricsServer } from '@keda-ts/metrics-service';
import { decisionDebugProvider, Operator } from '@keda-ts/operator';
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
      decisionTraceSize: config.decisionTraceSize,
    });
    app.health.addReadinessCheck('informers', () =>
      operator.ready ? { ok: true } : { ok: false, message: 'informer caches not synced yet' },
    );
    app.onShutdown('operator', () => operator.stop());
    void operator.start();

    // The gRPC metrics service needs the certificates: without them the adapter cannot be served.
    const certFiles = ['ca.crt', 'tls.crt', 'tls.key'].map((f) => join(config.certDir, f));
    const missing = certFiles.filter((f) => !existsSync(f));
    if (missing.length) {
      app.logger.warn({ certDir: config.certDir, missing }, 'gRPC metrics service not started: certificates missing');
      return;
    }
    const metricsServer = createMetricsServer({
      provider: operator.metricsProvider,
      debug: decisionDebugProvider(operator.traces),
      tls: { certDir: config.certDir },
      bindAddress: config.metricsServiceBindAddress.host || '0.0.0.0',
      port: config.metricsServiceBindAddress.port,
      logger: app.logger,
    });
    app.onShutdown('gRPC metrics service', () => metricsServer.stop());
    void metricsServer.start().then(
      (port) => app.logger.info({ port }, 'gRPC metrics service listening'),
      (err: unknown) => app.logger.error({ err }, 'gRPC metrics service failed to start'),
    );
  },
});
