import { createHash } from 'node:crypto';

/**
 * What client-go's event correlator does for the controller, in our own terms: repeated Events
 * become one Event object with a growing `series`, many different messages of the same reason
 * about one object collapse into one combined Event, and a per-object token bucket limits how
 * many writes one object can cause. Every cache is a bounded LRU, so a flood of objects or
 * messages costs a fixed amount of memory. Pure logic on an injected clock; the EventRecorder
 * does the writing.
 */

export interface EventCorrelatorOptions {
  /** Milliseconds; injected by tests. */
  now?: () => number;
  /** Entries of each cache (series, similar-message records, spam buckets). */
  cacheSize?: number;
  /** Writes one object may cause at once (client-go: 25). */
  spamBurst?: number;
  /** One more write per this many ms per object (client-go: 1 per 5 minutes). */
  spamRefillMs?: number;
  /** Distinct notes of one object + type + reason within `similarWindowMs` before further ones are combined (client-go: 10). */
  similarThreshold?: number;
  similarWindowMs?: number;
  /** A series' count is written at most this often (the occurrences in between only count in memory). */
  seriesPatchIntervalMs?: number;
}

export const EVENT_CORRELATOR_DEFAULTS = {
  // 10,000 ScaledObjects with a failing trigger each, plus room for ScaledJobs and TAs.
  cacheSize: 16_384,
  spamBurst: 25,
  spamRefillMs: 300_000,
  similarThreshold: 10,
  similarWindowMs: 600_000,
  seriesPatchIntervalMs: 120_000,
} as const;

export const COMBINED_PREFIX = '(combined from similar events): ';

/** A Map used as an LRU: get() refreshes, set() evicts the least recently used entry beyond `max`. */
export class Lru<V> {
  private readonly map = new Map<string, V>();

  constructor(
    readonly max: number,
    private readonly onEvict?: (key: string, value: V) => void,
  ) {
    if (!(max >= 1)) throw new Error(`LRU size must be >= 1, got ${max}`);
  }

  get size(): number {
    return this.map.size;
  }

  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  set(key: string, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.max) {
      const [oldest, old] = this.map.entries().next().value as [string, V];
      this.map.delete(oldest);
      this.onEvict?.(oldest, old);
    }
  }

  delete(key: string): void {
    this.map.delete(key);
  }

  values(): IterableIterator<V> {
    return this.map.values();
  }
}

/** One Event object (or the one about to be created) and the occurrences it stands for. */
export interface EventSeries<C = unknown> {
  /** Hash of object + type + reason + action + note (or the combined marker). */
  readonly key: string;
  readonly objectKey: string;
  /** Name of the Event object once created. */
  name?: string;
  state: 'pending' | 'created';
  /** Occurrences seen. */
  count: number;
  /** The count the API has. */
  writtenCount: number;
  firstTime: number;
  lastObserved: number;
  lastWriteAt: number;
  /** The latest note (combined series show the latest message). */
  note: string;
  /** A write of this series waits in the send queue. */
  queued: boolean;
  /** What the writer needs to write it (the latest occurrence's). */
  context: C;
}

export type Correlation<C> =
  | { action: 'create'; series: EventSeries<C> }
  | { action: 'count'; series: EventSeries<C>; patchDue: boolean }
  | { action: 'drop'; reason: 'spam' };

export interface CorrelationInput {
  objectKey: string;
  type: string;
  reason: string;
  action: string;
  note: string;
}

interface SimilarRecord {
  since: number;
  notes: Set<string>;
}

interface Bucket {
  tokens: number;
  at: number;
}

const hash = (s: string) => createHash('sha1').update(s).digest('base64');

export class EventCorrelator<C = unknown> {
  private readonly now: () => number;
  private readonly settings: Required<Omit<EventCorrelatorOptions, 'now'>>;
  private readonly series: Lru<EventSeries<C>>;
  private readonly similar: Lru<SimilarRecord>;
  private readonly buckets: Lru<Bucket>;

