/**
 * Semantic checks shared by the controller and the admission webhook. They complement the schema
 * (and the CRD's CEL rule) and return every problem at once instead of stopping at the first.
 * Messages that KEDA defines are reproduced exactly.
 */
import { MetricTargetType, TriggerType } from './constants';
import {
  DEFAULT_MAX_REPLICA_COUNT,
  hpaMinReplicas,
  hpaNameFor,
  isUsingModifiers,
  parseGoFloat,
  type ScaledObjectLike,
} from './effective';
import type { ScaleTrigger } from './generated/types';
import { parsePauseAnnotations } from './pause';
import { fieldPath, type Problem } from './problems';

const SPEC = 'spec';
const TRIGGERS = fieldPath(SPEC, 'triggers');

/** The trigger fields the checks look at (works for ScaledObject and ScaledJob triggers). */
export type TriggerLike = Partial<Pick<ScaleTrigger, 'type' | 'name' | 'useCachedMetrics'>> & {
  metricType?: unknown;
};

const isCpuOrMemory = (type: string | undefined) => type === TriggerType.Cpu || type === TriggerType.Memory;

/** Go's %q for the strings that occur here. */
const quote = (s: string) => JSON.stringify(s);

/**
 * CheckReplicaCountBoundsAreValid. min is 0 when minReplicaCount is unset, otherwise max(1, min)
 * (so an explicit 0 counts as 1); max is maxReplicaCount or 100.
 */
export function checkReplicaCountBounds(so: ScaledObjectLike): Problem[] {
  const spec = so.spec ?? {};
  const min = spec.minReplicaCount == null ? 0 : hpaMinReplicas(so);
  const max = spec.maxReplicaCount ?? DEFAULT_MAX_REPLICA_COUNT;
  const problems: Problem[] = [];
  if (min > max) {
    problems.push({
      field: fieldPath(SPEC, 'minReplicaCount'),
      message: `MinReplicaCount=${min} must be less than MaxReplicaCount=${max}`,
    });
  }
  if (spec.idleReplicaCount != null && spec.idleReplicaCount >= min) {
    problems.push({
      field: fieldPath(SPEC, 'idleReplicaCount'),
      message: `IdleReplicaCount=${spec.idleReplicaCount} must be less than MinReplicaCount=${min}`,
    });
  }
  return problems;
}

/**
 * The CRD's CEL rule on ScaledObject spec:
 * `!has(self.minReplicaCount) || self.minReplicaCount <= (has(self.maxReplicaCount) ? self.maxReplicaCount : 100)`.
 * ajv cannot evaluate CEL, so this is its TypeScript twin (used by `validateScaledObject` too).
 */
export function checkMinNotAboveMax(so: ScaledObjectLike): Problem[] {
  const min = so.spec?.minReplicaCount;
  const max = so.spec?.maxReplicaCount ?? DEFAULT_MAX_REPLICA_COUNT;
  if (typeof min !== 'number' || typeof max !== 'number' || min <= max) return [];
  return [{ field: SPEC, message: 'minReplicaCount must be less than or equal to maxReplicaCount' }];
}

/**
 * ValidateTriggers: at least one trigger, unique non-empty names, no useCachedMetrics on cpu, memory
 * or cron.
 */
export function validateTriggers(triggers: readonly TriggerLike[] | undefined, base = TRIGGERS): Problem[] {
  if (!triggers || triggers.length === 0) {
    return [{ field: base, message: 'no triggers defined in the ScaledObject/ScaledJob' }];
  }
  const problems: Problem[] = [];
  const seen = new Set<string>();
  triggers.forEach((trigger, i) => {
    const type = trigger.type ?? '';
    if (trigger.useCachedMetrics && (isCpuOrMemory(type) || type === TriggerType.Cron)) {
      problems.push({
        field: fieldPath(base, i, 'useCachedMetrics'),
        message: `property "useCachedMetrics" is not supported for ${quote(type)} scaler`,
      });
    }
    const name = trigger.name;
    if (name) {
      if (seen.has(name)) {
        problems.push({
          field: fieldPath(base, i, 'name'),
          message: `triggerName ${quote(name)} is defined multiple times in the ScaledObject/ScaledJob, but it must be unique`,
        });
      }
      seen.add(name);
    }
  });
  return problems;
}

