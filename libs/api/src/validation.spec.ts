/* eslint-disable @typescript-eslint/no-explicit-any -- test code pokes at loosely typed manifests */
import {
  clusterTriggerAuthentication,
  fullScaledObject,
  scaledJob,
  scaledObject,
  triggerAuthentication,
} from '../test/fixtures';
import {
  validateClusterTriggerAuthentication,
  validateKedaObject,
  validateScaledJob,
  validateScaledObject,
  validateTriggerAuthentication,
  type ValidationIssue,
} from './validation';

/** Deep-clones a manifest and applies a mutation to the copy. */
function mutate<T>(obj: T, fn: (o: any) => void): T {
  const copy = structuredClone(obj);
  fn(copy);
  return copy;
}

describe('valid manifests pass', () => {
  it.each([
    ['minimal ScaledObject', () => validateScaledObject(scaledObject())],
    ['full ScaledObject with status', () => validateScaledObject(fullScaledObject())],
    ['ScaledJob', () => validateScaledJob(scaledJob())],
    ['TriggerAuthentication', () => validateTriggerAuthentication(triggerAuthentication())],
    [
      'ClusterTriggerAuthentication',
      () => validateClusterTriggerAuthentication(clusterTriggerAuthentication()),
    ],
    ['dispatch by kind', () => validateKedaObject(scaledJob())],
  ])('%s', (_name, run) => {
    expect(run()).toEqual({ valid: true, errors: [] });
  });
});

