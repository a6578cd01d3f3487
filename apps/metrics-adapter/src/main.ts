import { join } from 'node:path';
import { startMetricsAdapter } from '@keda-ts/external-metrics';
import { connectToApiServer } from '@keda-ts/k8s';
import { KEDA_TS_VERSION, formatHostPort, runApp } from '@keda-ts/runtime';
import { metricsAdapterOptions } from './options';

void runApp({
  command: {
    name: 'keda-ts-metrics-adapter',
    description: 'KEDA metrics API server: serves external.metrics.k8s.io to the Horizontal Pod Autoscaler.',
    version: KEDA_TS_VERSION,
  },
  component: 'metrics-adapter',
  options: metricsAdapterOptions,
  async start({ config, ...app }) {
    const connection = connectToApiServer(app, { kubeconfigPath: config.kubeconfig });
    await startMetricsAdapter(app, {
      kubeConfig: connection.kubeConfig,
      kubeApiQps: config.kubeApiQps,
      kubeApiBurst: config.kubeApiBurst,
      bindAddress: config.bindAddress,
      securePort: config.securePort,
      certDir: config.certDir,
      tlsCertFile: config.tlsCertFile || join(config.certDir, 'tls.crt'),
      tlsPrivateKeyFile: config.tlsPrivateKeyFile || join(config.certDir, 'tls.key'),
      clientCaFile: config.clientCaFile,
      metricsServiceAddress: formatHostPort(config.metricsServiceAddress),
      metricsServiceGrpcAuthority: config.metricsServiceGrpcAuthority,
      metricsPort: config.port,
      metricNameLabels: config.enableHighCardinalityMetricsLabels,
    });
  },
});
