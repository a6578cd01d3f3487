import { isDeepStrictEqual } from 'node:util';
import type { Condition, ScaledJob, ScaledObject, ScaledObjectStatus } from '@keda-ts/api';
import { API_GROUP, API_VERSION, setCondition } from '@keda-ts/api';
import { isConflict, KubeClient, resourcePath, type GroupVersionResource } from '@keda-ts/k8s';

export const scaledObjectsResource = { group: API_GROUP, version: API_VERSION, resource: 'scaledobjects' };
export const scaledJobsResource = { group: API_GROUP, version: API_VERSION, resource: 'scaledjobs' };

/** A status with conditions: ScaledObjectStatus or ScaledJobStatus. */
type AnyStatus = { conditions?: Condition[] | unknown[] };

/** The status fields of `next` that differ from `current`; `null` clears a field. */
export function statusDelta<S extends AnyStatus = ScaledObjectStatus>(current: S | undefined, next: S): Record<string, unknown> {
  const delta: Record<string, unknown> = {};
  const keys = new Set([...Object.keys(current ?? {}), ...Object.keys(next)]) as Set<keyof S>;
  for (const key of keys) {
    const before = current?.[key];
    const after = next[key];
    if (!isDeepStrictEqual(before, after)) delta[key as string] = after === undefined ? null : after;
  }
  return delta;
}

/**
 * Re-applies a change (`current` → `next`) on top of a newer status: the fields that changed are
 * taken from `next`; `conditions` (one array in a merge patch) only by the condition types that
 * changed, so that a writer never puts back another writer's older conditions.
 */
export function rebaseStatus<S extends AnyStatus = ScaledObjectStatus>(latest: S | undefined, current: S | undefined, next: S): S {
  const rebased = { ...(latest ?? {}) } as S;
  for (const [key, value] of Object.entries(statusDelta(current, next))) {
    if (key === 'conditions') continue;
    (rebased as unknown as Record<string, unknown>)[key] = value === null ? undefined : value;
  }
  const before = new Map(((current?.conditions ?? []) as Condition[]).map((c) => [c.type, c] as const));
  let conditions = rebased.conditions as Condition[] | undefined;
  for (const c of (next.conditions ?? []) as Condition[]) {
    if (!isDeepStrictEqual(before.get(c.type), c)) conditions = setCondition(conditions, c);
  }
  if (conditions) rebased.conditions = conditions as never;
  return rebased;
}

/**
 * Merge-patches the fields of `next` that differ from `current` into the status subresource,
 * with `so`'s resourceVersion as a precondition: the scale loop, the reconciler and the metrics
 * service write the same status from informer snapshots, and a plain merge patch of
 * `conditions` from a stale snapshot would undo another writer's change (e.g. put `Paused=True`
 * back right after an unpause). On a conflict the change is rebased on the live object and sent
 * again. Nothing is sent when nothing changed.
 */
export function patchScaledObjectStatus(
  client: KubeClient,
  so: ScaledObject,
  current: ScaledObjectStatus | undefined,
  next: ScaledObjectStatus,
): Promise<ScaledObject | undefined> {
  return patchStatus(client, scaledObjectsResource, so, current, next);
}

/** patchScaledObjectStatus for a ScaledJob. */
export function patchScaledJobStatus(
  client: KubeClient,
  sj: ScaledJob,
  current: ScaledJob['status'],
  next: NonNullable<ScaledJob['status']>,
): Promise<ScaledJob | undefined> {
  return patchStatus(client, scaledJobsResource, sj, current, next);
}

async function patchStatus<O extends { metadata?: { namespace?: string; name?: string; resourceVersion?: string } }, S extends AnyStatus>(
  client: KubeClient,
  resource: GroupVersionResource,
  so: O,
  current: S | undefined,
  next: S,
): Promise<O | undefined> {
  const path = resourcePath(resource, so.metadata?.namespace, so.metadata?.name, 'status');
  let base: { resourceVersion?: string; status: S | undefined } = { resourceVersion: so.metadata?.resourceVersion, status: current };
  let wanted = next;
  for (let attempt = 0; ; attempt++) {
    const delta = statusDelta(base.status, wanted);
    if (Object.keys(delta).length === 0) return undefined;
    try {
      return await client.patch<O>(path, {
        ...(base.resourceVersion ? { metadata: { resourceVersion: base.resourceVersion } } : {}),
        status: delta,
      });
    } catch (err) {
      if (!isConflict(err) || attempt >= 4) throw err;
      const live = await client.get<O & { status?: S }>(resourcePath(resource, so.metadata?.namespace, so.metadata?.name));
      wanted = rebaseStatus(live.status, current, next);
      base = { resourceVersion: live.metadata?.resourceVersion, status: live.status };
    }
  }
}
