import type { Server } from 'node:http';
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import {
  AdmissionServer,
  ClusterCaches,
  ScaledJobValidator,
  ScaledObjectValidator,
  TriggerAuthenticationValidator,
  WebhookMetrics,
  createAdmissionApp,
  servingCertificateIn,
} from '@keda-ts/admission';
import { EventRecorder } from '@keda-ts/k8s';
import { startMetricsEndpoint, type AppContext, type ConfigOf } from '@keda-ts/runtime';
import type { webhookOptions } from './options';

type Config = ConfigOf<typeof webhookOptions>;

/** Wires caches, validators, the HTTPS server and the metrics endpoint. */
export async function startWebhook(app: Omit<AppContext<Config>, 'config'>, config: Config, kubeConfig: KubeConfig): Promise<void> {
  const { logger, health } = app;
  const metrics = new WebhookMetrics({ defaultMetrics: true });
  const caches = new ClusterCaches({ kubeConfig, logger, qps: config.kubeApiQps, burst: config.kubeApiBurst });
  app.onShutdown('informers', () => caches.stop());
  void caches.start();

  // KEDA's recorder for admission events is named keda-admission (scaledobject.md §2.16).
  const events = new EventRecorder(caches.client, logger, 'keda-admission', `keda-admission-${hostname()}`);
  const scaledObjects = new ScaledObjectValidator(caches.lookups, metrics, events);
  const scaledJobs = new ScaledJobValidator(metrics);
  const ta = new TriggerAuthenticationValidator('TriggerAuthentication');
  const cta = new TriggerAuthenticationValidator('ClusterTriggerAuthentication');
  const expressApp = createAdmissionApp({
    logger,
    metrics,
    validators: {
      scaledobject: (r) => scaledObjects.validate(r),
      scaledjob: (r) => scaledJobs.validate(r),
      triggerauthentication: (r) => ta.validate(r),
      clustertriggerauthentication: (r) => cta.validate(r),
    },
  });
  const server = new AdmissionServer(expressApp, servingCertificateIn(config.certDir), logger);
  health.addReadinessCheck('caches', () =>
    caches.synced ? { ok: true } : { ok: false, message: 'informer caches not synced yet' },
  );
  health.addReadinessCheck('serving-certificate', () =>
    server.hasCertificate ? { ok: true } : { ok: false, message: `no serving certificate in ${config.certDir}` },
  );
  await server.listen(config.port);
  app.onShutdown('admission server', () => server.close());

  try {
    const metricsServer: Server = await startMetricsEndpoint(metrics.registry, config.metricsBindAddress, logger);
    app.onShutdown('metrics server', () => new Promise<void>((resolve) => metricsServer.close(() => resolve())));
  } catch (err) {
    // Not fatal: admission works without metrics.
    logger.error({ err: (err as Error).message }, 'metrics server failed');
  }
}
