/**
 * The controller's memory of its recent decisions, per ScaledObject and ScaledJob: for each poll,
 * what every trigger read and what was decided. Bounded: a fixed number of entries per object,
 * dropped with the object. Served by the debug gRPC service and summarised in the `Decision`
 * condition.
 */
import { ConditionType, type Condition } from '@keda-ts/api';
import type { MetricSpec } from '@keda-ts/scaler-sdk';
import {
  explanationConditionMessage,
  parseQuantity,
  type PollExplanation,
  type TriggerObservation,
} from '@keda-ts/scaling';
import type { MetricReading } from './metric-evaluation';
import type { BuiltScalers } from './scalers-cache';

export type TracedKind = 'ScaledObject' | 'ScaledJob';

export interface DecisionRecord {
  /** When the poll finished. */
  time: Date;
  triggers: TriggerObservation[];
  decision: {
    action: string;
    rule: string;
    scaleTo?: number;
    cooldownRemainingMs?: number;
    /** Whether the write of `scaleTo` (replicas, or Jobs created for a ScaledJob) succeeded. */
    wrote?: boolean;
  };
  currentReplicas?: number;
  explanation: PollExplanation;
  durationMs: number;
}

/** The condition type that carries the latest decision in words. */
export const DECISION_CONDITION_TYPE = ConditionType.Decision;
/** A changed message (values move every poll) is written at most this often; a changed reason at once. */
export const DECISION_CONDITION_MIN_INTERVAL_MS = 60_000;

const traceKey = (kind: TracedKind, namespace: string, name: string) => `${kind}/${namespace}/${name}`;

export class DecisionTraces {
  private readonly byObject = new Map<string, DecisionRecord[]>();
  private readonly conditionWrites = new Map<string, { reason: string; message: string; at: number }>();

  /** `capacity` entries are kept per object (newest first). */
  constructor(readonly capacity = 10) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new Error(`decision trace capacity must be a positive integer, got ${capacity}`);
  }

  record(kind: TracedKind, namespace: string, name: string, entry: DecisionRecord): void {
    const key = traceKey(kind, namespace, name);
    const list = this.byObject.get(key) ?? [];
    if (list[0]) shareUnchanged(entry, list[0]);
    list.unshift(entry);
    if (list.length > this.capacity) list.length = this.capacity;
    this.byObject.set(key, list);
  }

  /** Newest first. */
  list(kind: TracedKind, namespace: string, name: string): readonly DecisionRecord[] {
    return this.byObject.get(traceKey(kind, namespace, name)) ?? [];
  }

  /** Every traced object, as `kind/namespace/name`. */
  objects(): string[] {
    return [...this.byObject.keys()].sort();
  }

  forget(kind: TracedKind, namespace: string, name: string): void {
    const key = traceKey(kind, namespace, name);
    this.byObject.delete(key);
    this.conditionWrites.delete(key);
  }

  /**
   * The `Decision` condition to write for this explanation, or undefined when the last written one
   * is recent enough: a new reason is written at once, a new message at most once a minute, so a
   * value that changes every poll does not cost a status write every poll.
   */
  conditionToWrite(
    kind: TracedKind,
    namespace: string,
    name: string,
    explanation: PollExplanation,
    now: Date,
  ): Condition | undefined {
    const key = traceKey(kind, namespace, name);
    const message = explanationConditionMessage(explanation);
    const last = this.conditionWrites.get(key);
    if (
      last &&
      last.reason === explanation.reason &&
      (last.message === message || now.getTime() - last.at < DECISION_CONDITION_MIN_INTERVAL_MS)
    ) {
      return undefined;
    }
    this.conditionWrites.set(key, { reason: explanation.reason, message, at: now.getTime() });
    return { type: DECISION_CONDITION_TYPE, status: 'True', reason: explanation.reason, message };
  }
}

/**
 * Polls of a steady object explain themselves in the same words every time: the parts of `entry`
 * equal to the previous record's are replaced by that record's objects, so ten records of one
 * object hold one copy of the summary, hints and decision, not ten (records are never mutated).
 */
function shareUnchanged(entry: DecisionRecord, previous: DecisionRecord): void {
  const e = entry.explanation;
  const p = previous.explanation;
  if (e.outcome === p.outcome && e.reason === p.reason && e.summary === p.summary && sameStrings(e.hints, p.hints)) entry.explanation = p;
  if (shallowEqual(entry.decision, previous.decision)) entry.decision = previous.decision;
  entry.triggers.forEach((t, i) => {
    const before = previous.triggers[i];
    if (!before) return;
    if (t.activation && before.activation && shallowEqual(t.activation, before.activation)) t.activation = before.activation;
    if (t.target && before.target && shallowEqual(t.target, before.target)) t.target = before.target;
  });
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function shallowEqual<T extends object>(a: T, b: T): boolean {
  const keys = Object.keys(a) as (keyof T)[];
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

function targetOf(spec: MetricSpec | undefined): TriggerObservation['target'] {
  const t = spec?.external?.target;
  if (!t) return undefined;
  const raw = t.type === 'Value' ? t.value : t.averageValue;
  return raw === undefined ? undefined : { type: t.type, value: parseQuantity(raw) };
}

/** Each External metric of the poll as the explanation needs it. */
export function observeTriggers(
  built: BuiltScalers | undefined,
  readings: readonly MetricReading[] | undefined,
): TriggerObservation[] {
  return (readings ?? []).map((r) => {
    const entry = built?.scalers.find((s) => s.index === r.triggerIndex);
    let spec: MetricSpec | undefined;
    try {
      spec = entry?.scaler.getMetricSpecForScaling().find((s) => s.external?.metric.name === r.metricName);
    } catch {
      spec = undefined;
    }
    return {
      index: r.triggerIndex,
      name: r.triggerName,
      type: r.triggerType,
      metricName: r.metricName,
      value: r.outcome === 'ok' || r.outcome === 'fallback' ? r.metrics[0]?.value : undefined,
      activation: entry?.activation,
      target: targetOf(spec),
      isActive: r.isActive,
      error: r.error ?? r.sourceError,
      outcome: r.outcome,
      latencyMs: Math.round(r.latencyMs * 10) / 10,
    };
  });
}
