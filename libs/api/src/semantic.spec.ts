/* eslint-disable @typescript-eslint/no-non-null-assertion -- test code pokes at loosely typed manifests */
import type { ScaledObjectSpec } from './generated/types';
import type { Problem } from './problems';
import {
  checkFallback,
  checkMinNotAboveMax,
  checkNameLengths,
  checkReplicaCountBounds,
  checkScaledJob,
  checkScaledJobTriggerMetricTypes,
  checkScaledObject,
  checkScalingModifiers,
  checkTriggerMetricTypes,
  validateTriggers,
  type TriggerLike,
} from './semantic';
import { scaledJob, scaledObject } from '../test/fixtures';

const so = (spec: Partial<ScaledObjectSpec>, name?: string) => scaledObject(spec, name);

describe('checkReplicaCountBounds (CheckReplicaCountBoundsAreValid)', () => {
  it.each<[string, Partial<ScaledObjectSpec>, Problem[]]>([
    ['defaults', {}, []],
    [
      'min 5 > max 2',
      { minReplicaCount: 5, maxReplicaCount: 2 },
      [{ field: 'spec.minReplicaCount', message: 'MinReplicaCount=5 must be less than MaxReplicaCount=2' }],
    ],
    [
      'min 101 > default max 100',
      { minReplicaCount: 101 },
      [
        {
          field: 'spec.minReplicaCount',
          message: 'MinReplicaCount=101 must be less than MaxReplicaCount=100',
        },
      ],
    ],
    ['min == max is fine', { minReplicaCount: 3, maxReplicaCount: 3 }, []],
    [
      'idle 0 with min unset is rejected (quirk: 0 >= 0)',
      { idleReplicaCount: 0 },
      [{ field: 'spec.idleReplicaCount', message: 'IdleReplicaCount=0 must be less than MinReplicaCount=0' }],
    ],
    [
      'idle 0 with explicit min 0 is accepted (min counts as 1)',
      { idleReplicaCount: 0, minReplicaCount: 0 },
      [],
    ],
    [
      'idle 1 with explicit min 0 is rejected',
      { idleReplicaCount: 1, minReplicaCount: 0 },
      [{ field: 'spec.idleReplicaCount', message: 'IdleReplicaCount=1 must be less than MinReplicaCount=1' }],
    ],
    [
      'idle equal to min',
      { idleReplicaCount: 2, minReplicaCount: 2 },
      [{ field: 'spec.idleReplicaCount', message: 'IdleReplicaCount=2 must be less than MinReplicaCount=2' }],
    ],
    ['idle below min', { idleReplicaCount: 0, minReplicaCount: 2 }, []],
    [
      'both problems at once',
      { idleReplicaCount: 9, minReplicaCount: 5, maxReplicaCount: 2 },
      [
        { field: 'spec.minReplicaCount', message: 'MinReplicaCount=5 must be less than MaxReplicaCount=2' },
        { field: 'spec.idleReplicaCount', message: 'IdleReplicaCount=9 must be less than MinReplicaCount=5' },
      ],
    ],
  ])('%s', (_name, spec, expected) => {
    expect(checkReplicaCountBounds(so(spec))).toEqual(expected);
  });
});

describe('checkMinNotAboveMax (the CRD CEL rule)', () => {
  it.each<[Partial<ScaledObjectSpec>, boolean]>([
    [{}, true],
    [{ minReplicaCount: 5, maxReplicaCount: 2 }, false],
    [{ minReplicaCount: 2, maxReplicaCount: 2 }, true],
    [{ minReplicaCount: 100 }, true],
    [{ minReplicaCount: 101 }, false],
    [{ maxReplicaCount: 1 }, true],
  ])('%j -> ok=%s', (spec, ok) => {
    expect(checkMinNotAboveMax(so(spec))).toEqual(
      ok ? [] : [{ field: 'spec', message: 'minReplicaCount must be less than or equal to maxReplicaCount' }],
    );
  });
});

describe('validateTriggers', () => {
  it.each<[string, TriggerLike[] | undefined, Problem[]]>([
    [
      'undefined',
      undefined,
      [{ field: 'spec.triggers', message: 'no triggers defined in the ScaledObject/ScaledJob' }],
    ],
    ['empty', [], [{ field: 'spec.triggers', message: 'no triggers defined in the ScaledObject/ScaledJob' }]],
    ['unnamed duplicates are fine', [{ type: 'cron' }, { type: 'cron' }], []],
    [
      'duplicate names',
      [
        { type: 'cron', name: 'a' },
        { type: 'kafka', name: 'b' },
        { type: 'rabbitmq', name: 'a' },
      ],
      [
        {
          field: 'spec.triggers[2].name',
          message:
            'triggerName "a" is defined multiple times in the ScaledObject/ScaledJob, but it must be unique',
        },
      ],
    ],
    ...(['cpu', 'memory', 'cron'] as const).map((type): [string, TriggerLike[], Problem[]] => [
      `useCachedMetrics on ${type}`,
      [{ type, useCachedMetrics: true }],
      [
        {
          field: 'spec.triggers[0].useCachedMetrics',
          message: `property "useCachedMetrics" is not supported for "${type}" scaler`,
        },
      ],
    ]),
    ['useCachedMetrics on another scaler', [{ type: 'prometheus', useCachedMetrics: true }], []],
    ['useCachedMetrics false on cpu', [{ type: 'cpu', useCachedMetrics: false }], []],
  ])('%s', (_name, triggers, expected) => {
    expect(validateTriggers(triggers)).toEqual(expected);
  });
});

