export * from './events';
export * from './hpa-types';
export * from './quantity';
export * from './hpa';
export * from './fallback';
export * from './formula';
export * from './request-scale';
export * from './pause-plan';
