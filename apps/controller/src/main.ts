import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CertificateManager, kedaLeafSpecs, serviceHosts, waitForFiles } from '@keda-ts/certificates';
import { connectToApiServer, KubeClient, KubeLeaseStore, LeaderElector, LeaderEndpointSlice, LeaderOnly } from '@keda-ts/k8s';
import { createMetricsServer } from '@keda-ts/metrics-service';
import { CloudEventEmitter, combinedMetrics, decisionDebugProvider, KedaOperatorMetrics, LagWindow, Operator, RawMetricsHub } from '@keda-ts/operator';
import { KEDA_TS_VERSION, runApp, startMetricsEndpoint } from '@keda-ts/runtime';
import { EgressPolicy, scalers } from '@keda-ts/scalers';
import { controllerOptions, leaderEndpointSettings } from './options';
import { startOpenTelemetryMetrics } from './opentelemetry';

const list = (value: string) => value.split(',').map((s) => s.trim()).filter(Boolean);

const SERVICE_ACCOUNT_NAMESPACE_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** KEDA_CLUSTER_OBJECT_NAMESPACE, else the namespace the controller runs in. */
function clusterObjectNamespace(configured: string): string {
  if (configured) return configured;
  try {
    const fromFile = readFileSync(SERVICE_ACCOUNT_NAMESPACE_PATH, 'utf8').trim();
    if (fromFile) return fromFile;
  } catch {
    // not in a pod
  }
  return process.env.POD_NAMESPACE || 'keda';
}