const ALLOWED_METRIC_TYPES: readonly string[] = Object.values(MetricTargetType);

/**
 * metricType of ScaledObject triggers: `Utilization` only for cpu/memory; anything else must be
 * empty, AverageValue, Value or Utilization.
 */
export function checkTriggerMetricTypes(
  triggers: readonly TriggerLike[] | undefined,
  base = TRIGGERS,
): Problem[] {
  const problems: Problem[] = [];
  (triggers ?? []).forEach((trigger, i) => {
    const metricType = trigger.metricType;
    if (metricType === undefined || metricType === '') return;
    const field = fieldPath(base, i, 'metricType');
    if (typeof metricType !== 'string' || !ALLOWED_METRIC_TYPES.includes(metricType)) {
      problems.push({
        field,
        message: `metricType ${quote(String(metricType))} is not supported, allowed values are ${ALLOWED_METRIC_TYPES.map((t) => `'${t}'`).join(', ')}`,
      });
    } else if (metricType === MetricTargetType.Utilization && !isCpuOrMemory(trigger.type)) {
      problems.push({
        field,
        message:
          "'Utilization' metric type is unsupported for external metrics, allowed values are 'Value' or 'AverageValue'",
      });
    }
  });
  return problems;
}

/**
 * CheckFallbackValid (only when fallback is set): failureThreshold and replicas must be >= 0, and
 * without scaling modifiers at least one trigger must be something other than cpu or memory.
 * Also: behavior scalingModifiers needs a scalingModifiers formula.
 */
export function checkFallback(so: ScaledObjectLike): Problem[] {
  const fallback = so.spec?.fallback;
  if (!fallback) return [];
  const problems: Problem[] = [];
  const field = fieldPath(SPEC, 'fallback');
  if (fallback.failureThreshold < 0 || fallback.replicas < 0) {
    problems.push({
      field,
      message: `FailureThreshold=${fallback.failureThreshold} & Replicas=${fallback.replicas} must both be greater than or equal to 0`,
    });
  }
  if (!isUsingModifiers(so) && !(so.spec?.triggers ?? []).some((t) => !isCpuOrMemory(t.type))) {
    problems.push({
      field,
      message:
        'at least one trigger (that is not cpu or memory) has to have the `AverageValue` type for the fallback to be enabled',
    });
  }
  if (fallback.behavior === 'scalingModifiers' && !so.spec?.advanced?.scalingModifiers?.formula) {
    problems.push({
      field: fieldPath(field, 'behavior'),
      message: 'scalingModifiers fallback behavior requires scalingModifiers.formula to be defined',
    });
  }
  return problems;
}

/**
 * Static checks of advanced.scalingModifiers (the formula itself is not compiled here): a formula is
 * mandatory, it needs a target, the target must be a float > 0 and metricType cannot be Utilization.
 */
export function checkScalingModifiers(so: ScaledObjectLike): Problem[] {
  if (!isUsingModifiers(so)) return [];
  const m = so.spec?.advanced?.scalingModifiers ?? {};
  const base = fieldPath(SPEC, 'advanced', 'scalingModifiers');
  const problems: Problem[] = [];
  if (!m.formula) {
    problems.push({
      field: fieldPath(base, 'formula'),
      message: 'error ScalingModifiers.Formula is mandatory',
    });
  } else if (!m.target) {
    problems.push({ field: fieldPath(base, 'target'), message: 'formula is given but target is empty' });
  }
  if (m.target) {
    const target = parseGoFloat(m.target);
    if (target === undefined || !(target > 0)) {
      problems.push({
        field: fieldPath(base, 'target'),
        message: `ScalingModifiers.Target must be a float greater than 0, got ${quote(m.target)}`,
      });
    }
  }
  if (m.activationTarget && parseGoFloat(m.activationTarget) === undefined) {
    problems.push({
      field: fieldPath(base, 'activationTarget'),
      message: `ScalingModifiers.ActivationTarget must be a float, got ${quote(m.activationTarget)}`,
    });
  }
  if (m.metricType === MetricTargetType.Utilization) {
    problems.push({
      field: fieldPath(base, 'metricType'),
      message:
        "'Utilization' metric type is unsupported for scaling modifiers, allowed values are 'Value' or 'AverageValue'",
    });
  }
  return problems;
}

