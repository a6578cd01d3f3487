import {
  API_GROUP_VERSION,
  CONDITIONS,
  ConditionStatus,
  ConditionType,
  KEDA_FINALIZER,
  Labels,
  ScaledObjectCheckMessage,
  authenticationsTypesOf,
  checkReplicaCountBounds,
  conditionFrom,
  getCondition,
  hpaNameFor,
  initialConditions,
  needsInitialConditions,
  parsePauseAnnotations,
  scaledObjectCheckFailedCondition,
  setCondition,
  triggersTypesOf,
  validateTriggers,
  type Condition,
  type ScaledObject,
  type ScaledObjectStatus,
  type HorizontalPodAutoscaler,
  EventReason,
} from '@keda-ts/api';
import { EventRecorder, isConflict, isNotFound, KubeClient, resourcePath } from '@keda-ts/k8s';
import type { Logger } from '@keda-ts/runtime';
import {
  controllingScaledObject,
  desiredHpa,
  foreignHpaOnTarget,
  foreignHpaProblem,
  hpaNeedsUpdate,
  otherHpaMessage,
  otherScaledObjectMessage,
  ownsHpa,
  scaledObjectTargetKey,
  targetOwner,
} from '@keda-ts/scaling';
import { ScalersCache } from './scalers-cache';
import { readScale, resolveScaleTarget, ScaleTargetError, ScaleTargetKindError, writeScale, type ScaleTarget } from './scale-target';
import { scaledObjectStatusWriter, scaledObjectsResource, type ScaledObjectStatusWriter } from './status';
import { step, StepError, stepFailure } from './reconcile-step';

const hpaResource = { group: 'autoscaling', version: 'v2', resource: 'horizontalpodautoscalers' };

/** What the reconciler needs from the scale loops (kept as an interface so tests can fake it). */
export interface ScaleLoopControl {
  /** Starts the loop, or restarts it when `restart`; resolves whether one was running before. */
  start(key: string, restart: boolean): boolean;
  stop(key: string): boolean;
  /** Generation the running loop was started for. */
  generation(key: string): number | undefined;
}

export interface ScaledObjectReconcilerDeps {
  client: KubeClient;
  events: EventRecorder;
  scalers: ScalersCache;
  loops: ScaleLoopControl;
  logger: Logger;
  kedaVersion: string;
  /** Reads the latest ScaledObject from the informer cache. */
  getScaledObject(namespace: string, name: string): ScaledObject | undefined;
  /** The HPA from the informer cache, once synced; undefined means "ask the API server". */
  cachedHpa?(namespace: string, name: string): HorizontalPodAutoscaler | null | undefined;
  /** `spec.replicas` of the target from an informer cache, when one covers its kind. */
  cachedReplicas?(target: ScaleTarget): number | undefined;
  /**
   * The ScaledObjects (informer cache) whose scale target has this key (`scaledObjectTargetKey`),
   * and the HPAs scaling it: the controller-side ownership guards read these, never a LIST.
   * Without them the guards only see the HPA of the wanted name.
   */
  scaledObjectsOnTarget?(targetKey: string): readonly ScaledObject[];
  hpasOnTarget?(targetKey: string): readonly HorizontalPodAutoscaler[];
  /** The one status writer of ScaledObjects, shared with the scale loops and GetMetrics (default: its own). */
  statusWriter?: ScaledObjectStatusWriter;
}

const soKey = (ns: string, name: string) => `${ns}/${name}`;

/**
 * The ScaledObject reconcile pipeline (spec §2.2, C-6..C-20): finalizer, conditions, pause,
 * target, checks, HPA, scale loop, status. Idempotent; a thrown error is retried with backoff.
 */
export class ScaledObjectReconciler {
  /** Per object, the resourceVersion of the reconciler's last status write (see isOwnStatusWrite). */
  private readonly ownStatusWrites = new Map<string, string>();

  private readonly statusWriter: ScaledObjectStatusWriter;

