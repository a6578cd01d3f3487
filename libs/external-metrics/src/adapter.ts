import { existsSync } from 'node:fs';
import type http from 'node:http';
import { KubeClient } from '@keda-ts/k8s';
import { createMetricsClient, type MetricsClient } from '@keda-ts/metrics-service';
import { startMetricsEndpoint, type AppContext, type CheckResult } from '@keda-ts/runtime';
import { AuthConfigSource } from './auth-config';
import { SUBJECT_ACCESS_REVIEW_PATH, SarAuthorizer, type SubjectAccessReview } from './authz';
import { AdapterMetrics } from './prom';
import { ExternalMetricsServer } from './server';

export interface MetricsAdapterConfig {
  kubeConfig: KubeClient['kubeConfig'];
  kubeApiQps: number;
  kubeApiBurst: number;
  /** HTTPS external metrics API. */
  bindAddress: string;
  securePort: number;
  /** ca.crt and the gRPC client's pair (grpcCertFile/grpcKeyFile, default tls.crt/tls.key). */
  certDir: string;
  /** File names in certDir of the gRPC client certificate and key (self-managed: metrics-adapter-client.crt/.key). */
  grpcCertFile?: string;
  grpcKeyFile?: string;
  tlsCertFile: string;
  tlsPrivateKeyFile: string;
  /** More CAs for client-certificate users; empty: only the ConfigMap's. */
  clientCaFile: string;
  metricsServiceAddress: string;
  metricsServiceGrpcAuthority: string;
  /** Plain HTTP `/metrics`; 0 picks a free port, negative disables. */
  metricsPort: number;
  grpcTimeoutMs?: number;
  /** Request series labelled per metric name (`--enable-high-cardinality-metrics-labels`). */
  metricNameLabels?: boolean;
}

export interface RunningMetricsAdapter {
  server?: ExternalMetricsServer;
  client?: MetricsClient;
  prom: AdapterMetrics;
  authConfig: AuthConfigSource;
  authorizer: SarAuthorizer;
}

/**
 * Wires the adapter into an app: API-server client, authentication settings, SubjectAccessReview
 * authorizer, gRPC client to the controller, the HTTPS API and `/metrics`; readiness follows the
 * gRPC channel and the authentication settings.
 */
