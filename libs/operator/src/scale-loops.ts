/**
 * One polling loop per ScaledObject or ScaledJob (C-46, C-47): the check runs at once, then every
 * pollingInterval measured from the start of the previous check; a slow check delays only its own
 * object. Starting a loop for a key that has one cancels the old one first.
 *
 * First poll. A new loop polls at once, as KEDA's startScaleLoop does, so that a ScaledObject with
 * `pollingInterval: 30` has its first decision within moments, not 30 s later. A poll can answer
 * `'not-ready'` (the ScaledObject's status has no resolved target yet: the informer has not seen
 * the reconciler's status write); the loop then tries again after NOT_READY_RETRY_MS, doubling, and
 * never later than one pollingInterval.
 *
 * Restarts. A reconcile restarts the loop when the generation changed or the HPA was recreated,
 * and the new loop polls at once too, so that a spec change shows in the next decision. What it
 * must not do is turn frequent reconciles into a poll storm: a spec flapping every second (two
 * controllers fighting over a field, a deleted HPA recreated over and over) would otherwise poll the
 * event source every second. So the first poll of a restarted loop comes at the earliest
 * min(pollingInterval, RESTART_MIN_GAP_MS) after the start of the previous poll of that key, and
 * it never overlaps a poll of the old loop that is still running (it waits for it). A key polls at
 * most once per RESTART_MIN_GAP_MS because of restarts, whatever the rate of reconciles; a single
 * spec change still polls at once when the previous poll is older than that. stop() forgets the
 * key: an object that comes back (unpaused, created again) polls at once.
 */
export const RESTART_MIN_GAP_MS = 5_000;
export const NOT_READY_RETRY_MS = 250;

/** What a poll may tell the loop: `'not-ready'` asks for an early retry (see above). */
export type PollResult = void | 'not-ready';

export interface LoopHooks {
  /** One poll; must not throw (errors are the poller's to report). */
  poll(key: string): Promise<PollResult>;
  intervalMs(key: string): number | undefined;
  /** Called when a loop stops (cache cleanup). */
  onStop?(key: string): void;
  /** How late a tick ran against its plan, for the scale-loop latency metric. */
  onLag?(key: string, lagMs: number): void;
}

interface Loop {
  generation: number;
  cancelled: boolean;
  /** performance.now() at the start of the last poll of this key, carried over restarts. */
  lastPollAt?: number;
  /** The delay of the next not-ready retry; reset by a poll that ran. */
  notReadyDelay?: number;
  timer?: NodeJS.Timeout;
  running?: Promise<void>;
  /** An extra poll (pokeNow) is waiting for the running one. */
  pokeQueued?: boolean;
}

export class ScaleLoops {
  private readonly loops = new Map<string, Loop>();

  constructor(
    private readonly hooks: LoopHooks,
    private readonly generationOf: (key: string) => number,
  ) {}

  get size(): number {
    return this.loops.size;
  }

  has(key: string): boolean {
    return this.loops.has(key);
  }

  generation(key: string): number | undefined {
    return this.loops.get(key)?.generation;
  }

  start(key: string, restart = true): boolean {
    const existing = this.loops.get(key);
    if (existing && !restart) return true;
    if (existing) this.cancel(key, existing, false);
    const loop: Loop = { generation: this.generationOf(key), cancelled: false, lastPollAt: existing?.lastPollAt };
    this.loops.set(key, loop);
    const begin = () => {
      if (loop.cancelled) return;
      // The old loop's last poll (possibly the one just awaited) sets the earliest first poll.
      loop.lastPollAt = existing?.lastPollAt ?? loop.lastPollAt;
      const now = performance.now();
      const due = loop.lastPollAt === undefined ? now : loop.lastPollAt + this.restartGap(key);
      if (due <= now) this.tick(key, loop, now);
      else loop.timer = setTimeout(() => this.tick(key, loop, due), due - now);
    };
    // Never two polls of one key at once: a restart waits for the old loop's running poll.
    const inFlight = existing?.running;
    if (inFlight) void inFlight.then(begin, begin);
    else begin();
    return existing !== undefined;
  }

