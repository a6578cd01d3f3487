import type { Condition, ScaledObject } from '@keda-ts/api';
import {
  FORMULA_NIL_PLACEHOLDER,
  fallbackCondition,
  fallbackExists,
  fallbackMetricValue,
  fallbackNeedsCurrentReplicas,
  fallbackReplicas,
  fallbackTransitionEvent,
  isFallbackActive,
  isFallbackValid,
  recordMetricRead,
  updateHealth,
} from './fallback';
import { scaledObject } from '../test/fixtures';

const withFallback = (
  fallback: NonNullable<ScaledObject['spec']['fallback']>,
  extra: Partial<ScaledObject['spec']> = {},
) => scaledObject({ fallback, ...extra });
const modifiers = (target: string) => ({ advanced: { scalingModifiers: { formula: 'queue', target } } });

describe('isFallbackValid (C-74)', () => {
  it.each<[string, ScaledObject, boolean]>([
    ['C-74 no fallback', scaledObject(), false],
    ['C-74 valid', withFallback({ failureThreshold: 3, replicas: 5 }), true],
    ['C-74 zero values are valid', withFallback({ failureThreshold: 0, replicas: 0 }), true],
    ['C-74 negative threshold', withFallback({ failureThreshold: -1, replicas: 5 }), false],
    ['C-74 negative replicas', withFallback({ failureThreshold: 3, replicas: -1 }), false],
    [
      'C-74 modifiers with integer target',
      withFallback({ failureThreshold: 3, replicas: 5 }, modifiers('10')),
      true,
    ],
    [
      'C-74 modifiers with "2.5" target',
      withFallback({ failureThreshold: 3, replicas: 5 }, modifiers('2.5')),
      false,
    ],
    [
      'C-74 modifiers with "0" target',
      withFallback({ failureThreshold: 3, replicas: 5 }, modifiers('0')),
      false,
    ],
    [
      'C-74 modifiers with empty target',
      withFallback({ failureThreshold: 3, replicas: 5 }, modifiers('')),
      false,
    ],
  ])('%s → %p', (_rule, so, expected) => {
    expect(isFallbackValid(so)).toBe(expected);
  });
});

describe('updateHealth (C-74)', () => {
  it.each([
    ['C-74 first failure', undefined, false, { numberOfFailures: 1, status: 'Failing' }],
    [
      'C-74 failures accumulate',
      { m: { numberOfFailures: 3, status: 'Failing' as const } },
      false,
      { numberOfFailures: 4, status: 'Failing' },
    ],
    [
      'C-74 success resets',
      { m: { numberOfFailures: 3, status: 'Failing' as const } },
      true,
      { numberOfFailures: 0, status: 'Happy' },
    ],
    ['C-74 first success', {}, true, { numberOfFailures: 0, status: 'Happy' }],
  ])('%s', (_rule, health, ok, expected) => {
    const before = health === undefined ? undefined : structuredClone(health);
    const next = updateHealth(health, 'm', ok);
    expect(next['m']).toEqual(expected);
    expect(health).toEqual(before); // the input map is not changed
  });

  it('C-74 keeps the other metrics', () => {
    const next = updateHealth({ other: { numberOfFailures: 2, status: 'Failing' } }, 'm', true);
    expect(next['other']).toEqual({ numberOfFailures: 2, status: 'Failing' });
  });
});

describe('isFallbackActive (C-76: strictly greater than failureThreshold)', () => {
  it.each([
    ['C-76 at threshold', { numberOfFailures: 3, status: 'Failing' as const }, 3, false],
    ['C-76 4th failure with threshold 3', { numberOfFailures: 4, status: 'Failing' as const }, 3, true],
    ['C-76 threshold 0, first failure', { numberOfFailures: 1, status: 'Failing' as const }, 0, true],
    ['C-76 Happy never falls back', { numberOfFailures: 9, status: 'Happy' as const }, 3, false],
    ['C-76 no entry', undefined, 0, false],
  ])('%s → %p', (_rule, entry, threshold, expected) => {
    expect(isFallbackActive(entry, threshold)).toBe(expected);
  });
});

