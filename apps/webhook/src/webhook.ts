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
  CloudEventSourceValidator,
  createAdmissionApp,
} from '@keda-ts/admission';
import { leafFilesIn } from '@keda-ts/certificates';
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
  const scaledJobs = new ScaledJobValidator(metrics, caches.jobTemplates);
  const ta = new TriggerAuthenticationValidator('TriggerAuthentication');
  const cta = new TriggerAuthenticationValidator('ClusterTriggerAuthentication');
  const ces = new CloudEventSourceValidator('CloudEventSource');
  const cces = new CloudEventSourceValidator('ClusterCloudEventSource');
  const expressApp = createAdmissionApp({
    logger,
    metrics,
    validators: {
      scaledobject: (r) => scaledObjects.validate(r),
      scaledjob: (r) => scaledJobs.validate(r),
      triggerauthentication: (r) => ta.validate(r),
      clustertriggerauthentication: (r) => cta.validate(r),
      cloudeventsource: (r) => ces.validate(r),
      clustercloudeventsource: (r) => cces.validate(r),
    },
  });
  // Its own pair when the cert dir has it (self-managed: webhook.crt/.key), else KEDA's shared tls.crt/tls.key.
  const files = leafFilesIn(config.certDir, 'webhook');
  logger.info({ certFile: files.cert, keyFile: files.key }, files.shared ? 'serving with the shared certificate pair' : 'serving with the webhook certificate');
  const server = new AdmissionServer(expressApp, { certFile: files.cert, keyFile: files.key }, logger);
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
