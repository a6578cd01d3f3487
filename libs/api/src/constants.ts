/** API group of the KEDA custom resources. */
export const API_GROUP = 'keda.sh';
/** The only version of the keda.sh API (served and stored). */
export const API_VERSION = 'v1alpha1';
/** `apiVersion` value of every keda.sh object. */
export const API_GROUP_VERSION = 'keda.sh/v1alpha1';

/** The four kinds of the keda.sh/v1alpha1 API. */
export const KedaKind = {
  ScaledObject: 'ScaledObject',
  ScaledJob: 'ScaledJob',
  TriggerAuthentication: 'TriggerAuthentication',
  ClusterTriggerAuthentication: 'ClusterTriggerAuthentication',
} as const;
export type KedaKind = (typeof KedaKind)[keyof typeof KedaKind];

export const KEDA_KINDS: readonly KedaKind[] = [
  KedaKind.ScaledObject,
  KedaKind.ScaledJob,
  KedaKind.TriggerAuthentication,
  KedaKind.ClusterTriggerAuthentication,
];

export interface KedaResourceInfo {
  readonly kind: KedaKind;
  readonly listKind: string;
  readonly plural: string;
  readonly singular: string;
  readonly shortNames: readonly string[];
  readonly scope: 'Namespaced' | 'Cluster';
  /** `metadata.name` of the CustomResourceDefinition (`<plural>.keda.sh`). */
  readonly crdName: string;
}

function resource(
  kind: KedaKind,
  plural: string,
  shortNames: readonly string[],
  scope: 'Namespaced' | 'Cluster',
): KedaResourceInfo {
  return {
    kind,
    listKind: `${kind}List`,
    plural,
    singular: kind.toLowerCase(),
    shortNames,
    scope,
    crdName: `${plural}.${API_GROUP}`,
  };
}

/** Names (plural, singular, short names, scope) of each resource. */
export const KEDA_RESOURCES: Readonly<Record<KedaKind, KedaResourceInfo>> = {
  ScaledObject: resource(KedaKind.ScaledObject, 'scaledobjects', ['so'], 'Namespaced'),
  ScaledJob: resource(KedaKind.ScaledJob, 'scaledjobs', ['sj'], 'Namespaced'),
  TriggerAuthentication: resource(
    KedaKind.TriggerAuthentication,
    'triggerauthentications',
    ['ta', 'triggerauth'],
    'Namespaced',
  ),
  ClusterTriggerAuthentication: resource(
    KedaKind.ClusterTriggerAuthentication,
    'clustertriggerauthentications',
    ['cta', 'clustertriggerauth'],
    'Cluster',
  ),
};

/** Finalizer put on ScaledObjects, ScaledJobs, TriggerAuthentications and ClusterTriggerAuthentications. */
export const KEDA_FINALIZER = 'finalizer.keda.sh';

/** Label keys written or read by KEDA. */
export const Labels = {
  /** On the ScaledObject (value = its name), copied to the HPA, used in external metric selectors. */
  ScaledObjectName: 'scaledobject.keda.sh/name',
  /** On Jobs (and their pod templates) created for a ScaledJob (value = ScaledJob name). */
  ScaledJobName: 'scaledjob.keda.sh/name',
  AppName: 'app.kubernetes.io/name',
  AppVersion: 'app.kubernetes.io/version',
  AppPartOf: 'app.kubernetes.io/part-of',
  AppManagedBy: 'app.kubernetes.io/managed-by',
} as const;

/** Value of `app.kubernetes.io/managed-by` on objects that the operator creates. */
export const MANAGED_BY_KEDA_OPERATOR = 'keda-operator';

/** Annotation keys honoured by KEDA. */
export const Annotations = {
  /** ScaledObject/ScaledJob: bool; an unparsable value counts as true. */
  Paused: 'autoscaling.keda.sh/paused',
  /** ScaledObject: present (any value) means paused; the value must parse as int32. */
  PausedReplicas: 'autoscaling.keda.sh/paused-replicas',
  /** ScaledObject: bool (a non-bool value counts as true). */
  PausedScaleIn: 'autoscaling.keda.sh/paused-scale-in',
  /** ScaledObject: bool (a non-bool value counts as true). */
  PausedScaleOut: 'autoscaling.keda.sh/paused-scale-out',
  /** ScaledObject: bool (a non-bool value counts as true). */
  ForceActivation: 'autoscaling.keda.sh/force-activation',
  /** ScaledObject: `"true"` allows taking over the existing HPA named in horizontalPodAutoscalerConfig.name. */
  TransferHpaOwnership: 'scaledobject.keda.sh/transfer-hpa-ownership',
  /** ScaledObject: comma-separated label keys that are not copied to the HPA. */
  HpaExcludedLabels: 'scaledobject.keda.sh/hpa-excluded-labels',
  /** On an existing HPA: `"false"` makes the webhook ignore that HPA. */
  HpaOwnershipValidation: 'validations.keda.sh/hpa-ownership',
  /** ScaledJob: comma-separated label keys that are not copied to generated Jobs. */
  JobExcludedLabels: 'scaledjob.keda.sh/job-excluded-labels',
  /** On generated Jobs: the ScaledJob `metadata.generation` they were created from. */
  ScaledJobGeneration: 'scaledjob.keda.sh/generation',
} as const;

/** Trigger types that get special treatment in the shared checks. */
export const TriggerType = {
  Cpu: 'cpu',
  Memory: 'memory',
  Cron: 'cron',
  External: 'external',
  ExternalPush: 'external-push',
} as const;

/** HPA metric target types (autoscaling/v2 MetricTargetType). */
export const MetricTargetType = {
  AverageValue: 'AverageValue',
  Value: 'Value',
  Utilization: 'Utilization',
} as const;
export type MetricTargetType = (typeof MetricTargetType)[keyof typeof MetricTargetType];

