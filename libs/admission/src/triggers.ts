/** Trigger metadata checked by the scaler descriptors of @keda-ts/scaler-sdk (no event-source client is loaded). */
import type { ParameterProblem, ScalerInput } from '@keda-ts/scaler-sdk';
import { scalerDescriptors as scalers, unexpectedMetadataKeys } from '@keda-ts/scaler-sdk';

export interface TriggerInput {
  type?: string;
  name?: string;
  metadata?: Record<string, string>;
  metricType?: string;
  useCachedMetrics?: boolean;
  authenticationRef?: { name?: string; kind?: string };
}

export interface TriggerFinding {
  /** `unknown-trigger-type` or `invalid-trigger-metadata`. */
  reason: string;
  message: string;
}

const MISSING = 'missing required parameter';

/**
 * Scaler parsing is pure but not free (cron compiles its schedules: ~3 ms), and admissions repeat
 * the same triggers (apply loops, GitOps resyncs), so results are memoised in a small LRU.
 */
const CACHE_SIZE = 2048;
const cache = new Map<string, ParameterProblem[]>();
function validateCached(input: ScalerInput): ParameterProblem[] {
  const k = JSON.stringify([input.triggerType, input.metadata, input.metricType, input.useCachedMetrics, input.asMetricSource, input.scalableObject.kind]);
  const hit = cache.get(k);
  if (hit) {
    cache.delete(k);
    cache.set(k, hit);
    return hit;
  }
  const problems = scalers.validate(input);
  if (k.length <= 16_384) {
    cache.set(k, problems);
    if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  }
  return problems;
}

/**
 * Parses each trigger's metadata with its scaler descriptor. What only resolves at run time is not
 * reported missing: parameters that may come from a TriggerAuthentication (when the trigger has an
 * authenticationRef) or from the target's env (`<name>FromEnv` set).
 */
const unexpectedCache = new Map<string, string[]>();
function unexpectedKeysCached(descriptor: NonNullable<ReturnType<typeof scalers.descriptor>>, metadata: Record<string, string>): string[] {
  const k = JSON.stringify([descriptor.type, Object.keys(metadata)]);
  let keys = unexpectedCache.get(k);
  if (!keys) {
    keys = unexpectedMetadataKeys(descriptor, metadata);
    if (unexpectedCache.size >= CACHE_SIZE) unexpectedCache.clear();
    if (k.length <= 16_384) unexpectedCache.set(k, keys);
  }
  return keys;
}

/** A "missing" parameter that a TriggerAuthentication or the target's env may still supply. */
function resolvedLater(
  p: ParameterProblem,
  descriptor: NonNullable<ReturnType<typeof scalers.descriptor>>,
  trigger: TriggerInput,
  metadata: Record<string, string>,
): boolean {
  if (!p.parameter || !p.message.startsWith(MISSING)) return false;
  const spec = Object.values(descriptor.params).find((s) => s.names[0] === p.parameter);
  if (!spec) return false;
  if (trigger.authenticationRef && spec.order.includes('authParams')) return true;
  return spec.order.includes('resolvedEnv') && spec.names.some((n) => metadata[`${n}FromEnv`]);
}

export function checkTriggerMetadata(
  triggers: readonly TriggerInput[],
  scalableObject: ScalerInput['scalableObject'],
  asMetricSource: boolean,
): { findings: TriggerFinding[]; warnings: string[] } {
  const findings: TriggerFinding[] = [];
  const warnings: string[] = [];
  triggers.forEach((trigger, triggerIndex) => {
    const type = trigger.type ?? '';
    const metadata = trigger.metadata ?? {};
    const where = `spec.triggers[${triggerIndex}] (${type || 'no type'})`;
    const descriptor = scalers.descriptor(type);
    const problems = validateCached({
      triggerIndex,
      triggerType: type,
      triggerName: trigger.name,
      metadata,
      resolvedEnv: {},
      authParams: {},
      metricType: (trigger.metricType || undefined) as ScalerInput['metricType'],
      useCachedMetrics: trigger.useCachedMetrics,
      asMetricSource,
      scalableObject,
    });
    if (!descriptor) {
      findings.push({ reason: 'unknown-trigger-type', message: `${where}: ${problems.map((p) => p.message).join('; ')}` });
      return;
    }
    const reported = problems.length ? problems.filter((p) => !resolvedLater(p, descriptor, trigger, metadata)) : problems;
    if (reported.length > 0) {
      findings.push({ reason: 'invalid-trigger-metadata', message: `${where}: ${reported.map((p) => p.message).join('; ')}` });
    }
    for (const k of unexpectedKeysCached(descriptor, metadata)) {
      warnings.push(`${where}: metadata key ${JSON.stringify(k)} is not used by the ${type} scaler`);
    }
  });
  return { findings, warnings };
}
