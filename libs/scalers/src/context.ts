/** What the process gives the scalers it builds (the runtime side; the SDK types are in @keda-ts/scaler-sdk). */
import type { EgressPolicy } from './net/egress-policy';

/** A pino-compatible logger (`logger.info({ fields }, 'message')`). */
export interface ScalerLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Read access to the cluster that some scalers need. Implemented in libs/k8s. */
export interface KubernetesReader {
  /**
   * Number of pods in `namespace` (empty string = all namespaces) matching `labelSelector`, not
   * counting pods in phase Succeeded or Failed (KEDA's kubernetes-workload semantics).
   */
  countPods(namespace: string, labelSelector: string, options?: { signal?: AbortSignal }): Promise<number>;
}

/**
 * Where one trigger's scaler reports its upstream traffic (the controller's Prometheus metrics).
 * The process binds it to the trigger and its ScaledObject or ScaledJob; methods never throw.
 */
export interface ScalerTelemetry {
  /** One outbound HTTP request got its response status, or `'error'` when none came (refused, reset, timed out). */
  httpRequest(statusCode: number | 'error', durationSeconds: number): void;
  /** The upstream answered without any result (e.g. a Prometheus query that matched no series). */
  emptyUpstreamResponse(ignoreNullValues: boolean): void;
}

/** What the process gives every scaler it builds. */
export interface ScalerContext {
  /** Default HTTP timeout (KEDA_HTTP_DEFAULT_TIMEOUT, 3000 ms in KEDA). */
  httpTimeoutMs: number;
  /** The clock (injectable for tests). */
  now(): Date;
  kubernetes: KubernetesReader;
  logger?: ScalerLogger;
  /**
   * The egress policy every connection of the scaler goes through (controller flags
   * --scaler-egress-*). Absent: `defaultEgressPolicy` (link-local and metadata refused).
   */
  egress?: EgressPolicy;
  /** The operator's --filepath-auth-root-path (undefined: file paths are refused). */
  filePathRoot?: string;
  /** Upstream request reporting for this trigger; absent: nothing is reported. */
  telemetry?: ScalerTelemetry;
}
