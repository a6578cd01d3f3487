import type { KedaKind } from '../src/constants';
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

export type { SourceSchema } from './source-schema';
