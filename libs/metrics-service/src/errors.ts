import { status } from '@grpc/grpc-js';

/** An error that carries the gRPC status code the metrics service answers with. */
export class MetricsServiceError extends Error {
  override readonly name = 'MetricsServiceError';
  constructor(
    readonly code: status,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The status name, e.g. `NOT_FOUND`. */
  get codeName(): string {
    return status[this.code] ?? String(this.code);
  }
}

/** A call on a client that was closed (UNAVAILABLE). */
export function clientClosedError(): MetricsServiceError {
  return new MetricsServiceError(status.UNAVAILABLE, 'the metrics client is closed');
}

/** A call its caller cancelled (CANCELLED). */
export function callCancelledError(): MetricsServiceError {
  return new MetricsServiceError(status.CANCELLED, 'the call was cancelled');
}

/** The ScaledObject does not exist (NOT_FOUND), worded as the Kubernetes API words it. */
export function scaledObjectNotFoundError(name: string): MetricsServiceError {
  return new MetricsServiceError(status.NOT_FOUND, `scaledobjects.keda.sh "${name}" not found`);
}

/** KEDA's error when a scaler failed and no fallback applies (M-9). */
export function metricEncounteredError(metricName: string, cause?: unknown): MetricsServiceError {
  return new MetricsServiceError(status.UNKNOWN, `metric:${metricName} encountered error`, { cause });
}

/** KEDA's error when no trigger produced the requested metric (M-10). */
export function noMatchingMetricsError(metricName: string): MetricsServiceError {
  return new MetricsServiceError(status.NOT_FOUND, `no matching metrics found for ${metricName}`);
}

/** KEDA's adapter error when the gRPC connection did not become ready in time (M-4). */
export const CONNECTION_TIMEOUT_MESSAGE =
  'timeout while waiting to establish gRPC connection to KEDA Metrics Service server';