  constructor(private readonly deps: ScaledObjectReconcilerDeps) {
    this.statusWriter = deps.statusWriter ?? scaledObjectStatusWriter(deps.client);
  }

  /**
   * Whether `resourceVersion` of `namespace/name` is the reconciler's own last status write. Its
   * Ready=True is the reconcile's result, not news that deserves another reconcile (C-2).
   */
  isOwnStatusWrite(namespace: string, name: string, resourceVersion: string | undefined): boolean {
    return resourceVersion !== undefined && this.ownStatusWrites.get(soKey(namespace, name)) === resourceVersion;
  }

  private async writeStatus(key: string, so: ScaledObject, status: ScaledObjectStatus): Promise<void> {
    const written = await this.patchStatus(so, status);
    const version = written?.metadata?.resourceVersion;
    if (version) this.ownStatusWrites.set(key, version);
  }

  /** Patches the status; a refused write is told on the ScaledObject (ScaledObjectUpdateFailed) and thrown. */
  private async patchStatus(so: ScaledObject, status: ScaledObjectStatus): Promise<ScaledObject | undefined> {
    try {
      return await this.statusWriter.write(so, so.status, status);
    } catch (err) {
      this.deps.events.emit(withKind(so), { type: 'Warning', reason: EventReason.ScaledObjectUpdateFailed, note: `failed to update the ScaledObject status: ${errorText(err)}` });
      throw err;
    }
  }

  async reconcile(namespace: string, name: string): Promise<void> {
    const { logger } = this.deps;
    const so = this.deps.getScaledObject(namespace, name);
    const key = soKey(namespace, name);
    if (!so) {
      this.ownStatusWrites.delete(key);
      this.deps.loops.stop(key);
      await this.deps.scalers.invalidate(key);
      return;
    }
    if (so.metadata?.deletionTimestamp) return this.finalize(key, so);
    const current = await this.ensureFinalizerAndLabel(so);
    let status: ScaledObjectStatus = { ...(current.status ?? {}) };
    if (needsInitialConditions(status.conditions)) status.conditions = mergeInitial(status.conditions);
    const readyBefore = getCondition(current.status?.conditions, ConditionType.Ready)?.status;
    try {
      status = await this.reconcileSpec(key, current, status);
      const paused = parsePauseAnnotations(current.metadata?.annotations).fullyPaused;
      status.conditions = setCondition(status.conditions, conditionFrom(paused ? CONDITIONS.scaledObjectReadyPaused : CONDITIONS.scaledObjectReady));
      if (readyBefore !== ConditionStatus.True) {
        this.deps.events.emit(withKind(current), { type: 'Normal', reason: EventReason.ScaledObjectReady, note: 'ScaledObject is ready for scaling' });
      }
    } catch (err) {
      const { message: stepMessage, cause } = stepFailure(err, 'ScaledObject reconcile failed');
      const failed = scaledObjectCheckFailedCondition(stepMessage, cause);
      status.conditions = setCondition(setCondition(status.conditions, failed), conditionFrom(CONDITIONS.scaledObjectCheckFailedActive));
      this.deps.events.emit(withKind(current), { type: 'Warning', reason: EventReason.ScaledObjectCheckFailed, note: failed.message ?? stepMessage });
      await this.writeStatus(key, current, status).catch((e: unknown) =>
        logger.warn({ err: String(e), namespace, name }, 'could not write the failed status'),
      );
      throw err;
    }
    // Outside the try: a refused status write is an update failure, not a failed check.
    await this.writeStatus(key, current, status);
  }

