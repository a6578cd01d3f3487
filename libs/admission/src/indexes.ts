/**
 * In-memory indexes kept up to date from watch events, so every admission lookup is a map access:
 * target workload -> ScaledObjects, HPA name -> ScaledObjects, target workload -> HPAs, namespace ->
 * LimitRange defaults. Nothing here lists objects per admission.
 */
import {
  Annotations,
  effectiveScaleTargetRef,
  gvkString,
  hpaNameFor,
  parseGroupVersion,
  type ScaledObjectLike,
} from '@keda-ts/api';
import { parseQuantity } from '@keda-ts/scaling';

/** The watch event names of `Watched` (add/update/delete). */
export type IndexEvent = 'add' | 'update' | 'delete';

interface Meta {
  metadata?: {
    name?: string;
    namespace?: string;
    annotations?: Record<string, string>;
    ownerReferences?: readonly { kind?: string; name?: string }[];
  };
}

const key = (...parts: string[]) => parts.join('\u0000');

/** Adds `value` to the set at `k`. */
function addTo<V>(map: Map<string, Set<V>>, k: string, value: V): void {
  let set = map.get(k);
  if (!set) map.set(k, (set = new Set()));
  set.add(value);
}
function removeFrom<V>(map: Map<string, Set<V>>, k: string, value: V): void {
  const set = map.get(k);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(k);
}

/** Target and HPA name of every ScaledObject, by namespace. */
export class ScaledObjectIndex {
  private readonly entries = new Map<string, { target: string; hpa: string }>();
  private readonly byTarget = new Map<string, Set<string>>();
  private readonly byHpa = new Map<string, Set<string>>();

  get size(): number {
    return this.entries.size;
  }

  /** Applies one watch event. */
  apply(type: IndexEvent, so: ScaledObjectLike): void {
    if (type === 'delete') this.remove(so);
    else this.upsert(so);
  }

  upsert(so: ScaledObjectLike): void {
    const ns = so.metadata?.namespace ?? '';
    const name = so.metadata?.name ?? '';
    if (!name) return;
    this.remove(so);
    const target = effectiveScaleTargetRef(so);
    const entry = { target: key(ns, gvkString(target), target.name), hpa: key(ns, hpaNameFor(so)) };
    this.entries.set(key(ns, name), entry);
    addTo(this.byTarget, entry.target, name);
    addTo(this.byHpa, entry.hpa, name);
  }

  remove(so: ScaledObjectLike): void {
    const ns = so.metadata?.namespace ?? '';
    const name = so.metadata?.name ?? '';
    const k = key(ns, name);
    const entry = this.entries.get(k);
    if (!entry) return;
    this.entries.delete(k);
    removeFrom(this.byTarget, entry.target, name);
    removeFrom(this.byHpa, entry.hpa, name);
  }

  /** Another ScaledObject (not `self`) in `namespace` whose target has this GVK string and name. */
  otherForTarget(namespace: string, gvk: string, targetName: string, self: string): string | undefined {
    return firstOther(this.byTarget.get(key(namespace, gvk, targetName)), self);
  }

  /** Another ScaledObject (not `self`) in `namespace` whose effective HPA name is `hpaName`. */
  otherForHpaName(namespace: string, hpaName: string, self: string): string | undefined {
    return firstOther(this.byHpa.get(key(namespace, hpaName)), self);
  }
}

function firstOther(set: Set<string> | undefined, self: string): string | undefined {
  if (!set) return undefined;
  // Sorted so the message is deterministic when several others exist (rare: at most a handful).
  if (set.size > 1) return [...set].filter((n) => n !== self).sort()[0];
  for (const n of set) if (n !== self) return n;
  return undefined;
}

/** An autoscaling/v2 HorizontalPodAutoscaler as far as the webhook cares. */
export interface HpaLike extends Meta {
  spec?: { scaleTargetRef?: { apiVersion?: string; kind?: string; name?: string } };
}

export interface IndexedHpa {
  name: string;
  /** ownerReferences as kind/name pairs. */
  owners: readonly { kind: string; name: string }[];
  /** `validations.keda.sh/hpa-ownership: "false"`: the webhook ignores this HPA. */
  ignored: boolean;
}

