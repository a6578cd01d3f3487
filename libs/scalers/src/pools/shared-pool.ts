/**
 * One client per server, shared by every scaler that points at it: leases are reference-counted
 * and the client is closed when the last lease is released. Keys are hashes, so credentials are
 * never held as map keys or shown in debugging output.
 */
import { createHash } from 'node:crypto';

export interface Lease<T> {
  readonly client: T;
  /** Idempotent; the last release closes the client. */
  release(): void;
}

interface Entry<T> {
  client: T;
  refs: number;
}

export class SharedPool<S, T> {
  private readonly entries = new Map<string, Entry<T>>();

  constructor(
    private readonly create: (settings: S) => T,
    private readonly destroy: (client: T) => void | Promise<void>,
  ) {}

  /** A lease on the client for these settings, created on first use. */
  acquire(settings: S): Lease<T> {
    const key = poolKey(settings);
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { client: this.create(settings), refs: 0 };
      this.entries.set(key, entry);
    }
    entry.refs += 1;
    const owned = entry;
    let released = false;
    return {
      client: owned.client,
      release: () => {
        if (released) return;
        released = true;
        owned.refs -= 1;
        if (owned.refs > 0) return;
        if (this.entries.get(key) === owned) this.entries.delete(key);
        void Promise.resolve()
          .then(() => this.destroy(owned.client))
          .catch(() => undefined);
      },
    };
  }

  /** Number of live clients (for tests and metrics). */
  get size(): number {
    return this.entries.size;
  }
}

/** A stable sha256 of the settings (object keys sorted). */
export function poolKey(settings: unknown): string {
  return createHash('sha256').update(stableJson(settings)).digest('hex');
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
