/**
 * The HPA that a ScaledObject owns (§2.4, C-28..C-42): the desired object, the status fields that
 * building it yields, and the decision whether an existing HPA must be updated.
 */
import {
  API_GROUP_VERSION,
  Annotations,
  COMPOSITE_METRIC_NAME,
  KedaKind,
  Labels,
  MANAGED_BY_KEDA_OPERATOR,
  MetricTargetType,
  effectiveScalingModifiersMetricType,
  hpaMaxReplicas,
  hpaMinReplicas,
  hpaNameFor,
  int64MilliQuantity,
  isUsingModifiers,
  parseExcludedLabels,
  parseGoFloat,
  parseQuantity,
  type HealthStatus,
  type HorizontalPodAutoscalerBehavior,
  type HPAScalingRules,
  type ScaledObject,
} from '@keda-ts/api';
import { HPA_API_VERSION, HPA_KIND, type HorizontalPodAutoscaler, type MetricSpec } from '@keda-ts/api';

/** Kubernetes label values are at most 63 characters. */
const MAX_LABEL_VALUE_LENGTH = 63;

/**
 * Value of the HPA's `app.kubernetes.io/name` label (C-31): the HPA name, and when it is longer than
 * 63 characters, its first 63 with trailing characters that are neither letters nor digits removed
 * (a label value must end with an alphanumeric character).
 */
export function hpaNameLabelValue(hpaName: string): string {
  if (hpaName.length <= MAX_LABEL_VALUE_LENGTH) return hpaName;
  return hpaName.slice(0, MAX_LABEL_VALUE_LENGTH).replace(/[^\p{L}\p{N}]+$/u, '');
}

export interface TargetGvk {
  group: string;
  version: string;
  kind: string;
}

export interface DesiredHpaInput {
  /** The ScaledObject; `metadata.name`, `metadata.namespace` and `metadata.uid` are required. */
  so: ScaledObject;
  /** The resolved scale target (status.scaleTargetGVKR). */
  targetGvk: TargetGvk;
  /** The autoscaling/v2 MetricSpecs of every trigger, in trigger order (External, Resource, ContainerResource). */
  metricSpecs: readonly MetricSpec[];
  /** Value of the `app.kubernetes.io/version` label. */
  kedaVersion: string;
  /** `autoscaling.keda.sh/paused-scale-in` is truthy. */
  pausedScaleIn: boolean;
  /** `autoscaling.keda.sh/paused-scale-out` is truthy. */
  pausedScaleOut: boolean;
}

/** The status fields that building the HPA determines (C-40, C-39). */
export interface HpaStatusFields {
  /** Names of the External metrics, in trigger order. */
  externalMetricNames: string[];
  /** Names of the Resource metrics (`cpu`, `memory`); ContainerResource metrics are not listed. */
  resourceMetricNames: string[];
  /** `composite-metric` when scaling modifiers with a target > 0 are used, else undefined (cleared). */
  compositeScalerName?: string;
  /** `status.health` with the entries of metric names that no longer exist removed. */
  health: Record<string, HealthStatus>;
}

export type DesiredHpaResult =
  | { ok: true; hpa: HorizontalPodAutoscaler; status: HpaStatusFields }
  | { ok: false; error: string };

/** autoscaling/v2 `selectPolicy` value that switches a scaling direction off. */
export const DISABLED_POLICY_SELECT = 'Disabled';

/**
 * `advanced.horizontalPodAutoscalerConfig.behavior` (a copy), with `selectPolicy: Disabled` on
 * scaleDown while scale-in is paused and on scaleUp while scale-out is paused (C-35).
 */
export function desiredHpaBehavior(
  so: ScaledObject,
  pausedScaleIn: boolean,
  pausedScaleOut: boolean,
): HorizontalPodAutoscalerBehavior | undefined {
  const configured = so.spec.advanced?.horizontalPodAutoscalerConfig?.behavior;
  let behavior = configured ? structuredClone(configured) : undefined;
  if (pausedScaleIn) {
    behavior ??= {};
    behavior.scaleDown = { ...behavior.scaleDown, selectPolicy: DISABLED_POLICY_SELECT };
  }
  if (pausedScaleOut) {
    behavior ??= {};
    behavior.scaleUp = { ...behavior.scaleUp, selectPolicy: DISABLED_POLICY_SELECT };
  }
  return behavior;
}

