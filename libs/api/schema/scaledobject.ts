import { FALLBACK_BEHAVIORS } from '../src/constants';
import {
  authenticationsTypes,
  conditions,
  externalMetricNames,
  hpaBehavior,
  lastActiveTime,
  scaleTrigger,
  triggersActivity,
  triggersTypes,
} from './common';
import {
  bool,
  enumOf,
  int32,
  mapOf,
  object,
  str,
  stringList,
  topLevel,
  array,
  type SourceSchema,
} from './source-schema';

const scaleTargetRef = object(
  'The workload to scale; it must be in the same namespace and expose the /scale subresource.',
  {
    name: str('Name of the target.', { minLength: 1 }),
    apiVersion: str('Group/version of the target. Defaults to apps/v1 (applied by the operator).'),
    kind: str('Kind of the target. Defaults to Deployment (applied by the operator).'),
    envSourceContainerName: str(
      'Container whose env/envFrom resolve *FromEnv trigger parameters. Defaults to the first container.',
    ),
  },
  { tsName: 'ScaleTarget', required: ['name'] },
);

const fallback = object(
  'Replica count to use while a scaler keeps failing.',
  {
    failureThreshold: int32('Fallback starts when consecutive failures of a metric exceed this number.', {
      minimum: 0,
    }),
    replicas: int32('Replica count used as fallback.', { minimum: 0 }),
    behavior: enumOf('How the fallback replica count is chosen.', FALLBACK_BEHAVIORS, {
      default: 'static',
      tsName: 'FallbackBehavior',
    }),
  },
  { tsName: 'Fallback', required: ['failureThreshold', 'replicas'] },
);

const scalingModifiers = object(
  'Combines the trigger metrics into one composite metric with a formula.',
  {
    formula: str('expr-lang expression over trigger names; mandatory when scalingModifiers is used.'),
    target: str('Target of the composite metric, a float greater than 0; mandatory with a formula.'),
    activationTarget: str('The object is active when the composite value exceeds this float. Empty means 0.'),
    metricType: str('HPA target type of the composite metric: AverageValue (default) or Value.', {
      tsType: 'MetricTargetType | ""',
    }),
  },
  { tsName: 'ScalingModifiers' },
);

const advanced = object(
  'Advanced settings.',
  {
    restoreToOriginalReplicaCount: bool(
      'When the ScaledObject is deleted, set the target back to status.originalReplicaCount.',
    ),
    horizontalPodAutoscalerConfig: object(
      'Settings of the HPA that KEDA generates.',
      {
        name: str('Name of the HPA. Defaults to keda-hpa-<ScaledObject name>.'),
        behavior: { ...hpaBehavior, description: 'Copied verbatim into the HPA spec.behavior.' },
      },
      { tsName: 'HorizontalPodAutoscalerConfig' },
    ),
    scalingModifiers,
  },
  { tsName: 'AdvancedConfig' },
);

const spec = object(
  'Desired autoscaling of a workload.',
  {
    scaleTargetRef,
    pollingInterval: int32('Seconds between two polls of the triggers. Defaults to 30.', { minimum: 1 }),
    initialCooldownPeriod: int32(
      'Seconds after creation before the first scale-in to zero or idle is allowed. Defaults to 0.',
      { minimum: 0 },
    ),
    cooldownPeriod: int32(
      'Seconds after the last active poll before scaling in to zero or idle. Defaults to 300.',
      { minimum: 0 },
    ),
    idleReplicaCount: int32('Replica count while no trigger is active; must be below the minimum.', {
      minimum: 0,
    }),
    minReplicaCount: int32('Lower replica bound; 0 allows scale to zero. Defaults to 0.', { minimum: 0 }),
    maxReplicaCount: int32('Upper replica bound (HPA maxReplicas). Defaults to 100.', { minimum: 1 }),
    advanced,
    triggers: array('The scalers that drive this ScaledObject.', scaleTrigger('ScaledObject'), {
      minItems: 1,
    }),
    fallback,
  },
  {
    tsName: 'ScaledObjectSpec',
    required: ['scaleTargetRef', 'triggers'],
    'x-kubernetes-validations': [
      {
        rule: '!has(self.minReplicaCount) || self.minReplicaCount <= (has(self.maxReplicaCount) ? self.maxReplicaCount : 100)',
        message: 'minReplicaCount must be less than or equal to maxReplicaCount',
      },
    ],
  },
);

const healthStatus = object(
  'Failure counter of one external metric.',
  {
    numberOfFailures: int32('Consecutive failed reads.'),
    status: enumOf('Happy or Failing.', ['Happy', 'Failing'], { tsName: 'HealthStatusType' }),
  },
  { tsName: 'HealthStatus' },
);

const status = object(
  'Observed state, written by the operator.',
  {
    scaleTargetKind: str('Resolved target as <group>/<version>.<Kind>, for example apps/v1.Deployment.'),
    scaleTargetGVKR: object(
      'Resolved group, version, kind and resource of the target.',
      {
        group: str('API group.'),
        version: str('API version.'),
        kind: str('Kind.'),
        resource: str('Plural resource name.'),
      },
      { tsName: 'GroupVersionKindResource', required: ['group', 'version', 'kind', 'resource'] },
    ),
    originalReplicaCount: int32('Replica count of the target when KEDA first resolved it.'),
    lastActiveTime,
    externalMetricNames,
    resourceMetricNames: stringList('Names of the Resource metrics (cpu, memory).'),
    compositeScalerName: str('composite-metric when scaling modifiers with a target are used.'),
    conditions,
    health: mapOf('Failure counters keyed by external metric name.', healthStatus),
    triggersActivity,
    pausedReplicaCount: int32('Value of the paused-replicas annotation while paused.'),
    hpaName: str('Name of the HPA that is owned now.'),
    triggersTypes,
    authenticationsTypes,
  },
  { tsName: 'ScaledObjectStatus' },
);

export const scaledObjectSchema: SourceSchema = topLevel(
  'ScaledObject',
  'ScaledObject scales a Deployment, StatefulSet or any /scale resource based on event sources.',
  spec,
  status,
);
