/**
 * Objects of an informer grouped by the scale target they name (ScaledObjects by
 * `scaledObjectTargetKey`, HPAs by `hpaTargetKey`), kept up to date from watch events, so that the
 * ownership guards are map lookups and never a LIST.
 */
import type { WatchEventType } from '@keda-ts/k8s';

interface Named {
  metadata?: { name?: string; namespace?: string };
}

export class TargetIndex<T extends Named> {
  private readonly byTarget = new Map<string, Map<string, T>>();
  private readonly targetOf = new Map<string, string>();

  constructor(private readonly targetKey: (obj: T) => string) {}

  /** Applies one watch event; returns the target keys the object left or joined. */
  apply(type: WatchEventType, obj: T): string[] {
    const key = `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
    const before = this.targetOf.get(key);
    if (before !== undefined) {
      const set = this.byTarget.get(before);
      set?.delete(key);
      if (set?.size === 0) this.byTarget.delete(before);
      this.targetOf.delete(key);
    }
    if (type === 'delete') return before === undefined ? [] : [before];
    const after = this.targetKey(obj);
    this.targetOf.set(key, after);
    let set = this.byTarget.get(after);
    if (!set) this.byTarget.set(after, (set = new Map()));
    set.set(key, obj);
    return before === undefined || before === after ? [after] : [before, after];
  }

  /** The objects on `targetKey`. */
  on(targetKey: string): T[] {
    return [...(this.byTarget.get(targetKey)?.values() ?? [])];
  }
}
