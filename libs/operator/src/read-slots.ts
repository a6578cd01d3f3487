/**
 * A process-wide cap on scaler reads in flight (a counting semaphore with a FIFO of waiters).
 * Hanging sources hold their slot only until their read's deadline, so they cannot take every
 * socket, file descriptor and promise of the controller; a read that cannot get a slot before its
 * own deadline fails its own object, not the others.
 */
export class ReadSlots {
  private active = 0;
  private readonly waiters: { grant: () => void; signal: AbortSignal; onAbort: () => void }[] = [];

  constructor(readonly limit: number) {
    if (!(Number.isInteger(limit) && limit >= 1)) throw new Error(`the scaler read limit must be a whole number >= 1, got ${limit}`);
  }

  get inFlight(): number {
    return this.active;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /**
   * Resolves with the slot's release function once one is free. Rejects with `signal.reason` when
   * the signal aborts first (the waiter leaves the queue at once).
   */
  acquire(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    if (this.active < this.limit) {
      this.active += 1;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        signal,
        grant: () => {
          signal.removeEventListener('abort', waiter.onAbort);
          resolve(this.releaser());
        },
        onAbort: () => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(signal.reason as Error);
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      // The slot passes straight to the next waiter: `active` stays the same.
      if (next) next.grant();
      else this.active -= 1;
    };
  }
}

/**
 * Default of --max-concurrent-scaler-reads, sized for 10,000 ScaledObjects. Healthy reads of
 * ~50 ms at KEDA's default pollingInterval of 30 s keep ~17 in flight. The bound case is every
 * source answering only at the scalers' 3 s HTTP timeout: 10,000 × 3 s / 30 s = 1,000 loop reads,
 * plus as many again for the HPA's GetMetrics calls (one per metric every 15 s, each cut at the
 * adapter's 3 s deadline). 2,000 covers that, while what hanging sources can hold stays bounded
 * (2,000 reads, each ended at its deadline). It is a bound on resources, not fairness: more
 * hanging objects than slots delay everyone's reads (a ResourceQuota on
 * `count/scaledobjects.keda.sh` per namespace bounds that).
 */
export const DEFAULT_MAX_CONCURRENT_SCALER_READS = 2000;
