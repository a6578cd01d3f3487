import { basename } from 'node:path';
import { leafFilesIn } from '@keda-ts/certificates';
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
    // Its own pairs when the cert dir has them (self-managed), else KEDA's shared tls.crt/tls.key.
    const grpcClient = leafFilesIn(config.certDir, 'metrics-adapter-client');
    const serving = leafFilesIn(config.certDir, 'metrics-adapter');
    app.logger.info(
      { certDir: config.certDir, grpcClientCert: grpcClient.cert, servingCert: config.tlsCertFile || serving.cert },
      grpcClient.shared ? 'using the shared certificate pair tls.crt/tls.key' : 'using the per-component certificates',
    );
    await startMetricsAdapter(app, {
      kubeConfig: connection.kubeConfig,
      kubeApiQps: config.kubeApiQps,
      kubeApiBurst: config.kubeApiBurst,
      bindAddress: config.bindAddress,
      securePort: config.securePort,
      certDir: config.certDir,
      grpcCertFile: basename(grpcClient.cert),
      grpcKeyFile: basename(grpcClient.key),
      tlsCertFile: config.tlsCertFile || serving.cert,
      tlsPrivateKeyFile: config.tlsPrivateKeyFile || serving.key,
      clientCaFile: config.clientCaFile,
      metricsServiceAddress: formatHostPort(config.metricsServiceAddress),
      metricsServiceGrpcAuthority: config.metricsServiceGrpcAuthority,
      metricsPort: config.port,
      metricNameLabels: config.enableHighCardinalityMetricsLabels,
    });
  },
});
