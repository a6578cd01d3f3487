/**
 * Who scales a workload, decided without the admission webhook (whose failurePolicy may be
 * Ignore): of several ScaledObjects on one target exactly one wins, the same one in every
 * controller replica and after every restart; an HPA the ScaledObject does not own is never
 * replaced or deleted. Pure: the callers read the informer caches. The messages are the webhook's
 * (libs/admission), so a user sees the same words whichever side refused.
 */
import { API_GROUP, Annotations, effectiveScaleTargetRef, gvkString, parseGroupVersion, type ScaledObjectLike } from '@keda-ts/api';

export interface OwnerReferenceLike {
  apiVersion?: string;
  kind?: string;
  name?: string;
  uid?: string;
  controller?: boolean;
}

/** What the checks read of an HPA. */
export interface HpaForOwnership {
  metadata?: {
    name?: string;
    namespace?: string;
    annotations?: Record<string, string>;
    ownerReferences?: readonly OwnerReferenceLike[];
  };
  spec?: { scaleTargetRef?: { apiVersion?: string; kind?: string; name?: string } };
}

/** What the checks read of a ScaledObject. */
export type ScaledObjectForOwnership = ScaledObjectLike & {
  metadata?: ScaledObjectLike['metadata'] & { uid?: string; creationTimestamp?: string | Date };
};

/** `<namespace>/<group>/<version>.<Kind>/<name>` of a ScaledObject's scale target (the webhook's key). */
export function scaledObjectTargetKey(so: ScaledObjectLike): string {
  const target = effectiveScaleTargetRef(so);
  return `${so.metadata?.namespace ?? ''}/${gvkString(target)}/${target.name}`;
}

/** The same key for what an HPA scales. */
export function hpaTargetKey(hpa: HpaForOwnership): string {
  const ref = hpa.spec?.scaleTargetRef ?? {};
  return `${hpa.metadata?.namespace ?? ''}/${gvkString({ ...parseGroupVersion(ref.apiVersion ?? ''), kind: ref.kind ?? '' })}/${ref.name ?? ''}`;
}

/** The ScaledObject that controls `hpa` (its controller ownerReference), if any. */
export function controllingScaledObject(hpa: HpaForOwnership): OwnerReferenceLike | undefined {
  return hpa.metadata?.ownerReferences?.find(
    (o) => o.controller && o.kind === 'ScaledObject' && (o.apiVersion ?? '').startsWith(`${API_GROUP}/`),
  );
}

/** True when `so` (by uid) controls `hpa`. */
export function ownsHpa(so: ScaledObjectForOwnership, hpa: HpaForOwnership): boolean {
  const uid = so.metadata?.uid;
  return !!uid && controllingScaledObject(hpa)?.uid === uid;
}

const createdMs = (so: ScaledObjectForOwnership): number => {
  const t = so.metadata?.creationTimestamp;
  const ms = t === undefined ? NaN : new Date(t).getTime();
  return Number.isFinite(ms) ? ms : Number.POSITIVE_INFINITY;
};

/**
 * Of the ScaledObjects on one scale target, the one that scales it: one that already controls an
 * HPA on that target first (so an existing setup is never taken over), then the oldest
 * (creationTimestamp), then the first name. `hpaHolders` are the uids controlling an HPA on the
 * target. Deterministic, so that two controllers, or one after a restart, agree.
 */
export function targetOwner<T extends ScaledObjectForOwnership>(claimants: readonly T[], hpaHolders: ReadonlySet<string>): T | undefined {
  let best: T | undefined;
  for (const so of claimants) {
    if (!best || compareClaims(so, best, hpaHolders) < 0) best = so;
  }
  return best;
}

function compareClaims(a: ScaledObjectForOwnership, b: ScaledObjectForOwnership, hpaHolders: ReadonlySet<string>): number {
  const holdsA = hpaHolders.has(a.metadata?.uid ?? '') ? 0 : 1;
  const holdsB = hpaHolders.has(b.metadata?.uid ?? '') ? 0 : 1;
  if (holdsA !== holdsB) return holdsA - holdsB;
  const byAge = createdMs(a) - createdMs(b);
  if (byAge !== 0 && !Number.isNaN(byAge)) return byAge;
  const nameA = a.metadata?.name ?? '';
  const nameB = b.metadata?.name ?? '';
  return nameA < nameB ? -1 : nameA > nameB ? 1 : 0;
}

