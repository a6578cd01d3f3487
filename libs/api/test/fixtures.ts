// Test-only sample manifests (outside src/: never part of the library build).
import type {
  ClusterTriggerAuthentication,
  ScaledJob,
  ScaledObject,
  TriggerAuthentication,
} from '../src/generated/types';

export function scaledObject(overrides: Partial<ScaledObject['spec']> = {}, name = 'orders'): ScaledObject {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name, namespace: 'default' },
    spec: {
      scaleTargetRef: { name: 'orders-consumer' },
      triggers: [{ type: 'rabbitmq', name: 'queue', metadata: { queueName: 'orders', value: '5' } }],
      ...overrides,
    },
  };
}

export function fullScaledObject(): ScaledObject {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name: 'full', namespace: 'apps', annotations: { 'autoscaling.keda.sh/paused': 'false' } },
    spec: {
      scaleTargetRef: {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        name: 'db',
        envSourceContainerName: 'main',
      },
      pollingInterval: 15,
      initialCooldownPeriod: 60,
      cooldownPeriod: 120,
      idleReplicaCount: 0,
      minReplicaCount: 1,
      maxReplicaCount: 20,
      advanced: {
        restoreToOriginalReplicaCount: true,
        horizontalPodAutoscalerConfig: {
          name: 'custom-hpa',
          behavior: {
            scaleDown: {
              stabilizationWindowSeconds: 300,
              selectPolicy: 'Max',
              policies: [{ type: 'Percent', value: 50, periodSeconds: 60 }],
            },
            scaleUp: { stabilizationWindowSeconds: 0, tolerance: '100m' },
          },
        },
        scalingModifiers: {
          formula: 'a + b',
          target: '10',
          activationTarget: '1',
          metricType: 'AverageValue',
        },
      },
      triggers: [
        {
          type: 'metrics-api',
          name: 'a',
          metadata: { url: 'http://svc/metrics', valueLocation: 'value' },
          authenticationRef: { name: 'api-auth', kind: 'ClusterTriggerAuthentication' },
          metricType: 'Value',
          useCachedMetrics: true,
        },
        {
          type: 'cron',
          name: 'b',
          metadata: { timezone: 'UTC', start: '0 8 * * *', end: '0 18 * * *', desiredReplicas: '3' },
        },
      ],
      fallback: { failureThreshold: 3, replicas: 6, behavior: 'currentReplicasIfHigher' },
    },
    status: {
      scaleTargetKind: 'apps/v1.StatefulSet',
      scaleTargetGVKR: { group: 'apps', version: 'v1', kind: 'StatefulSet', resource: 'statefulsets' },
      originalReplicaCount: 2,
      lastActiveTime: '2026-01-02T03:04:05Z',
      externalMetricNames: ['s0-metric-api-value'],
      conditions: [{ type: 'Ready', status: 'True', reason: 'ScaledObjectReady', message: 'ok' }],
      health: { 's0-metric-api-value': { numberOfFailures: 0, status: 'Happy' } },
      triggersActivity: { 's0-metric-api-value': { isActive: true } },
      hpaName: 'custom-hpa',
      triggersTypes: 'metrics-api,cron',
      authenticationsTypes: 'api-auth',
    },
  };
}

export function scaledJob(overrides: Partial<ScaledJob['spec']> = {}): ScaledJob {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledJob',
    metadata: { name: 'worker', namespace: 'default' },
    spec: {
      jobTargetRef: {
        parallelism: 1,
        completions: 1,
        activeDeadlineSeconds: 600,
        backoffLimit: 2,
        template: {
          metadata: { labels: { app: 'worker' } },
          spec: { containers: [{ name: 'worker', image: 'busybox', command: ['sh', '-c', 'sleep 5'] }] },
        },
      },
      pollingInterval: 10,
      successfulJobsHistoryLimit: 5,
      failedJobsHistoryLimit: 5,
      maxReplicaCount: 10,
      rollout: { strategy: 'gradual', propagationPolicy: 'foreground' },
      scalingStrategy: {
        strategy: 'custom',
        customScalingQueueLengthDeduction: 1,
        customScalingRunningJobPercentage: '0.5',
      },
      triggers: [
        { type: 'rabbitmq', metadata: { queueName: 'jobs' }, authenticationRef: { name: 'rabbit' } },
      ],
      ...overrides,
    },
  };
}

export function triggerAuthentication(): TriggerAuthentication {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'TriggerAuthentication',
    metadata: { name: 'rabbit', namespace: 'default' },
    spec: {
      podIdentity: { provider: 'aws', roleArn: 'arn:aws:iam::1:role/x' },
      secretTargetRef: [{ parameter: 'host', name: 'rabbit-secret', key: 'url' }],
      env: [{ parameter: 'user', name: 'RABBIT_USER' }],
      hashiCorpVault: {
        address: 'https://vault:8200',
        authentication: 'kubernetes',
        role: 'keda',
        mount: 'kubernetes',
        secrets: [{ parameter: 'password', path: 'secret/data/rabbit', key: 'password', type: 'secretV2' }],
      },
      oauth2: {
        type: 'clientCredentials',
        clientId: 'id',
        tokenUrl: 'https://auth.example.com/token',
        clientSecret: { valueFrom: { secretKeyRef: { name: 'oauth', key: 'secret' } } },
        scopes: ['read'],
        tokenUrlParams: { audience: 'api' },
      },
    },
  };
}

export function clusterTriggerAuthentication(): ClusterTriggerAuthentication {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ClusterTriggerAuthentication',
    metadata: { name: 'shared' },
    spec: {
      filePath: 'creds/rabbit.json',
      azureKeyVault: {
        vaultUri: 'https://kv.vault.azure.net',
        podIdentity: { provider: 'azure-workload', identityId: 'abc' },
        secrets: [{ parameter: 'connection', name: 'conn' }],
      },
      awsSecretManager: {
        region: 'eu-west-1',
        secrets: [{ parameter: 'token', name: 'prod/token' }],
        credentials: {
          accessKey: { valueFrom: { secretKeyRef: { name: 'aws', key: 'id' } } },
          accessSecretKey: { valueFrom: { secretKeyRef: { name: 'aws', key: 'secret' } } },
        },
      },
      gcpSecretManager: { secrets: [{ parameter: 'key', id: 'my-secret' }] },
      boundServiceAccountToken: [{ parameter: 'token', serviceAccountName: 'reader' }],
      configMapTargetRef: [{ parameter: 'host', name: 'cfg', key: 'host' }],
    },
    status: { scaledobjects: 'a,b', scaledjobs: '' },
  };
}
