import { KEDA_KINDS, type KedaKind } from './constants';
import { buildCustomResourceDefinition, type CustomResourceDefinition } from './crd';
import { openApiSchemas } from './generated/schemas';

/** The CustomResourceDefinition of a kind, identical to charts/keda/crds/keda.sh_<plural>.yaml. */
export function customResourceDefinitionFor(kind: KedaKind): CustomResourceDefinition {
  return buildCustomResourceDefinition(kind, structuredClone(openApiSchemas[kind]));
}

/** All four keda.sh CustomResourceDefinitions. */
export function customResourceDefinitions(): CustomResourceDefinition[] {
  return KEDA_KINDS.map(customResourceDefinitionFor);
}