describe('checkTriggerMetricTypes', () => {
  const external =
    "'Utilization' metric type is unsupported for external metrics, allowed values are 'Value' or 'AverageValue'";
  it.each<[string, TriggerLike, Problem[]]>([
    ['empty', { type: 'kafka', metricType: '' }, []],
    ['AverageValue', { type: 'kafka', metricType: 'AverageValue' }, []],
    ['Value', { type: 'kafka', metricType: 'Value' }, []],
    ['Utilization on cpu', { type: 'cpu', metricType: 'Utilization' }, []],
    ['Utilization on memory', { type: 'memory', metricType: 'Utilization' }, []],
    [
      'Utilization on kafka',
      { type: 'kafka', metricType: 'Utilization' },
      [{ field: 'spec.triggers[0].metricType', message: external }],
    ],
    [
      'unknown value',
      { type: 'kafka', metricType: 'Average' },
      [
        {
          field: 'spec.triggers[0].metricType',
          message: `metricType "Average" is not supported, allowed values are 'AverageValue', 'Value', 'Utilization'`,
        },
      ],
    ],
  ])('%s', (_name, trigger, expected) => {
    expect(checkTriggerMetricTypes([trigger])).toEqual(expected);
  });
});

describe('checkFallback (CheckFallbackValid)', () => {
  const cpuOnly =
    'at least one trigger (that is not cpu or memory) has to have the `AverageValue` type for the fallback to be enabled';
  it.each<[string, Partial<ScaledObjectSpec>, Problem[]]>([
    ['no fallback', {}, []],
    ['valid', { fallback: { failureThreshold: 3, replicas: 5 } }, []],
    [
      'negative values',
      { fallback: { failureThreshold: -1, replicas: 2 } },
      [
        {
          field: 'spec.fallback',
          message: 'FailureThreshold=-1 & Replicas=2 must both be greater than or equal to 0',
        },
      ],
    ],
    [
      'only cpu/memory triggers',
      {
        fallback: { failureThreshold: 3, replicas: 5 },
        triggers: [
          { type: 'cpu', metadata: {} },
          { type: 'memory', metadata: {} },
        ],
      },
      [{ field: 'spec.fallback', message: cpuOnly }],
    ],
    [
      'cpu-only is allowed with scaling modifiers',
      {
        fallback: { failureThreshold: 3, replicas: 5 },
        triggers: [{ type: 'cpu', metadata: {} }],
        advanced: { scalingModifiers: { formula: 'x', target: '1' } },
      },
      [],
    ],
    [
      'scalingModifiers behavior without a formula',
      {
        fallback: { failureThreshold: 3, replicas: 5, behavior: 'scalingModifiers' },
      },
      [
        {
          field: 'spec.fallback.behavior',
          message: 'scalingModifiers fallback behavior requires scalingModifiers.formula to be defined',
        },
      ],
    ],
  ])('%s', (_name, spec, expected) => {
    expect(checkFallback(so(spec))).toEqual(expected);
  });
});

describe('checkScalingModifiers', () => {
  const base = 'spec.advanced.scalingModifiers';
  it.each<
    [
      string,
      NonNullable<NonNullable<ScaledObjectSpec['advanced']>['scalingModifiers']> | undefined,
      Problem[],
    ]
  >([
    ['not used', undefined, []],
    ['zero value means not used', {}, []],
    ['valid', { formula: 'a + b', target: '2.5', activationTarget: '1' }, []],
    [
      'formula missing',
      { target: '5' },
      [{ field: `${base}.formula`, message: 'error ScalingModifiers.Formula is mandatory' }],
    ],
    [
      'target missing',
      { formula: 'a' },
      [{ field: `${base}.target`, message: 'formula is given but target is empty' }],
    ],
    [
      'target zero',
      { formula: 'a', target: '0' },
      [
        {
          field: `${base}.target`,
          message: 'ScalingModifiers.Target must be a float greater than 0, got "0"',
        },
      ],
    ],
    [
      'target not a float',
      { formula: 'a', target: 'ten' },
      [
        {
          field: `${base}.target`,
          message: 'ScalingModifiers.Target must be a float greater than 0, got "ten"',
        },
      ],
    ],
    [
      'bad activationTarget',
      { formula: 'a', target: '1', activationTarget: 'x' },
      [
        {
          field: `${base}.activationTarget`,
          message: 'ScalingModifiers.ActivationTarget must be a float, got "x"',
        },
      ],
    ],
    [
      'Utilization',
      { formula: 'a', target: '1', metricType: 'Utilization' },
      [
        {
          field: `${base}.metricType`,
          message:
            "'Utilization' metric type is unsupported for scaling modifiers, allowed values are 'Value' or 'AverageValue'",
        },
      ],
    ],
  ])('%s', (_name, scalingModifiers, expected) => {
    expect(checkScalingModifiers(so(scalingModifiers ? { advanced: { scalingModifiers } } : {}))).toEqual(
      expected,
    );
  });
});

