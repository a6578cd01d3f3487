export { CloudEventEmitter, DEFAULT_CLUSTER_NAME, type CloudEventEmitterOptions, type CloudEventMetrics } from './emitter';
export { cloudEventTypeOf, eventFilter, toCloudEvent, type KedaCloudEvent } from './event-types';
export { DEFAULT_DELIVERY, parseSinkUrl, Sink, type DeliveryOptions } from './sink';
