/** Identifies one external metric of one ScaledObject (the request of `api.MetricsService/GetMetrics`). */
export interface MetricRef {
  name: string;
  namespace: string;
  /** The HPA-facing metric name, e.g. `s0-rabbitmq-orders`. */
  metricName: string;
}

/** One value of an external metric, as the HPA gets it. */
export interface ExternalMetricValue {
  metricName: string;
  metricLabels?: Record<string, string>;
  /** Sent with whole-second precision. */
  timestamp: Date;
  /** Sent as a milli-precision Kubernetes quantity (`1.5` → `"1500m"`). */
  value: number;
}

/** What the metrics server asks for each GetMetrics call (the controller's scale handler). */
export interface MetricsProvider {
  /**
   * Resolves the values of `ref.metricName` for the ScaledObject. Reject with a
   * {@link MetricsServiceError} (see the factories next to it) to choose the gRPC status; any other
   * error becomes UNKNOWN with its message. `signal` aborts when the caller cancels or its deadline
   * passes.
   */
  getMetrics(ref: MetricRef, signal?: AbortSignal): Promise<ExternalMetricValue[]>;
}