  constructor(options: EventCorrelatorOptions = {}) {
    this.now = options.now ?? (() => Date.now());
    const { now: _now, ...rest } = options;
    this.settings = { ...EVENT_CORRELATOR_DEFAULTS, ...Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) };
    this.series = new Lru(this.settings.cacheSize);
    this.similar = new Lru(this.settings.cacheSize);
    this.buckets = new Lru(this.settings.cacheSize);
  }

  get seriesCount(): number {
    return this.series.size;
  }

  /** Classifies one occurrence: a new Event to create, a count on an existing one, or spam. */
  observe(input: CorrelationInput, context: C): Correlation<C> {
    const now = this.now();
    const groupKey = `${input.objectKey}\0${input.type}\0${input.reason}\0${input.action}`;
    let note = input.note;
    let seriesKey = `${groupKey}\0${note}`;
    if (this.isBeyondSimilarThreshold(groupKey, note, now)) {
      note = `${COMBINED_PREFIX}${note}`;
      seriesKey = `${groupKey}\0combined`;
    }
    const key = hash(seriesKey);
    const existing = this.series.get(key);
    if (existing) {
      existing.count += 1;
      existing.lastObserved = now;
      existing.note = note;
      existing.context = context;
      return { action: 'count', series: existing, patchDue: this.patchDue(existing, now) };
    }
    if (!this.takeToken(input.objectKey, now)) return { action: 'drop', reason: 'spam' };
    const created: EventSeries<C> = {
      key,
      objectKey: input.objectKey,
      state: 'pending',
      count: 1,
      writtenCount: 0,
      firstTime: now,
      lastObserved: now,
      lastWriteAt: now,
      note,
      queued: false,
      context,
    };
    this.series.set(key, created);
    return { action: 'create', series: created };
  }

  /**
   * A count update of `series` may be written now: it is known to the API, has occurrences the API
   * lacks, the interval since its last write passed, and its object has a write token left (taken).
   */
  patchDue(series: EventSeries<C>, now = this.now()): boolean {
    if (series.state !== 'created' || series.queued || series.count <= series.writtenCount) return false;
    if (now - series.lastWriteAt < this.settings.seriesPatchIntervalMs) return false;
    return this.takeToken(series.objectKey, now);
  }

  /** Series whose count update is due now (their tokens are taken): for the periodic flush. */
  dueSeries(): EventSeries<C>[] {
    const now = this.now();
    const due: EventSeries<C>[] = [];
    for (const s of this.series.values()) if (this.patchDue(s, now)) due.push(s);
    return due;
  }

  /** The series was written with `count` occurrences (created or patched), sent at `sentAt`. */
  written(series: EventSeries<C>, name: string, count: number, sentAt = this.now()): void {
    series.name = name;
    series.state = 'created';
    series.writtenCount = count;
    series.lastWriteAt = sentAt;
  }

  /** The series' Event could not be created or is gone: a later occurrence starts a new one. */
  forget(series: EventSeries<C>): void {
    if (this.series.get(series.key) === series) this.series.delete(series.key);
  }

  private isBeyondSimilarThreshold(groupKey: string, note: string, now: number): boolean {
    let record = this.similar.get(groupKey);
    if (!record || now - record.since > this.settings.similarWindowMs) {
      record = { since: now, notes: new Set() };
      this.similar.set(groupKey, record);
    }
    const noteKey = hash(note);
    if (record.notes.has(noteKey)) return false;
    // The first `similarThreshold` notes keep their own Events; the set stops growing there.
    if (record.notes.size < this.settings.similarThreshold) {
      record.notes.add(noteKey);
      return false;
    }
    return true;
  }

  private takeToken(objectKey: string, now: number): boolean {
    const { spamBurst, spamRefillMs } = this.settings;
    let bucket = this.buckets.get(objectKey);
    if (!bucket) {
      bucket = { tokens: spamBurst, at: now };
      this.buckets.set(objectKey, bucket);
    }
    bucket.tokens = Math.min(spamBurst, bucket.tokens + (now - bucket.at) / spamRefillMs);
    bucket.at = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
