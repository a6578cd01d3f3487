/**
 * A keyed work queue like client-go's: a key is queued at most once, is never processed by two
 * workers at the same time (a key added while it is processed runs again afterwards), failed keys
 * come back with per-key exponential backoff, and `addAfter` schedules a key for later.
 */
export interface WorkQueueOptions {
  /** Concurrent workers (KEDA: 1 per controller by default). */
  concurrency?: number;
  /** First retry delay of a failing key; doubles per consecutive failure. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  onError?: (key: string, err: unknown, retryInMs: number) => void;
}

export type Reconcile = (key: string) => Promise<{ requeueAfterMs?: number } | void>;

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirtyWhileProcessing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private running = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  private readonly concurrency: number;
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;

  constructor(
    private readonly reconcile: Reconcile,
    private readonly options: WorkQueueOptions = {},
  ) {
    this.concurrency = options.concurrency ?? 1;
    this.baseBackoffMs = options.baseBackoffMs ?? 5;
    this.maxBackoffMs = options.maxBackoffMs ?? 60_000;
  }

  get length(): number {
    return this.queue.length;
  }

  add(key: string): void {
    if (this.stopped) return;
    const timer = this.timers.get(key);
    if (timer) {
      clearTimeout(timer);
      this.timers.delete(key);
    }
    if (this.processing.has(key)) {
      this.dirtyWhileProcessing.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  /** Adds `key` after `delayMs`, unless it is added sooner (then the earlier wins). */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    if (delayMs <= 0) return this.add(key);
    if (this.timers.has(key) || this.queued.has(key)) return;
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref?.();
    this.timers.set(key, timer);
  }

  /** Forgets the failure count of `key` (after it was deleted, say). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  private backoffFor(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    return Math.min(this.maxBackoffMs, this.baseBackoffMs * 2 ** (n - 1));
  }

  private pump(): void {
    while (!this.stopped && this.running < this.concurrency && this.queue.length > 0) {
      const key = this.queue.shift()!;
      this.queued.delete(key);
      this.processing.add(key);
      this.running++;
      void this.process(key);
    }
    if (this.running === 0 && this.queue.length === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      waiters.forEach((w) => w());
    }
  }

  private async process(key: string): Promise<void> {
    let requeueAfterMs: number | undefined;
    let failed = false;
    try {
      const result = await this.reconcile(key);
      requeueAfterMs = result ? result.requeueAfterMs : undefined;
      this.failures.delete(key);
    } catch (err) {
      failed = true;
      const retryInMs = this.backoffFor(key);
      requeueAfterMs = retryInMs;
      this.options.onError?.(key, err, retryInMs);
    } finally {
      this.processing.delete(key);
      this.running--;
    }
    if (this.dirtyWhileProcessing.delete(key) && !failed) this.add(key);
    else if (requeueAfterMs !== undefined) this.addAfter(key, requeueAfterMs);
    this.pump();
  }

  /** Resolves when nothing is queued or running (delayed keys are not waited for). */
  whenIdle(): Promise<void> {
    if (this.running === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Stops taking work; resolves when running reconciles have finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.queue.length = 0;
    this.queued.clear();
    while (this.running > 0) await new Promise((r) => setTimeout(r, 10));
  }
}