void runApp({
  command: {
    name: 'keda-ts-controller',
    description: 'KEDA operator: reconciles ScaledObjects, ScaledJobs and TriggerAuthentications.',
    version: KEDA_TS_VERSION,
  },
  component: 'controller',
  options: controllerOptions,
  async start({ config, ...app }) {
    const tokenExpiry = config.boundServiceAccountTokenExpiry;
    if (tokenExpiry < 3_600_000 || tokenExpiry > 21_600_000)
      throw new Error(`KEDA_BOUND_SERVICE_ACCOUNT_TOKEN_EXPIRY must be between 1h and 6h, got ${tokenExpiry / 1000}s`);
    // Before anything connects: an invalid CIDR stops the start with a message naming the flag.
    const scalerEgress = EgressPolicy.fromSettings({
      denyCidrs: config.scalerEgressDenyCidrs,
      allowCidrs: config.scalerEgressAllowCidrs,
      allowLinkLocal: config.scalerEgressAllowLinkLocal,
    });
    app.logger.info({ scalerEgress: scalerEgress.describe() }, 'scaler egress policy');
    // Before anything connects: a Service that would lead nowhere stops the start, naming the flags.
    const endpointSettings = leaderEndpointSettings(config);
    const connection = connectToApiServer(app, { kubeconfigPath: config.kubeconfig });
    const metrics = config.enablePrometheusMetrics
      ? new KedaOperatorMetrics({ version: KEDA_TS_VERSION, gitCommit: process.env['GIT_COMMIT'] }, { highCardinalityLabels: config.enableHighCardinalityMetricsLabels })
      : undefined;
    if (metrics) {
      const server = await startMetricsEndpoint(metrics.registry, config.metricsBindAddress, app.logger);
      app.onShutdown('Prometheus metrics endpoint', () => new Promise<void>((r) => server.close(() => r())));
    }
    // Prometheus and OpenTelemetry (--enable-opentelemetry-metrics) see the same calls.
    const otel = config.enableOpentelemetryMetrics ? startOpenTelemetryMetrics(app, { highCardinalityLabels: config.enableHighCardinalityMetricsLabels }) : undefined;
    const recorder = combinedMetrics(metrics, otel);
    // Unique per process: a restarted container must not mistake its predecessor's Lease for its own.
    const identity = `${config.podName || hostname()}_${randomUUID()}`;
    const lagWindow = config.scaleLoopLagReportInterval > 0 ? new LagWindow() : undefined;
    // KEDA's RAW_METRICS_GRPC_PROTOCOL=enabled: api.RawMetricsService on the gRPC port, fed by the reads.
    const rawMetrics = config.rawMetricsGrpcProtocol === 'enabled' ? new RawMetricsHub({ mode: config.rawMetricsMode }) : undefined;
    const operator = new Operator({
      // The emitter is created below with the manager's informers; Events only flow once the operator started.
      onEvent: (regarding, event) => cloudEvents.observe(regarding, event),
      metrics: recorder,
      standby: config.leaderElect,
      userAgent: `keda-ts-controller/${KEDA_TS_VERSION} (${identity})`,
      kubeConfig: connection.kubeConfig,
      logger: app.logger,
      registry: scalers,
      kedaVersion: KEDA_TS_VERSION,
      watchNamespaces: list(config.watchNamespace),
      labelSelector: config.watchLabelSelector || undefined,
      qps: config.kubeApiQps,
      burst: config.kubeApiBurst,
      httpTimeoutMs: config.httpDefaultTimeout,
      scalerEgress,
      decisionTraceSize: config.decisionTraceSize,
      clusterObjectNamespace: clusterObjectNamespace(config.clusterObjectNamespace),
      restrictSecretAccess: config.restrictSecretAccess,
      triggerAuthLabelSelector: config.watchLabelSelectorForTriggerAuth || undefined,
      filePathAuthRootPath: config.filepathAuthRootPath || undefined,
      // kube-apiserver refuses a TokenRequest under 600 s.
      boundServiceAccountTokenExpirySeconds: config.boundServiceAccountTokenShortLived ? 600 : tokenExpiry / 1000,
      boundServiceAccountTokenAudiences: list(config.boundServiceAccountTokenAudience),
      controllerNamespace: config.podNamespace,
      certSecretName: config.certSecretName,
      scaledObjectMaxReconciles: config.scaledObjectMaxReconciles,
      scaledJobMaxReconciles: config.scaledJobMaxReconciles,
      maxConcurrentScalerReads: config.maxConcurrentScalerReads,
      onScaleLoopLag: lagWindow ? (_key, lagMs) => lagWindow.add(lagMs) : undefined,
      rawMetrics,
    });
    // CloudEventSources: lifecycle Events also go, as CloudEvents, to the sinks (never awaited by reconciles).
    const cloudEvents: CloudEventEmitter = new CloudEventEmitter({
      kubeConfig: connection.kubeConfig,
      // Its own client for status writes (low rate); the sources are watched through the shared informers.
      client: new KubeClient(connection.kubeConfig, { qps: 5, burst: 10, userAgent: `keda-ts-controller/${KEDA_TS_VERSION} (${identity}) cloudevents`, refuseWrite: operator.manager.refuseWrite }),
      informers: operator.manager.informers,
      logger: app.logger,
      clusterName: config.k8sClusterName,
      watchNamespaces: list(config.watchNamespace),
      egress: scalerEgress,
      metrics: recorder,
      isLeading: () => operator.isLeading,
      resolveAuth: async (namespace, ref) =>
        (await operator.triggerAuth.resolver.resolve({ kind: 'ScaledObject', namespace, name: 'cloudeventsource', triggers: [{ authenticationRef: ref }] })).authParams(0),
    });
    operator.manager.register(cloudEvents);
    if (lagWindow) {
      const report = setInterval(
        () => app.logger.info({ scaleLoopLag: lagWindow.drain(), scaleLoops: operator.scaleLoopCount }, 'scale-loop lag report'),
        config.scaleLoopLagReportInterval * 1000,
      );
      report.unref();
      app.onShutdown('scale-loop lag report', () => clearInterval(report));
    }
    app.health.addReadinessCheck('informers', () =>
      operator.ready ? { ok: true } : { ok: false, message: 'informer caches not synced yet' },
    );
    // Only the leader serves gRPC: a standby does not listen. With --metrics-service-endpoint-slice
    // the leader also points the selectorless Service at itself, so the adapter reaches only it.
    const leaderOnly: LeaderOnly[] = [];
    let grpc: LeaderOnly | undefined;
    let endpoint: LeaderEndpointSlice | undefined;
    /** Ready in the Service only while leading with the gRPC server listening; written after it listens. */
    const syncEndpoint = () => endpoint?.set(operator.isLeading && Boolean(grpc?.isRunning));
    if (endpointSettings) {
      const endpointClient = new KubeClient(connection.kubeConfig, { requestTimeoutMs: 5_000, userAgent: `keda-ts-controller/${KEDA_TS_VERSION} (${identity})` });
      endpoint = new LeaderEndpointSlice({
        client: endpointClient,
        kubeConfig: connection.kubeConfig,
        logger: app.logger.child({ subsystem: 'leader-endpoint' }),
        spec: {
          namespace: config.podNamespace,
          serviceName: endpointSettings.serviceName,
          podIP: endpointSettings.podIP,
          podName: config.podName || undefined,
          identity,
          ports: endpointSettings.ports,
        },
      });
      app.logger.info(
        { service: `${config.podNamespace}/${endpointSettings.serviceName}`, endpointSlice: endpoint.sliceName, podIP: endpointSettings.podIP, ports: endpointSettings.ports },
        'the leader publishes itself as the endpoint of the gRPC metrics Service',
      );
      for (const warning of endpointSettings.warnings) app.logger.warn({ endpointSlice: endpoint.sliceName }, warning);
      // Runs before the Lease is released (hooks run in reverse order); the gRPC hook below marks it first.
      const published = endpoint;
      app.onShutdown('leader EndpointSlice', async () => {
        await published.stop();
        endpointClient.close();
      });
    }
    if (config.leaderElect) {
      const timing = {
        leaseDurationMs: config.leaderElectionLeaseDuration,
        renewDeadlineMs: config.leaderElectionRenewDeadline,
        retryPeriodMs: config.leaderElectionRetryPeriod,
      };
      // Its own client: the Lease is never queued behind the controller's rate-limited work.
      const leaseClient = new KubeClient(connection.kubeConfig, { requestTimeoutMs: timing.renewDeadlineMs / 2, userAgent: `keda-ts-controller/${KEDA_TS_VERSION} (${identity})` });
      const elector = new LeaderElector({
        ...timing,
        store: new KubeLeaseStore(leaseClient, config.podNamespace, config.leaderElectionId),
        identity,
        logger: app.logger,
        onStartedLeading: () => {
          operator.startLeading();
          // The Service leads here only once the gRPC server listens.
          void Promise.all(leaderOnly.map((s) => s.set(true))).then(syncEndpoint);
        },
        onStoppedLeading: () => {
          operator.stopLeading();
          // Out of the Service first (bounded: the API server may be what failed), then stop serving.
          const unpublished = endpoint ? Promise.race([syncEndpoint(), new Promise((r) => setTimeout(r, 2_000).unref())]) : Promise.resolve();
          void unpublished.then(() => {
            // Leading again meanwhile: the new term keeps the server (and has republished).
            if (operator.isLeading) return;
            for (const s of leaderOnly) void s.set(false);
          });
        },
      });
      app.logger.info({ identity, lease: `${config.podNamespace}/${config.leaderElectionId}`, ...timing }, 'leader election: campaigning');
      // Runs after the operator drained (hooks run in reverse order): the successor starts at once.
      app.onShutdown('leader election lease', async () => {
        await elector.release();
        leaseClient.close();
      });
      elector.start();
    }
    if (config.enableCertRotation) {
      // One leaf per component, each naming only its own Service (plus the extra hosts).
      const hostsOf = (service: string) => [...serviceHosts([service], config.podNamespace, config.k8sClusterDomain), ...list(config.certExtraHosts)];
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
          leaves: kedaLeafSpecs({
            operator: hostsOf(config.operatorServiceName),
            metricsAdapter: hostsOf(config.metricsServerServiceName),
            webhook: hostsOf(config.webhooksServiceName),
          }),
        },
        checkIntervalMs: config.certCheckInterval,
        validatingWebhookName: config.enableWebhookPatching ? config.validatingWebhookName : undefined,
        apiServiceName: config.enableApiservicePatching ? 'v1beta1.external.metrics.k8s.io' : undefined,
        logger: app.logger.child({ subsystem: 'certificates' }),
      });
      app.health.addReadinessCheck('certificates', () =>
        certificates.ready ? { ok: true } : { ok: false, message: `Secret ${config.podNamespace}/${config.certSecretName} not written yet` },
      );
      // A controller of the manager, on every replica (not leader-gated): started with the informers,
      // stopped with the operator, so after the gRPC server (hooks run in reverse order).
      operator.manager.register({
        name: 'certificates',
        start: () => certificates.start(),
        stop: async () => {
          await certificates.stop();
          client.close();
        },
      });
    }
    app.onShutdown('operator', () => operator.stop());
    void operator.start();


    // The gRPC metrics service waits for its certificates (written by the rotation above or mounted);
    // only the leader serves it: a standby does not listen, so the adapter reaches the leader.
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
        debug: decisionDebugProvider(operator.traces),
        rawMetrics,
        tls: { certDir: config.certDir },
        bindAddress: config.metricsServiceBindAddress.host || '0.0.0.0',
        port: config.metricsServiceBindAddress.port,
        logger: app.logger,
        metricsRegistry: metrics?.registry,
      });
      const server = new LeaderOnly('gRPC metrics service', metricsServer, app.logger);
      grpc = server;
      leaderOnly.push(server);
      // Out of the Service (terminating) before the server stops: new connections go elsewhere.
      // Bounded: an unreachable API server must not hold the shutdown (the successor overwrites the slice).
      app.onShutdown('gRPC metrics service', async () => {
        if (endpoint) await Promise.race([endpoint.stop(), new Promise((r) => setTimeout(r, 3_000).unref())]);
        await server.set(false);
      });
      if (operator.isLeading) await server.set(true);
      await syncEndpoint();
    })().catch((err: unknown) => app.logger.error({ err }, 'gRPC metrics service failed to start'));
    app.logger.info({ certDir: config.certDir }, 'gRPC metrics service starts once its certificates are in the cert dir');
  },
});
