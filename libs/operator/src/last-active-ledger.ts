import { laterOf, lastActiveTimeWriteDue, truncateToSecond } from '@keda-ts/scaling';
import type { Logger } from '@keda-ts/runtime';

interface Entry {
  /** Whether the last poll found the object active (refreshed its last active time). */
  active: boolean;
  /** The last poll that found it active, to the second (as status would hold it). */
  activeAt?: Date;
  /** The latest lastActiveTime this controller wrote to status. */
  written?: Date;
}

/**
 * The true last active time per ScaledObject or ScaledJob, kept in memory by the leader, so that
 * status.lastActiveTime needs writing only at transitions and when it falls a bound behind
 * (`lastActiveTimeWriteDue`, issue 24), while the cooldown still counts from the last active poll.
 * Without an entry (a new leader, a restart) the stored status value is all there is. On a graceful
 * stop the entries are kept until `flushLastActiveTimes` wrote what status lacks.
 */
export class LastActiveLedger {
  private readonly byKey = new Map<string, Entry>();
  private holding = false;

  /** What the cooldown counts from: the later of the remembered, the written and the stored time. */
  lastActiveTime(key: string, stored: Date | undefined): Date | undefined {
    const entry = this.byKey.get(key);
    return laterOf(laterOf(entry?.activeAt, entry?.written), stored);
  }

  /** Whether the previous poll in this process found the object active; undefined before the first. */
  wasActive(key: string): boolean | undefined {
    return this.byKey.get(key)?.active;
  }

  /**
   * Records a poll. An active one remembers `at`; returns the time to write to
   * status.lastActiveTime when a write is due (call `wrote` once it succeeded), else undefined.
   */
  record(key: string, poll: { active: boolean; at: Date; stored: Date | undefined; boundMs: number; transition: boolean }): Date | undefined {
    const entry: Entry = { ...(this.byKey.get(key) ?? {}), active: poll.active };
    this.byKey.set(key, entry);
    if (!poll.active) return undefined;
    entry.activeAt = truncateToSecond(poll.at);
    const due = lastActiveTimeWriteDue({ stored: laterOf(poll.stored, entry.written), now: poll.at, boundMs: poll.boundMs, transition: poll.transition });
    return due ? entry.activeAt : undefined;
  }

  /** The remembered last active time when status (`stored`, or our last write) does not show it yet. */
  behind(key: string, stored: Date | undefined): Date | undefined {
    const entry = this.byKey.get(key);
    const known = laterOf(stored, entry?.written);
    return entry?.activeAt && (!known || entry.activeAt.getTime() > known.getTime()) ? entry.activeAt : undefined;
  }

  /** `at` is in status now. */
  wrote(key: string, at: Date): void {
    const entry = this.byKey.get(key);
    if (entry) entry.written = laterOf(entry.written, at);
  }

  /**
   * Drops the key (its loop stopped); returns the time status lacks, if any, for the caller to
   * write. While holding for a flush, nothing is dropped.
   */
  forget(key: string): Date | undefined {
    if (this.holding) return undefined;
    const behind = this.behind(key, undefined);
    this.byKey.delete(key);
    return behind;
  }

  /** A graceful stop: keep every entry (the loops are stopping and forget them) until `flushed`. */
  holdForFlush(): void {
    this.holding = true;
  }

  /** The remembered times newer than this controller's last write of them, per key. */
  pending(): [key: string, at: Date][] {
    const out: [string, Date][] = [];
    for (const key of this.byKey.keys()) {
      const at = this.behind(key, undefined);
      if (at) out.push([key, at]);
    }
    return out;
  }

  /** The flush is over: forget everything. */
  flushed(): void {
    this.byKey.clear();
    this.holding = false;
  }

  get size(): number {
    return this.byKey.size;
  }
}

/** At most this long is spent writing lastActiveTime on a graceful stop: the shutdown must go on. */
export const LAST_ACTIVE_FLUSH_TIMEOUT_MS = 5_000;
/** Status writes in flight at once during the flush. */
export const LAST_ACTIVE_FLUSH_CONCURRENCY = 8;

export interface LastActiveFlushResult {
  written: number;
  /** Nothing to write: status already showed it, or the object is gone. */
  skipped: number;
  failed: number;
  /** Not attempted, or not answered, before the deadline. */
  unfinished: number;
}

/**
 * On a graceful stop, before the Lease is released: writes every remembered last active time that
 * status lacks, so the next leader's cooldowns count from the true last active poll, exactly as
 * without the coalescing. Bounded in time and concurrency; `write` resolves whether it wrote.
 */
export async function flushLastActiveTimes(
  ledger: LastActiveLedger,
  options: { kind: string; logger: Logger; write(key: string, at: Date): Promise<boolean>; timeoutMs?: number; concurrency?: number },
): Promise<LastActiveFlushResult> {
  const started = Date.now();
  const queue = ledger.pending();
  const result: LastActiveFlushResult = { written: 0, skipped: 0, failed: 0, unfinished: 0 };
  if (queue.length === 0) {
    ledger.flushed();
    return result;
  }
  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      timedOut = true;
      resolve();
    }, options.timeoutMs ?? LAST_ACTIVE_FLUSH_TIMEOUT_MS);
    timer.unref?.();
  });
  let inFlight = 0;
  const worker = async () => {
    while (!timedOut) {
      const next = queue.shift();
      if (!next) return;
      const [key, at] = next;
      inFlight += 1;
      try {
        if (await options.write(key, at)) result.written += 1;
        else result.skipped += 1;
      } catch (err) {
        result.failed += 1;
        options.logger.debug({ key, err: err instanceof Error ? err.message : String(err) }, 'could not write lastActiveTime on stop');
      } finally {
        inFlight -= 1;
      }
    }
  };
  const workers = Array.from({ length: Math.min(options.concurrency ?? LAST_ACTIVE_FLUSH_CONCURRENCY, queue.length) }, worker);
  await Promise.race([Promise.all(workers), deadline]);
  clearTimeout(timer);
  result.unfinished = queue.length + inFlight;
  ledger.flushed();
  const log = { kind: options.kind, ...result, ms: Date.now() - started };
  if (timedOut || result.failed) options.logger.warn(log, 'lastActiveTime not fully written on stop: the next leader may end some cooldowns early');
  else options.logger.info(log, 'wrote lastActiveTime on stop');
  return result;
}
