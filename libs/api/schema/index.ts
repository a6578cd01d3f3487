import type { EventingKind, KedaKind } from '../src/constants';
import { cloudEventSourceSchema, clusterCloudEventSourceSchema } from './cloudeventsource';
import { scaledJobSchema } from './scaledjob';
import { scaledObjectSchema } from './scaledobject';
import type { SourceSchema } from './source-schema';
import { clusterTriggerAuthenticationSchema, triggerAuthenticationSchema } from './triggerauthentication';

/** The source of truth: one structural schema per kind. */
export const sourceSchemas: Readonly<Record<KedaKind, SourceSchema>> = {
  ScaledObject: scaledObjectSchema,
  ScaledJob: scaledJobSchema,
  TriggerAuthentication: triggerAuthenticationSchema,
  ClusterTriggerAuthentication: clusterTriggerAuthenticationSchema,
};

/** The eventing.keda.sh kinds. */
export const eventingSourceSchemas: Readonly<Record<EventingKind, SourceSchema>> = {
  CloudEventSource: cloudEventSourceSchema,
  ClusterCloudEventSource: clusterCloudEventSourceSchema,
};

export type { SourceSchema } from './source-schema';