describe('fallbackReplicas (C-77)', () => {
  it.each([
    ['C-77 static', 'static', 2, 5, 5],
    ['C-77 empty behaves as static', undefined, 2, 5, 5],
    ['C-77 unknown behaves as static', 'bogus', 2, 5, 5],
    ['C-77 scalingModifiers uses fallback.replicas', 'scalingModifiers', 2, 5, 5],
    ['C-77 currentReplicas', 'currentReplicas', 2, 5, 2],
    ['C-77 currentReplicasIfHigher, current higher', 'currentReplicasIfHigher', 7, 5, 7],
    ['C-77 currentReplicasIfHigher, current lower', 'currentReplicasIfHigher', 2, 5, 5],
    ['C-77 currentReplicasIfLower, current lower', 'currentReplicasIfLower', 2, 5, 2],
    ['C-77 currentReplicasIfLower, current higher', 'currentReplicasIfLower', 7, 5, 5],
    ['C-77 static ignores an unreadable current', 'static', undefined, 5, 5],
    ['C-77 unreadable current: no fallback', 'currentReplicas', undefined, 5, undefined],
    ['C-77 unreadable current: no fallback', 'currentReplicasIfHigher', undefined, 5, undefined],
  ])('%s', (_rule, behavior, current, replicas, expected) => {
    expect(fallbackReplicas(behavior, current, replicas)).toBe(expected);
  });

  it.each([
    ['static', false],
    ['scalingModifiers', false],
    [undefined, false],
    ['currentReplicas', true],
    ['currentReplicasIfHigher', true],
    ['currentReplicasIfLower', true],
  ])('C-77 %p needs the current replicas: %p', (behavior, expected) => {
    expect(fallbackNeedsCurrentReplicas(behavior)).toBe(expected);
  });
});

describe('fallbackMetricValue (C-78)', () => {
  it.each([
    ['C-78 AverageValue: target × R', { targetValue: 5, replicas: 3, metricType: 'AverageValue' }, 15, '15'],
    [
      'C-78 empty type is AverageValue',
      { targetValue: 2.5, replicas: 3, metricType: undefined },
      7.5,
      '7500m',
    ],
    [
      'C-78 Value divides R by ready pods',
      { targetValue: 10, replicas: 6, metricType: 'Value', readyPods: 3 },
      20,
      '20',
    ],
    [
      'C-78 int64 truncation',
      { targetValue: 1, replicas: 2, metricType: 'Value', readyPods: 3 },
      0.666,
      '666m',
    ],
    ['C-78 modifiers target', { targetValue: 10, replicas: 5, metricType: 'AverageValue' }, 50, '50'],
    ['C-78 R 0', { targetValue: 10, replicas: 0, metricType: 'AverageValue' }, 0, '0'],
  ])('%s', (_rule, input, value, quantity) => {
    expect(fallbackMetricValue(input)).toEqual({ ok: true, value, quantity });
  });

  it.each([0, undefined])(
    'C-78 Value with %p ready pods fails with "error performing fallback"',
    (readyPods) => {
      const result = fallbackMetricValue({
        targetValue: 10,
        replicas: 6,
        metricType: 'Value',
        ...(readyPods === undefined ? {} : { readyPods }),
      });
      expect(result).toEqual({
        ok: false,
        error: 'error performing fallback',
        detail: expect.stringContaining('ready pods'),
      });
    },
  );
});

describe('fallbackCondition and fallbackExists (C-74, C-20)', () => {
  const so = withFallback({ failureThreshold: 2, replicas: 5 });
  const failing = (n: number) => ({ m: { numberOfFailures: n, status: 'Failing' as const } });
  it.each<
    [
      string,
      ScaledObject,
      Record<string, { numberOfFailures: number; status: 'Failing' | 'Happy' }> | undefined,
      string,
      string,
    ]
  >([
    ['C-74 over the threshold', so, failing(3), 'True', 'FallbackExists'],
    ['C-74 at the threshold', so, failing(2), 'False', 'NoFallbackFound'],
    ['C-74 no health', so, undefined, 'False', 'NoFallbackFound'],
    ['C-20 no fallback configured', scaledObject(), failing(9), 'False', 'NoFallbackFound'],
    [
      'C-81 behavior scalingModifiers: the fallback is not considered active',
      withFallback(
        { failureThreshold: 2, replicas: 5, behavior: 'scalingModifiers' },
        { advanced: { scalingModifiers: { formula: 'm ?? 1', target: '2' } } },
      ),
      failing(3),
      'False',
      'NoFallbackFound',
    ],
    [
      'C-20 invalid fallback',
      withFallback({ failureThreshold: -1, replicas: 5 }),
      failing(9),
      'False',
      'NoFallbackFound',
    ],
  ])('%s', (_rule, object, health, status, reason) => {
    const condition = fallbackCondition(health, object);
    expect(condition).toMatchObject({ type: 'Fallback', status, reason });
    expect(fallbackExists(health, object)).toBe(status === 'True');
  });

  it('uses the exact messages', () => {
    expect(fallbackCondition(failing(3), so).message).toBe(
      'At least one trigger is falling back on this scaled object',
    );
    expect(fallbackCondition(undefined, so).message).toBe('No fallbacks are active on this scaled object');
  });
});

