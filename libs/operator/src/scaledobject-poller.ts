import {
  ConditionStatus,
  ConditionType,
  effectiveCooldownPeriodSeconds,
  effectiveMaxReplicaCount,
  effectivePollingIntervalSeconds,
  getCondition,
  hpaNameFor,
  setCondition,
  type Condition,
  type ScaledObject,
  type ScaledObjectStatus,
  type HorizontalPodAutoscaler,
  EventReason,
} from '@keda-ts/api';
import { EventRecorder, KubeClient, PodReader } from '@keda-ts/k8s';
import type { Logger } from '@keda-ts/runtime';
import {
  explainPoll,
  fallbackCondition,
  fallbackTransitionEvent,
  hpaActiveCondition,
  lastActiveTimeBoundMs,
  parseStatusTime,
  requestScale,
  requestScaleInputFor,
  type HealthMap,
  type RequestScaleInput,
  type ScaleDecision,
  toStatusTime,
} from '@keda-ts/scaling';
import { observeTriggers, type DecisionTraces } from './decision-trace';
import { evaluateMetrics, type Evaluation } from './metric-evaluation';
import type { HealthLedger } from './health-ledger';
import { LastActiveLedger } from './last-active-ledger';
import type { ReadSlots } from './read-slots';
import { ScalersCache, type BuiltScalers } from './scalers-cache';
import type { PollResult } from './scale-loops';
import { readScale, readyPodsOf, scaleTargetFromStatus, writeScale, type ScaleTarget } from './scale-target';
import { withKind } from './scaledobject-reconciler';
import { scaledObjectStatusWriter, type ScaledObjectStatusWriter } from './status';
import type { MetricsCache } from './metrics-cache';

export interface PollerDeps {
  client: KubeClient;
  pods: PodReader;
  events: EventRecorder;
  scalers: ScalersCache;
  logger: Logger;
  getScaledObject(namespace: string, name: string): ScaledObject | undefined;
  /** The owned HPA from the informer cache, for the HPAActive condition (C-62). */
  getHpa?(namespace: string, name: string): HorizontalPodAutoscaler | undefined;
  now(): Date;
  /**
   * `spec.replicas` of the target from an informer cache, when one covers its kind (C-26: apps
   * Deployments and StatefulSets); undefined falls back to a GET of `/scale`.
   */
  cachedReplicas?(target: ScaleTarget): number | undefined;
  /** Upper bound of one metric read (a hanging source must not hold the loop). */
  metricTimeoutMs: number;
  /** The process-wide cap on scaler reads in flight. */
  readSlots?: ReadSlots;
  /** Called with each finished poll (for metrics and debugging). */
  onPoll?(key: string, so: ScaledObject, evaluation: Evaluation | undefined, decision: string, ms: number): void;
  /** Where each poll's readings and decision are remembered and explained (keda-ts explain). */
  traces?: DecisionTraces;
  /** Fallback failure counts in memory, so that their status writes can be coalesced. */
  health?: HealthLedger;
  /** The one status writer of ScaledObjects, shared with the reconciler and GetMetrics (default: its own). */
  statusWriter?: ScaledObjectStatusWriter;
  /** Where the readings of useCachedMetrics triggers are kept for GetMetrics. */
  metricsCache?: MetricsCache;
  /** The true last active times, between their (bounded) status writes (default: its own). */
  lastActive?: LastActiveLedger;
  /** Whether this replica leads: a stopped loop's unwritten lastActiveTime is written only then. */
  isLeading?(): boolean;
}

/** One iteration of a ScaledObject's scale loop (C-48..C-92). Never throws. */
export class ScaledObjectPoller {
  private readonly statusWriter: ScaledObjectStatusWriter;
  private readonly lastActive: LastActiveLedger;

  constructor(private readonly deps: PollerDeps) {
    this.statusWriter = deps.statusWriter ?? scaledObjectStatusWriter(deps.client);
    this.lastActive = deps.lastActive ?? new LastActiveLedger();
  }

  intervalMs(key: string): number | undefined {
    const [ns, name] = key.split('/');
    const so = this.deps.getScaledObject(ns, name);
    return so ? effectivePollingIntervalSeconds(so) * 1000 : undefined;
  }

  /**
   * 'not-ready' when the cached ScaledObject has no resolved target in its status yet (the
   * informer has not delivered the reconciler's status write): the loop then retries soon instead
   * of waiting a whole pollingInterval for the first decision.
   */
  async poll(key: string): Promise<PollResult> {
    const started = performance.now();
    const [namespace, name] = key.split('/');
    const so = this.deps.getScaledObject(namespace, name);
    if (!so) return;
    try {
      const decision = await this.pollOnce(key, so);
      this.deps.onPoll?.(key, so, decision.evaluation, decision.rule, performance.now() - started);
      if (decision.rule === 'target-not-resolved') return 'not-ready';
    } catch (err) {
      this.deps.logger.warn({ err: err instanceof Error ? err.message : String(err), namespace, name }, 'scale loop iteration failed');
      this.deps.onPoll?.(key, so, undefined, 'error', performance.now() - started);
    }
  }