  /** C-10..C-18: everything between the finalizer and the final Ready condition. */
  private async reconcileSpec(key: string, so: ScaledObject, statusIn: ScaledObjectStatus): Promise<ScaledObjectStatus> {
    const status = { ...statusIn };
    // Before anything can write to the target (a paused-replicas count included).
    await this.guardOwnership(key, so, status);
    const pause = parsePauseAnnotations(so.metadata?.annotations);
    const wasPaused = getCondition(status.conditions, ConditionType.Paused)?.status === ConditionStatus.True;

    if (pause.fullyPaused) {
      if (!wasPaused) {
        status.conditions = setCondition(status.conditions, conditionFrom(CONDITIONS.scaledObjectPaused));
        // Persisted first, so the pause is visible even if the rest fails (C-85.1).
        await this.patchStatus(so, status);
        this.deps.events.emit(withKind(so), { type: 'Normal', reason: EventReason.ScaledObjectPaused, note: 'ScaledObject is paused' });
      }
      if (this.deps.loops.stop(key)) {
        this.deps.events.emit(withKind(so), { type: 'Normal', reason: EventReason.KEDAScalersStopped, note: 'Stopped scalers watch' });
      }
      await this.deps.scalers.invalidate(key);
      await this.deleteOwnHpa(so, status.hpaName ?? hpaNameFor(so));
      status.hpaName = undefined;
      if (pause.problems.length) throw new StepError('Failed to parse the pause annotations', new Error(pause.problems.map((p) => p.message).join('; ')));
      if (pause.pausedReplicasSet && pause.pausedReplicaCount !== undefined) {
        const target = await step(ScaledObjectCheckMessage.ScaleTargetRef, () => resolveScaleTarget(this.deps.client, so));
        const scale = await readScale(this.deps.client, target);
        if (scale.replicas !== pause.pausedReplicaCount) await writeScale(this.deps.client, target, pause.pausedReplicaCount);
        status.pausedReplicaCount = pause.pausedReplicaCount;
      } else {
        status.pausedReplicaCount = undefined;
      }
      return status;
    }

    if (wasPaused && !pause.anyPause) {
      status.conditions = setCondition(status.conditions, conditionFrom(CONDITIONS.scaledObjectUnpaused));
      this.deps.events.emit(withKind(so), { type: 'Normal', reason: EventReason.ScaledObjectUnpaused, note: 'pause annotation removed for ScaledObject' });
      status.pausedReplicaCount = undefined;
    } else if (pause.anyPause && !wasPaused) {
      status.conditions = setCondition(status.conditions, conditionFrom(CONDITIONS.scaledObjectPaused));
      this.deps.events.emit(withKind(so), { type: 'Normal', reason: EventReason.ScaledObjectPaused, note: 'ScaledObject is paused' });
    }

    if (!so.spec.scaleTargetRef?.name) {
      throw new StepError(ScaledObjectCheckMessage.ScaleTargetRef, new Error("ScaledObject doesn't have correct scaleTargetRef specification"));
    }
    // C-23, C-24: an unusable target also gets its own event with the bare message.
    const targetStep = <T>(fn: () => Promise<T>) =>
      step(ScaledObjectCheckMessage.ScaleTargetRef, async () => {
        try {
          return await fn();
        } catch (err) {
          if (err instanceof ScaleTargetError) {
            this.deps.events.emit(withKind(so), { type: 'Warning', reason: EventReason.ScaledObjectCheckFailed, note: err.message });
          }
          // C-21: an apiVersion/kind that maps to no resource.
          if (err instanceof ScaleTargetKindError) {
            this.deps.events.emit(withKind(so), { type: 'Warning', reason: EventReason.ScaledObjectUpdateFailed, note: `failed to resolve the scale target's kind: ${err.message}` });
          }
          throw err;
        }
      });
    const target = await targetStep(() => resolveScaleTarget(this.deps.client, so));
    status.scaleTargetKind = target.gvkString;
    status.scaleTargetGVKR = { group: target.resource.group, version: target.resource.version, kind: target.resource.kind, resource: target.resource.resource };
    if (status.originalReplicaCount === undefined) {
      status.originalReplicaCount =
        this.deps.cachedReplicas?.(target) ??
        (await targetStep(() => readScale(this.deps.client, target))).replicas;
    }

    const bounds = checkReplicaCountBounds(so);
    if (bounds.length) throw new StepError(ScaledObjectCheckMessage.ReplicaCounts, new Error(bounds.map((p) => p.message).join('; ')));
    const triggerProblems = validateTriggers(so.spec.triggers);
    if (triggerProblems.length) throw new StepError(ScaledObjectCheckMessage.Triggers, new Error(triggerProblems.map((p) => p.message).join('; ')));
    status.triggersTypes = triggersTypesOf(so.spec.triggers) || undefined;
    status.authenticationsTypes = authenticationsTypesOf(so.spec.triggers) || undefined;

    const createdHpa = await step(ScaledObjectCheckMessage.Hpa, () => this.ensureHpa(key, so, status, target.resource, pause));
    const generation = so.metadata?.generation ?? 0;
    if (createdHpa || this.deps.loops.generation(key) !== generation) {
      const hadLoop = this.deps.loops.start(key, true);
      if (!hadLoop) this.deps.events.emit(withKind(so), { type: 'Normal', reason: EventReason.KEDAScalersStarted, action: 'ScalersWatchStarted', note: 'Started scalers watch' });
    }
    if (!so.spec.fallback) {
      status.conditions = setCondition(status.conditions, conditionFrom(CONDITIONS.noFallbackFound));
    }
    return status;
  }

