/**
 * Helpers of the client-based scalers next to the shared client pool (shared-pool.ts): a hash of
 * credentials for pool keys, a deadline on a whole poll, and redaction of secrets in messages.
 */
import { createHash } from 'node:crypto';
import { LocalError } from '../upstream-errors';

export { SharedClients, type SharedLease } from './shared-pool';

/** A hash of secret material for pool keys. */
export function credentialsHash(...parts: (string | undefined)[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

/** Rejects with `message` if `work` has not settled within `timeoutMs` (or when `signal` aborts). */
export function withDeadline<T>(work: Promise<T>, timeoutMs: number, message: string, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new LocalError(`${message}: timed out after ${timeoutMs} ms`)), timeoutMs);
    const onAbort = () => reject(new LocalError(`${message}: aborted`));
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
