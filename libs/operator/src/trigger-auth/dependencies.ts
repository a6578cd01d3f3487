/**
 * Which scalable objects depend on which objects (TriggerAuthentications, Secrets, scale targets...),
 * so that a change to one rebuilds exactly the scalers that read it. Keys are opaque strings; use
 * `referenceKey` for AuthReferences and `dependentKey` for scalable objects.
 */
export const dependentKey = (kind: string, namespace: string, name: string): string => `${kind}/${namespace}/${name}`;

export class AuthDependencies {
  private readonly byObject = new Map<string, Set<string>>();
  private readonly byDependent = new Map<string, Set<string>>();

  /** Replaces what `dependent` reads. Returns the object keys it gained or lost. */
  record(dependent: string, objects: Iterable<string>): { added: string[]; removed: string[] } {
    const next = new Set(objects);
    const previous = this.byDependent.get(dependent) ?? new Set<string>();
    const added = [...next].filter((o) => !previous.has(o));
    const removed = [...previous].filter((o) => !next.has(o));
    for (const o of removed) this.unlink(o, dependent);
    for (const o of added) {
      let set = this.byObject.get(o);
      if (!set) this.byObject.set(o, (set = new Set()));
      set.add(dependent);
    }
    if (next.size) this.byDependent.set(dependent, next);
    else this.byDependent.delete(dependent);
    return { added, removed };
  }

  /** Drops `dependent` (deleted). Returns the object keys it read. */
  forget(dependent: string): string[] {
    return this.record(dependent, []).removed;
  }

  dependents(object: string): string[] {
    return [...(this.byObject.get(object) ?? [])];
  }

  objectsOf(dependent: string): string[] {
    return [...(this.byDependent.get(dependent) ?? [])];
  }

  get size(): { objects: number; dependents: number } {
    return { objects: this.byObject.size, dependents: this.byDependent.size };
  }

  private unlink(object: string, dependent: string): void {
    const set = this.byObject.get(object);
    set?.delete(dependent);
    if (set && !set.size) this.byObject.delete(object);
  }
}
