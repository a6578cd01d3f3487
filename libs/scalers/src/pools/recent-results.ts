/**
 * Shares the answer of one query between the scalers that ask the same server the same question at
 * about the same time: while it is in flight, and for `reuseMs` after it succeeded. Many triggers on
 * one Kafka consumer group (or topic) then cost the broker one request per window instead of one
 * each. Failures are not kept: the next caller asks again.
 */
export class RecentResults {
  private readonly entries = new Map<string, { answer: Promise<unknown>; settledAt?: number }>();
  private prunedAt = -Infinity;

  constructor(private readonly now: () => number = Date.now) {}

  get<T>(key: string, reuseMs: number, query: () => Promise<T>): Promise<T> {
    const entry = this.entries.get(key);
    if (entry && (entry.settledAt === undefined || this.now() - entry.settledAt <= reuseMs)) return entry.answer as Promise<T>;
    const fresh: { answer: Promise<T>; settledAt?: number } = { answer: query() };
    this.entries.set(key, fresh);
    fresh.answer.then(
      () => {
        // Without a reuse window only callers that came while it was in flight share the answer.
        if (reuseMs <= 0) {
          if (this.entries.get(key) === fresh) this.entries.delete(key);
          return;
        }
        fresh.settledAt = this.now();
        this.prune(reuseMs);
      },
      () => {
        if (this.entries.get(key) === fresh) this.entries.delete(key);
      },
    );
    return fresh.answer;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Drops answers past their window so that the map holds only live keys (a scan, at most once per window). */
  private prune(reuseMs: number): void {
    const now = this.now();
    if (this.entries.size < 64 || now - this.prunedAt < reuseMs) return;
    this.prunedAt = now;
    for (const [key, entry] of this.entries) if (entry.settledAt !== undefined && now - entry.settledAt > reuseMs) this.entries.delete(key);
  }
}
