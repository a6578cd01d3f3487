import { OpenTelemetryOperatorMetrics, otlpMetricReaderFromEnv } from '@keda-ts/operator';
import { KEDA_TS_VERSION, type Logger } from '@keda-ts/runtime';

/** How long the last export at shutdown may take: an unreachable collector must not hold the exit. */
const SHUTDOWN_FLUSH_MS = 5_000;

/**
 * --enable-opentelemetry-metrics: KEDA's operator metrics pushed over OTLP, configured by the standard
 * OTEL_* variables (docs/opentelemetry.md). A malformed protocol or interval stops the start; an
 * unreachable collector only costs a warning every few minutes. Registered early, its shutdown hook
 * runs late (hooks run in reverse order), so the last export carries the final values.
 */
export function startOpenTelemetryMetrics(
  app: { logger: Logger; onShutdown(name: string, hook: () => Promise<void>): void },
  options: { highCardinalityLabels?: boolean } = {},
): OpenTelemetryOperatorMetrics {
  const logger = app.logger.child({ subsystem: 'opentelemetry' });
  const { reader, settings } = otlpMetricReaderFromEnv(logger);
  const otel = new OpenTelemetryOperatorMetrics({
    build: { version: KEDA_TS_VERSION, gitCommit: process.env['GIT_COMMIT'] },
    readers: [reader],
    highCardinalityLabels: options.highCardinalityLabels,
  });
  logger.info(
    { endpoint: settings.endpoint || '(exporter default, localhost)', protocol: settings.protocol, exportIntervalMs: settings.intervalMs, exportTimeoutMs: settings.timeoutMs },
    'OpenTelemetry metrics: pushing over OTLP',
  );
  app.onShutdown('OpenTelemetry metrics', () => Promise.race([otel.shutdown(), new Promise<void>((r) => setTimeout(r, SHUTDOWN_FLUSH_MS).unref())]));
  return otel;
}
