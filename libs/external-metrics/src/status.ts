import { MetricsServiceError } from '@keda-ts/metrics-service';

/** A `meta.k8s.io/v1` Status, the body of every error the API server answers with. */
export interface KubeStatus {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: { name?: string; group?: string; kind?: string };
  code: number;
}

/** HTTP status → the StatusReason Kubernetes uses for it. */
const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  406: 'NotAcceptable',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

/** An error that is answered as a Status with `code`. */
export class StatusError extends Error {
  override readonly name = 'StatusError';
  constructor(
    readonly code: number,
    message: string,
    readonly details?: KubeStatus['details'],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  toStatus(): KubeStatus {
    return statusOf(this.code, this.message, this.details);
  }
}

export function statusOf(code: number, message: string, details?: KubeStatus['details']): KubeStatus {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: REASONS[code] ?? (code >= 500 ? 'InternalError' : 'BadRequest'),
    ...(details ? { details } : {}),
    code,
  };
}

/** gRPC status codes used below (numeric, as @grpc/grpc-js `status`). */
const GRPC = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/**
 * Maps a failed `GetMetrics` call to the Status the HPA (or a user) sees:
 * NOT_FOUND → 404 (unknown ScaledObject or metric), UNAVAILABLE/DEADLINE_EXCEEDED → 503 naming the
 * controller, INVALID_ARGUMENT → 400, anything else (a scaler error, M-9) → 500.
 */
export function statusFromMetricsError(err: unknown, metricName: string, controllerAddress: string): StatusError {
  if (err instanceof StatusError) return err;
  const details = { name: metricName, group: 'external.metrics.k8s.io', kind: 'externalmetrics' };
  if (!(err instanceof MetricsServiceError)) {
    const message = err instanceof Error ? err.message : String(err);
    return new StatusError(500, `unable to fetch metrics from the KEDA metrics service: ${message}`, details, { cause: err });
  }
  switch (err.code) {
    case GRPC.NOT_FOUND:
      return new StatusError(404, err.message, details, { cause: err });
    case GRPC.INVALID_ARGUMENT:
      return new StatusError(400, err.message, details, { cause: err });
    case GRPC.UNAVAILABLE:
    case GRPC.DEADLINE_EXCEEDED:
    case GRPC.CANCELLED:
      return new StatusError(
        503,
        `the KEDA metrics service at ${controllerAddress} is unavailable (${err.codeName}): ${err.message}`,
        details,
        { cause: err },
      );
    case GRPC.RESOURCE_EXHAUSTED:
      return new StatusError(429, err.message, details, { cause: err });
    default:
      return new StatusError(500, `unable to fetch metrics from the KEDA metrics service: ${err.message}`, details, {
        cause: err,
      });
  }
}