/** The webhook's words for a target scaled by another ScaledObject. */
export const otherScaledObjectMessage = (so: ScaledObjectLike, other: string): string => {
  const target = effectiveScaleTargetRef(so);
  return `the workload '${target.name}' of type '${gvkString(target)}' is already managed by the ScaledObject '${other}'`;
};

/** The webhook's words for a target scaled by an HPA that is not this ScaledObject's. */
export const otherHpaMessage = (so: ScaledObjectLike, hpaName: string): string => {
  const target = effectiveScaleTargetRef(so);
  return `the workload '${target.name}' of type '${gvkString(target)}' is already managed by the hpa '${hpaName}'`;
};

/** True when `so` asks to take over `hpaName` (scaledobject.keda.sh/transfer-hpa-ownership and the name in advanced settings). */
export function transfersHpa(so: ScaledObjectLike, hpaName: string): boolean {
  return (
    so.metadata?.annotations?.[Annotations.TransferHpaOwnership] === 'true' &&
    so.spec?.advanced?.horizontalPodAutoscalerConfig?.name === hpaName
  );
}

/**
 * Why `so` must not take over the existing HPA of the name it wants, or undefined when it owns it
 * (or asks for the transfer). The HPA is left as it is either way.
 */
export function foreignHpaProblem(so: ScaledObjectForOwnership, hpa: HpaForOwnership): string | undefined {
  const name = hpa.metadata?.name ?? '';
  if (ownsHpa(so, hpa) || transfersHpa(so, name)) return undefined;
  const keda = controllingScaledObject(hpa);
  const owner = keda ?? hpa.metadata?.ownerReferences?.find((o) => o.controller) ?? hpa.metadata?.ownerReferences?.[0];
  if (!owner) return `the HPA '${name}' already exists and was not created by KEDA for this ScaledObject`;
  if (keda && keda.name === so.metadata?.name)
    return `the HPA '${name}' belongs to an earlier ScaledObject '${owner.name}' (uid ${owner.uid ?? 'unknown'}) that the garbage collector has not removed yet`;
  return `the HPA '${name}' is already managed by the ${owner.kind ?? 'object'} '${owner.name ?? ''}'`;
}

/**
 * The first HPA (by name) on the target of `so` that is neither controlled by `so`, nor by another
 * ScaledObject claiming the same target (`claimantUids`: targetOwner decides between those), nor
 * ignored (validations.keda.sh/hpa-ownership: "false"), nor being transferred to `so`.
 */
export function foreignHpaOnTarget(
  so: ScaledObjectForOwnership,
  hpasOnTarget: readonly HpaForOwnership[],
  claimantUids: ReadonlySet<string>,
): HpaForOwnership | undefined {
  const candidates = hpasOnTarget.filter((hpa) => {
    if (hpa.metadata?.annotations?.[Annotations.HpaOwnershipValidation] === 'false') return false;
    const controller = controllingScaledObject(hpa);
    if (controller?.uid && (controller.uid === so.metadata?.uid || claimantUids.has(controller.uid))) return false;
    return !transfersHpa(so, hpa.metadata?.name ?? '');
  });
  return candidates.sort((a, b) => ((a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1))[0];
}

/**
 * True when `uid` is the controller ownerReference of `obj`: a ScaledJob deletes only the Jobs it
 * created, never another Job that merely carries its `scaledjob.keda.sh/name` label.
 */
export function isControlledBy(obj: { metadata?: object }, uid: string | undefined): boolean {
  const refs = (obj.metadata as { ownerReferences?: readonly OwnerReferenceLike[] } | undefined)?.ownerReferences;
  return !!uid && !!refs?.some((o) => o.controller && o.uid === uid);
}
