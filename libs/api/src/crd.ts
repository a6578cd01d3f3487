import { API_GROUP, API_VERSION, EVENTING_API_GROUP, EVENTING_RESOURCES, KEDA_RESOURCES, type EventingKind, type KedaKind } from './constants';
import type { JSONSchemaProps } from './openapi';

/** An entry of `additionalPrinterColumns` (the columns of `kubectl get`). */
export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  priority?: number;
  description?: string;
}

/** The parts of an apiextensions.k8s.io/v1 CustomResourceDefinition that KEDA uses. */
export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec: {
    group: string;
    names: { kind: string; listKind: string; plural: string; singular: string; shortNames: string[] };
    scope: 'Namespaced' | 'Cluster';
    versions: {
      name: string;
      served: boolean;
      storage: boolean;
      additionalPrinterColumns: PrinterColumn[];
      schema: { openAPIV3Schema: JSONSchemaProps };
      subresources: { status: Record<string, never> };
    }[];
  };
}

const conditionColumn = (type: string): PrinterColumn => ({
  name: type,
  type: 'string',
  jsonPath: `.status.conditions[?(@.type=="${type}")].status`,
});
const triggersColumn: PrinterColumn = { name: 'Triggers', type: 'string', jsonPath: '.status.triggersTypes' };
const authenticationsColumn: PrinterColumn = {
  name: 'Authentications',
  type: 'string',
  jsonPath: '.status.authenticationsTypes',
};
const ageColumn: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

function triggerAuthenticationColumns(cluster: boolean): PrinterColumn[] {
  return [
    { name: 'PodIdentity', type: 'string', jsonPath: '.spec.podIdentity.provider' },
    { name: 'Secret', type: 'string', jsonPath: '.spec.secretTargetRef[*].name' },
    { name: 'Env', type: 'string', jsonPath: '.spec.env[*].name' },
    ...(cluster ? [{ name: 'FilePath', type: 'string' as const, jsonPath: '.spec.filePath' }] : []),
    { name: 'VaultAddress', type: 'string', jsonPath: '.spec.hashiCorpVault.address' },
    { name: 'ScaledObjects', type: 'string', jsonPath: '.status.scaledobjects', priority: 1 },
    { name: 'ScaledJobs', type: 'string', jsonPath: '.status.scaledjobs', priority: 1 },
  ];
}

/** Printer columns of each kind, in `kubectl get` order. */
export const PRINTER_COLUMNS: Readonly<Record<KedaKind, readonly PrinterColumn[]>> = {
  ScaledObject: [
    { name: 'ScaleTargetKind', type: 'string', jsonPath: '.status.scaleTargetKind' },
    { name: 'ScaleTargetName', type: 'string', jsonPath: '.spec.scaleTargetRef.name' },
    { name: 'Min', type: 'integer', jsonPath: '.spec.minReplicaCount' },
    { name: 'Max', type: 'integer', jsonPath: '.spec.maxReplicaCount' },
    conditionColumn('Ready'),
    conditionColumn('Active'),
    conditionColumn('Fallback'),
    conditionColumn('Paused'),
    triggersColumn,
    authenticationsColumn,
    ageColumn,
  ],
  ScaledJob: [
    { name: 'Min', type: 'integer', jsonPath: '.spec.minReplicaCount' },
    { name: 'Max', type: 'integer', jsonPath: '.spec.maxReplicaCount' },
    conditionColumn('Ready'),
    conditionColumn('Active'),
    conditionColumn('Paused'),
    triggersColumn,
    authenticationsColumn,
    ageColumn,
  ],
  TriggerAuthentication: triggerAuthenticationColumns(false),
  ClusterTriggerAuthentication: triggerAuthenticationColumns(true),
};

/** Printer columns of the eventing.keda.sh kinds (KEDA: Active only; Age is kubectl's default). */
export const EVENTING_PRINTER_COLUMNS: Readonly<Record<EventingKind, readonly PrinterColumn[]>> = {
  CloudEventSource: [conditionColumn('Active')],
  ClusterCloudEventSource: [conditionColumn('Active')],
};

const isEventingKind = (kind: string): kind is EventingKind => kind in EVENTING_RESOURCES;

/**
 * Builds the CustomResourceDefinition of a kind around its OpenAPI schema. The generator uses this to
 * write `charts/keda/crds/keda.sh_<plural>.yaml`; callers that install CRDs from code can use
 * `customResourceDefinitionFor()` from `./crds`, which binds the generated schemas.
 */
export function buildCustomResourceDefinition(
  kind: KedaKind | EventingKind,
  openAPIV3Schema: JSONSchemaProps,
): CustomResourceDefinition {
  const eventing = isEventingKind(kind);
  const info = eventing ? EVENTING_RESOURCES[kind] : KEDA_RESOURCES[kind];
  const columns = eventing ? EVENTING_PRINTER_COLUMNS[kind] : PRINTER_COLUMNS[kind];
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: info.crdName },
    spec: {
      group: eventing ? EVENTING_API_GROUP : API_GROUP,
      names: {
        kind: info.kind,
        listKind: info.listKind,
        plural: info.plural,
        singular: info.singular,
        shortNames: [...info.shortNames],
      },
      scope: info.scope,
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          additionalPrinterColumns: columns.map((c) => ({ ...c })),
          schema: { openAPIV3Schema },
          subresources: { status: {} },
        },
      ],
    },
  };
}

/** File name of a kind's CRD under charts/keda/crds. */
export function crdFileName(kind: KedaKind | EventingKind): string {
  if (isEventingKind(kind)) return `${EVENTING_API_GROUP}_${EVENTING_RESOURCES[kind].plural}.yaml`;
  return `${API_GROUP}_${KEDA_RESOURCES[kind].plural}.yaml`;
}
