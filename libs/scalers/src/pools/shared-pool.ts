/**
 * One client per server, shared by every scaler that points at it: leases are reference-counted
 * and the client is closed when the last lease is released. Keys are built by the caller from
 * the connection parameters, with a hash (never the value) of credentials: see `connectionKey`.
 */
import { createHash } from 'node:crypto';
import { LocalError } from '../upstream-errors';

export interface SharedLease<T> {
  readonly client: T;
  /** Idempotent; closes the client when this was the last lease. */
  release(): Promise<void>;
}

interface Entry<T> {
  client: T;
  refs: number;
}

export class SharedClients<T> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(private readonly close: (client: T) => Promise<void>) {}

  /** A lease on the client for `key`, created with `create` when there is none. */
  acquire(key: string, create: () => T): SharedLease<T> {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { client: create(), refs: 0 };
      this.entries.set(key, entry);
    }
    entry.refs += 1;
    const owned = entry;
    let released = false;
    return {
      client: owned.client,
      release: async () => {
        if (released) return;
        released = true;
        owned.refs -= 1;
        if (owned.refs > 0) return;
        if (this.entries.get(key) === owned) this.entries.delete(key);
        await this.close(owned.client).catch(() => undefined);
      },
    };
  }

  /** Number of live clients (for tests and benchmarks). */
  get size(): number {
    return this.entries.size;
  }

  /** The live clients (for tests and benchmarks). */
  clients(): T[] {
    return [...this.entries.values()].map((e) => e.client);
  }
}

/** A stable key of connection parameters; values under `secrets` only enter as a hash. */
export function connectionKey(parts: Record<string, unknown>, secrets: Record<string, string | undefined> = {}): string {
  const secretHash = createHash('sha256').update(JSON.stringify(Object.entries(secrets).sort())).digest('hex');
  return JSON.stringify([Object.entries(parts).sort(([a], [b]) => a.localeCompare(b)), secretHash]);
}

/** Settles with `promise`, or rejects as soon as `signal` aborts (the query itself runs to its own timeout). */
export function abortable<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new LocalError('request aborted'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
