/**
 * Turns one poll of a ScaledObject (each trigger's reading and the RequestScale decision) into
 * words a user can act on: what happened, and what would change the outcome. Pure: the controller
 * records its output in the decision trace and in the `Explained` condition, `keda-ts explain`
 * prints it.
 */
import type { ScaleAction } from './request-scale';

export interface TriggerObservation {
  index: number;
  name?: string;
  type: string;
  metricName: string;
  /** The raw value read (before clamping); undefined when the read failed. */
  value?: number;
  /** The scaler's activation parameter and its effective value, when the scaler has one. */
  activation?: { parameter: string; threshold: number };
  /** The metric target the HPA uses for this trigger. */
  target?: { type: string; value: number };
  isActive: boolean;
  error?: string;
  outcome: 'ok' | 'error' | 'fallback' | 'formulaNil';
  latencyMs: number;
}

export interface PollObservation {
  triggers: TriggerObservation[];
  decision: { action: ScaleAction; rule: string; scaleTo?: number; cooldownRemainingMs?: number };
  /** `spec.replicas` of the target before the decision; undefined when it could not be read. */
  currentReplicas?: number;
  /** Whether the `/scale` write of `decision.scaleTo` succeeded. */
  wrote?: boolean;
  minReplicaCount: number;
  maxReplicaCount: number;
  idleReplicaCount?: number;
  /** The name of the HPA that owns 1..N. */
  hpaName: string;
  forceActivation?: boolean;
  pausedScaleIn?: boolean;
  pausedScaleOut?: boolean;
  /** `spec.fallback.replicas` when a fallback is configured. */
  fallbackReplicas?: number;
  /** Scaling modifiers: the formula and what it gave. */
  composite?: { formula: string; value?: number; error?: string };
}

/** What a poll came to, in the vocabulary of `keda-ts explain`. */
export type PollOutcome =
  | 'activated'
  | 'deactivated'
  | 'raised-to-min'
  | 'cooldown'
  | 'held-inactive'
  | 'handed-to-hpa'
  | 'fallback'
  | 'error'
  | 'paused'
  | 'jobs-created'
  | 'no-jobs';

export interface PollExplanation {
  outcome: PollOutcome;
  /** CamelCase, for a condition reason. */
  reason: string;
  /** One line: what happened and why. */
  summary: string;
  /** What would change the outcome. */
  hints: string[];
}

const REASONS: Record<PollOutcome, string> = {
  activated: 'Activated',
  deactivated: 'Deactivated',
  'raised-to-min': 'RaisedToMinReplicas',
  cooldown: 'CoolingDown',
  'held-inactive': 'HeldByActivation',
  'handed-to-hpa': 'HandedToHPA',
  fallback: 'Fallback',
  error: 'TriggerError',
  paused: 'Paused',
  'jobs-created': 'JobsCreated',
  'no-jobs': 'NoJobsNeeded',
};

/** A number as a user wrote it: integers plainly, others with up to three decimals. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return Number.isInteger(value) ? String(value) : String(Math.round(value * 1000) / 1000);
}

/** `42s`, `4m10s`, `1h2m`. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h${m}m`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

function triggerLabel(t: TriggerObservation): string {
  return t.name ? `trigger ${t.index} "${t.name}" (${t.type})` : `trigger ${t.index} (${t.type})`;
}

/** "value 3 is not above activationValue 5" and friends, for one trigger. */
export function describeActivation(t: TriggerObservation): string {
  if (t.outcome === 'error') return `${triggerLabel(t)} failed: ${t.error ?? 'unknown error'}`;
  if (t.outcome === 'fallback')
    return `${triggerLabel(t)} failed and its fallback stands in: ${t.error ?? 'unknown error'}`;
  const value = t.value === undefined ? 'no value' : `value ${formatNumber(t.value)}`;
  if (!t.activation) return `${triggerLabel(t)} ${value}, ${t.isActive ? 'active' : 'not active'}`;
  const { parameter, threshold } = t.activation;
  return t.isActive
    ? `${triggerLabel(t)} ${value} is above ${parameter} ${formatNumber(threshold)}`
    : `${triggerLabel(t)} ${value} is not above ${parameter} ${formatNumber(threshold)}`;
}