  private async pollOnce(key: string, so: ScaledObject): Promise<{ evaluation?: Evaluation; rule: string }> {
    const started = performance.now();
    const target = scaleTargetFromStatus(so);
    if (!target) return { rule: 'target-not-resolved' };
    const status: ScaledObjectStatus = { ...(so.status ?? {}) };
    let current: number | undefined;
    let currentError: unknown;
    try {
      current = this.deps.cachedReplicas?.(target) ?? (await readScale(this.deps.client, target)).replicas;
    } catch (err) {
      currentError = err;
    }
    let evaluation: Evaluation | undefined;
    let built: BuiltScalers | undefined;
    try {
      built = await this.deps.scalers.get(key, so);
      evaluation = await evaluateMetrics({
        so,
        built,
        health: (this.deps.health ? this.deps.health.base(key, so.status?.health as never) : so.status?.health) as never,
        currentReplicas: async () => current,
        readyPods: () => readyPodsOf(this.deps.client, this.deps.pods, target),
        timeoutMs: this.deps.metricTimeoutMs,
        slots: this.deps.readSlots,
        now: this.deps.now,
      });
    } catch (err) {
      // Building the scalers failed (C-49): an error for every trigger.
      this.deps.events.emit(withKind(so), { type: 'Warning', reason: EventReason.KEDAScalerFailed, note: err instanceof Error ? err.message : String(err) });
      await this.deps.scalers.invalidate(key);
    }
    for (const r of evaluation?.readings ?? []) {
      if (r.outcome === 'error' && r.error) {
        this.deps.events.emit(withKind(so), { type: 'Warning', reason: so.spec.advanced?.scalingModifiers?.formula ? 'KEDAMetricSourceFailed' : 'KEDAScalerFailed', note: r.error });
      }
    }
    if (evaluation?.isError) await this.deps.scalers.invalidate(key);

    this.deps.metricsCache?.recordPoll(key, so, evaluation?.readings ?? []);

    const now = this.deps.now();
    const storedLastActive = parseStatusTime(so.status?.lastActiveTime);
    const scaleInput = requestScaleInputFor(so, {
      currentReplicas: current ?? 0,
      currentReplicasError: currentError,
      isActive: evaluation?.isActive ?? false,
      isError: evaluation ? evaluation.isError : true,
      activeMetricNames: evaluation?.activeMetricNames ?? [],
      now,
      lastActiveTime: this.lastActive.lastActiveTime(key, storedLastActive),
    });
    const decision = requestScale(scaleInput);
    let wroteOk = true;
    if (decision.scaleTo !== undefined) {
      try {
        await writeScale(this.deps.client, target, decision.scaleTo);
        if (decision.event) this.deps.events.emit(withKind(so), decision.event);
      } catch (err) {
        wroteOk = false;
        this.deps.logger.warn({ err: String(err), key, to: decision.scaleTo }, 'scaling the target failed');
        if (decision.failureEvent) this.deps.events.emit(withKind(so), decision.failureEvent);
      }
    }
    for (const c of decision.conditions) status.conditions = setCondition(status.conditions, c);
    const hpaActive = hpaActiveCondition(this.deps.getHpa?.(target.namespace, so.status?.hpaName ?? hpaNameFor(so)));
    if (hpaActive) status.conditions = setCondition(status.conditions, hpaActive);
    let healthToWrite: HealthMap | undefined;
    const wasActive = this.lastActive.wasActive(key) ?? getCondition(so.status?.conditions, ConditionType.Active)?.status === ConditionStatus.True;
    const lastActiveToWrite = this.lastActive.record(key, {
      active: decision.setLastActiveTime && wroteOk,
      at: now,
      stored: storedLastActive,
      boundMs: lastActiveTimeBoundMs(effectiveCooldownPeriodSeconds(so)),
      transition: !wasActive || decision.action === 'activate',
    });
    if (lastActiveToWrite) status.lastActiveTime = toStatusTime(lastActiveToWrite);
    if (evaluation) {
      status.triggersActivity = Object.fromEntries(evaluation.readings.map((r) => [r.metricName, { isActive: r.isActive && r.outcome !== 'error' }]));
      if (evaluation.trackHealth) {
        // A count that only grows past the threshold is written every HEALTH_COUNT_WRITE_INTERVAL_MS, not every poll.
        healthToWrite = this.deps.health ? this.deps.health.record(key, evaluation.health, so.status?.health as never, so.spec.fallback?.failureThreshold ?? 0) : evaluation.health;
        if (healthToWrite) status.health = healthToWrite as never;
        const next = fallbackCondition(evaluation.health, so);
        const transition = fallbackTransitionEvent(getCondition(so.status?.conditions, ConditionType.Fallback), next);
        if (transition) this.deps.events.emit(withKind(so), transition);
        status.conditions = setCondition(status.conditions, next);
      }
    }
    const condition = this.recordDecision(so, { built, evaluation, scaleInput, decision, current, wroteOk, started });
    if (condition) status.conditions = setCondition(status.conditions, condition);
    // Not due on its own, the remembered lastActiveTime goes with any write that is sent anyway (the
    // Active=False of the first inactive poll among them, so a cooldown starts from the exact time).
    const lastActiveRider = lastActiveToWrite ? undefined : this.lastActive.behind(key, storedLastActive);
    const written = await this.statusWriter.write(so, so.status, status, lastActiveRider ? { lastActiveTime: toStatusTime(lastActiveRider) } : undefined);
    if (lastActiveToWrite) this.lastActive.wrote(key, lastActiveToWrite);
    else if (lastActiveRider && written) this.lastActive.wrote(key, lastActiveRider);
    if (healthToWrite) this.deps.health?.wrote(key, healthToWrite);
    return { evaluation, rule: decision.rule };
  }

