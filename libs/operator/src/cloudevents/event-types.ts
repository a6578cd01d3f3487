/**
 * Which Kubernetes Events of the controller are also CloudEvents, and as what type: KEDA emits a
 * CloudEvent from the same EventEmitter.Emit call as these Events (scaledobject.md §2.16,
 * apis/eventing/v1alpha1/cloudevent_types.go); every other reason (scalers, scale loops) is not one.
 */
import { EventReason, type CloudEventType, type CloudEventSourceSpec } from '@keda-ts/api';

const BY_KIND: Readonly<Record<string, Readonly<Record<string, CloudEventType>>>> = {
  ScaledObject: {
    [EventReason.ScaledObjectReady]: 'keda.scaledobject.ready.v1',
    [EventReason.ScaledObjectCheckFailed]: 'keda.scaledobject.failed.v1',
    ScaledObjectUpdateFailed: 'keda.scaledobject.failed.v1',
    [EventReason.ScaledObjectPaused]: 'keda.scaledobject.paused.v1',
    [EventReason.ScaledObjectUnpaused]: 'keda.scaledobject.unpaused.v1',
    [EventReason.ScaledObjectDeleted]: 'keda.scaledobject.removed.v1',
  },
  ScaledJob: {
    [EventReason.ScaledJobReady]: 'keda.scaledjob.ready.v1',
    [EventReason.ScaledJobCheckFailed]: 'keda.scaledjob.failed.v1',
    ScaledJobUpdateFailed: 'keda.scaledjob.failed.v1',
    [EventReason.ScaledJobPaused]: 'keda.scaledjob.paused.v1',
    [EventReason.ScaledJobUnpaused]: 'keda.scaledjob.unpaused.v1',
    [EventReason.ScaledJobDeleted]: 'keda.scaledjob.removed.v1',
    [EventReason.ScaledJobRolloutCleanupStarted]: 'keda.scaledjob.rolloutcleanup.started.v1',
    [EventReason.ScaledJobRolloutCleanupCompleted]: 'keda.scaledjob.rolloutcleanup.completed.v1',
    [EventReason.ScaledJobRolloutCleanupFailed]: 'keda.scaledjob.rolloutcleanup.failed.v1',
  },
  // KEDA's reason for an updated TriggerAuthentication is the string ClusterTriggerAuthenticationUpdated,
  // so the kind of the object tells the two apart.
  TriggerAuthentication: {
    [EventReason.TriggerAuthenticationAdded]: 'keda.authentication.triggerauthentication.created.v1',
    [EventReason.TriggerAuthenticationUpdated]: 'keda.authentication.triggerauthentication.updated.v1',
    TriggerAuthenticationUpdated: 'keda.authentication.triggerauthentication.updated.v1',
    [EventReason.TriggerAuthenticationDeleted]: 'keda.authentication.triggerauthentication.removed.v1',
  },
  ClusterTriggerAuthentication: {
    [EventReason.ClusterTriggerAuthenticationAdded]: 'keda.authentication.clustertriggerauthentication.created.v1',
    [EventReason.ClusterTriggerAuthenticationUpdated]: 'keda.authentication.clustertriggerauthentication.updated.v1',
    [EventReason.ClusterTriggerAuthenticationDeleted]: 'keda.authentication.clustertriggerauthentication.removed.v1',
  },
};

/** The CloudEvent type of an Event with this reason about an object of this kind; undefined: not a CloudEvent. */
export function cloudEventTypeOf(kind: string | undefined, reason: string): CloudEventType | undefined {
  return kind ? BY_KIND[kind]?.[reason] : undefined;
}

/** KEDA's EventFilter: included types win when set, else excluded types, else everything. */
export function eventFilter(subscription: CloudEventSourceSpec['eventSubscription']): (type: string) => boolean {
  const included = new Set<string>(subscription?.includedEventTypes ?? []);
  const excluded = new Set<string>(subscription?.excludedEventTypes ?? []);
  if (included.size > 0) return (type) => included.has(type);
  if (excluded.size > 0) return (type) => !excluded.has(type);
  return () => true;
}

/** A CloudEvent v1.0 in structured JSON mode, as KEDA's handlers build it. */
export interface KedaCloudEvent {
  specversion: '1.0';
  id: string;
  source: string;
  subject: string;
  type: CloudEventType;
  time: string;
  datacontenttype: 'application/json';
  data: { reason: string; message: string };
}

export interface EventOccurrence {
  namespace: string;
  /** Lower-cased kind (KEDA: scaledobject, scaledjob, triggerauthentication, clustertriggerauthentication). */
  objectType: string;
  /** Lower-cased name, as KEDA. */
  objectName: string;
  type: CloudEventType;
  reason: string;
  message: string;
  time: Date;
}

/** source `/<cluster>/<namespace>/keda`, subject `/<cluster>/<namespace>/<kind>/<name>`. */
export function toCloudEvent(clusterName: string, e: EventOccurrence, id: string): KedaCloudEvent {
  return {
    specversion: '1.0',
    id,
    source: `/${clusterName}/${e.namespace}/keda`,
    subject: `/${clusterName}/${e.namespace}/${e.objectType}/${e.objectName}`,
    type: e.type,
    time: e.time.toISOString(),
    datacontenttype: 'application/json',
    data: { reason: e.reason, message: e.message },
  };
}