/** Enum values of `spec.fallback.behavior`. */
export const FALLBACK_BEHAVIORS = [
  'static',
  'currentReplicas',
  'currentReplicasIfHigher',
  'currentReplicasIfLower',
  'scalingModifiers',
] as const;

/** Enum values of `authenticationRef.kind`. */
export const AUTHENTICATION_REF_KINDS = ['TriggerAuthentication', 'ClusterTriggerAuthentication'] as const;

/** Enum values of ScaledJob `spec.scalingStrategy.strategy`. */
export const SCALING_STRATEGIES = ['default', 'custom', 'accurate', 'eager'] as const;
/** Enum values of ScaledJob `spec.scalingStrategy.multipleScalersCalculation`. */
export const MULTIPLE_SCALERS_CALCULATIONS = ['min', 'avg', 'sum', 'max'] as const;
/** Enum values of ScaledJob `spec.rollout.strategy` and the deprecated `spec.rolloutStrategy`. */
export const ROLLOUT_STRATEGIES = ['gradual', 'immediate'] as const;
/** Enum values of ScaledJob `spec.rollout.propagationPolicy`. */
export const PROPAGATION_POLICIES = ['foreground', 'background'] as const;

/** Enum values of TriggerAuthentication `podIdentity.provider`. */
export const POD_IDENTITY_PROVIDERS = ['azure-workload', 'gcp', 'aws', 'aws-eks', 'none'] as const;
/** Enum values of TriggerAuthentication `podIdentity.identityOwner`. */
export const IDENTITY_OWNERS = ['keda', 'workload'] as const;
/** Enum values of TriggerAuthentication `hashiCorpVault.authentication`. */
export const VAULT_AUTHENTICATIONS = ['token', 'kubernetes'] as const;
/** Enum values of TriggerAuthentication `hashiCorpVault.secrets[].type`. */
export const VAULT_SECRET_TYPES = ['', 'secretV2', 'secret', 'pki'] as const;
/** Enum values of TriggerAuthentication `oauth2.type`. */
export const OAUTH2_TYPES = ['clientCredentials'] as const;

/** API group of KEDA's CloudEvent sources (eventing.keda.sh). */
export const EVENTING_API_GROUP = 'eventing.keda.sh';
/** `apiVersion` of every eventing.keda.sh object. */
export const EVENTING_API_GROUP_VERSION = 'eventing.keda.sh/v1alpha1';

/** The two kinds of the eventing.keda.sh/v1alpha1 API. */
export const EventingKind = {
  CloudEventSource: 'CloudEventSource',
  ClusterCloudEventSource: 'ClusterCloudEventSource',
} as const;
export type EventingKind = (typeof EventingKind)[keyof typeof EventingKind];

export const EVENTING_KINDS: readonly EventingKind[] = [EventingKind.CloudEventSource, EventingKind.ClusterCloudEventSource];

/** Names (plural, singular, scope) of the eventing.keda.sh resources; KEDA gives them no short names. */
export const EVENTING_RESOURCES: Readonly<Record<EventingKind, Omit<KedaResourceInfo, 'kind'> & { kind: EventingKind }>> = {
  CloudEventSource: {
    kind: EventingKind.CloudEventSource,
    listKind: 'CloudEventSourceList',
    plural: 'cloudeventsources',
    singular: 'cloudeventsource',
    shortNames: [],
    scope: 'Namespaced',
    crdName: `cloudeventsources.${EVENTING_API_GROUP}`,
  },
  ClusterCloudEventSource: {
    kind: EventingKind.ClusterCloudEventSource,
    listKind: 'ClusterCloudEventSourceList',
    plural: 'clustercloudeventsources',
    singular: 'clustercloudeventsource',
    shortNames: [],
    scope: 'Cluster',
    crdName: `clustercloudeventsources.${EVENTING_API_GROUP}`,
  },
};

/** Every CloudEvent type KEDA emits (apis/eventing/v1alpha1/cloudevent_types.go), the values includedEventTypes/excludedEventTypes accept. */
export const CLOUD_EVENT_TYPES = [
  'keda.scaledobject.ready.v1',
  'keda.scaledobject.failed.v1',
  'keda.scaledobject.removed.v1',
  'keda.scaledobject.paused.v1',
  'keda.scaledobject.unpaused.v1',
  'keda.scaledjob.ready.v1',
  'keda.scaledjob.failed.v1',
  'keda.scaledjob.removed.v1',
  'keda.scaledjob.paused.v1',
  'keda.scaledjob.unpaused.v1',
  'keda.scaledjob.rolloutcleanup.started.v1',
  'keda.scaledjob.rolloutcleanup.completed.v1',
  'keda.scaledjob.rolloutcleanup.failed.v1',
  'keda.authentication.triggerauthentication.created.v1',
  'keda.authentication.triggerauthentication.updated.v1',
  'keda.authentication.triggerauthentication.removed.v1',
  'keda.authentication.clustertriggerauthentication.created.v1',
  'keda.authentication.clustertriggerauthentication.updated.v1',
  'keda.authentication.clustertriggerauthentication.removed.v1',
] as const;
export type CloudEventType = (typeof CLOUD_EVENT_TYPES)[number];

/** Condition reasons and messages of a CloudEventSource's Active condition (apis/eventing/v1alpha1/condition_types.go). */
export const CloudEventSourceCondition = {
  ActiveReason: 'CloudEventSourceActive',
  FailedReason: 'CloudEventSourceFailed',
  ActiveMessage: 'Is configured to send events to the configured destination',
  FailedMessage: 'Failed to send events to the configured destination',
} as const;
