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
 * The status each writer last wrote per object, until its informer catches up. Informer copies lag
 * behind our own writes (more so when the API server is busy); a patch from such a copy would fail
 * its precondition, be rebased on a GET and sent again: two extra requests per write, which under
 * load slow the watch further. When the informer still shows the version our write replaced, the
 * written status and its new resourceVersion are the right base instead.
 */
interface OwnWrite {
  /** The versions our chain of writes went through before the last one (what a lagging informer may show). */
  earlier: string[];
  resourceVersion: string;
  status: unknown;
  writtenAt: number;
}
/** Informers catch up within seconds; older entries are only memory. */
const OWN_WRITE_TTL_MS = 120_000;

type StatusObject<S> = { metadata?: { namespace?: string; name?: string; resourceVersion?: string }; status?: S };

/**
 * The one writer of a kind's status subresource: the reconciler, the scale loop and GetMetrics all
 * write a ScaledObject's status through the same StatusWriter, which sends one write per object at
 * a time. Each write merge-patches the fields of `next` that differ from `current`, with the
 * object's resourceVersion as a precondition: the writers work from informer snapshots, and a
 * plain merge patch of `conditions` from a stale snapshot would undo another writer's change (e.g.
 * put `Paused=True` back right after an unpause). On a conflict the change is rebased on the live
 * object and sent again. Nothing is sent when nothing changed.
 */
export class StatusWriter<O extends StatusObject<S>, S extends AnyStatus> {
  private readonly ownWrites = new Map<string, OwnWrite>();
  private lastPrune = 0;
  /** Per object, the write in progress: the next one starts after it. */
  private readonly inFlight = new Map<string, Promise<unknown>>();

  constructor(
    private readonly client: KubeClient,
    private readonly resource: GroupVersionResource,
  ) {}

  /**
   * `rider`: fields sent only along with a write that goes out anyway (the rest of `next` differs
   * from status); alone they never cause a request (a lastActiveTime that is not due, issue 24).
   * Resolves the written object, or undefined when nothing was sent.
   */
  write(obj: O, current: S | undefined, next: S, rider?: Partial<S>): Promise<O | undefined> {
    const path = resourcePath(this.resource, obj.metadata?.namespace, obj.metadata?.name, 'status');
    const previous = this.inFlight.get(path);
    const run = previous ? previous.then(noop, noop).then(() => this.patch(path, obj, current, next, rider)) : this.patch(path, obj, current, next, rider);
    const settled = run.then(noop, noop);
    this.inFlight.set(path, settled);
    void settled.then(() => {
      if (this.inFlight.get(path) === settled) this.inFlight.delete(path);
    });
    return run;
  }

  private async patch(path: string, so: O, current: S | undefined, next: S, rider?: Partial<S>): Promise<O | undefined> {
    const { client, resource } = this;
    const writes = this.ownWrites;
    const informerVersion = so.metadata?.resourceVersion;
    const own = writes.get(path);
    const useOwn = own !== undefined && informerVersion !== undefined && own.earlier.includes(informerVersion) && Date.now() - own.writtenAt < OWN_WRITE_TTL_MS;
    // The informer caught up with our last write, or shows someone else's: its copy is the base again.
    if (own && !useOwn) writes.delete(path);
    let base: { resourceVersion?: string; status: S | undefined } = useOwn ? { resourceVersion: own.resourceVersion, status: own.status as S } : { resourceVersion: informerVersion, status: current };
    let wanted = useOwn ? rebaseStatus(own.status as S, current, next) : next;
    if (rider && Object.keys(statusDelta(base.status, wanted)).length > 0) {
      next = { ...next, ...rider };
      wanted = useOwn ? rebaseStatus(own.status as S, current, next) : next;
    }
    for (let attempt = 0; ; attempt++) {
      const delta = statusDelta(base.status, wanted);
      if (Object.keys(delta).length === 0) return undefined;
      try {
        const written = await client.patch<O>(path, {
          ...(base.resourceVersion ? { metadata: { resourceVersion: base.resourceVersion } } : {}),
          status: delta,
        });
        const writtenVersion = written?.metadata?.resourceVersion;
        if (writtenVersion && base.resourceVersion) {
          // Every version up to this write is superseded by its answer (the live status at that moment).
          const earlier = [...new Set([...(useOwn ? own.earlier : []), ...(informerVersion ? [informerVersion] : []), base.resourceVersion])].slice(-8);
          const now = Date.now();
          writes.set(path, { earlier, resourceVersion: writtenVersion, status: written.status, writtenAt: now });
          this.prune(now);
        }
        return written;
      } catch (err) {
        if (!isConflict(err) || attempt >= 4) throw err;
        const live = await client.get<O>(resourcePath(resource, so.metadata?.namespace, so.metadata?.name));
        wanted = rebaseStatus(live.status, current, next);
        base = { resourceVersion: live.metadata?.resourceVersion, status: live.status };
      }
    }
  }

  /** Drops entries past their TTL, at most every 10 s (a scan of the whole map). */
  private prune(now: number): void {
    if (now - this.lastPrune < 10_000) return;
    this.lastPrune = now;
    for (const [key, entry] of this.ownWrites) if (now - entry.writtenAt > OWN_WRITE_TTL_MS) this.ownWrites.delete(key);
  }
}

const noop = () => undefined;

export type ScaledObjectStatusWriter = StatusWriter<ScaledObject, ScaledObjectStatus>;
export type ScaledJobStatusWriter = StatusWriter<ScaledJob, NonNullable<ScaledJob['status']>>;

export const scaledObjectStatusWriter = (client: KubeClient): ScaledObjectStatusWriter => new StatusWriter(client, scaledObjectsResource);
export const scaledJobStatusWriter = (client: KubeClient): ScaledJobStatusWriter => new StatusWriter(client, scaledJobsResource);