export async function startMetricsAdapter(
  app: Pick<AppContext<unknown>, 'logger' | 'health' | 'onShutdown'>,
  config: MetricsAdapterConfig,
): Promise<RunningMetricsAdapter> {
  const { logger } = app;
  const prom = new AdapterMetrics({ metricNameLabels: config.metricNameLabels });
  const kube = new KubeClient(config.kubeConfig, { qps: config.kubeApiQps, burst: config.kubeApiBurst });
  app.onShutdown('API server client', () => kube.close());

  const holder: { server?: ExternalMetricsServer } = {};
  const authConfig = new AuthConfigSource({
    getConfigMap: (path) => kube.get(path),
    clientCaFile: config.clientCaFile && existsSync(config.clientCaFile) ? config.clientCaFile : undefined,
    logger,
    onChange: () => holder.server?.reloadSecureContext(),
  });
  app.onShutdown('authentication config', () => authConfig.close());
  app.health.addReadinessCheck('authentication-config', () => authConfig.readiness());

  const authorizer = new SarAuthorizer({
    review: (review) => kube.create<SubjectAccessReview>(SUBJECT_ACCESS_REVIEW_PATH, review),
    allResourcesFirst: true,
  });

  if (config.metricsPort >= 0) {
    try {
      const promServer: http.Server = await startMetricsEndpoint(prom.registry, { host: config.bindAddress, port: config.metricsPort }, logger);
      app.onShutdown('Prometheus metrics server', () => new Promise<void>((r) => promServer.close(() => r())));
    } catch (err) {
      logger.error({ err: (err as Error).message, port: config.metricsPort }, 'cannot serve Prometheus metrics');
    }
  }

  // One 'metrics-service' readiness check; what it asks changes once the gRPC client exists.
  const readiness: { check: () => CheckResult } = { check: () => ({ ok: false, message: 'starting' }) };
  app.health.addReadinessCheck('metrics-service', () => readiness.check());
  const grpcFiles = ['ca.crt', config.grpcCertFile ?? 'tls.crt', config.grpcKeyFile ?? 'tls.key'].map((f) => `${config.certDir}/${f}`);
  const servingFiles = [config.tlsCertFile, config.tlsPrivateKeyFile];
  const missingFiles = () => [...new Set([...grpcFiles, ...servingFiles])].filter((f) => !existsSync(f));
  const missing = missingFiles();
  if (missing.length) {
    // The controller may still be writing them (self-managed certificates): wait, not ready meanwhile.
    logger.warn({ certDir: config.certDir, missing }, 'external metrics API waits for its certificates');
    let waiting = true;
    readiness.check = () => ({ ok: false, message: `certificates missing: ${missingFiles().join(', ')}` });
    app.onShutdown('certificate wait', () => {
      waiting = false;
    });
    void authConfig.start();
    const holderRunning: RunningMetricsAdapter = { prom, authConfig, authorizer };
    void (async () => {
      while (waiting && missingFiles().length) await new Promise((r) => setTimeout(r, 500));
      if (!waiting) return;
      waiting = false;
      Object.assign(holderRunning, await serve(app, config, { prom, authConfig, authorizer, holder, readiness }));
    })().catch((err: unknown) => logger.error({ err: (err as Error).message }, 'external metrics API failed to start'));
    return holderRunning;
  }
  return serve(app, config, { prom, authConfig, authorizer, holder, readiness }, true);
}

async function serve(
  app: Pick<AppContext<unknown>, 'logger' | 'health' | 'onShutdown'>,
  config: MetricsAdapterConfig,
  parts: {
    prom: AdapterMetrics;
    authConfig: AuthConfigSource;
    authorizer: SarAuthorizer;
    holder: { server?: ExternalMetricsServer };
    readiness: { check: () => CheckResult };
  },
  startAuthConfig = false,
): Promise<RunningMetricsAdapter> {
  const { logger } = app;
  const { prom, authConfig, authorizer, holder, readiness } = parts;
  const address = config.metricsServiceAddress;
  const client = createMetricsClient({
    address,
    tls: { certDir: config.certDir, certFile: config.grpcCertFile, keyFile: config.grpcKeyFile },
    authority: config.metricsServiceGrpcAuthority || undefined,
    timeoutMs: config.grpcTimeoutMs ?? 3_000,
    logger,
  });
  app.onShutdown('gRPC metrics client', () => client.close());
  const grpcReadiness = (): CheckResult => {
    if (client.isReady()) return { ok: true };
    return { ok: false, message: `KEDA metrics service ${address}: gRPC channel ${client.connectivityState(true)}` };
  };
  readiness.check = grpcReadiness;
  client.connectivityState(true);

  const server = new ExternalMetricsServer({
    metrics: client,
    controllerAddress: address,
    authentication: () => ({ config: authConfig.config, generation: authConfig.generation }),
    authorize: (user, attributes) => authorizer.authorize(user, attributes),
    readiness: { 'metrics-service': grpcReadiness, 'authentication-config': () => authConfig.readiness() },
    tls: { certFile: config.tlsCertFile, keyFile: config.tlsPrivateKeyFile },
    bindAddress: config.bindAddress,
    port: config.securePort,
    logger,
    prom,
    grpcTimeoutMs: config.grpcTimeoutMs,
  });
  holder.server = server;
  // Client CAs first, so the TLS server asks for the right certificates from the start.
  if (startAuthConfig) await authConfig.start();
  app.onShutdown('external metrics API', () => server.close());
  await server.listen();
  return { server, client, prom, authConfig, authorizer };
}