/** Kubernetes label values (and so SO names and HPA names) are at most 63 characters. */
export const MAX_NAME_LENGTH = 63;

/** The ScaledObject name and the effective HPA name must fit in a label value (63 characters). */
export function checkNameLengths(so: ScaledObjectLike): Problem[] {
  const problems: Problem[] = [];
  const name = so.metadata?.name ?? '';
  if (name.length > MAX_NAME_LENGTH) {
    problems.push({
      field: 'metadata.name',
      message: `ScaledObject name is ${name.length} characters long but must be at most ${MAX_NAME_LENGTH}, because it is used as the value of the scaledobject.keda.sh/name label`,
    });
  }
  const hpaName = hpaNameFor(so);
  if (hpaName.length > MAX_NAME_LENGTH) {
    const custom = !!so.spec?.advanced?.horizontalPodAutoscalerConfig?.name;
    problems.push({
      field: custom ? fieldPath(SPEC, 'advanced', 'horizontalPodAutoscalerConfig', 'name') : 'metadata.name',
      message: `HPA name ${quote(hpaName)} is ${hpaName.length} characters long but must be at most ${MAX_NAME_LENGTH}; set a shorter spec.advanced.horizontalPodAutoscalerConfig.name or shorten the ScaledObject name`,
    });
  }
  return problems;
}

/**
 * Every shared semantic check of a ScaledObject: replica bounds, the CEL min/max rule, triggers,
 * trigger metric types, fallback, scaling modifiers, name lengths and the paused-replicas annotation.
 */
export function checkScaledObject(so: ScaledObjectLike): Problem[] {
  return [
    ...checkReplicaCountBounds(so),
    ...checkMinNotAboveMax(so),
    ...validateTriggers(so.spec?.triggers),
    ...checkTriggerMetricTypes(so.spec?.triggers),
    ...checkFallback(so),
    ...checkScalingModifiers(so),
    ...checkNameLengths(so),
    ...parsePauseAnnotations(so.metadata?.annotations).problems,
  ];
}

/** ScaledJob triggers must not set metricType (the field does not exist for ScaledJobs). */
export function checkScaledJobTriggerMetricTypes(
  triggers: readonly TriggerLike[] | undefined,
  base = TRIGGERS,
): Problem[] {
  return (triggers ?? []).flatMap((trigger, i) =>
    trigger.metricType !== undefined && trigger.metricType !== ''
      ? [{ field: fieldPath(base, i, 'metricType'), message: 'Cannot set metricType in ScaledJob triggers' }]
      : [],
  );
}

/** Every shared semantic check of a ScaledJob: jobTargetRef present, triggers, no metricType. */
export function checkScaledJob(sj: {
  spec?: { jobTargetRef?: unknown; triggers?: readonly TriggerLike[] };
}): Problem[] {
  const problems: Problem[] = [];
  if (!sj.spec?.jobTargetRef) {
    problems.push({
      field: fieldPath(SPEC, 'jobTargetRef'),
      message: 'ScaledJob.spec.jobTargetRef not found',
    });
  }
  problems.push(
    ...validateTriggers(sj.spec?.triggers),
    ...checkScaledJobTriggerMetricTypes(sj.spec?.triggers),
  );
  return problems;
}