describe('checkNameLengths', () => {
  it('accepts 63 characters (custom HPA name)', () => {
    expect(
      checkNameLengths(so({ advanced: { horizontalPodAutoscalerConfig: { name: 'h' } } }, 'a'.repeat(63))),
    ).toEqual([]);
  });
  it('rejects a long SO name and the long default HPA name', () => {
    const problems = checkNameLengths(so({}, 'a'.repeat(64)));
    expect(problems.map((p) => p.field)).toEqual(['metadata.name', 'metadata.name']);
    expect(problems[0].message).toMatch(/64 characters long but must be at most 63/);
  });
  it('rejects a default HPA name that gets too long because of the prefix', () => {
    const problems = checkNameLengths(so({}, 'a'.repeat(60)));
    expect(problems).toHaveLength(1);
    expect(problems[0].message).toMatch(/^HPA name "keda-hpa-a+" is 69 characters long/);
  });
  it('points at the custom HPA name', () => {
    const problems = checkNameLengths(
      so({ advanced: { horizontalPodAutoscalerConfig: { name: 'h'.repeat(64) } } }),
    );
    expect(problems.map((p) => p.field)).toEqual(['spec.advanced.horizontalPodAutoscalerConfig.name']);
  });
});

describe('checkScaledObject', () => {
  it('returns nothing for a valid object', () => {
    expect(checkScaledObject(scaledObject())).toEqual([]);
  });
  it('reports every problem at once', () => {
    const obj = scaledObject({
      minReplicaCount: 5,
      maxReplicaCount: 2,
      triggers: [
        { type: 'cpu', name: 't', metadata: {}, useCachedMetrics: true },
        { type: 'kafka', name: 't', metadata: {}, metricType: 'Utilization' },
      ],
    });
    obj.metadata!.annotations = { 'autoscaling.keda.sh/paused-replicas': 'five' };
    expect(checkScaledObject(obj).map((p) => p.field)).toEqual([
      'spec.minReplicaCount',
      'spec',
      'spec.triggers[0].useCachedMetrics',
      'spec.triggers[1].name',
      'spec.triggers[1].metricType',
      'metadata.annotations["autoscaling.keda.sh/paused-replicas"]',
    ]);
  });
});

describe('ScaledJob checks', () => {
  it('rejects metricType on ScaledJob triggers', () => {
    expect(
      checkScaledJobTriggerMetricTypes([{ type: 'kafka', metricType: 'Value' }, { type: 'kafka' }]),
    ).toEqual([
      { field: 'spec.triggers[0].metricType', message: 'Cannot set metricType in ScaledJob triggers' },
    ]);
  });
  it('checkScaledJob combines jobTargetRef, triggers and metricType checks', () => {
    const sj = scaledJob();
    expect(checkScaledJob(sj)).toEqual([]);
    const bad = {
      spec: {
        triggers: [
          { type: 'cron', name: 'x', useCachedMetrics: true, metricType: 'AverageValue' },
          { type: 'a', name: 'x' },
        ],
      },
    };
    expect(checkScaledJob(bad)).toEqual([
      { field: 'spec.jobTargetRef', message: 'ScaledJob.spec.jobTargetRef not found' },
      {
        field: 'spec.triggers[0].useCachedMetrics',
        message: 'property "useCachedMetrics" is not supported for "cron" scaler',
      },
      {
        field: 'spec.triggers[1].name',
        message:
          'triggerName "x" is defined multiple times in the ScaledObject/ScaledJob, but it must be unique',
      },
      { field: 'spec.triggers[0].metricType', message: 'Cannot set metricType in ScaledJob triggers' },
    ]);
  });
  it('a ScaledJob without triggers', () => {
    expect(checkScaledJob(scaledJob({ triggers: [] }))).toEqual([
      { field: 'spec.triggers', message: 'no triggers defined in the ScaledObject/ScaledJob' },
    ]);
  });
});
