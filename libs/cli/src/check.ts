/**
 * `keda-ts check <file.yaml>`: what the webhook would say about each document, and for a valid
 * ScaledObject/ScaledJob what its triggers read right now and the replica count that would follow,
 * without creating anything. The cluster and the event sources are reached through CheckDeps.
 */
import { effectiveMaxReplicaCount, isUsingModifiers, type ScaledJob, type ScaledObject } from '@keda-ts/api';
import { buildScalers, evaluateMetrics, observeTriggers, readTriggerMetrics, type BuiltScalers } from '@keda-ts/operator';
import type { ScalerContext, ScalerRegistry } from '@keda-ts/scalers';
import { predictReplicas, type ReplicaPrediction, type TriggerObservation } from '@keda-ts/scaling';
import { parseAllDocuments } from 'yaml';
import { CliError, ExitCode } from './exit-codes';
import { cell, renderTable } from './table';

export const CHECKED_KINDS = ['ScaledObject', 'ScaledJob', 'TriggerAuthentication', 'ClusterTriggerAuthentication'] as const;
export type CheckedKind = (typeof CHECKED_KINDS)[number];

export interface Verdict {
  allowed: boolean;
  message?: string;
  warnings?: string[];
}

export interface CheckDeps {
  /** The webhook's validation of one object (as a CREATE). */
  validate(kind: CheckedKind, obj: Record<string, unknown>, namespace: string): Promise<Verdict>;
  /** Env of the target's container and the trigger authentication, resolved from the cluster. */
  resolveAuth(kind: 'ScaledObject' | 'ScaledJob', obj: ScaledObject | ScaledJob): Promise<{ resolvedEnv: Record<string, string>; authParams: (index: number) => Record<string, string> }>;
  /** `spec.replicas` of a ScaledObject's target now; undefined when it does not exist yet. */
  currentReplicas(so: ScaledObject): Promise<number | undefined>;
  registry: ScalerRegistry;
  scalerContext: ScalerContext;
  /** Upper bound of one trigger query. */
  timeoutMs: number;
  now(): Date;
}

/** Each trigger's reading, as the controller's decision trace records it. */
export type CheckedTrigger = TriggerObservation;

export interface CheckReport {
  kind: string;
  namespace: string;
  name: string;
  valid: boolean;
  /** The webhook's rejection, when invalid. */
  message?: string;
  warnings: string[];
  /** Trigger scalers could not be built (e.g. a parameter only the cluster resolves is missing). */
  buildError?: string;
  triggers: CheckedTrigger[];
  isActive?: boolean;
  currentReplicas?: number;
  prediction?: ReplicaPrediction;
  exitCode: ExitCode;
}

/** The documents of a YAML file; a syntax error names the document and the position. */
export function parseManifests(text: string, source: string): Record<string, unknown>[] {
  const docs = parseAllDocuments(text);
  const out: Record<string, unknown>[] = [];
  docs.forEach((doc, i) => {
    if (doc.errors.length) {
      throw new CliError(`${source}: document ${i + 1} is not valid YAML: ${doc.errors[0].message}`, ExitCode.Usage);
    }
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) return;
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new CliError(`${source}: document ${i + 1} is not a Kubernetes object (a mapping with apiVersion and kind)`, ExitCode.Usage);
    }
    out.push(value as Record<string, unknown>);
  });
  if (out.length === 0) throw new CliError(`${source}: no objects found`, ExitCode.Usage);
  return out;
}

async function readTriggers(built: BuiltScalers, so: ScaledObject | undefined, deps: CheckDeps, current: number | undefined) {
  if (so) {
    const evaluation = await evaluateMetrics({
      so,
      built,
      health: undefined,
      currentReplicas: async () => current,
      readyPods: async () => current ?? 0,
      timeoutMs: deps.timeoutMs,
      now: deps.now,
    });
    return { readings: evaluation.readings, isActive: evaluation.isActive };
  }
  // A ScaledJob: every trigger once, no fallback or formula.
  const { readings } = await readTriggerMetrics(built, { timeoutMs: deps.timeoutMs });
  return { readings, isActive: readings.some((r) => r.isActive && r.outcome !== 'error') };
}

