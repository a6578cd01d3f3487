import {
  authenticationsTypesOf,
  customScalingRunningJobPercentage,
  effectiveAuthenticationRefKind,
  effectiveCooldownPeriodSeconds,
  effectiveFailedJobsHistoryLimit,
  effectiveFallbackBehavior,
  effectiveInitialCooldownPeriodSeconds,
  effectiveMaxReplicaCount,
  effectiveMetricType,
  effectiveMinReplicaCount,
  effectiveMultipleScalersCalculation,
  effectivePollingIntervalSeconds,
  effectivePropagationPolicy,
  effectiveRolloutStrategy,
  effectiveScaledJobPollingIntervalSeconds,
  effectiveScaleTargetRef,
  effectiveScalingModifiersMetricType,
  effectiveScalingStrategy,
  effectiveSuccessfulJobsHistoryLimit,
  gvkString,
  hpaMaxReplicas,
  hpaMinReplicas,
  hpaNameFor,
  isUsingModifiers,
  parseGoFloat,
  parseGroupVersion,
  scaledJobMaxReplicaCount,
  scaledJobMinReplicaCount,
  triggersTypesOf,
  type ScaledJobLike,
  type ScaledObjectLike,
} from './effective';
import { fullScaledObject } from '../test/fixtures';

describe('ScaledObject effective values', () => {
  const empty: ScaledObjectLike = { metadata: { name: 'web' }, spec: {} };
  const full = fullScaledObject();

  it.each<[string, (so: ScaledObjectLike) => unknown, unknown, unknown]>([
    ['pollingInterval', effectivePollingIntervalSeconds, 30, 15],
    ['cooldownPeriod', effectiveCooldownPeriodSeconds, 300, 120],
    ['initialCooldownPeriod', effectiveInitialCooldownPeriodSeconds, 0, 60],
    ['minReplicaCount', effectiveMinReplicaCount, 0, 1],
    ['maxReplicaCount', effectiveMaxReplicaCount, 100, 20],
    ['hpaMaxReplicas', hpaMaxReplicas, 100, 20],
    ['hpaName', hpaNameFor, 'keda-hpa-web', 'custom-hpa'],
    ['fallback behavior', effectiveFallbackBehavior, 'static', 'currentReplicasIfHigher'],
    ['scaling modifiers metricType', effectiveScalingModifiersMetricType, 'AverageValue', 'AverageValue'],
    ['isUsingModifiers', isUsingModifiers, false, true],
  ])('%s: default %j, set %j', (_name, fn, whenEmpty, whenSet) => {
    expect(fn(empty)).toEqual(whenEmpty);
    expect(fn(full)).toEqual(whenSet);
  });

  it.each<[number | undefined, number]>([
    [undefined, 1],
    [0, 1],
    [1, 1],
    [7, 7],
  ])('hpaMinReplicas(min=%s) = %s', (min, expected) => {
    expect(hpaMinReplicas({ spec: { minReplicaCount: min } })).toBe(expected);
  });

  it('an empty custom HPA name falls back to the default', () => {
    expect(
      hpaNameFor({
        metadata: { name: 'x' },
        spec: { advanced: { horizontalPodAutoscalerConfig: { name: '' } } },
      }),
    ).toBe('keda-hpa-x');
  });

  it('isUsingModifiers is false for the zero struct', () => {
    expect(isUsingModifiers({ spec: { advanced: { scalingModifiers: {} } } })).toBe(false);
    expect(isUsingModifiers({ spec: { advanced: { scalingModifiers: { activationTarget: '1' } } } })).toBe(
      true,
    );
  });

  it('scaleTargetRef defaults to apps/v1 Deployment', () => {
    expect(
      effectiveScaleTargetRef({ spec: { scaleTargetRef: { name: 'web', apiVersion: '', kind: '' } } }),
    ).toEqual({
      name: 'web',
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      group: 'apps',
      version: 'v1',
    });
    expect(effectiveScaleTargetRef(full)).toMatchObject({
      kind: 'StatefulSet',
      envSourceContainerName: 'main',
    });
  });

  it.each([
    ['apps/v1', { group: 'apps', version: 'v1' }, 'apps/v1.Deployment'],
    [
      'argoproj.io/v1alpha1',
      { group: 'argoproj.io', version: 'v1alpha1' },
      'argoproj.io/v1alpha1.Deployment',
    ],
    ['v1', { group: '', version: 'v1' }, '/v1.Deployment'],
  ])('parseGroupVersion(%s) and gvkString', (apiVersion, gv, gvk) => {
    expect(parseGroupVersion(apiVersion)).toEqual(gv);
    expect(gvkString({ ...gv, kind: 'Deployment' })).toBe(gvk);
  });

  it('trigger helpers', () => {
    expect(effectiveMetricType({})).toBe('AverageValue');
    expect(effectiveMetricType({ metricType: 'Value' })).toBe('Value');
    expect(effectiveAuthenticationRefKind({})).toBe('TriggerAuthentication');
    expect(effectiveAuthenticationRefKind({ kind: 'ClusterTriggerAuthentication' })).toBe(
      'ClusterTriggerAuthentication',
    );
    const triggers = [
      { type: 'metrics-api', authenticationRef: { name: 'a' } },
      { type: 'cron' },
      { type: 'metrics-api', authenticationRef: { name: 'b' } },
      { type: 'cron', authenticationRef: { name: 'a' } },
    ];
    expect(triggersTypesOf(triggers)).toBe('metrics-api,cron');
    expect(authenticationsTypesOf(triggers)).toBe('a,b');
    expect(triggersTypesOf(undefined)).toBe('');
  });
});

