import { activationThresholdOf } from './activation';
import { scalerDescriptors as scalers } from './all';
import type { ScalerInput } from './types';

const input = (triggerType: string, metadata: Record<string, string>): ScalerInput => ({
  triggerIndex: 0,
  triggerType,
  metadata,
  resolvedEnv: {},
  authParams: {},
  scalableObject: { kind: 'ScaledObject', namespace: 'ns', name: 'so' },
});

describe('activationThresholdOf', () => {
  const metricsApi = { url: 'http://127.0.0.1/x', valueLocation: 'v', targetValue: '10' };
  it.each([
    ['given', input('metrics-api', { ...metricsApi, activationTargetValue: '5' }), { parameter: 'activationTargetValue', threshold: 5 }],
    ['default', input('metrics-api', metricsApi), { parameter: 'activationTargetValue', threshold: 0 }],
    ['invalid metadata', input('metrics-api', { ...metricsApi, activationTargetValue: 'x' }), undefined],
    ['a scaler without one', input('cron', { timezone: 'UTC', start: '0 * * * *', end: '5 * * * *', desiredReplicas: '2' }), undefined],
  ])('%s', (_name, i, want) => {
    expect(activationThresholdOf(scalers.descriptor(i.triggerType)!, i)).toEqual(want);
  });
});
