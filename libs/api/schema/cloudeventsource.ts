/**
 * eventing.keda.sh/v1alpha1 CloudEventSource (namespaced) and ClusterCloudEventSource (cluster):
 * where the operator sends KEDA's CloudEvents (apis/eventing/v1alpha1/cloudeventsource_types.go).
 */
import { authenticationRef, condition } from './common';
import { array, object, str, stringList, topLevel, type SourceSchema } from './source-schema';

const destination = object(
  'Where the events go. Exactly one destination is set.',
  {
    http: object(
      'An HTTP endpoint that receives each event as a structured-mode JSON CloudEvent (POST).',
      { uri: str('Absolute http(s) URI of the sink. Checked against the operator egress policy before every connection.') },
      { tsName: 'CloudEventHTTP', required: ['uri'] },
    ),
    azureEventGridTopic: object(
      'An Azure Event Grid topic, published to with the access key of the authenticationRef (parameter accessKey).',
      { endpoint: str('Topic endpoint, for example https://my-topic.eastus-1.eventgrid.azure.net/api/events.') },
      { tsName: 'AzureEventGridTopicSpec', required: ['endpoint'] },
    ),
  },
  { tsName: 'CloudEventDestination' },
);

const eventSubscription = object(
  'Filters of the emitted event types. includedEventTypes and excludedEventTypes cannot both be set.',
  {
    includedEventTypes: stringList('Only these event types are emitted.', { tsType: 'CloudEventType[]' }),
    excludedEventTypes: stringList('These event types are not emitted.', { tsType: 'CloudEventType[]' }),
  },
  { tsName: 'CloudEventSubscription' },
);

const spec = object(
  'Destination, credentials and event filters.',
  {
    clusterName: str(
      'Cluster name used in the source and subject of the events; defaults to the operator --k8s-cluster-name (kubernetes-default).',
    ),
    destination,
    authenticationRef,
    eventSubscription,
  },
  { tsName: 'CloudEventSourceSpec', required: ['destination'] },
);

const status = object(
  'Observed state, maintained by the operator.',
  { conditions: array('Condition Active: whether events reach the destination.', condition) },
  { tsName: 'CloudEventSourceStatus' },
);

export const cloudEventSourceSchema: SourceSchema = topLevel(
  'CloudEventSource',
  'CloudEventSource sends the KEDA events of the objects in its namespace to a CloudEvent sink.',
  spec,
  status,
);

export const clusterCloudEventSourceSchema: SourceSchema = topLevel(
  'ClusterCloudEventSource',
  'ClusterCloudEventSource sends the KEDA events of the objects in every namespace to a CloudEvent sink.',
  spec,
  status,
);
