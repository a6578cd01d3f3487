import { EVENTING_KINDS, KEDA_KINDS, type EventingKind, type KedaKind } from './constants';
import { buildCustomResourceDefinition, type CustomResourceDefinition } from './crd';
import { eventingOpenApiSchemas, openApiSchemas } from './generated/schemas';

/** The CustomResourceDefinition of a kind, identical to charts/keda/crds/keda.sh_<plural>.yaml. */
export function customResourceDefinitionFor(kind: KedaKind): CustomResourceDefinition {
  return buildCustomResourceDefinition(kind, structuredClone(openApiSchemas[kind]));
}

/** All four keda.sh CustomResourceDefinitions. */
export function customResourceDefinitions(): CustomResourceDefinition[] {
  return KEDA_KINDS.map(customResourceDefinitionFor);
}

/** The CustomResourceDefinition of an eventing.keda.sh kind, identical to charts/keda/crds/eventing.keda.sh_<plural>.yaml. */
export function eventingCustomResourceDefinitionFor(kind: EventingKind): CustomResourceDefinition {
  return buildCustomResourceDefinition(kind, structuredClone(eventingOpenApiSchemas[kind]));
}

/** The two eventing.keda.sh CustomResourceDefinitions (CloudEventSource, ClusterCloudEventSource). */
export function eventingCustomResourceDefinitions(): CustomResourceDefinition[] {
  return EVENTING_KINDS.map(eventingCustomResourceDefinitionFor);
}
