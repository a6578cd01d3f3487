/**
 * `keda-ts explain <kind>/<name>`: the controller's latest polls and decisions for one object, the
 * HPA's view, and what would change the outcome. Gathering (cluster + controller) is behind
 * ExplainSources so that the report is built and rendered without I/O in tests.
 */
import { Annotations, parsePauseAnnotations, type Condition } from '@keda-ts/api';
import type { debugProto } from '@keda-ts/proto';
import { CliError, ExitCode } from './exit-codes';
import { cell, renderTable } from './table';

export type ExplainKind = 'ScaledObject' | 'ScaledJob';

/** `so/x`, `scaledobject/x`, `ScaledObject/x`, `sj/x`, `scaledjob/x` (kubectl's short names too). */
export function parseObjectRef(ref: string): { kind: ExplainKind; name: string } {
  const m = /^([A-Za-z]+)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(ref);
  const kinds: Record<string, ExplainKind> = {
    so: 'ScaledObject',
    scaledobject: 'ScaledObject',
    scaledobjects: 'ScaledObject',
    sj: 'ScaledJob',
    scaledjob: 'ScaledJob',
    scaledjobs: 'ScaledJob',
  };
  const kind = m ? kinds[m[1].toLowerCase()] : undefined;
  if (!m || !kind) {
    throw new CliError(
      `expected <kind>/<name> with kind scaledobject (so) or scaledjob (sj) and a DNS-1123 name, got ${JSON.stringify(ref)}`,
      ExitCode.Usage,
    );
  }
  return { kind, name: m[2] };
}

/** What explain reads of the scaled object itself. */
export interface ScalableObjectView {
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
  spec?: { minReplicaCount?: number; maxReplicaCount?: number };
  status?: { conditions?: Condition[]; hpaName?: string; lastActiveTime?: string };
}

/** What explain reads of the HPA (autoscaling/v2). */
export interface HpaView {
  metadata?: { name?: string };
  spec?: { minReplicas?: number; maxReplicas?: number };
  status?: {
    currentReplicas?: number;
    desiredReplicas?: number;
    currentMetrics?: {
      type?: string;
      external?: { metric?: { name?: string }; current?: { value?: string; averageValue?: string } };
    }[];
    conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
  };
}

export interface ExplainSources {
  getObject(kind: ExplainKind, namespace: string, name: string): Promise<ScalableObjectView | undefined>;
  getHpa(namespace: string, name: string): Promise<HpaView | undefined>;
  /** The controller's traces; undefined when it has none for the object. */
  traces(kind: ExplainKind, namespace: string, name: string, limit: number): Promise<debugProto.ExplainResponse | undefined>;
}

export interface ExplainReport {
  kind: ExplainKind;
  namespace: string;
  name: string;
  /** The pause annotation in effect, if any. */
  paused?: { annotation: string; value: string };
  conditions: Condition[];
  lastActiveTime?: string;
  /** Newest first. */
  polls: debugProto.PollTrace[];
  /** Why there are no polls, when there are none. */
  noPollsReason?: string;
  hpa?: {
    name: string;
    minReplicas?: number;
    maxReplicas?: number;
    currentReplicas?: number;
    desiredReplicas?: number;
    metrics: { name: string; value: string }[];
    conditions: { type: string; status: string; reason: string; message: string }[];
  };
  /** The latest decision in one line. */
  summary: string;
  /** What would change the outcome. */
  hints: string[];
}

function pauseOf(annotations: Record<string, string> | undefined): ExplainReport['paused'] {
  const state = parsePauseAnnotations(annotations);
  if (state.pausedReplicasSet) return { annotation: Annotations.PausedReplicas, value: annotations?.[Annotations.PausedReplicas] ?? '' };
  if (state.paused) return { annotation: Annotations.Paused, value: annotations?.[Annotations.Paused] ?? '' };
  return undefined;
}

