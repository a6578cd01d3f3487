/**
 * The contracts between scalers and their users: the controller builds and polls scalers, the
 * webhook validates trigger metadata. Shapes follow KEDA (pkg/scalers/scaler.go) and the
 * autoscaling/v2 JSON of the HPA; nothing here depends on @kubernetes/client-node.
 */
export type { MetricIdentifier, MetricSpec, MetricTarget, MetricTargetTypeName } from '@keda-ts/api';
import type { MetricSpec, MetricTargetTypeName } from '@keda-ts/api';

/** Everything a scaler is built from: one trigger of a ScaledObject/ScaledJob, already resolved. */
export interface ScalerInput {
  /** 0-based position of the trigger in `spec.triggers` (metric names are `s<triggerIndex>-…`). */
  triggerIndex: number;
  /** The trigger `type`, e.g. `metrics-api`. */
  triggerType: string;
  /** The trigger `name` (used by scaling modifiers). */
  triggerName?: string;
  /** The trigger `metadata` map. */
  metadata: Record<string, string>;
  /** Env of the scale target's container; `<param>FromEnv: NAME` reads `resolvedEnv[NAME]`. */
  resolvedEnv: Record<string, string>;
  /** Parameters resolved from the TriggerAuthentication / ClusterTriggerAuthentication. */
  authParams: Record<string, string>;
  /** The trigger `metricType`; empty means AverageValue. */
  metricType?: MetricTargetTypeName;
  useCachedMetrics?: boolean;
  /**
   * True when the trigger only feeds a scaling-modifiers formula (KEDA `AsMetricSource`): then a
   * scaler's own target may be left unset.
   */
  asMetricSource?: boolean;
  scalableObject: { kind: 'ScaledObject' | 'ScaledJob'; namespace: string; name: string };
  /** Kind of the trigger's authenticationRef that `authParams` came from (undefined: none); provenance for input vetting. */
  authenticationKind?: 'TriggerAuthentication' | 'ClusterTriggerAuthentication';
}

/** One external metric value. `value` is already clamped (NaN, ±Inf, negative -> 0) and rounded to milli. */
export interface MetricValue {
  metricName: string;
  value: number;
  timestamp: Date;
}

export interface MetricsAndActivity {
  metrics: MetricValue[];
  isActive: boolean;
}

export interface Scaler {
  /** The trigger type this scaler serves. */
  readonly type: string;
  /** The HPA metric specs of this trigger (one per metric). */
  getMetricSpecForScaling(): MetricSpec[];
  /** Polls the event source for `metricName` (one of the names from getMetricSpecForScaling). */
  getMetricsAndActivity(metricName: string, options?: { signal?: AbortSignal }): Promise<MetricsAndActivity>;
  /** Releases connections. Idempotent. */
  close(): Promise<void>;
  /**
   * Optional asynchronous setup that whoever builds a scaler awaits before calling
   * getMetricSpecForScaling (external scalers fetch their metric specs over gRPC). A rejection is
   * a build failure.
   */
  prepare?(options?: { signal?: AbortSignal }): Promise<void>;
}

/**
 * A scaler whose event source also pushes activity (KEDA PushScaler: `external-push`). run()
 * keeps the stream open (reconnecting on its own) until close(); each `true` it reports should
 * start an immediate activation check of the scalable object, `false` may be ignored.
 */
export interface PushScaler extends Scaler {
  run(onActivity: (isActive: boolean) => void): void;
}

export function isPushScaler(scaler: Scaler): scaler is PushScaler {
  return typeof (scaler as Partial<PushScaler>).run === 'function';
}

/** One problem with a trigger's parameters. */
export interface ParameterProblem {
  /** The parameter concerned (its first name), when the problem is about one parameter. */
  parameter?: string;
  message: string;
}
