// Public surface of the controller machinery: operator, scale loops, metric evaluation and Prometheus metrics.
export { Operator, scaledObjectChangeMatters, hpaChangeMatters, type OperatorOptions } from './operator';
export { ScaledObjectReconciler } from './scaledobject-reconciler';
export { ScaledObjectPoller } from './scaledobject-poller';
export { ScaledObjectMetricsProvider } from './metrics-provider';
export { ScaleLoops } from './scale-loops';
export { ScalersCache } from './scalers-cache';
export { evaluateMetrics, type Evaluation, type MetricReading } from './metric-evaluation';
export {
  KedaOperatorMetrics,
  noopOperatorMetrics,
  scalerLabel,
  type BuildInfo,
  type OperatorMetricsRecorder,
  type RegisteredResource,
  type ScalableType,
} from './prometheus';
