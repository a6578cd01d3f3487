import {
  CONDITIONS,
  ConditionReason,
  ConditionStatus,
  ConditionType,
  conditionFrom,
  errorGettingCurrentReplicasCondition,
  getCondition,
  hpaNotActiveCondition,
  hpaScalingDisabledCondition,
  initialConditions,
  isConditionTrue,
  needsInitialConditions,
  scaledJobCheckFailedCondition,
  scaledObjectCheckFailedCondition,
  ScaledObjectCheckMessage,
  setCondition,
} from './conditions';

describe('condition reason table', () => {
  const presets = Object.values(CONDITIONS);

  it('every reason key equals its value, and values are unique', () => {
    for (const [key, value] of Object.entries(ConditionReason)) expect(value).toBe(key);
    const values = Object.values(ConditionReason);
    expect(new Set(values).size).toBe(values.length);
  });

  it('every preset uses a known type, status and reason, and every reason is used', () => {
    const types = new Set<string>(Object.values(ConditionType));
    const statuses = new Set<string>(Object.values(ConditionStatus));
    const reasons = new Set<string>(Object.values(ConditionReason));
    for (const p of presets) {
      expect(types.has(p.type)).toBe(true);
      expect(statuses.has(p.status)).toBe(true);
      expect(reasons.has(p.reason)).toBe(true);
    }
    expect(new Set(presets.map((p) => p.reason))).toEqual(reasons);
  });

  it('each reason belongs to exactly one condition type', () => {
    const typeOf = new Map<string, string>();
    for (const p of presets) {
      expect(typeOf.get(p.reason) ?? p.type).toBe(p.type);
      typeOf.set(p.reason, p.type);
    }
  });

  it('presets are unique and fixed messages are non-empty', () => {
    const keys = presets.map((p) => `${p.type}|${p.status}|${p.reason}|${p.message}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const p of presets) if (!('dynamicMessage' in p)) expect(p.message).not.toBe('');
  });

  it('keeps the exact KEDA strings', () => {
    expect(CONDITIONS.scaledObjectReady).toEqual({
      type: 'Ready',
      status: 'True',
      reason: 'ScaledObjectReady',
      message: 'ScaledObject is defined correctly and is ready for scaling',
    });
    expect(CONDITIONS.scaledJobReady.message).toBe('ScaledJob is defined correctly and is ready to scaling');
    expect(CONDITIONS.scaledObjectUnpaused.message).toBe('pause annotation removed for ScaledObject');
    expect(CONDITIONS.scalerCooldown).toMatchObject({
      type: 'Active',
      status: 'False',
      reason: 'ScalerCooldown',
    });
  });
});

describe('condition helpers', () => {
  it('initial set', () => {
    expect(initialConditions()).toEqual([
      { type: 'Ready', status: 'Unknown' },
      { type: 'Active', status: 'Unknown' },
      { type: 'Fallback', status: 'Unknown' },
      { type: 'Paused', status: 'False' },
    ]);
    expect(needsInitialConditions(undefined)).toBe(true);
    expect(needsInitialConditions(initialConditions())).toBe(false);
    expect(needsInitialConditions(initialConditions().slice(1))).toBe(true);
  });

  it('setCondition replaces in place or appends, without mutating the input', () => {
    const initial = initialConditions();
    const next = setCondition(initial, conditionFrom(CONDITIONS.scalerActive));
    expect(next[1]).toEqual({
      type: 'Active',
      status: 'True',
      reason: 'ScalerActive',
      message: 'Scaling is performed because triggers are active',
    });
    expect(initial[1]).toEqual({ type: 'Active', status: 'Unknown' });
    const withHpa = setCondition(next, conditionFrom(CONDITIONS.hpaActive));
    expect(withHpa).toHaveLength(5);
    expect(isConditionTrue(withHpa, 'HPAActive')).toBe(true);
    expect(getCondition(withHpa, 'Fallback')?.status).toBe('Unknown');
  });

  it('dynamic messages', () => {
    expect(scaledObjectCheckFailedCondition(ScaledObjectCheckMessage.Triggers, new Error('boom'))).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'ScaledObjectCheckFailed',
      message: "ScaledObject doesn't have correct triggers specification: boom",
    });
    expect(scaledJobCheckFailedCondition('Cannot set metricType in ScaledJob triggers').message).toBe(
      'Cannot set metricType in ScaledJob triggers',
    );
    expect(errorGettingCurrentReplicasCondition('timeout').message).toBe(
      'Error getting current replicas count for ScaleTarget: timeout',
    );
    expect(
      hpaScalingDisabledCondition('scaling is disabled since the replica count of the target is zero'),
    ).toMatchObject({
      type: 'HPAActive',
      status: 'True',
      reason: 'ScalingDisabled',
    });
    expect(hpaNotActiveCondition('', 'no metrics')).toEqual({
      type: 'HPAActive',
      status: 'False',
      reason: 'HPAMetricsUnavailable',
      message: 'HPA is not actively scaling: no metrics',
    });
    expect(hpaNotActiveCondition('FailedGetExternalMetric', 'x').reason).toBe('FailedGetExternalMetric');
  });
});
