/**
 * Schema pieces shared by several keda.sh kinds. Each is declared once and reused, so the CRDs, the
 * runtime validators and the TypeScript types all agree.
 */
import { AUTHENTICATION_REF_KINDS } from '../src/constants';
import {
  array,
  bool,
  dateTime,
  enumOf,
  int32,
  mapOf,
  object,
  quantity,
  str,
  stringList,
  stringMap,
  type SourceSchema,
} from './source-schema';

export const authenticationRef: SourceSchema = object(
  'Reference to the TriggerAuthentication or ClusterTriggerAuthentication that supplies credentials to the scaler.',
  {
    name: str('Name of the (Cluster)TriggerAuthentication.'),
    kind: enumOf('Kind of the referenced object.', AUTHENTICATION_REF_KINDS, {
      default: 'TriggerAuthentication',
    }),
  },
  { tsName: 'AuthenticationRef', required: ['name'] },
);

/**
 * One entry of `spec.triggers`. ScaledObjects accept `metricType`; the ScaledJob schema does not
 * have that field at all.
 */
export function scaleTrigger(variant: 'ScaledObject' | 'ScaledJob'): SourceSchema {
  const properties: Record<string, SourceSchema> = {
    type: str('Scaler type, for example rabbitmq, cpu, cron or external.', { minLength: 1 }),
    name: str(
      'Optional trigger name. Must be unique among the triggers; scaling-modifier formulas refer to triggers by name.',
    ),
    metadata: stringMap(
      'Scaler parameters. A key ending in FromEnv reads its value from the named environment variable of the target container.',
    ),
    authenticationRef,
  };
  if (variant === 'ScaledObject') {
    properties['metricType'] = str(
      'HPA target type of the metric: AverageValue (the default when empty), Value, or Utilization (cpu/memory only).',
      { tsType: 'MetricTargetType | ""' },
    );
  }
  properties['useCachedMetrics'] = bool(
    'Answer HPA metric requests from the values recorded by the last polling run instead of querying the scaler. Not allowed for cpu, memory and cron.',
  );
  return object('A scaler that feeds metrics and activity to KEDA.', properties, {
    tsName: variant === 'ScaledObject' ? 'ScaleTrigger' : 'ScaledJobTrigger',
    required: ['type', 'metadata'],
  });
}

export const condition: SourceSchema = object(
  'A status condition. KEDA replaces type, status, reason and message in place and keeps no transition time.',
  {
    type: str('Condition type: Ready, Active, Fallback, Paused or HPAActive.'),
    status: str('True, False or Unknown.'),
    reason: str('Machine-readable reason of the last change.'),
    message: str('Human-readable explanation.'),
  },
  { tsName: 'Condition', required: ['type', 'status'] },
);

export const conditions: SourceSchema = array(
  'Conditions Ready, Active, Fallback, Paused (and HPAActive).',
  condition,
);

export const triggersActivity: SourceSchema = mapOf(
  'Activity of each external metric, keyed by metric name.',
  object(
    'Activity of one external metric.',
    { isActive: bool('Whether the trigger behind this metric is active.') },
    { tsName: 'TriggerActivity', required: ['isActive'] },
  ),
);

export const lastActiveTime = dateTime('Last time the object was seen active.');
export const externalMetricNames = stringList('External metric names, in trigger order.');
export const triggersTypes = str('Comma-separated distinct trigger types, in trigger order.');
export const authenticationsTypes = str(
  'Comma-separated distinct authenticationRef names, in trigger order (names, despite the field name).',
);

const hpaScalingPolicy: SourceSchema = object(
  'A limit on how much the replica count may change within a period.',
  {
    type: str('Pods or Percent.'),
    value: int32('Amount of change allowed by this policy; must be greater than 0.'),
    periodSeconds: int32('Length of the window in which the policy must hold, 1..1800 seconds.'),
  },
  { tsName: 'HPAScalingPolicy', required: ['type', 'value', 'periodSeconds'] },
);

const hpaScalingRules: SourceSchema = object(
  'Scaling rules for one direction.',
  {
    stabilizationWindowSeconds: int32(
      'Seconds of past recommendations to consider while scaling, 0..3600. The HPA defaults to 0 for scale-up and 300 for scale-down.',
      { minimum: 0, maximum: 3600 },
    ),
    selectPolicy: str('Which policy applies when several do: Max (default), Min or Disabled.'),
    policies: array('Policies that limit the rate of change.', hpaScalingPolicy, {
      'x-kubernetes-list-type': 'atomic',
    }),
    tolerance: quantity(
      'Relative difference between current and desired metric value below which the HPA does not scale (alpha in Kubernetes).',
    ),
  },
  { tsName: 'HPAScalingRules' },
);

/** autoscaling/v2 HorizontalPodAutoscalerBehavior, with KEDA's 0..3600 stabilization window limit. */
export const hpaBehavior: SourceSchema = object(
  'autoscaling/v2 HorizontalPodAutoscalerBehavior, copied verbatim into the generated HPA.',
  {
    scaleUp: { ...hpaScalingRules, description: 'Rules for scaling up.' },
    scaleDown: { ...hpaScalingRules, description: 'Rules for scaling down.' },
  },
  { tsName: 'HorizontalPodAutoscalerBehavior' },
);

const labelSelectorRequirement: SourceSchema = object(
  'A label requirement: key, operator and values.',
  {
    key: str('Label key.'),
    operator: str('In, NotIn, Exists or DoesNotExist.'),
    values: stringList('Values for In and NotIn; empty for Exists and DoesNotExist.', {
      'x-kubernetes-list-type': 'atomic',
    }),
  },
  { tsName: 'LabelSelectorRequirement', required: ['key', 'operator'] },
);

/** meta/v1 LabelSelector */
export const labelSelector: SourceSchema = object(
  'A label query; requirements are ANDed.',
  {
    matchLabels: stringMap('Exact key/value matches.'),
    matchExpressions: array('Set-based requirements.', labelSelectorRequirement, {
      'x-kubernetes-list-type': 'atomic',
    }),
  },
  { tsName: 'LabelSelector', 'x-kubernetes-map-type': 'atomic' },
);
