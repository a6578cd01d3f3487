// Public surface of the controller machinery: operator, scale loops, metric evaluation and Prometheus metrics.
export { Operator, type OperatorOptions } from './operator';
export { ScaledObjectReconciler } from './scaledobject-reconciler';
export { ScaledObjectPoller } from './scaledobject-poller';
export { ScaledObjectMetricsProvider } from './metrics-provider';
export { ScaleLoops } from './scale-loops';
export { ScalersCache, buildScalers, isScaledJob, type BuiltScalers, type ScalableForScalers, type ScalableObject } from './scalers-cache';
export { ScaledJobReconciler } from './scaledjob-reconciler';
export { ScaledJobPoller, scaledJobKey, type ScaledJobPollOutcome } from './scaledjob-poller';
export { readScale, resolveScaleTarget, type ScaleTarget } from './scale-target';
export { evaluateMetrics, readMetric, readTriggerMetrics, type Evaluation, type MetricReading } from './metric-evaluation';
export { DEFAULT_MAX_CONCURRENT_SCALER_READS, ReadSlots } from './read-slots';
export {
  DecisionTraces,
  DECISION_CONDITION_TYPE,
  DECISION_CONDITION_MIN_INTERVAL_MS,
  observeTriggers,
  type DecisionRecord,
  type TracedKind,
} from './decision-trace';
export { decisionDebugProvider } from './decision-debug';
export * from './trigger-auth';
export {
  KedaOperatorMetrics,
  noopOperatorMetrics,
  scalerLabel,
  scalerTypeName,
  type BuildInfo,
  type OperatorMetricsRecorder,
  type RegisteredResource,
  type ScalableType,
  type ScalerSource,
} from './prometheus';
export {
  OpenTelemetryOperatorMetrics,
  OTEL_INSTRUMENTS,
  OTEL_METER_NAME,
  QuietExporter,
  operatorResource,
  otlpMetricExporter,
  otlpMetricReaderFromEnv,
  otlpProtocolFromEnv,
  otlpReaderSettingsFromEnv,
  scalerAttributes,
  type OpenTelemetryOperatorMetricsOptions,
  type OtlpProtocol,
  type OtlpReaderSettings,
} from './opentelemetry';
export { combinedMetrics, type MetricsRecorder } from './combined-metrics';
export { LagWindow, type LagSummary } from './lag-window';
export * from './cloudevents';
export {
  RawMetricsHub,
  rawTriggerValues,
  type RawMetricsHubOptions,
  type RawMetricsHubStats,
  type RawMetricsMode,
  type RawMetricsOrigin,
  type RawTriggerValue,
} from './raw-metrics';