function activationHints(triggers: TriggerObservation[]): string[] {
  return triggers
    .filter((t) => t.outcome === 'ok' && !t.isActive)
    .map((t) =>
      t.activation
        ? `${t.metricName} activates when its value exceeds ${t.activation.parameter} ${formatNumber(t.activation.threshold)} (now ${t.value === undefined ? 'unknown' : formatNumber(t.value)})`
        : `${t.metricName} is not active (now ${t.value === undefined ? 'unknown' : formatNumber(t.value)})`,
    );
}

function hpaView(t: TriggerObservation): string | undefined {
  if (t.value === undefined || !t.target || t.target.value <= 0) return undefined;
  if (t.target.type === 'AverageValue') {
    return `${t.metricName}: ${formatNumber(t.value)} / target ${formatNumber(t.target.value)} per replica -> ${Math.ceil(t.value / t.target.value)} replicas`;
  }
  return `${t.metricName}: ${formatNumber(t.value)} against target ${t.target.type} ${formatNumber(t.target.value)}`;
}

/** Explains one poll. The first matching case decides, in the order RequestScale uses. */
export function explainPoll(o: PollObservation): PollExplanation {
  const make = (outcome: PollOutcome, summary: string, hints: string[] = []): PollExplanation => ({
    outcome,
    reason: REASONS[outcome],
    summary,
    hints,
  });
  const failed = o.triggers.filter((t) => t.outcome === 'error');
  const fallbacks = o.triggers.filter((t) => t.outcome === 'fallback');
  const active = o.triggers.filter((t) => t.isActive && t.outcome === 'ok');
  const current = o.currentReplicas;
  const { action, scaleTo } = o.decision;
  const wrote = o.wrote !== false;
  const writeNote = (verb: string) =>
    scaleTo === undefined
      ? ''
      : wrote
        ? `; ${verb} ${current ?? '?'} -> ${scaleTo}`
        : `; writing ${scaleTo} replicas FAILED`;

  if (o.decision.rule === 'replicas-unreadable' || current === undefined) {
    return make(
      'error',
      "the scale target's current replica count could not be read, so nothing was decided",
      ['check that the scale target exists and that the controller may read its /scale subresource'],
    );
  }
  if (o.decision.rule === 'paused') {
    return make('paused', 'scaling is paused by annotation', [
      'remove the pause annotation to resume scaling',
    ]);
  }
  if (fallbacks.length > 0) {
    const replicas = o.fallbackReplicas === undefined ? '' : ` (fallback.replicas ${o.fallbackReplicas})`;
    return make(
      'fallback',
      `fallback in effect${replicas}: ${fallbacks.map(describeActivation).join('; ')}`,
      fallbacks.map((t) => `${t.metricName} recovers when its source answers again`),
    );
  }
  if (o.composite?.error) {
    return make('error', `the scaling-modifiers formula failed: ${o.composite.error}`, [
      `check formula "${o.composite.formula}" and the triggers it names`,
    ]);
  }
  if (action === 'activate') {
    const cause = o.forceActivation
      ? 'activation is forced by annotation autoscaling.keda.sh/force-activation'
      : active.map(describeActivation).join('; ') || 'the composite value is active';
    return make('activated', `activated: ${cause}${writeNote('scaled')}`);
  }
  if (action === 'deactivate') {
    return make(
      'deactivated',
      `deactivated after the cooldown: no trigger is active${writeNote('scaled')}`,
      activationHints(o.triggers),
    );
  }
  if (action === 'raiseToMin') {
    return make('raised-to-min', `below minReplicaCount ${o.minReplicaCount}${writeNote('raised')}`);
  }
  if (o.decision.rule === 'cooling-down') {
    const left = formatDuration(o.decision.cooldownRemainingMs ?? 0);
    const to = o.idleReplicaCount ?? o.minReplicaCount;
    return make('cooldown', `cooling down: no trigger is active; scale-in to ${to} in ${left}`, [
      ...activationHints(o.triggers),
      'any trigger becoming active again cancels the scale-in',
    ]);
  }
  if (failed.length > 0 && active.length === 0) {
    return make('error', `no trigger is active and ${failed.map(describeActivation).join('; ')}`, [
      ...failed.map((t) => `fix ${t.metricName}'s source or parameters`),
      ...(o.fallbackReplicas === undefined
        ? ['a spec.fallback would hold a fixed replica count while sources fail']
        : []),
    ]);
  }
  if (
    active.length > 0 ||
    o.forceActivation ||
    (o.composite && o.composite.value !== undefined && current > 0)
  ) {
    if (o.pausedScaleOut && current === 0) {
      return make(
        'paused',
        'active, but scale-out is paused by annotation autoscaling.keda.sh/paused-scale-out',
        ['remove autoscaling.keda.sh/paused-scale-out to let it activate'],
      );
    }
    const views = o.triggers.map(hpaView).filter((v): v is string => v !== undefined);
    const partial = failed.length > 0 ? `; ${failed.map(describeActivation).join('; ')}` : '';
    return make(
      'handed-to-hpa',
      `active at ${current} replicas; the HPA ${o.hpaName} scales between ${Math.max(1, o.minReplicaCount)} and ${o.maxReplicaCount}${views.length ? `: ${views.join('; ')}` : ''}${partial}`,
      active.length > 0 ? [] : activationHints(o.triggers),
    );
  }
  // Inactive and nothing to do.
  const held = current === 0 || (o.idleReplicaCount !== undefined && current === o.idleReplicaCount);
  if (held) {
    const why = o.triggers.map(describeActivation).join('; ') || 'no triggers';
    return make(
      'held-inactive',
      `held at ${current} replicas: no trigger is active: ${why}`,
      activationHints(o.triggers),
    );
  }
  if (o.pausedScaleIn) {
    return make(
      'paused',
      `inactive, but scale-in is paused by annotation autoscaling.keda.sh/paused-scale-in; staying at ${current}`,
      ['remove autoscaling.keda.sh/paused-scale-in to let it scale in'],
    );
  }
  return make(
    'held-inactive',
    `inactive at ${current} replicas (minReplicaCount ${o.minReplicaCount}); the HPA ${o.hpaName} keeps the replica count`,
    activationHints(o.triggers),
  );
}

