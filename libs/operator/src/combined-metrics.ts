/**
 * Several metric recorders as one: the controller hands the result to the Operator and the CloudEvent
 * emitter, so Prometheus and OpenTelemetry (or either alone) see the same calls.
 */
import type { ScaledObject } from '@keda-ts/api';
import type { CloudEventMetrics } from './cloudevents';
import type { MetricReading } from './metric-evaluation';
import type { OperatorMetricsRecorder, RegisteredResource, ScalableType, ScalerSource } from './prometheus';

/** A recorder that may also take the CloudEvent emitter's calls. */
export type MetricsRecorder = OperatorMetricsRecorder & Partial<Omit<CloudEventMetrics, 'resourceRegistered'>>;

/**
 * One recorder that forwards every call to each of `recorders` in order (undefined ones are skipped);
 * undefined when none is left, i.e. metrics are off. A recorder that throws does not keep the call
 * from the others (recorders are not supposed to throw; this keeps one bad exporter contained).
 */
export function combinedMetrics(...recorders: (MetricsRecorder | undefined)[]): (OperatorMetricsRecorder & CloudEventMetrics) | undefined {
  const all = recorders.filter((r): r is MetricsRecorder => r !== undefined);
  if (all.length === 0) return undefined;
  const each = (call: (r: MetricsRecorder) => void) => {
    for (const r of all) {
      try {
        call(r);
      } catch {
        // contained: metrics never break the caller
      }
    }
  };
  return {
    scalerReadings: (type: ScalableType, namespace: string, name: string, readings: readonly MetricReading[]) =>
      each((r) => r.scalerReadings(type, namespace, name, readings)),
    scalableError: (type: ScalableType, namespace: string, name: string) => each((r) => r.scalableError(type, namespace, name)),
    scaleLoopLag: (type: ScalableType, namespace: string, name: string, lagMs: number) => each((r) => r.scaleLoopLag(type, namespace, name, lagMs)),
    scaledObjectChanged: (old: ScaledObject | undefined, obj: ScaledObject | undefined) => each((r) => r.scaledObjectChanged(old, obj)),
    resourceRegistered: (resource: RegisteredResource, namespace: string, delta: 1 | -1, triggerTypes?: readonly string[]) =>
      each((r) => r.resourceRegistered(resource, namespace, delta, triggerTypes)),
    forget: (type: ScalableType, namespace: string, name: string) => each((r) => r.forget(type, namespace, name)),
    eventDropped: (reason: string) => each((r) => r.eventDropped(reason)),
    watchScalerReads: (source) => each((r) => r.watchScalerReads(source)),
    scalerHttpRequest: (source: ScalerSource, statusCode: number | 'error', durationSeconds: number) =>
      each((r) => r.scalerHttpRequest?.(source, statusCode, durationSeconds)),
    emptyUpstreamResponse: (source: ScalerSource, ignoreNullValues: boolean) => each((r) => r.emptyUpstreamResponse?.(source, ignoreNullValues)),
    cloudEventEmitted: (namespace: string, cloudEventSource: string, eventSink: string, state: 'emitted' | 'failed') =>
      each((r) => r.cloudEventEmitted?.(namespace, cloudEventSource, eventSink, state)),
    cloudEventQueued: (namespace: string, queued: number) => each((r) => r.cloudEventQueued?.(namespace, queued)),
  };
}
