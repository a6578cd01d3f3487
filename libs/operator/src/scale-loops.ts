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