/** HPA labels (C-31): KEDA's four, then every ScaledObject label not listed in hpa-excluded-labels. */
export function desiredHpaLabels(
  so: ScaledObject,
  hpaName: string,
  kedaVersion: string,
): Record<string, string> {
  const labels: Record<string, string> = {
    [Labels.AppName]: hpaNameLabelValue(hpaName),
    [Labels.AppVersion]: kedaVersion,
    [Labels.AppPartOf]: so.metadata?.name ?? '',
    [Labels.AppManagedBy]: MANAGED_BY_KEDA_OPERATOR,
  };
  const excluded = new Set(parseExcludedLabels(so.metadata?.annotations?.[Annotations.HpaExcludedLabels]));
  for (const [key, value] of Object.entries(so.metadata?.labels ?? {})) {
    if (!excluded.has(key)) labels[key] = value;
  }
  return labels;
}

/**
 * The metrics of the HPA and the status fields they determine (C-36..C-40): External specs get the
 * `scaledobject.keda.sh/name` selector, the list is sorted by `type`, and with scaling modifiers
 * whose target is > 0 every External (and ContainerResource) spec is replaced by `composite-metric`.
 */
export function desiredHpaMetrics(
  so: ScaledObject,
  metricSpecs: readonly MetricSpec[],
): { ok: true; metrics: MetricSpec[]; status: HpaStatusFields } | { ok: false; error: string } {
  const name = so.metadata?.name ?? '';
  if (metricSpecs.length === 0) {
    return {
      ok: false,
      error: `no metric specs returned from scalers for ScaledObject ${so.metadata?.namespace ?? ''}/${name}`,
    };
  }
  const selector = { matchLabels: { [Labels.ScaledObjectName]: name } };
  const externalMetricNames: string[] = [];
  const resourceMetricNames: string[] = [];
  const metrics: MetricSpec[] = [];
  for (const original of metricSpecs) {
    // Copies: the scalers' specs are cached by the caller and must not change.
    const spec = structuredClone(original);
    if (spec.resource) resourceMetricNames.push(spec.resource.name);
    if (spec.external) {
      const metricName = spec.external.metric.name;
      if (externalMetricNames.includes(metricName)) {
        return {
          ok: false,
          error: `metricName ${metricName} defined multiple times in ScaledObject ${name}`,
        };
      }
      spec.external.metric.selector = structuredClone(selector);
      externalMetricNames.push(metricName);
    }
    metrics.push(spec);
  }
  // Sorted so that every reconcile compares the same order (kedacore/keda#1531). Go's sort.Slice is
  // an insertion sort (hence stable) for fewer than 13 items; Array.prototype.sort is always stable.
  metrics.sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));

  const previousHealth = so.status?.health ?? {};
  const health: Record<string, HealthStatus> = {};
  for (const metricName of externalMetricNames) {
    const entry = previousHealth[metricName];
    if (entry) health[metricName] = entry;
  }
  const status: HpaStatusFields = { externalMetricNames, resourceMetricNames, health };

  if (!isUsingModifiers(so)) return { ok: true, metrics, status };
  const metricType = effectiveScalingModifiersMetricType(so);
  if (metricType === MetricTargetType.Utilization) {
    return {
      ok: false,
      error:
        'error metric target type is Utilization, but it needs to be AverageValue or Value for external metrics',
    };
  }
  const target = parseGoFloat(so.spec.advanced?.scalingModifiers?.target ?? '') ?? 0;
  if (!(target > 0)) return { ok: true, metrics, status };
  const quantity = int64MilliQuantity(target);
  const composite: MetricSpec = {
    type: 'External',
    external: {
      metric: { name: COMPOSITE_METRIC_NAME, selector: structuredClone(selector) },
      target:
        metricType === MetricTargetType.Value
          ? { type: 'Value', value: quantity }
          : { type: 'AverageValue', averageValue: quantity },
    },
  };
  return {
    ok: true,
    metrics: [...metrics.filter((m) => m.resource !== undefined), composite],
    status: { ...status, compositeScalerName: COMPOSITE_METRIC_NAME },
  };
}

