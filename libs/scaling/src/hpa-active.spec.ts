import { hpaActiveCondition } from './hpa-active';
import type { HorizontalPodAutoscaler } from '@keda-ts/api';

const hpa = (conditions?: { type: string; status: string; reason?: string; message?: string }[]): HorizontalPodAutoscaler => ({
  metadata: { name: 'keda-hpa-web', namespace: 'ns' },
  spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, maxReplicas: 3 },
  status: { conditions },
});

describe('hpaActiveCondition (C-62)', () => {
  it.each([
    ['no HPA: unchanged', undefined, undefined],
    ['no ScalingActive yet: unchanged', hpa([{ type: 'AbleToScale', status: 'True' }]), undefined],
    [
      'ScalingActive True',
      hpa([{ type: 'ScalingActive', status: 'True', reason: 'ValidMetricFound', message: 'ok' }]),
      { type: 'HPAActive', status: 'True', reason: 'HPAActive', message: 'HPA is actively scaling' },
    ],
    [
      'disabled at 0 replicas',
      hpa([{ type: 'ScalingActive', status: 'False', reason: 'ScalingDisabled', message: 'scaling is disabled since the replica count of the target is zero' }]),
      { type: 'HPAActive', status: 'True', reason: 'ScalingDisabled', message: 'scaling is disabled since the replica count of the target is zero' },
    ],
    [
      'metrics unavailable',
      hpa([{ type: 'ScalingActive', status: 'False', reason: 'FailedGetExternalMetric', message: 'no metrics' }]),
      { type: 'HPAActive', status: 'False', reason: 'FailedGetExternalMetric', message: 'HPA is not actively scaling: no metrics' },
    ],
    [
      'no reason',
      hpa([{ type: 'ScalingActive', status: 'False', message: 'x' }]),
      { type: 'HPAActive', status: 'False', reason: 'HPAMetricsUnavailable', message: 'HPA is not actively scaling: x' },
    ],
  ] as const)('%s', (_name, input, want) => {
    expect(hpaActiveCondition(input as HorizontalPodAutoscaler | undefined)).toEqual(want);
  });
});