  /** Creates or updates the HPA (C-28..C-42); resolves true when it was created. */
  private async ensureHpa(
    key: string,
    so: ScaledObject,
    status: ScaledObjectStatus,
    targetGvk: { group: string; version: string; kind: string },
    pause: { pausedScaleIn: boolean; pausedScaleOut: boolean },
  ): Promise<boolean> {
    const built = await this.deps.scalers.get(key, so).catch((err: unknown) => {
      this.deps.events.emit(withKind(so), { type: 'Warning', reason: EventReason.KEDAScalerFailed, note: err instanceof Error ? err.message : String(err) });
      throw err;
    });
    const desired = desiredHpa({
      so: { ...so, status },
      targetGvk,
      metricSpecs: ScalersCache.metricSpecs(built) as never,
      kedaVersion: this.deps.kedaVersion,
      pausedScaleIn: pause.pausedScaleIn,
      pausedScaleOut: pause.pausedScaleOut,
    });
    if (!desired.ok) throw new Error(desired.error);
    Object.assign(status, desired.status);
    const namespace = so.metadata?.namespace ?? '';
    const wanted = desired.hpa.metadata.name ?? hpaNameFor(so);
    const existingName = status.hpaName ?? wanted;
    const existing = await this.readHpa(namespace, existingName);
    // An HPA of the old name that is not ours is left alone (only the one this ScaledObject controls is removed).
    if (existing && existingName !== wanted) await this.deleteOwnHpa(so, existingName);
    status.hpaName = wanted;
    if (!existing || existingName !== wanted) {
      const current = existingName !== wanted ? await this.readHpa(namespace, wanted) : undefined;
      if (!current) {
        try {
          await this.deps.client.create(resourcePath(hpaResource, namespace), desired.hpa);
          return true;
        } catch (err) {
          // The cache had not seen it yet: compare with the live object instead.
          if (!isConflict(err)) throw err;
          const live = await this.readHpa(namespace, wanted, true);
          if (live) refuseForeign(so, live);
          if (live && hpaNeedsUpdate(live, desired.hpa)) await this.replaceHpa(live, desired.hpa);
          return false;
        }
      }
      refuseForeign(so, current);
      if (hpaNeedsUpdate(current, desired.hpa)) await this.replaceHpa(current, desired.hpa);
      return false;
    }
    refuseForeign(so, existing);
    if (hpaNeedsUpdate(existing, desired.hpa)) await this.replaceHpa(existing, desired.hpa);
    return false;
  }

