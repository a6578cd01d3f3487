/** The generated ts-proto code of proto/metrics/metrics.proto (package `api`: MetricsService, RawMetricsService). */
export * as metricsProto from './metrics';
/** The generated ts-proto code of proto/externalscaler/externalscaler.proto (package `externalscaler`). */
export * as externalScalerProto from './externalscaler';
/** The generated ts-proto code of proto/debug/debug.proto (package `kedats.debug.v1`, keda-ts's own). */
export * as debugProto from './debug';
export { fileDescriptorProtos, loadEmbeddedPackageDefinition, type DescriptorSetName } from './descriptors';