describe('fallbackTransitionEvent (C-83)', () => {
  const cond = (status: string): Condition => ({ type: 'Fallback', status });
  it.each<[string, Condition | undefined, Condition, object | undefined]>([
    [
      'C-83 inactive → active',
      cond('False'),
      cond('True'),
      { type: 'Normal', reason: 'ScaledObjectFallbackActivated', note: 'ScaledObject fallback is active' },
    ],
    [
      'C-83 unknown → active',
      cond('Unknown'),
      cond('True'),
      { type: 'Normal', reason: 'ScaledObjectFallbackActivated', note: 'ScaledObject fallback is active' },
    ],
    [
      'C-83 missing → active',
      undefined,
      cond('True'),
      { type: 'Normal', reason: 'ScaledObjectFallbackActivated', note: 'ScaledObject fallback is active' },
    ],
    [
      'C-83 active → inactive',
      cond('True'),
      cond('False'),
      {
        type: 'Normal',
        reason: 'ScaledObjectFallbackDeactivated',
        note: 'ScaledObject fallback is no longer active',
      },
    ],
    ['C-83 active → active', cond('True'), cond('True'), undefined],
    ['C-83 inactive → inactive', cond('False'), cond('False'), undefined],
    ['C-83 unknown → inactive', cond('Unknown'), cond('False'), undefined],
  ])('%s', (_rule, previous, next, expected) => {
    expect(fallbackTransitionEvent(previous, next)).toEqual(expected);
  });
});

describe('recordMetricRead (C-74, C-79, C-80, C-81)', () => {
  const so = withFallback({ failureThreshold: 1, replicas: 5 });
  const failures = (n: number) => ({ m: { numberOfFailures: n, status: 'Failing' as const } });
  it.each<
    [
      string,
      ScaledObject,
      Record<string, { numberOfFailures: number; status: 'Failing' }> | undefined,
      boolean,
      string,
      boolean,
      number | undefined,
    ]
  >([
    ['C-74 no fallback: health untouched', scaledObject(), undefined, false, 'error', false, undefined],
    ['C-74 no fallback: success', scaledObject(), undefined, true, 'ok', false, undefined],
    ['C-74 success resets', so, failures(4), true, 'ok', true, 0],
    ['C-80 at/below threshold the error is passed on', so, undefined, false, 'error', true, 1],
    ['C-79 over the threshold: fallback', so, failures(1), false, 'fallback', true, 2],
    [
      'C-81 behavior scalingModifiers: nil in the formula',
      withFallback(
        { failureThreshold: 1, replicas: 5, behavior: 'scalingModifiers' },
        { advanced: { scalingModifiers: { formula: 'queue ?? 1', target: '2' } } },
      ),
      failures(1),
      false,
      'formulaNil',
      true,
      2,
    ],
    [
      'C-82 other behaviors with modifiers: a fallback metric',
      withFallback(
        { failureThreshold: 1, replicas: 5, behavior: 'static' },
        { advanced: { scalingModifiers: { formula: 'queue', target: '2' } } },
      ),
      failures(1),
      false,
      'fallback',
      true,
      2,
    ],
  ])('%s', (_rule, object, health, ok, outcome, trackHealth, failuresAfter) => {
    const result = recordMetricRead({ so: object, health, metricName: 'm', ok });
    expect(result.outcome).toBe(outcome);
    expect(result.trackHealth).toBe(trackHealth);
    expect(result.health['m']?.numberOfFailures).toBe(failuresAfter);
    if (trackHealth) expect(result.condition?.type).toBe('Fallback');
    else expect(result.condition).toBeUndefined();
  });

  it('C-79 the condition turns True with the failure that starts the fallback', () => {
    const result = recordMetricRead({ so, health: failures(1), metricName: 'm', ok: false });
    expect(result.condition).toMatchObject({ status: 'True', reason: 'FallbackExists' });
  });

  it('C-81 the placeholder value is -1', () => {
    expect(FORMULA_NIL_PLACEHOLDER).toBe(-1);
  });
});