export async function buildExplainReport(
  target: { kind: ExplainKind; namespace: string; name: string },
  sources: ExplainSources,
  limit = 5,
): Promise<ExplainReport> {
  const { kind, namespace, name } = target;
  const obj = await sources.getObject(kind, namespace, name);
  if (!obj) throw new CliError(`${kind} ${namespace}/${name} not found`, ExitCode.NotFound);
  const paused = pauseOf(obj.metadata?.annotations);
  const traced = await sources.traces(kind, namespace, name, limit);
  const polls = traced?.polls ?? [];
  const hpaObj = kind === 'ScaledObject' ? await sources.getHpa(namespace, obj.status?.hpaName ?? `keda-hpa-${name}`) : undefined;
  const hpa: ExplainReport['hpa'] = hpaObj && {
    name: hpaObj.metadata?.name ?? '',
    minReplicas: hpaObj.spec?.minReplicas,
    maxReplicas: hpaObj.spec?.maxReplicas,
    currentReplicas: hpaObj.status?.currentReplicas,
    desiredReplicas: hpaObj.status?.desiredReplicas,
    metrics: (hpaObj.status?.currentMetrics ?? [])
      .filter((m) => m.external)
      .map((m) => ({
        name: m.external?.metric?.name ?? '',
        value: m.external?.current?.averageValue ?? m.external?.current?.value ?? '',
      })),
    conditions: (hpaObj.status?.conditions ?? []).map((c) => ({
      type: c.type ?? '',
      status: c.status ?? '',
      reason: c.reason ?? '',
      message: c.message ?? '',
    })),
  };

  const latest = polls[0]?.decision;
  let summary: string;
  let hints: string[];
  if (paused) {
    summary = `paused by annotation ${paused.annotation}=${JSON.stringify(paused.value)}: the controller does not poll or scale it`;
    hints = [`remove the annotation ${paused.annotation} to resume scaling`];
  } else if (latest) {
    summary = latest.summary;
    hints = latest.hints;
  } else {
    summary = 'no decision recorded yet';
    hints = ['the controller records a decision at every polling interval; wait one interval, and check that the object is Ready'];
  }
  return {
    kind,
    namespace,
    name,
    paused,
    conditions: obj.status?.conditions ?? [],
    lastActiveTime: obj.status?.lastActiveTime,
    polls,
    noPollsReason: polls.length ? undefined : paused ? 'paused' : 'not polled yet',
    hpa,
    summary,
    hints,
  };
}

function activationCell(t: debugProto.TriggerTrace): string {
  return t.activationParameter && t.activationThreshold !== undefined ? `${t.activationParameter} ${cell(t.activationThreshold)}` : '-';
}

/** The report as a terminal user reads it. */
export function renderExplainReport(r: ExplainReport): string {
  const out: string[] = [];
  out.push(`${r.kind} ${r.namespace}/${r.name}`);
  out.push('');
  out.push(`Decision: ${r.summary}`);
  if (r.hints.length) {
    out.push('What would change it:');
    for (const h of r.hints) out.push(`  - ${h}`);
  }
  if (r.paused) out.push(`Paused:   ${r.paused.annotation}=${JSON.stringify(r.paused.value)}`);
  if (r.lastActiveTime) out.push(`Last active: ${r.lastActiveTime}`);
  out.push('');
  out.push('Conditions:');
  out.push(
    renderTable(
      ['TYPE', 'STATUS', 'REASON', 'MESSAGE'],
      r.conditions.map((c) => [c.type, c.status, cell(c.reason), cell(c.message)]),
    ),
  );
  out.push('');
  if (r.polls.length === 0) {
    out.push(`Recent polls: none (${r.noPollsReason})`);
  } else {
    out.push('Recent polls (newest first):');
    const rows: string[][] = [];
    for (const p of r.polls) {
      const time = p.time ? p.time.toISOString().replace(/\.\d{3}Z$/, 'Z') : '-';
      const d = p.decision;
      const wrote = d?.scaleTo !== undefined ? `${d.wrote === false ? 'FAILED ' : ''}-> ${d.scaleTo}` : '-';
      const triggers = p.triggers.length ? p.triggers : [undefined];
      triggers.forEach((t, i) => {
        rows.push([
          i === 0 ? time : '',
          i === 0 ? cell(p.currentReplicas) : '',
          t ? t.metricName : '-',
          t ? cell(t.value) : '-',
          t ? activationCell(t) : '-',
          t && t.targetValue !== undefined ? `${t.targetType} ${cell(t.targetValue)}` : '-',
          t ? (t.active ? 'yes' : 'no') : '-',
          t ? `${cell(t.latencyMs)}ms` : '-',
          i === 0 ? cell(d?.outcome) : '',
          i === 0 ? wrote : '',
          t?.error ? t.error : '',
        ]);
      });
    }
    out.push(renderTable(['TIME', 'REPLICAS', 'METRIC', 'VALUE', 'ACTIVATION', 'TARGET', 'ACTIVE', 'LATENCY', 'OUTCOME', 'WROTE', 'ERROR'], rows));
  }
  if (r.hpa) {
    out.push('');
    out.push(
      `HPA ${r.hpa.name}: replicas ${cell(r.hpa.currentReplicas)} current, ${cell(r.hpa.desiredReplicas)} desired (min ${cell(r.hpa.minReplicas)}, max ${cell(r.hpa.maxReplicas)})`,
    );
    if (r.hpa.metrics.length) out.push(renderTable(['METRIC', 'CURRENT'], r.hpa.metrics.map((m) => [m.name, m.value])));
    if (r.hpa.conditions.length) {
      out.push(renderTable(['TYPE', 'STATUS', 'REASON', 'MESSAGE'], r.hpa.conditions.map((c) => [c.type, c.status, c.reason, c.message])));
    }
  }
  return out.join('\n');
}