describe('ScaledObject: invalid manifests name the field and what is allowed', () => {
  const cases: [string, (o: any) => void, ValidationIssue][] = [
    [
      'maxReplicaCount 0',
      (o) => (o.spec.maxReplicaCount = 0),
      { path: 'spec.maxReplicaCount', message: 'must be >= 1' },
    ],
    [
      'pollingInterval 0',
      (o) => (o.spec.pollingInterval = 0),
      { path: 'spec.pollingInterval', message: 'must be >= 1' },
    ],
    [
      'negative cooldown',
      (o) => (o.spec.cooldownPeriod = -1),
      { path: 'spec.cooldownPeriod', message: 'must be >= 0' },
    ],
    [
      'int32 overflow',
      (o) => (o.spec.maxReplicaCount = 2 ** 31),
      {
        path: 'spec.maxReplicaCount',
        message: 'must be a 32-bit integer (int32, -2147483648 to 2147483647)',
      },
    ],
    [
      'fractional replicas',
      (o) => (o.spec.minReplicaCount = 1.5),
      { path: 'spec.minReplicaCount', message: 'must be an integer' },
    ],
    [
      'trigger without type',
      (o) => delete o.spec.triggers[0].type,
      { path: 'spec.triggers[0].type', message: 'is required' },
    ],
    [
      'trigger with empty type',
      (o) => (o.spec.triggers[0].type = ''),
      { path: 'spec.triggers[0].type', message: 'must not be empty' },
    ],
    [
      'trigger without metadata',
      (o) => delete o.spec.triggers[0].metadata,
      { path: 'spec.triggers[0].metadata', message: 'is required' },
    ],
    [
      'non-string metadata value',
      (o) => (o.spec.triggers[0].metadata['a.b/c'] = 5),
      { path: 'spec.triggers[0].metadata["a.b/c"]', message: 'must be a string' },
    ],
    [
      'no triggers',
      (o) => (o.spec.triggers = []),
      { path: 'spec.triggers', message: 'must have at least 1 item' },
    ],
    [
      'missing scaleTargetRef',
      (o) => delete o.spec.scaleTargetRef,
      { path: 'spec.scaleTargetRef', message: 'is required' },
    ],
    [
      'empty target name',
      (o) => (o.spec.scaleTargetRef.name = ''),
      { path: 'spec.scaleTargetRef.name', message: 'must not be empty' },
    ],
    [
      'unknown fallback.behavior',
      (o) => (o.spec.fallback = { failureThreshold: 1, replicas: 1, behavior: 'sometimes' }),
      {
        path: 'spec.fallback.behavior',
        message:
          'must be one of: static, currentReplicas, currentReplicasIfHigher, currentReplicasIfLower, scalingModifiers',
      },
    ],
    [
      'fallback without replicas',
      (o) => (o.spec.fallback = { failureThreshold: 1 }),
      { path: 'spec.fallback.replicas', message: 'is required' },
    ],
    [
      'bad authenticationRef.kind',
      (o) => (o.spec.triggers[0].authenticationRef = { name: 'x', kind: 'Secret' }),
      {
        path: 'spec.triggers[0].authenticationRef.kind',
        message: 'must be one of: TriggerAuthentication, ClusterTriggerAuthentication',
      },
    ],
    [
      'stabilization window above 3600',
      (o) =>
        (o.spec.advanced = {
          horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: 3601 } } },
        }),
      {
        path: 'spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds',
        message: 'must be <= 3600',
      },
    ],
    [
      'negative stabilization window',
      (o) =>
        (o.spec.advanced = {
          horizontalPodAutoscalerConfig: { behavior: { scaleUp: { stabilizationWindowSeconds: -1 } } },
        }),
      {
        path: 'spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.stabilizationWindowSeconds',
        message: 'must be >= 0',
      },
    ],
    [
      'bad tolerance quantity',
      (o) =>
        (o.spec.advanced = {
          horizontalPodAutoscalerConfig: { behavior: { scaleUp: { tolerance: 'lots' } } },
        }),
      {
        path: 'spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.tolerance',
        message: 'must be a quantity, for example 100m, 0.5 or 2Gi',
      },
    ],
    [
      'tolerance of the wrong type',
      (o) =>
        (o.spec.advanced = { horizontalPodAutoscalerConfig: { behavior: { scaleUp: { tolerance: true } } } }),
      {
        path: 'spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.tolerance',
        message: 'must be an integer or a string',
      },
    ],
    [
      'unknown spec field',
      (o) => (o.spec.minReplicas = 1),
      {
        path: 'spec.minReplicas',
        message:
          'unknown field; allowed fields here: advanced, cooldownPeriod, fallback, idleReplicaCount, initialCooldownPeriod, maxReplicaCount, minReplicaCount, pollingInterval, scaleTargetRef, triggers',
      },
    ],
    [
      'minReplicaCount 5 > maxReplicaCount 2 (the CEL rule)',
      (o) => Object.assign(o.spec, { minReplicaCount: 5, maxReplicaCount: 2 }),
      { path: 'spec', message: 'minReplicaCount must be less than or equal to maxReplicaCount' },
    ],
    [
      'minReplicaCount 101 with max unset (the CEL rule uses 100)',
      (o) => (o.spec.minReplicaCount = 101),
      { path: 'spec', message: 'minReplicaCount must be less than or equal to maxReplicaCount' },
    ],
    [
      'bad lastActiveTime',
      (o) => (o.status = { lastActiveTime: 'yesterday' }),
      {
        path: 'status.lastActiveTime',
        message: 'must be an RFC 3339 date-time such as 2024-01-02T15:04:05Z',
      },
    ],
    ['wrong kind', (o) => (o.kind = 'ScaledJob'), { path: 'kind', message: 'must be ScaledObject' }],
    [
      'wrong apiVersion',
      (o) => (o.apiVersion = 'keda.k8s.io/v1alpha1'),
      { path: 'apiVersion', message: 'must be keda.sh/v1alpha1' },
    ],
    ['missing spec', (o) => delete o.spec, { path: 'spec', message: 'is required' }],
  ];
  it.each(cases)('%s', (_name, fn, expected) => {
    const result = validateScaledObject(mutate(scaledObject(), fn));
    expect(result.valid).toBe(false);
    expect(result.errors).toContainEqual(expected);
  });

  it('reports every problem at once', () => {
    const result = validateScaledObject(
      mutate(scaledObject(), (o) => {
        o.spec.maxReplicaCount = 0;
        delete o.spec.triggers[0].type;
      }),
    );
    expect(result.errors.map((e) => e.path).sort()).toEqual([
      'spec.maxReplicaCount',
      'spec.triggers[0].type',
    ]);
  });

  it('unknown fields are accepted with unknownFields: ignore', () => {
    const obj = mutate(scaledObject(), (o) => (o.spec.somethingNew = true));
    expect(validateScaledObject(obj).valid).toBe(false);
    expect(validateScaledObject(obj, { unknownFields: 'ignore' })).toEqual({ valid: true, errors: [] });
  });

  it('metadata is free-form (the API server validates ObjectMeta itself)', () => {
    const obj = mutate(scaledObject(), (o) => (o.metadata.anything = { nested: 1 }));
    expect(validateScaledObject(obj).valid).toBe(true);
  });

  it('rejects non-objects', () => {
    expect(validateScaledObject('nope').errors).toEqual([{ path: '', message: 'must be an object' }]);
  });
});