/** The desired autoscaling/v2 HPA of a ScaledObject (C-28..C-42), or the error that prevents it. */
export function desiredHpa(input: DesiredHpaInput): DesiredHpaResult {
  const { so, targetGvk } = input;
  const uid = so.metadata?.uid;
  if (!uid) {
    return {
      ok: false,
      error: "metadata.uid of the ScaledObject is required: it goes into the HPA's ownerReference",
    };
  }
  const built = desiredHpaMetrics(so, input.metricSpecs);
  if (!built.ok) return built;
  const hpaName = hpaNameFor(so);
  const hpa: HorizontalPodAutoscaler = {
    apiVersion: HPA_API_VERSION,
    kind: HPA_KIND,
    metadata: {
      name: hpaName,
      namespace: so.metadata?.namespace ?? '',
      labels: desiredHpaLabels(so, hpaName, input.kedaVersion),
      ownerReferences: [
        {
          apiVersion: API_GROUP_VERSION,
          kind: KedaKind.ScaledObject,
          name: so.metadata?.name ?? '',
          uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      scaleTargetRef: {
        name: so.spec.scaleTargetRef.name,
        kind: targetGvk.kind,
        // GroupVersion.String(): the core group is written as the version alone.
        apiVersion: targetGvk.group ? `${targetGvk.group}/${targetGvk.version}` : targetGvk.version,
      },
      minReplicas: hpaMinReplicas(so),
      maxReplicas: hpaMaxReplicas(so),
      metrics: built.metrics,
    },
  };
  const annotations = so.metadata?.annotations;
  if (annotations) hpa.metadata.annotations = { ...annotations };
  const behavior = desiredHpaBehavior(so, input.pausedScaleIn, input.pausedScaleOut);
  if (behavior) hpa.spec.behavior = behavior;
  return { ok: true, hpa, status: built.status };
}

// ---------------------------------------------------------------------------------------------
// Update decision (C-41)
// ---------------------------------------------------------------------------------------------

/** Fields that hold quantities: compared by value, because the API server may rewrite `0.5` as `500m`. */
const QUANTITY_FIELDS = new Set(['value', 'averageValue', 'tolerance']);

function sameQuantity(a: unknown, b: unknown): boolean {
  try {
    return parseQuantity(a as string | number) === parseQuantity(b as string | number);
  } catch {
    return a === b;
  }
}

/**
 * Kubernetes' `equality.Semantic.DeepDerivative(desired, existing)` on JSON values: whatever is unset
 * in `desired` (undefined, null, "", empty arrays and maps) is ignored; arrays match element-wise on
 * the length of `desired`; quantities are compared by value.
 */
export function isDeepDerivative(desired: unknown, existing: unknown, key?: string): boolean {
  if (desired === undefined || desired === null || desired === '') return true;
  if (key !== undefined && QUANTITY_FIELDS.has(key)) return sameQuantity(desired, existing);
  if (Array.isArray(desired)) {
    if (desired.length === 0) return true;
    if (!Array.isArray(existing) || desired.length > existing.length) return false;
    return desired.every((item, i) => isDeepDerivative(item, existing[i]));
  }
  if (typeof desired === 'object') {
    if (desired instanceof Date) {
      return existing instanceof Date || typeof existing === 'string'
        ? new Date(existing).getTime() === desired.getTime()
        : false;
    }
    if (typeof existing !== 'object' || existing === null || Array.isArray(existing)) {
      return Object.keys(desired).length === 0;
    }
    return Object.entries(desired).every(([k, v]) =>
      isDeepDerivative(v, (existing as Record<string, unknown>)[k], k),
    );
  }
  return desired === existing;
}

/** Deep equality of JSON values, with quantities compared by value and undefined fields ignored. */
function isDeepEqual(a: unknown, b: unknown, key?: string): boolean {
  if (key !== undefined && QUANTITY_FIELDS.has(key) && a !== undefined && b !== undefined) {
    return sameQuantity(a, b);
  }
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => isDeepEqual(item, b[i]));
  }
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ra), ...Object.keys(rb)]);
  return [...keys].every((k) => isDeepEqual(ra[k], rb[k], k));
}