describe('ScaledJob effective values', () => {
  it('defaults', () => {
    const sj: ScaledJobLike = { spec: {} };
    expect(effectiveScaledJobPollingIntervalSeconds(sj)).toBe(30);
    expect(effectiveSuccessfulJobsHistoryLimit(sj)).toBe(100);
    expect(effectiveFailedJobsHistoryLimit(sj)).toBe(100);
    expect(effectiveSuccessfulJobsHistoryLimit({ spec: { successfulJobsHistoryLimit: 0 } })).toBe(0);
  });

  // spec §1.2: effMin / effMax
  it.each<[number | undefined, number | undefined, number, number]>([
    [undefined, undefined, 0, 100],
    [undefined, 3, 0, 3],
    [2, 4, 2, 2],
    [2, 1, 1, 1],
    [1, 10, 1, 9],
    [5, undefined, 5, 100],
    [0, 10, 0, 10],
    [4, 4, 4, 0],
  ])('min=%s max=%s -> effMin=%s effMax=%s', (min, max, effMin, effMax) => {
    const sj: ScaledJobLike = { spec: { minReplicaCount: min, maxReplicaCount: max } };
    expect(scaledJobMinReplicaCount(sj)).toBe(effMin);
    expect(scaledJobMaxReplicaCount(sj)).toBe(effMax);
  });

  it.each<[ScaledJobLike['spec'], 'gradual' | 'immediate']>([
    [{}, 'immediate'],
    [{ rollout: { strategy: 'gradual' } }, 'gradual'],
    [{ rollout: { strategy: 'immediate' } }, 'immediate'],
    [{ rolloutStrategy: 'immediate', rollout: { strategy: 'gradual' } }, 'immediate'],
    [{ rolloutStrategy: 'gradual' }, 'gradual'],
  ])('rollout strategy of %j is %s', (spec, expected) => {
    expect(effectiveRolloutStrategy({ spec })).toBe(expected);
  });

  it('propagation policy', () => {
    expect(effectivePropagationPolicy({ spec: {} })).toBe('background');
    expect(effectivePropagationPolicy({ spec: { rollout: { propagationPolicy: 'foreground' } } })).toBe(
      'foreground',
    );
  });

  it.each<[ScaledJobLike['spec'], string, number | undefined]>([
    [{}, 'default', undefined],
    [{ scalingStrategy: { strategy: 'accurate' } }, 'accurate', undefined],
    [{ scalingStrategy: { strategy: 'eager' } }, 'eager', undefined],
    [{ scalingStrategy: { strategy: 'custom', customScalingRunningJobPercentage: '0.5' } }, 'custom', 0.5],
    [
      { scalingStrategy: { strategy: 'custom', customScalingRunningJobPercentage: '' } },
      'default',
      undefined,
    ],
    [{ scalingStrategy: { strategy: 'custom' } }, 'default', undefined],
    [
      { scalingStrategy: { strategy: 'custom', customScalingRunningJobPercentage: 'half' } },
      'default',
      undefined,
    ],
  ])('scaling strategy of %j is %s', (spec, strategy, percentage) => {
    expect(effectiveScalingStrategy({ spec })).toBe(strategy);
    expect(customScalingRunningJobPercentage({ spec })).toBe(percentage);
  });

  it.each([
    [undefined, 'max'],
    ['min', 'min'],
    ['avg', 'avg'],
    ['sum', 'sum'],
    ['max', 'max'],
    ['median', 'max'],
  ])('multipleScalersCalculation %s -> %s', (value, expected) => {
    expect(
      effectiveMultipleScalersCalculation({
        spec: { scalingStrategy: { multipleScalersCalculation: value as never } },
      }),
    ).toBe(expected);
  });
});

describe('parseGoFloat', () => {
  it.each<[string, number | undefined]>([
    ['1', 1],
    ['2.5', 2.5],
    ['.5', 0.5],
    ['5.', 5],
    ['-3e2', -300],
    ['+1', 1],
    ['Inf', Infinity],
    ['-infinity', -Infinity],
    ['', undefined],
    [' 1', undefined],
    ['1_000', undefined],
    ['abc', undefined],
    ['1e400', undefined],
  ])('%j -> %s', (input, expected) => {
    expect(parseGoFloat(input)).toBe(expected);
  });
  it('parses NaN', () => expect(parseGoFloat('NaN')).toBeNaN());
});
