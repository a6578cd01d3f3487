/** take() was refused: `maxWaiters` callers already wait for a token. */
export class TokenBucketFullError extends Error {
  constructor(readonly maxWaiters: number) {
    super(`rate limiter queue is full (${maxWaiters} requests waiting)`);
    this.name = 'TokenBucketFullError';
  }
}

/**
 * A token bucket: `qps` tokens per second refill a bucket of `burst`. `take()` resolves when a token
 * is available, so callers queue in FIFO order instead of hammering the API server (client-go's
 * default for KEDA's operator is 20 QPS, burst 30). With `maxWaiters`, a take() that would queue
 * behind that many others rejects with TokenBucketFullError instead: the queue cannot grow without
 * bound when callers outpace the rate for long.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly waiters: (() => void)[] = [];
  private timer?: NodeJS.Timeout;

  constructor(
    readonly qps: number,
    readonly burst: number,
    private readonly now: () => number = () => performance.now(),
    /** Callers allowed to wait at once; undefined waits without limit. */
    readonly maxWaiters?: number,
  ) {
    if (!(qps > 0)) throw new Error(`token bucket qps must be > 0, got ${qps}`);
    if (!(burst >= 1)) throw new Error(`token bucket burst must be >= 1, got ${burst}`);
    if (maxWaiters !== undefined && !(maxWaiters >= 0)) throw new Error(`token bucket maxWaiters must be >= 0, got ${maxWaiters}`);
    this.tokens = burst;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.qps);
    this.last = t;
  }

  /** Takes a token if one is available now. */
  tryTake(): boolean {
    this.refill();
    if (this.waiters.length === 0 && this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /** Callers waiting for a token now. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Resolves once a token was taken for the caller; rejects with TokenBucketFullError when `maxWaiters` wait already. */
  take(): Promise<void> {
    if (this.tryTake()) return Promise.resolve();
    if (this.maxWaiters !== undefined && this.waiters.length >= this.maxWaiters) return Promise.reject(new TokenBucketFullError(this.maxWaiters));
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.timer || this.waiters.length === 0) return;
    this.refill();
    const waitMs = this.tokens >= 1 ? 0 : ((1 - this.tokens) / this.qps) * 1000;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refill();
      while (this.waiters.length > 0 && this.tokens >= 1) {
        this.tokens -= 1;
        this.waiters.shift()!();
      }
      this.schedule();
    }, Math.ceil(waitMs));
    this.timer.unref?.();
  }
}