/** The API server's defaults for a scaling direction that is set (autoscaling/v2 SetDefaults). */
const DEFAULT_SCALE_UP: Required<Omit<HPAScalingRules, 'tolerance'>> = {
  stabilizationWindowSeconds: 0,
  selectPolicy: 'Max',
  policies: [
    { type: 'Pods', value: 4, periodSeconds: 15 },
    { type: 'Percent', value: 100, periodSeconds: 15 },
  ],
};
const DEFAULT_SCALE_DOWN: Omit<HPAScalingRules, 'tolerance' | 'stabilizationWindowSeconds'> = {
  selectPolicy: 'Max',
  policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
};

function withDefaults(rules: HPAScalingRules | undefined, defaults: HPAScalingRules): HPAScalingRules {
  const result: HPAScalingRules = structuredClone(defaults);
  if (!rules) return result;
  for (const [k, v] of Object.entries(rules)) {
    if (v !== undefined && v !== null) (result as Record<string, unknown>)[k] = v;
  }
  return result;
}

/**
 * `behavior` as the API server stores it: when a behavior is set, a missing scaleUp or scaleDown
 * and their missing fields are filled with the defaults. Comparing normalised behaviors avoids an
 * update on every reconcile just because the stored HPA carries the defaults.
 */
export function normalizeHpaBehavior(
  behavior: HorizontalPodAutoscalerBehavior | undefined | null,
): HorizontalPodAutoscalerBehavior | undefined {
  if (!behavior) return undefined;
  return {
    scaleUp: withDefaults(behavior.scaleUp, DEFAULT_SCALE_UP),
    scaleDown: withDefaults(behavior.scaleDown, DEFAULT_SCALE_DOWN),
  };
}

/**
 * Why the existing HPA differs from the desired one (C-41); empty when no update is needed:
 * a different number of metrics, a behavior that is not equal (after API-server defaulting), a spec
 * that is not a deep derivative of the desired spec, labels that are not a derivative, annotations
 * that differ (including desired annotations being absent while existing ones are present), or a
 * missing controller reference to the ScaledObject.
 */
export function hpaDifferences(
  existing: HorizontalPodAutoscaler,
  desired: HorizontalPodAutoscaler,
): string[] {
  const reasons: string[] = [];
  const existingMetrics = existing.spec?.metrics ?? [];
  const desiredMetrics = desired.spec.metrics ?? [];
  if (existingMetrics.length !== desiredMetrics.length) {
    reasons.push(`spec.metrics has ${existingMetrics.length} entries, want ${desiredMetrics.length}`);
  }
  if (
    !isDeepEqual(normalizeHpaBehavior(desired.spec.behavior), normalizeHpaBehavior(existing.spec?.behavior))
  ) {
    reasons.push('spec.behavior differs');
  }
  if (!isDeepDerivative(desired.spec, existing.spec)) reasons.push('spec differs');
  if (!isDeepDerivative(desired.metadata.labels, existing.metadata?.labels)) {
    reasons.push('metadata.labels differ');
  }
  const desiredAnnotations = desired.metadata.annotations;
  const existingAnnotations = existing.metadata?.annotations;
  if (
    (desiredAnnotations === undefined && existingAnnotations !== undefined) ||
    !isDeepDerivative(desiredAnnotations, existingAnnotations)
  ) {
    reasons.push('metadata.annotations differ');
  }
  const owner = desired.metadata.ownerReferences?.find((ref) => ref.controller);
  if (owner && !existing.metadata?.ownerReferences?.some((ref) => ref.controller && ref.uid === owner.uid)) {
    reasons.push(`metadata.ownerReferences lack the controller reference to ${owner.kind} ${owner.name}`);
  }
  return reasons;
}

/** True when the existing HPA must be replaced by the desired one (C-41). */
export const hpaNeedsUpdate = (
  existing: HorizontalPodAutoscaler,
  desired: HorizontalPodAutoscaler,
): boolean => hpaDifferences(existing, desired).length > 0;
