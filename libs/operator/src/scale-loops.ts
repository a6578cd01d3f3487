/**
 * One polling loop per ScaledObject (C-46, C-47): the check runs at once, then every
 * pollingInterval measured from the start of the previous check; a slow check delays only its own
 * object. Starting a loop for a key that has one cancels the old one first.
 */
export interface LoopHooks {
  /** One poll; must not throw (errors are the poller's to report). */
  poll(key: string): Promise<void>;
  intervalMs(key: string): number | undefined;
  /** Called when a loop stops (cache cleanup). */
  onStop?(key: string): void;
  /** How late a tick ran against its plan, for the scale-loop latency metric. */
  onLag?(key: string, lagMs: number): void;
}

interface Loop {
  generation: number;
  cancelled: boolean;
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
    const loop: Loop = { generation: this.generationOf(key), cancelled: false };
    this.loops.set(key, loop);
    this.tick(key, loop, performance.now());
    return existing !== undefined;
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
    this.hooks.onLag?.(key, Math.max(0, startedAt - plannedAt));
    loop.running = this.hooks.poll(key).finally(() => {
      loop.running = undefined;
      if (loop.cancelled) return;
      const interval = this.hooks.intervalMs(key);
      if (interval === undefined) return;
      const next = startedAt + interval;
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
      const polling = this.hooks.poll(key).catch(() => undefined);
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
