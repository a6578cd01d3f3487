/**
 * The autoscaling/v2 HorizontalPodAutoscaler as plain JSON shapes (the field names of the Kubernetes
 * API), declared once for every lib: the scalers' metric specs, the desired HPA of libs/scaling, the
 * controller's writes. No Kubernetes client needed; the shapes are structurally compatible with
 * `V2HorizontalPodAutoscaler` of @kubernetes/client-node.
 */
import type { HorizontalPodAutoscalerBehavior, LabelSelector } from './generated/types';
import type { ObjectMeta } from './object-meta';

/** A Kubernetes quantity as it appears in JSON: normally a string such as `1500m`, sometimes a number. */
export type QuantityValue = string | number;

export type MetricTargetTypeName = 'Utilization' | 'Value' | 'AverageValue';

export interface MetricTarget {
  type: MetricTargetTypeName;
  value?: QuantityValue;
  averageValue?: QuantityValue;
  averageUtilization?: number;
}

export interface MetricIdentifier {
  name: string;
  selector?: LabelSelector;
}

export interface ExternalMetricSource {
  metric: MetricIdentifier;
  target: MetricTarget;
}

export interface ResourceMetricSource {
  /** `cpu` or `memory`. */
  name: string;
  target: MetricTarget;
}

export interface ContainerResourceMetricSource {
  name: string;
  container: string;
  target: MetricTarget;
}

export interface PodsMetricSource {
  metric: MetricIdentifier;
  target: MetricTarget;
}

export interface CrossVersionObjectReference {
  apiVersion?: string;
  kind: string;
  name: string;
}

export interface ObjectMetricSource {
  describedObject: CrossVersionObjectReference;
  metric: MetricIdentifier;
  target: MetricTarget;
}

/** The `type` strings of autoscaling/v2 MetricSpec. KEDA's scalers produce External, Resource and ContainerResource. */
export type MetricSourceType = 'External' | 'Resource' | 'ContainerResource' | 'Pods' | 'Object';

export interface MetricSpec {
  type: MetricSourceType;
  external?: ExternalMetricSource;
  resource?: ResourceMetricSource;
  containerResource?: ContainerResourceMetricSource;
  pods?: PodsMetricSource;
  object?: ObjectMetricSource;
}

export interface HorizontalPodAutoscalerSpec {
  scaleTargetRef: CrossVersionObjectReference;
  minReplicas?: number;
  maxReplicas: number;
  metrics?: MetricSpec[];
  behavior?: HorizontalPodAutoscalerBehavior;
}

export interface HorizontalPodAutoscalerCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string | Date;
}

export interface HorizontalPodAutoscalerStatus {
  currentReplicas?: number;
  desiredReplicas?: number;
  conditions?: HorizontalPodAutoscalerCondition[];
  [field: string]: unknown;
}

export interface HorizontalPodAutoscaler {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: HorizontalPodAutoscalerSpec;
  status?: HorizontalPodAutoscalerStatus;
}

export const HPA_API_VERSION = 'autoscaling/v2';
export const HPA_KIND = 'HorizontalPodAutoscaler';