/**
 * The `Explained` condition's message: the summary, then the first hint. Kept under the API
 * server's limit for condition messages (32 KiB) with room to spare.
 */
export function explanationConditionMessage(e: PollExplanation): string {
  const text = e.hints.length > 0 ? `${e.summary}. To change it: ${e.hints[0]}` : e.summary;
  return text.length > 1024 ? `${text.slice(0, 1021)}...` : text;
}

export interface ReplicaPredictionInput {
  isActive: boolean;
  /** Each External metric's value and HPA target. */
  metrics: { metricName: string; value?: number; target?: { type: string; value: number } }[];
  /** `spec.replicas` of the target now (for Value targets); 0 or unknown counts as 1 once active. */
  currentReplicas?: number;
  minReplicaCount: number;
  maxReplicaCount: number;
  idleReplicaCount?: number;
}

export interface ReplicaPrediction {
  replicas: number;
  /** How the count follows from the values. */
  reason: string;
}

/**
 * The replica count a ScaledObject would settle at for these values: inactive -> idle/min (after
 * the cooldown); active -> the HPA's arithmetic (AverageValue: ceil(value / target); Value:
 * ceil(current * value / target)), the largest over the metrics, within [max(1, min), max].
 * The HPA's 10 % tolerance and its stabilization window are left out: this is where it heads.
 */