describe('ScaledJob', () => {
  it.each<[string, (o: any) => void, ValidationIssue]>([
    [
      'metricType is not part of the ScaledJob schema',
      (o) => (o.spec.triggers[0].metricType = 'Value'),
      {
        path: 'spec.triggers[0].metricType',
        message:
          'unknown field; allowed fields here: authenticationRef, metadata, name, type, useCachedMetrics',
      },
    ],
    [
      'missing jobTargetRef.template',
      (o) => delete o.spec.jobTargetRef.template,
      { path: 'spec.jobTargetRef.template', message: 'is required' },
    ],
    [
      'bad scalingStrategy',
      (o) => (o.spec.scalingStrategy.strategy = 'fast'),
      { path: 'spec.scalingStrategy.strategy', message: 'must be one of: default, custom, accurate, eager' },
    ],
    [
      'bad rollout.strategy',
      (o) => (o.spec.rollout.strategy = 'default'),
      { path: 'spec.rollout.strategy', message: 'must be one of: gradual, immediate' },
    ],
    [
      'bad multipleScalersCalculation',
      (o) => (o.spec.scalingStrategy.multipleScalersCalculation = 'median'),
      {
        path: 'spec.scalingStrategy.multipleScalersCalculation',
        message: 'must be one of: min, avg, sum, max',
      },
    ],
    [
      'negative history limit',
      (o) => (o.spec.failedJobsHistoryLimit = -1),
      { path: 'spec.failedJobsHistoryLimit', message: 'must be >= 0' },
    ],
    [
      'maxReplicaCount 0',
      (o) => (o.spec.maxReplicaCount = 0),
      { path: 'spec.maxReplicaCount', message: 'must be >= 1' },
    ],
    [
      'parallelism as a string',
      (o) => (o.spec.jobTargetRef.parallelism = '2'),
      { path: 'spec.jobTargetRef.parallelism', message: 'must be an integer' },
    ],
  ])('%s', (_name, fn, expected) => {
    const result = validateScaledJob(mutate(scaledJob(), fn));
    expect(result.valid).toBe(false);
    expect(result.errors).toContainEqual(expected);
  });

  it('keeps the pod template opaque', () => {
    const obj = mutate(scaledJob(), (o) => (o.spec.jobTargetRef.template.spec.anything = { goes: true }));
    expect(validateScaledJob(obj).valid).toBe(true);
  });

  it('has no min/max CEL rule', () => {
    expect(validateScaledJob(scaledJob({ minReplicaCount: 5, maxReplicaCount: 2 })).valid).toBe(true);
  });
});

describe('TriggerAuthentication / ClusterTriggerAuthentication', () => {
  it.each<[string, (o: any) => void, ValidationIssue]>([
    [
      'bad podIdentity.provider',
      (o) => (o.spec.podIdentity.provider = 'azure'),
      {
        path: 'spec.podIdentity.provider',
        message: 'must be one of: azure-workload, gcp, aws, aws-eks, none',
      },
    ],
    [
      'podIdentity without provider',
      (o) => (o.spec.podIdentity = {}),
      { path: 'spec.podIdentity.provider', message: 'is required' },
    ],
    [
      'secretTargetRef without key',
      (o) => delete o.spec.secretTargetRef[0].key,
      { path: 'spec.secretTargetRef[0].key', message: 'is required' },
    ],
    [
      'vault without secrets',
      (o) => (o.spec.hashiCorpVault.secrets = []),
      { path: 'spec.hashiCorpVault.secrets', message: 'must have at least 1 item' },
    ],
    [
      'bad vault authentication',
      (o) => (o.spec.hashiCorpVault.authentication = 'ldap'),
      { path: 'spec.hashiCorpVault.authentication', message: 'must be one of: token, kubernetes' },
    ],
    [
      'bad vault secret type',
      (o) => (o.spec.hashiCorpVault.secrets[0].type = 'kv'),
      { path: 'spec.hashiCorpVault.secrets[0].type', message: 'must be one of: "", secretV2, secret, pki' },
    ],
    [
      'bad oauth2.type',
      (o) => (o.spec.oauth2.type = 'password'),
      { path: 'spec.oauth2.type', message: 'must be one of: clientCredentials' },
    ],
  ])('TA: %s', (_name, fn, expected) => {
    const result = validateTriggerAuthentication(mutate(triggerAuthentication(), fn));
    expect(result.valid).toBe(false);
    expect(result.errors).toContainEqual(expected);
  });

  it.each<[string, (o: any) => void, ValidationIssue]>([
    [
      'key vault without vaultUri',
      (o) => delete o.spec.azureKeyVault.vaultUri,
      { path: 'spec.azureKeyVault.vaultUri', message: 'is required' },
    ],
    [
      'aws credentials without accessKey',
      (o) => delete o.spec.awsSecretManager.credentials.accessKey,
      { path: 'spec.awsSecretManager.credentials.accessKey', message: 'is required' },
    ],
    [
      'gcp secret without id',
      (o) => delete o.spec.gcpSecretManager.secrets[0].id,
      { path: 'spec.gcpSecretManager.secrets[0].id', message: 'is required' },
    ],
    [
      'status of the wrong type',
      (o) => (o.status.scaledobjects = ['a']),
      { path: 'status.scaledobjects', message: 'must be a string' },
    ],
  ])('CTA: %s', (_name, fn, expected) => {
    const result = validateClusterTriggerAuthentication(mutate(clusterTriggerAuthentication(), fn));
    expect(result.valid).toBe(false);
    expect(result.errors).toContainEqual(expected);
  });
});

describe('validateKedaObject', () => {
  it('rejects an unknown kind', () => {
    expect(validateKedaObject({ kind: 'Deployment' })).toEqual({
      valid: false,
      errors: [
        {
          path: 'kind',
          message:
            'must be one of: ScaledObject, ScaledJob, TriggerAuthentication, ClusterTriggerAuthentication',
        },
      ],
    });
  });
  it('validates by kind', () => {
    const result = validateKedaObject(mutate(triggerAuthentication(), (o) => (o.spec.env[0].parameter = 1)));
    expect(result.errors).toEqual([{ path: 'spec.env[0].parameter', message: 'must be a string' }]);
  });
});
