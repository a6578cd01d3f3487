/**
 * Scale-loop lag since the last report, summarised as percentiles: what a soak run reads from the
 * controller's log when it runs as a separate process. Bounded: past `capacity` samples in one
 * window, a sample replaces a random earlier one (reservoir sampling), so percentiles stay fair.
 */
export interface LagSummary {
  count: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

export class LagWindow {
  private samples: number[] = [];
  private seen = 0;
  private max = 0;

  constructor(
    private readonly capacity = 100_000,
    private readonly random: () => number = Math.random,
  ) {}

  add(lagMs: number): void {
    this.seen++;
    if (lagMs > this.max) this.max = lagMs;
    if (this.samples.length < this.capacity) this.samples.push(lagMs);
    else {
      const slot = Math.floor(this.random() * this.seen);
      if (slot < this.capacity) this.samples[slot] = lagMs;
    }
  }

  /** The summary of the samples since the last drain, and a fresh window. */
  drain(): LagSummary {
    const sorted = this.samples.sort((a, b) => a - b);
    const at = (p: number) => +(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0).toFixed(2);
    const summary = { count: this.seen, p50Ms: at(50), p95Ms: at(95), p99Ms: at(99), maxMs: +this.max.toFixed(2) };
    this.samples = [];
    this.seen = 0;
    this.max = 0;
    return summary;
  }
}