  /**
   * The controller-side guards (the webhook may be down with failurePolicy Ignore): another
   * ScaledObject that owns the same target (targetOwner decides, the same way in every replica),
   * an HPA not created for this ScaledObject scaling the target, or holding the HPA name it
   * wants. Such a ScaledObject stops its loop, drops its own HPA if it has one, and fails Ready;
   * nothing of the other owner is changed.
   */
  private async guardOwnership(key: string, so: ScaledObject, status: ScaledObjectStatus): Promise<void> {
    const namespace = so.metadata?.namespace ?? '';
    const targetKey = scaledObjectTargetKey(so);
    const hpasOnTarget = this.deps.hpasOnTarget?.(targetKey) ?? [];
    // This ScaledObject as reconciled now, and every other one on the same target.
    const claimants = [...(this.deps.scaledObjectsOnTarget?.(targetKey) ?? []).filter((other) => other.metadata?.name !== so.metadata?.name), so];
    const holders = new Set(hpasOnTarget.map((h) => controllingScaledObject(h)?.uid ?? '').filter(Boolean));
    const owner = targetOwner(claimants, holders);
    let problem: { step: string; message: string } | undefined;
    if (owner && owner.metadata?.name !== so.metadata?.name) {
      problem = { step: ScaledObjectCheckMessage.ScaleTargetRef, message: otherScaledObjectMessage(so, owner.metadata?.name ?? '') };
    } else {
      const uids = new Set(claimants.map((c) => c.metadata?.uid ?? '').filter(Boolean));
      // Only before this ScaledObject scales the target: an HPA added later does not oust it.
      const holds = holders.has(so.metadata?.uid ?? '\u0000');
      const foreign = holds ? undefined : foreignHpaOnTarget(so, hpasOnTarget, uids);
      if (foreign) {
        problem = { step: ScaledObjectCheckMessage.ScaleTargetRef, message: otherHpaMessage(so, foreign.metadata?.name ?? '') };
      } else {
        const named = await this.readHpa(namespace, hpaNameFor(so));
        const foreignNamed = named ? foreignHpaProblem(so, named) : undefined;
        if (foreignNamed) problem = { step: ScaledObjectCheckMessage.Hpa, message: foreignNamed };
      }
    }
    if (!problem) return;
    // This ScaledObject must not scale: no loop, no scalers, none of its own HPAs.
    if (this.deps.loops.stop(key)) this.deps.events.emit(withKind(so), { type: 'Normal', reason: EventReason.KEDAScalersStopped, note: 'Stopped scalers watch' });
    await this.deps.scalers.invalidate(key);
    const own = status.hpaName ?? hpaNameFor(so);
    await this.deleteOwnHpa(so, own);
    for (const hpa of hpasOnTarget) if (ownsHpa(so, hpa) && hpa.metadata.name !== own) await this.deleteOwnHpa(so, hpa.metadata.name ?? '');
    throw new StepError(problem.step, new Error(problem.message));
  }

  private async replaceHpa(existing: HorizontalPodAutoscaler, desired: HorizontalPodAutoscaler): Promise<void> {
    await this.deps.client.replace(resourcePath(hpaResource, existing.metadata.namespace, existing.metadata.name ?? desired.metadata.name), {
      ...desired,
      metadata: { ...desired.metadata, resourceVersion: existing.metadata.resourceVersion },
      status: existing.status,
    });
  }

