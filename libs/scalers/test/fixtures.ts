/** Helpers for the scaler tests. */
import type { ScalerInput } from '@keda-ts/scaler-sdk';
import type { KubernetesReader, ScalerContext } from '../src/context';

export function input(overrides: Partial<ScalerInput> & Pick<ScalerInput, 'triggerType'>): ScalerInput {
  return {
    triggerIndex: 0,
    metadata: {},
    resolvedEnv: {},
    authParams: {},
    scalableObject: { kind: 'ScaledObject', namespace: 'default', name: 'so' },
    ...overrides,
  };
}

export function context(overrides: Partial<ScalerContext> = {}): ScalerContext {
  const kubernetes: KubernetesReader = {
    countPods: () => Promise.reject(new Error('countPods not faked')),
  };
  return { httpTimeoutMs: 3000, now: () => new Date('2026-01-01T00:00:00Z'), kubernetes, ...overrides };
}