  private restartGap(key: string): number {
    const interval = this.hooks.intervalMs(key);
    return interval === undefined ? RESTART_MIN_GAP_MS : Math.min(interval, RESTART_MIN_GAP_MS);
  }

  private tick(key: string, loop: Loop, plannedAt: number): void {
    if (loop.cancelled) return;
    // An extra poll (pokeNow) is running: the regular one follows it, never overlaps it.
    if (loop.running) {
      const later = () => this.tick(key, loop, plannedAt);
      void loop.running.then(later, later);
      return;
    }
    const startedAt = performance.now();
    const previousPollAt = loop.lastPollAt;
    loop.lastPollAt = startedAt;
    this.hooks.onLag?.(key, Math.max(0, startedAt - plannedAt));
    let result: PollResult;
    const polling = this.hooks.poll(key).then(
      (r) => void (result = r),
      () => undefined,
    );
    loop.running = polling.finally(() => {
      loop.running = undefined;
      if (loop.cancelled) return;
      const interval = this.hooks.intervalMs(key);
      if (interval === undefined) return;
      let next = startedAt + interval;
      if (result === 'not-ready') {
        // A poll that found nothing to do read no event source: it does not count for the restart gap.
        loop.lastPollAt = previousPollAt;
        const delay = Math.min(loop.notReadyDelay ?? NOT_READY_RETRY_MS, interval);
        loop.notReadyDelay = delay * 2;
        next = Math.min(next, performance.now() + delay);
      } else {
        loop.notReadyDelay = undefined;
      }
      loop.timer = setTimeout(() => this.tick(key, loop, next), Math.max(0, next - performance.now()));
    });
  }

  /**
   * Runs one extra poll of `key` now, without moving its regular schedule (push scalers, C-98). It
   * never overlaps another poll of the same loop: it waits for a running one, and requests made
   * while one is waiting are merged into it. False when there is no loop for `key`.
   */
  pokeNow(key: string): boolean {
    const loop = this.loops.get(key);
    if (!loop) return false;
    if (loop.pokeQueued) return true;
    loop.pokeQueued = true;
    const run = async (): Promise<void> => {
      while (loop.running) await loop.running.catch(() => undefined);
      loop.pokeQueued = false;
      if (loop.cancelled) return;
      loop.lastPollAt = performance.now();
      const polling = this.hooks.poll(key).then(
        () => undefined,
        () => undefined,
      );
      loop.running = polling;
      await polling;
      if (loop.running === polling) loop.running = undefined;
    };
    void run();
    return true;
  }

  stop(key: string): boolean {
    const loop = this.loops.get(key);
    if (!loop) return false;
    this.cancel(key, loop, true);
    return true;
  }

  private cancel(key: string, loop: Loop, notify: boolean): void {
    loop.cancelled = true;
    clearTimeout(loop.timer);
    this.loops.delete(key);
    if (notify) this.hooks.onStop?.(key);
  }

  /** Stops every loop and waits for running polls to end. */
  async stopAll(): Promise<void> {
    const running = [...this.loops.values()].map((l) => l.running);
    for (const key of [...this.loops.keys()]) this.stop(key);
    await Promise.allSettled(running);
  }
}

/**
 * Scale loops that poll only while this replica leads: a loop started by a reconcile that was still
 * running when leadership ended stops at its first tick instead of polling.
 */
export function leaderScaleLoops(isLeading: () => boolean, hooks: LoopHooks, generationOf: (key: string) => number): ScaleLoops {
  const loops: ScaleLoops = new ScaleLoops(
    {
      ...hooks,
      poll: (key) => {
        if (isLeading()) return hooks.poll(key);
        loops.stop(key);
        return Promise.resolve();
      },
    },
    generationOf,
  );
  return loops;
}
