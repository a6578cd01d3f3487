import { healthWriteDue, type HealthMap } from '@keda-ts/scaling';

interface Entry {
  /** The latest counted health: the base of the next count. */
  health: HealthMap;
  /** What this controller last wrote to status.health, and when. */
  written?: HealthMap;
  writtenAt?: number;
}

/**
 * The fallback failure counts (status.health) per ScaledObject, kept in memory by the leader so
 * that a count can go on growing between its (coalesced, `healthWriteDue`) status writes: counting
 * from the informer's copy would stall at the last written value. The scale loop and GetMetrics
 * both count here (C-75). Without an entry (a new leader, a restart) the count starts from
 * status.health, as before.
 */
export class HealthLedger {
  private readonly byKey = new Map<string, Entry>();

  constructor(private readonly nowMs: () => number = Date.now) {}

  /** The health to count the next read on. */
  base(key: string, statusHealth: HealthMap | undefined): HealthMap | undefined {
    return this.byKey.get(key)?.health ?? statusHealth;
  }

  /**
   * Records a counted health; returns it when it is due to be written (then call `wrote` once the
   * write succeeded), or undefined to leave status.health as it is.
   */
  record(key: string, next: HealthMap, statusHealth: HealthMap | undefined, failureThreshold: number): HealthMap | undefined {
    const entry: Partial<Entry> = this.byKey.get(key) ?? {};
    this.byKey.set(key, { ...entry, health: next });
    const due = healthWriteDue({
      written: entry.written ?? statusHealth,
      next,
      failureThreshold,
      sinceWrittenMs: entry.writtenAt === undefined ? undefined : this.nowMs() - entry.writtenAt,
    });
    return due ? next : undefined;
  }

  /** `health` is in status now. */
  wrote(key: string, health: HealthMap): void {
    const entry = this.byKey.get(key);
    if (entry) this.byKey.set(key, { ...entry, written: health, writtenAt: this.nowMs() });
  }

  forget(key: string): void {
    this.byKey.delete(key);
  }

  get size(): number {
    return this.byKey.size;
  }
}
