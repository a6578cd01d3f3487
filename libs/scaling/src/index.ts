export * from './events';
export {
  formatMilliQuantity,
  int64MilliQuantity,
  metricTargetQuantity,
  parseQuantity,
  toMilliQuantity,
} from '@keda-ts/api';
export * from './metric-target';
export * from './hpa';
export * from './fallback';
export * from './formula';
export * from './request-scale';
export * from './last-active-time';
export * from './pause-plan';
export * from './hpa-active';
export * from './explain';
export * from './scaled-job';
export * from './ownership';
