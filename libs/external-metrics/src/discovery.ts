import { createHash } from 'node:crypto';

export const GROUP = 'external.metrics.k8s.io';
export const VERSION = 'v1beta1';
export const GROUP_VERSION = `${GROUP}/${VERSION}`;

const groupVersionForDiscovery = { groupVersion: GROUP_VERSION, version: VERSION };

/** `GET /apis/external.metrics.k8s.io`. */
export function apiGroup() {
  return {
    kind: 'APIGroup',
    apiVersion: 'v1',
    name: GROUP,
    versions: [groupVersionForDiscovery],
    preferredVersion: groupVersionForDiscovery,
  };
}

/** `GET /apis`: the one group this server serves. */
export function apiGroupList() {
  const { kind: _kind, apiVersion: _apiVersion, ...group } = apiGroup();
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [group] };
}

/**
 * `GET /apis/external.metrics.k8s.io/v1beta1` (M-1): custom-metrics-apiserver's placeholder
 * resource `externalmetrics`, namespaced, verb get, kind ExternalMetricValueList. This is also
 * the path the aggregator polls to decide whether the APIService is Available.
 */
export function apiResourceList() {
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: GROUP_VERSION,
    resources: [
      {
        name: 'externalmetrics',
        singularName: '',
        namespaced: true,
        kind: 'ExternalMetricValueList',
        verbs: ['get'],
      },
    ],
  };
}

const METRIC_PATH = `/apis/${GROUP_VERSION}/namespaces/{namespace}/{metricName}`;
const LIST_DEF = 'io.k8s.metrics.pkg.apis.external_metrics.v1beta1.ExternalMetricValueList';
const VALUE_DEF = 'io.k8s.metrics.pkg.apis.external_metrics.v1beta1.ExternalMetricValue';

function schemas(ref: (name: string) => string) {
  return {
    [LIST_DEF]: {
      description: 'ExternalMetricValueList is a list of values for a given metric for some set labels',
      type: 'object',
      required: ['items'],
      properties: {
        apiVersion: { type: 'string' },
        kind: { type: 'string' },
        metadata: { type: 'object' },
        items: { type: 'array', items: { $ref: ref(VALUE_DEF) } },
      },
      'x-kubernetes-group-version-kind': [{ group: GROUP, version: VERSION, kind: 'ExternalMetricValueList' }],
    },
    [VALUE_DEF]: {
      description: 'ExternalMetricValue is a metric value for external metric',
      type: 'object',
      required: ['metricName', 'metricLabels', 'timestamp', 'value'],
      properties: {
        metricName: { type: 'string' },
        metricLabels: { type: 'object', additionalProperties: { type: 'string' } },
        timestamp: { type: 'string', format: 'date-time' },
        window: { type: 'integer', format: 'int64' },
        value: { type: 'string', description: 'a Kubernetes quantity' },
      },
    },
  };
}

const parameters = [
  { name: 'namespace', in: 'path', required: true, description: 'object name and auth scope', type: 'string' },
  { name: 'metricName', in: 'path', required: true, description: 'the name of the external metric', type: 'string' },
  { name: 'labelSelector', in: 'query', description: 'e.g. scaledobject.keda.sh/name=<name>', type: 'string' },
];

/** `GET /openapi/v2`: a small, valid Swagger 2.0 document the aggregator merges. */
export function openApiV2() {
  return {
    swagger: '2.0',
    info: { title: 'keda-ts metrics adapter', version: VERSION },
    paths: {
      [METRIC_PATH]: {
        get: {
          description: 'read the values of an external metric of a ScaledObject',
          consumes: ['*/*'],
          produces: ['application/json'],
          schemes: ['https'],
          tags: ['external_metrics_v1beta1'],
          operationId: 'readNamespacedExternalMetricValueList',
          parameters,
          responses: { '200': { description: 'OK', schema: { $ref: `#/definitions/${LIST_DEF}` } } },
        },
      },
    },
    definitions: schemas((n) => `#/definitions/${n}`),
  };
}

/** `GET /openapi/v3/apis/external.metrics.k8s.io/v1beta1`: the OpenAPI 3 document of the group version. */
export function openApiV3GroupVersion() {
  return {
    openapi: '3.0.0',
    info: { title: 'keda-ts metrics adapter', version: VERSION },
    paths: {
      [METRIC_PATH]: {
        get: {
          description: 'read the values of an external metric of a ScaledObject',
          tags: ['external_metrics_v1beta1'],
          operationId: 'readNamespacedExternalMetricValueList',
          parameters: parameters.map(({ type, ...p }) => ({ ...p, schema: { type } })),
          responses: {
            '200': {
              description: 'OK',
              content: { 'application/json': { schema: { $ref: `#/components/schemas/${LIST_DEF}` } } },
            },
          },
        },
      },
    },
    components: { schemas: schemas((n) => `#/components/schemas/${n}`) },
  };
}

const V3_GROUP_PATH = `apis/${GROUP_VERSION}`;
const v3Hash = createHash('sha512').update(JSON.stringify(openApiV3GroupVersion())).digest('hex').toUpperCase();

/** The hash that makes `serverRelativeURL` change when the document does. */
export const OPENAPI_V3_HASH = v3Hash;

/** `GET /openapi/v3`: the index of OpenAPI 3 documents (one per group version). */
export function openApiV3Index() {
  return { paths: { [V3_GROUP_PATH]: { serverRelativeURL: `/openapi/v3/${V3_GROUP_PATH}?hash=${v3Hash}` } } };
}