  private async readHpa(namespace: string, name: string, live = false): Promise<HorizontalPodAutoscaler | undefined> {
    const cached = live ? undefined : this.deps.cachedHpa?.(namespace, name);
    if (cached !== undefined) return cached ?? undefined;
    try {
      return await this.deps.client.get<HorizontalPodAutoscaler>(resourcePath(hpaResource, namespace, name));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * Deletes the HPA `name` only when this ScaledObject controls it (ownerReference uid), with the
   * uid as a precondition, so an HPA of someone else that took the name meanwhile survives.
   */
  private async deleteOwnHpa(so: ScaledObject, name: string): Promise<void> {
    if (!name) return;
    const hpa = await this.readHpa(so.metadata?.namespace ?? '', name);
    if (!hpa) return;
    if (!ownsHpa(so, hpa)) {
      this.deps.logger.info({ namespace: so.metadata?.namespace, scaledObject: so.metadata?.name, hpa: name }, 'HPA not deleted: it is not controlled by this ScaledObject');
      return;
    }
    try {
      await this.deps.client.delete(resourcePath(hpaResource, so.metadata?.namespace, name), {
        kind: 'DeleteOptions',
        apiVersion: 'v1',
        ...(hpa.metadata.uid ? { preconditions: { uid: hpa.metadata.uid } } : {}),
      });
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  }

  /** C-8, C-12: the finalizer and the `scaledobject.keda.sh/name` label, in one optimistic patch. */
  private async ensureFinalizerAndLabel(so: ScaledObject): Promise<ScaledObject> {
    const finalizers = so.metadata?.finalizers ?? [];
    const name = so.metadata?.name ?? '';
    const hasLabel = so.metadata?.labels?.[Labels.ScaledObjectName] === name;
    if (finalizers.includes(KEDA_FINALIZER) && hasLabel) return so;
    return this.deps.client.patch<ScaledObject>(resourcePath(scaledObjectsResource, so.metadata?.namespace, name), {
      metadata: {
        resourceVersion: so.metadata?.resourceVersion,
        finalizers: finalizers.includes(KEDA_FINALIZER) ? finalizers : [...finalizers, KEDA_FINALIZER],
        labels: { [Labels.ScaledObjectName]: name },
      },
    });
  }

  /** C-94..C-97: stop the loop, delete the HPA, restore the original replicas if asked, drop the finalizer. */
  private async finalize(key: string, so: ScaledObject): Promise<void> {
    const finalizers = so.metadata?.finalizers ?? [];
    if (!finalizers.includes(KEDA_FINALIZER)) return;
    this.deps.loops.stop(key);
    await this.deps.scalers.invalidate(key);
    // KEDA leaves the HPA to the garbage collector; deleting it here first means it cannot scale
    // the target away from the restored count while the collector catches up.
    await this.deleteOwnHpa(so, so.status?.hpaName ?? hpaNameFor(so)).catch((err: unknown) =>
      this.deps.logger.warn({ err: String(err), key }, 'could not delete the HPA; the garbage collector will'),
    );
    const gvkr = so.status?.scaleTargetGVKR;
    if (so.spec.advanced?.restoreToOriginalReplicaCount && gvkr && so.status?.originalReplicaCount !== undefined) {
      try {
        await this.deps.client.updateScale(gvkr, so.metadata?.namespace ?? '', so.spec.scaleTargetRef.name, so.status.originalReplicaCount);
      } catch (err) {
        this.deps.logger.warn({ err: String(err), key }, 'could not restore the original replica count');
      }
    }
    await this.deps.client.patch(resourcePath(scaledObjectsResource, so.metadata?.namespace, so.metadata?.name), {
      metadata: { resourceVersion: so.metadata?.resourceVersion, finalizers: finalizers.filter((f) => f !== KEDA_FINALIZER) },
    });
    this.deps.events.emit(withKind(so), { type: 'Warning', reason: EventReason.ScaledObjectDeleted, note: 'ScaledObject was deleted' });
  }
}

/** An HPA of the wanted name that this ScaledObject does not control is never replaced. */
function refuseForeign(so: ScaledObject, hpa: HorizontalPodAutoscaler): void {
  const problem = foreignHpaProblem(so, hpa);
  if (problem) throw new Error(problem);
}

function mergeInitial(existing: Condition[] | undefined): Condition[] {
  let list = existing ?? [];
  for (const c of initialConditions()) if (!getCondition(list, c.type)) list = setCondition(list, c);
  return list;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export function withKind(so: ScaledObject): ScaledObject {
  return { ...so, apiVersion: API_GROUP_VERSION, kind: 'ScaledObject' };
}
