/**
 * One client per server, shared by every scaler that talks to it: leases are reference-counted
 * and the client is closed when the last lease is released. Keys are built by the scaler from its
 * connection parameters; secrets go in through `credentialsHash`, never verbatim.
 */
import { createHash } from 'node:crypto';

export interface ClientLease<T> {
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

  constructor(private readonly close: (client: T) => Promise<void> | void) {}

  acquire(key: string, create: () => T): ClientLease<T> {
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
        await Promise.resolve(this.close(owned.client)).catch(() => undefined);
      },
    };
  }

  /** Number of live clients (tests, benchmarks). */
  get size(): number {
    return this.entries.size;
  }
}

/** A hash of secret material for pool keys. */
export function credentialsHash(...parts: (string | undefined)[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

/** Rejects with `message` if `work` has not settled within `timeoutMs` (or when `signal` aborts). */
export function withDeadline<T>(work: Promise<T>, timeoutMs: number, message: string, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${message}: timed out after ${timeoutMs} ms`)), timeoutMs);
    const onAbort = () => reject(new Error(`${message}: aborted`));
    signal?.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    });
    // The losing side may settle later; nobody waits for it.
    work.catch(() => undefined);
  });
}

/** Replaces each secret in `text` by `<redacted>` (client libraries sometimes echo what they were given). */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 3) out = out.split(s).join('<redacted>');
  return out;
}
