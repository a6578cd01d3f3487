import {
  API_GROUP,
  API_GROUP_VERSION,
  API_VERSION,
  Annotations,
  KEDA_FINALIZER,
  KEDA_KINDS,
  KEDA_RESOURCES,
  Labels,
} from './constants';

describe('constants', () => {
  it('group and version', () => {
    expect(API_GROUP).toBe('keda.sh');
    expect(API_VERSION).toBe('v1alpha1');
    expect(API_GROUP_VERSION).toBe(`${API_GROUP}/${API_VERSION}`);
  });

  it.each([
    ['ScaledObject', 'scaledobjects', 'scaledobject', ['so'], 'Namespaced'],
    ['ScaledJob', 'scaledjobs', 'scaledjob', ['sj'], 'Namespaced'],
    [
      'TriggerAuthentication',
      'triggerauthentications',
      'triggerauthentication',
      ['ta', 'triggerauth'],
      'Namespaced',
    ],
    [
      'ClusterTriggerAuthentication',
      'clustertriggerauthentications',
      'clustertriggerauthentication',
      ['cta', 'clustertriggerauth'],
      'Cluster',
    ],
  ] as const)('%s resource names', (kind, plural, singular, shortNames, scope) => {
    expect(KEDA_RESOURCES[kind]).toEqual({
      kind,
      listKind: `${kind}List`,
      plural,
      singular,
      shortNames,
      scope,
      crdName: `${plural}.keda.sh`,
    });
  });

  it('KEDA_KINDS lists every resource once', () => {
    expect([...KEDA_KINDS].sort()).toEqual(Object.keys(KEDA_RESOURCES).sort());
  });

  it('label and annotation keys are exact and unique', () => {
    expect(Labels.ScaledObjectName).toBe('scaledobject.keda.sh/name');
    expect(Labels.ScaledJobName).toBe('scaledjob.keda.sh/name');
    expect(Annotations).toEqual({
      Paused: 'autoscaling.keda.sh/paused',
      PausedReplicas: 'autoscaling.keda.sh/paused-replicas',
      PausedScaleIn: 'autoscaling.keda.sh/paused-scale-in',
      PausedScaleOut: 'autoscaling.keda.sh/paused-scale-out',
      ForceActivation: 'autoscaling.keda.sh/force-activation',
      TransferHpaOwnership: 'scaledobject.keda.sh/transfer-hpa-ownership',
      HpaExcludedLabels: 'scaledobject.keda.sh/hpa-excluded-labels',
      HpaOwnershipValidation: 'validations.keda.sh/hpa-ownership',
      JobExcludedLabels: 'scaledjob.keda.sh/job-excluded-labels',
      ScaledJobGeneration: 'scaledjob.keda.sh/generation',
    });
    const keys = [...Object.values(Labels), ...Object.values(Annotations)];
    expect(new Set(keys).size).toBe(keys.length);
    expect(KEDA_FINALIZER).toBe('finalizer.keda.sh');
  });
});