/** The GVK string of an HPA's scaleTargetRef (apiVersion as written; kind as written). */
export function hpaTargetGvk(ref: { apiVersion?: string; kind?: string }): string {
  return gvkString({ ...parseGroupVersion(ref.apiVersion ?? ''), kind: ref.kind ?? '' });
}

/** HPAs by the workload they target. */
export class HpaIndex {
  private readonly targetOf = new Map<string, string>();
  private readonly byTarget = new Map<string, Map<string, IndexedHpa>>();

  get size(): number {
    return this.targetOf.size;
  }

  apply(type: IndexEvent, hpa: HpaLike): void {
    if (type === 'delete') this.remove(hpa);
    else this.upsert(hpa);
  }

  upsert(hpa: HpaLike): void {
    const ns = hpa.metadata?.namespace ?? '';
    const name = hpa.metadata?.name ?? '';
    if (!name) return;
    this.remove(hpa);
    const ref = hpa.spec?.scaleTargetRef ?? {};
    const target = key(ns, hpaTargetGvk(ref), ref.name ?? '');
    this.targetOf.set(key(ns, name), target);
    let byName = this.byTarget.get(target);
    if (!byName) this.byTarget.set(target, (byName = new Map()));
    byName.set(name, {
      name,
      owners: (hpa.metadata?.ownerReferences ?? []).map((o) => ({ kind: o.kind ?? '', name: o.name ?? '' })),
      ignored: hpa.metadata?.annotations?.[Annotations.HpaOwnershipValidation] === 'false',
    });
  }

  remove(hpa: HpaLike): void {
    const k = key(hpa.metadata?.namespace ?? '', hpa.metadata?.name ?? '');
    const target = this.targetOf.get(k);
    if (target === undefined) return;
    this.targetOf.delete(k);
    const byName = this.byTarget.get(target);
    byName?.delete(hpa.metadata?.name ?? '');
    if (byName?.size === 0) this.byTarget.delete(target);
  }

  /** HPAs in `namespace` targeting this GVK string and name, sorted by name. */
  forTarget(namespace: string, gvk: string, targetName: string): IndexedHpa[] {
    const byName = this.byTarget.get(key(namespace, gvk, targetName));
    return byName ? [...byName.values()].sort((a, b) => a.name.localeCompare(b.name)) : [];
  }
}

export interface LimitRangeLike extends Meta {
  spec?: {
    limits?: readonly {
      type?: string;
      default?: Record<string, string | number>;
      defaultRequest?: Record<string, string | number>;
    }[];
  };
}

const isPositive = (q: string | number | undefined): boolean => {
  if (q === undefined) return false;
  try {
    return parseQuantity(q) > 0;
  } catch {
    return false;
  }
};

/** Which resources (cpu, memory) get a non-zero Container default from some LimitRange, by namespace. */
export class LimitRangeIndex {
  private readonly byNamespace = new Map<string, Map<string, Set<string>>>();

  apply(type: IndexEvent, lr: LimitRangeLike): void {
    const ns = lr.metadata?.namespace ?? '';
    const name = lr.metadata?.name ?? '';
    let byName = this.byNamespace.get(ns);
    if (type === 'delete') {
      byName?.delete(name);
      if (byName?.size === 0) this.byNamespace.delete(ns);
      return;
    }
    const resources = new Set<string>();
    for (const limit of lr.spec?.limits ?? []) {
      if (limit.type !== 'Container') continue;
      for (const resource of ['cpu', 'memory']) {
        if (isPositive(limit.default?.[resource]) || isPositive(limit.defaultRequest?.[resource])) resources.add(resource);
      }
    }
    if (!byName) this.byNamespace.set(ns, (byName = new Map()));
    byName.set(name, resources);
  }

  /** True when a LimitRange in `namespace` gives containers a non-zero default for `resource`. */
  hasDefault(namespace: string, resource: string): boolean {
    for (const resources of this.byNamespace.get(namespace)?.values() ?? []) if (resources.has(resource)) return true;
    return false;
  }
}

export { isPositive as isPositiveQuantity };