/** Checks one document. */
export async function checkDocument(obj: Record<string, unknown>, defaultNamespace: string, deps: CheckDeps): Promise<CheckReport> {
  const kind = String(obj['kind'] ?? '');
  const metadata = (obj['metadata'] ?? {}) as { name?: string; namespace?: string };
  const namespace = metadata.namespace || defaultNamespace;
  const name = metadata.name ?? '';
  const base = { kind, namespace, name, warnings: [] as string[], triggers: [] as CheckedTrigger[] };
  if (!(CHECKED_KINDS as readonly string[]).includes(kind)) {
    return { ...base, valid: false, message: `kind ${JSON.stringify(kind)} is not checked; expected one of ${CHECKED_KINDS.join(', ')}`, exitCode: ExitCode.Invalid };
  }
  const withNamespace = { ...obj, metadata: { ...metadata, namespace } };
  const verdict = await deps.validate(kind as CheckedKind, withNamespace, namespace);
  const warnings = verdict.warnings ?? [];
  if (!verdict.allowed) return { ...base, warnings, valid: false, message: verdict.message, exitCode: ExitCode.Invalid };
  if (kind !== 'ScaledObject' && kind !== 'ScaledJob') return { ...base, warnings, valid: true, exitCode: ExitCode.Ok };

  const scalable = withNamespace as unknown as ScaledObject | ScaledJob;
  const so = kind === 'ScaledObject' ? (scalable as ScaledObject) : undefined;
  let built: BuiltScalers;
  try {
    const env = await deps.resolveAuth(kind, scalable);
    built = await buildScalers(
      deps.registry,
      deps.scalerContext,
      { kind, namespace, name, generation: 0, triggers: scalable.spec.triggers, asMetricSource: so ? isUsingModifiers(so) : false },
      env,
    );
  } catch (err) {
    return { ...base, warnings, valid: true, buildError: err instanceof Error ? err.message : String(err), exitCode: ExitCode.TriggerFailed };
  }
  try {
    const current = so ? await deps.currentReplicas(so).catch(() => undefined) : undefined;
    const { readings, isActive } = await readTriggers(built, so, deps, current);
    const triggers = observeTriggers(built, readings);
    const failed = triggers.some((t) => t.error);
    const prediction = so
      ? predictReplicas({
          isActive,
          metrics: triggers,
          currentReplicas: current,
          minReplicaCount: so.spec.minReplicaCount ?? 0,
          maxReplicaCount: effectiveMaxReplicaCount(so),
          idleReplicaCount: so.spec.idleReplicaCount,
        })
      : undefined;
    return {
      ...base,
      warnings,
      valid: true,
      triggers,
      isActive,
      currentReplicas: current,
      prediction,
      exitCode: failed ? ExitCode.TriggerFailed : ExitCode.Ok,
    };
  } finally {
    await Promise.allSettled(built.scalers.map((s) => s.scaler.close()));
  }
}

/** The worst exit code of several reports (invalid beats a failed trigger). */
export function overallExitCode(reports: CheckReport[]): ExitCode {
  const order: ExitCode[] = [ExitCode.Invalid, ExitCode.TriggerFailed, ExitCode.Ok];
  return order.find((code) => reports.some((r) => r.exitCode === code)) ?? ExitCode.Ok;
}

export function renderCheckReport(r: CheckReport): string {
  const out: string[] = [];
  out.push(`${r.kind} ${r.namespace}/${r.name}: ${r.valid ? 'valid' : 'INVALID'}`);
  if (r.message) out.push(`  ${r.message}`);
  for (const w of r.warnings) out.push(`  warning: ${w}`);
  if (r.buildError) out.push(`  triggers could not be built: ${r.buildError}`);
  if (r.triggers.length) {
    out.push(
      renderTable(
        ['TRIGGER', 'METRIC', 'VALUE', 'ACTIVATION', 'TARGET', 'ACTIVE', 'LATENCY', 'ERROR'],
        r.triggers.map((t) => [
          `${t.index}${t.name ? ` ${t.name}` : ''} (${t.type})`,
          t.metricName,
          cell(t.value),
          t.activation ? `${t.activation.parameter} ${cell(t.activation.threshold)}` : '-',
          t.target ? `${t.target.type} ${cell(t.target.value)}` : '-',
          t.isActive && t.outcome !== 'error' ? 'yes' : 'no',
          `${cell(t.latencyMs)}ms`,
          t.error ?? '',
        ]),
      )
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    );
  }
  if (r.isActive !== undefined) out.push(`  active: ${r.isActive ? 'yes' : 'no'}`);
  if (r.prediction) {
    out.push(`  replicas: ${r.prediction.replicas} (now ${cell(r.currentReplicas)}): ${r.prediction.reason}`);
  }
  return out.join('\n');
}
