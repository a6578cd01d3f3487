import { join } from 'node:path';
import { CertificateManager, serviceHosts, waitForFiles } from '@keda-ts/certificates';
import { KubeClient, connectToApiServer } from '@keda-ts/k8s';
import { createMetricsServer } from '@keda-ts/metrics-service';
import { KedaOperatorMetrics, Operator } from '@keda-ts/operator';
import { KEDA_TS_VERSION, runApp, startMetricsEndpoint } from '@keda-ts/runtime';
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
  async start({ config, ...app }) {
    const connection = connectToApiServer(app, { kubeconfigPath: config.kubeconfig });
    const metrics = config.enablePrometheusMetrics ? new KedaOperatorMetrics({ version: KEDA_TS_VERSION, gitCommit: process.env['GIT_COMMIT'] }) : undefined;
    if (metrics) {
      const server = await startMetricsEndpoint(metrics.registry, config.metricsBindAddress, app.logger);
      app.onShutdown('Prometheus metrics endpoint', () => new Promise<void>((r) => server.close(() => r())));
    }
    const operator = new Operator({
      metrics,
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

    if (config.enableCertRotation) {
      const services = [config.operatorServiceName, config.metricsServerServiceName];
      if (config.enableWebhookPatching) services.push(config.webhooksServiceName);
      const client = new KubeClient(connection.kubeConfig, { qps: config.kubeApiQps, burst: config.kubeApiBurst });
      const certificates = new CertificateManager({
        client,
        namespace: config.podNamespace,
        secretName: config.certSecretName,
        certDir: config.certDir,
        policy: {
          caValidityMs: config.caValidity,
          caRenewBeforeMs: config.caRenewBefore,
          validityMs: config.certValidity,
          renewBeforeMs: config.certRenewBefore,
          rolloverDelayMs: config.certRolloverDelay,
          hosts: [...serviceHosts(services, config.podNamespace, config.k8sClusterDomain), ...list(config.certExtraHosts)],
        },
        checkIntervalMs: config.certCheckInterval,
        validatingWebhookName: config.enableWebhookPatching ? config.validatingWebhookName : undefined,
        apiServiceName: config.enableApiservicePatching ? 'v1beta1.external.metrics.k8s.io' : undefined,
        logger: app.logger.child({ subsystem: 'certificates' }),
      });
      app.health.addReadinessCheck('certificates', () =>
        certificates.ready ? { ok: true } : { ok: false, message: `Secret ${config.podNamespace}/${config.certSecretName} not written yet` },
      );
      // Stopped after the gRPC server (hooks run in reverse order).
      app.onShutdown('certificate rotation', async () => {
        await certificates.stop();
        client.close();
      });
      certificates.start();
    }

    // The gRPC metrics service waits for its certificates (written by the rotation above or mounted).
    const certFiles = ['ca.crt', 'tls.crt', 'tls.key'].map((f) => join(config.certDir, f));
    let stopping = false;
    app.onShutdown('gRPC metrics service start', () => {
      stopping = true;
    });
    void (async () => {
      if (!(await waitForFiles(certFiles, { intervalMs: 1_000, stopped: () => stopping }))) return;
      if (stopping) return;
      const metricsServer = createMetricsServer({
        provider: operator.metricsProvider,
        tls: { certDir: config.certDir },
        bindAddress: config.metricsServiceBindAddress.host || '0.0.0.0',
        port: config.metricsServiceBindAddress.port,
        logger: app.logger,
      });
      app.onShutdown('gRPC metrics service', () => metricsServer.stop());
      const port = await metricsServer.start();
      app.logger.info({ port }, 'gRPC metrics service listening');
    })().catch((err: unknown) => app.logger.error({ err }, 'gRPC metrics service failed to start'));
    app.logger.info({ certDir: config.certDir }, 'gRPC metrics service starts once its certificates are in the cert dir');
  },
});
