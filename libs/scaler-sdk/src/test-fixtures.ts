/** Helpers for the scaler tests. */
import type { ScalerInput } from './types';

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
