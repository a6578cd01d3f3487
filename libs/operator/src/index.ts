export { Operator, scaledObjectChangeMatters, hpaChangeMatters, workloadKey, type OperatorOptions } from './operator';
export { ScaledObjectReconciler } from './scaledobject-reconciler';
export { ScaledObjectPoller } from './scaledobject-poller';
export { ScaledObjectMetricsProvider } from './metrics-provider';
export { ScaleLoops } from './scale-loops';
export { ScalersCache } from './scalers-cache';
export { evaluateMetrics, type Evaluation, type MetricReading } from './metric-evaluation';
export * from './trigger-auth';
