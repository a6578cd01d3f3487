export { Operator, scaledObjectChangeMatters, hpaChangeMatters, slimWorkload, workloadKey, type OperatorOptions } from './operator';
export { ScaledObjectReconciler } from './scaledobject-reconciler';
export { ScaledObjectPoller } from './scaledobject-poller';
export { ScaledObjectMetricsProvider } from './metrics-provider';
export { ScaleLoops } from './scale-loops';
export { ScalersCache, buildScalers, type BuiltScalers, type ScalableForScalers } from './scalers-cache';
export { readScale, resolveScaleTarget, type ScaleTarget } from './scale-target';
export { evaluateMetrics, type Evaluation, type MetricReading } from './metric-evaluation';
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
export { LagWindow, type LagSummary } from './lag-window';