export function predictReplicas(input: ReplicaPredictionInput): ReplicaPrediction {
  if (!input.isActive) {
    const to = input.idleReplicaCount ?? input.minReplicaCount;
    return { replicas: to, reason: `no trigger is active: ${to} replicas (${input.idleReplicaCount !== undefined ? 'idleReplicaCount' : 'minReplicaCount'}) after the cooldown` };
  }
  const floor = Math.max(1, input.minReplicaCount);
  const current = Math.max(1, input.currentReplicas ?? 0);
  const parts: { replicas: number; text: string }[] = [];
  for (const m of input.metrics) {
    if (m.value === undefined || !m.target || m.target.value <= 0) continue;
    if (m.target.type === 'Value') {
      const replicas = Math.ceil((current * m.value) / m.target.value);
      parts.push({ replicas, text: `${m.metricName}: ceil(${current} * ${formatNumber(m.value)} / ${formatNumber(m.target.value)}) = ${replicas}` });
    } else if (m.target.type === 'AverageValue') {
      const replicas = Math.ceil(m.value / m.target.value);
      parts.push({ replicas, text: `${m.metricName}: ceil(${formatNumber(m.value)} / ${formatNumber(m.target.value)}) = ${replicas}` });
    }
  }
  if (parts.length === 0) return { replicas: floor, reason: `active, no External metric to compute from: at least ${floor}` };
  const wanted = Math.max(...parts.map((p) => p.replicas));
  const replicas = Math.min(input.maxReplicaCount, Math.max(floor, wanted));
  const bound = replicas !== wanted ? ` -> ${replicas} within [${floor}, ${input.maxReplicaCount}]` : '';
  return { replicas, reason: `${parts.map((p) => p.text).join('; ')}${bound}` };
}

export interface ScaledJobPollObservation {
  triggers: TriggerObservation[];
  /** The job-count decision (§1.6): Jobs to create and why. */
  decision: { count: number; rule: string; isActive: boolean; scaleTo: number; maxScale: number };
  /** Jobs created (some creations may have failed). */
  created: number;
  running: number;
  pending: number;
  strategy: string;
  maxReplicaCount: number;
  /** Reading the triggers failed before any value (e.g. the scalers could not be built). */
  buildError?: string;
}

/** Explains one poll of a ScaledJob: how many Jobs it created and why (not) more. */
export function explainScaledJobPoll(o: ScaledJobPollObservation): PollExplanation {
  const make = (outcome: PollOutcome, summary: string, hints: string[] = []): PollExplanation => ({ outcome, reason: REASONS[outcome], summary, hints });
  const failed = o.triggers.filter((t) => t.outcome === 'error');
  const counts = `${o.running} running, ${o.pending} pending, maxReplicaCount ${o.maxReplicaCount}, strategy ${o.strategy}`;
  if (o.buildError) return make('error', `the triggers could not be read: ${o.buildError}`, ['fix the trigger metadata or its authentication']);
  if (failed.length > 0 && !o.decision.isActive) {
    return make('error', `no Jobs: ${failed.map(describeActivation).join('; ')}`, failed.map((t) => `fix ${t.metricName}'s source or parameters`));
  }
  const values = o.triggers.map(describeActivation).join('; ');
  if (o.decision.count > 0) {
    const shortfall = o.created < o.decision.count ? ` (${o.decision.count - o.created} creations FAILED)` : '';
    return make('jobs-created', `created ${o.created} of ${o.decision.count} Jobs${shortfall} for ${o.decision.scaleTo} pending events: ${values}; ${counts}`);
  }
  if (!o.decision.isActive) return make('no-jobs', `no Jobs: no trigger is active: ${values}`, activationHints(o.triggers));
  return make('no-jobs', `no new Jobs: ${o.decision.scaleTo} pending events are covered (${counts})`, [
    o.running + o.pending >= o.maxReplicaCount
      ? `maxReplicaCount ${o.maxReplicaCount} is reached; raise it to run more Jobs at once`
      : 'more events than running and pending Jobs create more Jobs',
  ]);
}