  /** Remembers and explains this poll; returns the Decision condition when it is due for a write. */
  private recordDecision(
    so: ScaledObject,
    poll: { built?: BuiltScalers; evaluation?: Evaluation; scaleInput: RequestScaleInput; decision: ScaleDecision; current?: number; wroteOk: boolean; started: number },
  ): Condition | undefined {
    const traces = this.deps.traces;
    if (!traces) return undefined;
    const { decision, scaleInput } = poll;
    const namespace = so.metadata?.namespace ?? '';
    const name = so.metadata?.name ?? '';
    const triggers = observeTriggers(poll.built, poll.evaluation?.readings);
    const formula = so.spec.advanced?.scalingModifiers?.formula;
    const wrote = decision.scaleTo === undefined ? undefined : poll.wroteOk;
    const summary = { action: decision.action, rule: decision.rule, scaleTo: decision.scaleTo, cooldownRemainingMs: decision.cooldownRemainingMs };
    const explanation = explainPoll({
      triggers,
      decision: summary,
      currentReplicas: poll.current,
      wrote,
      minReplicaCount: scaleInput.minReplicaCount ?? 0,
      maxReplicaCount: effectiveMaxReplicaCount(so),
      idleReplicaCount: scaleInput.idleReplicaCount,
      hpaName: so.status?.hpaName ?? hpaNameFor(so),
      forceActivation: scaleInput.forceActivation,
      pausedScaleIn: scaleInput.pausedScaleIn,
      pausedScaleOut: scaleInput.pausedScaleOut,
      fallbackReplicas: so.spec.fallback?.replicas,
      composite: formula && poll.evaluation?.composite ? { formula, ...poll.evaluation.composite } : undefined,
    });
    const now = this.deps.now();
    traces.record('ScaledObject', namespace, name, {
      time: now,
      triggers,
      decision: { ...summary, wrote },
      currentReplicas: poll.current,
      explanation,
      durationMs: Math.round((performance.now() - poll.started) * 10) / 10,
    });
    return traces.conditionToWrite('ScaledObject', namespace, name, explanation, now);
  }

  forget(key: string): void {
    this.deps.metricsCache?.forget(key);
    this.deps.health?.forget(key);
    const [namespace, name] = key.split('/');
    this.deps.traces?.forget('ScaledObject', namespace, name);
    const unwritten = this.lastActive.forget(key);
    // A loop stopped by a pause (or an ownership problem): the cooldown after it counts from status.
    if (unwritten && (this.deps.isLeading?.() ?? true)) {
      void this.writeLastActiveTime(key, unwritten).catch((err: unknown) =>
        this.deps.logger.debug({ err: err instanceof Error ? err.message : String(err), namespace, name }, 'could not write lastActiveTime of a stopped loop'),
      );
    }
  }

  /**
   * Writes `at` as status.lastActiveTime when the cached ScaledObject still exists and shows an
   * older one (a stopped loop, a graceful stop); resolves whether it wrote.
   */
  async writeLastActiveTime(key: string, at: Date): Promise<boolean> {
    const [namespace, name] = key.split('/');
    const so = this.deps.getScaledObject(namespace, name);
    if (!so || so.metadata?.deletionTimestamp) return false;
    const stored = parseStatusTime(so.status?.lastActiveTime);
    if (stored && stored.getTime() >= at.getTime()) return false;
    return (await this.statusWriter.write(so, so.status, { ...(so.status ?? {}), lastActiveTime: toStatusTime(at) })) !== undefined;
  }
}
