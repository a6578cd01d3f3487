// Public surface of the controller machinery: operator, scale loops, metric evaluation and Prometheus metrics.
export { Operator, type OperatorOptions } from './operator';
export { ScaleLoops } from './scale-loops';
export { buildScalers, type BuiltScalers, type ScalableForScalers, type ScalableObject } from './scalers-cache';
export { type ScaledJobPollOutcome } from './scaledjob-poller';
export { readScale, resolveScaleTarget, type ScaleTarget } from './scale-target';
export { evaluateMetrics, readTriggerMetrics, type Evaluation, type MetricReading } from './metric-evaluation';
export { observeTriggers, type DecisionRecord, type TracedKind } from './decision-trace';
export { decisionDebugProvider } from './decision-debug';
export * from './trigger-auth';
export {
  KedaOperatorMetrics,
  type BuildInfo,
  type OperatorMetricsRecorder,
  type RegisteredResource,
  type ScalableType,
  type ScalerSource,
} from './prometheus';
export {
  OpenTelemetryOperatorMetrics,
  otlpMetricReaderFromEnv,
  type OpenTelemetryOperatorMetricsOptions,
  type OtlpProtocol,
  type OtlpReaderSettings,
} from './opentelemetry';
export { combinedMetrics, type MetricsRecorder } from './combined-metrics';
export { LagWindow, type LagSummary } from './lag-window';
export * from './cloudevents';
export {
  RawMetricsHub,
  type RawMetricsHubOptions,
  type RawMetricsHubStats,
  type RawMetricsMode,
  type RawMetricsOrigin,
  type RawTriggerValue,
} from './raw-metrics';
