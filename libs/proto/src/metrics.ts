/** The generated ts-proto code of proto/metrics/metrics.proto (package `api`: MetricsService, RawMetricsService). */
export * from './generated/metrics/metrics';
