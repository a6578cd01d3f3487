/**
 * Coalescing of kafka offset reads: the polls that ask one cluster within a short collection
 * window are answered by ONE fetch, sent when the window closes. Freshness holds: every answer
 * comes from requests sent after its caller asked (a caller that comes once a batch was sent
 * waits for the next batch), so a poll sees every commit and message that preceded it. Nothing
 * is kept once a batch settles.
 */
import { LocalError } from '../../upstream-errors';

/** Committed offsets of one group: per topic, partition -> offset, or the error of that topic. */
export type CommittedOffsets = Map<string, Map<number, number> | Error>;

/** Newest offsets (high watermarks) of one topic's partitions. */
export type LatestOffsets = { partition: number; offset: number }[];

export interface BatchRequest {
  /** Per group: the topics its callers asked for; null when one asked for every topic it committed to. */
  groups: Map<string, Set<string> | null>;
  /** Every topic a caller named (whatever its group's entry above): its newest offsets are needed. */
  topics: Set<string>;
}

export interface BatchAnswer {
  /** Per group asked: its committed offsets, or the error that fails that group's callers. */
  committed: Map<string, CommittedOffsets | Error>;
  /** Per topic needed (asked, or committed to by a group asked for all its topics): newest offsets or an error. */
  latest: Map<string, LatestOffsets | Error>;
}

/** What one caller gets: the committed and newest offsets of the topics it asked for. */
export interface GroupOffsets {
  committed: Map<string, Map<number, number>>;
  latest: Map<string, LatestOffsets>;
}

interface Waiter {
  group: string;
  topic?: string;
  resolve(offsets: GroupOffsets): void;
  reject(err: Error): void;
}

interface PendingBatch {
  timer: NodeJS.Timeout;
  request: BatchRequest;
  waiters: Waiter[];
}

export class OffsetsBatcher {
  private pending?: PendingBatch;
  private closed = false;
  private inFlight = 0;

  constructor(
    private readonly fetch: (request: BatchRequest) => Promise<BatchAnswer>,
    private readonly windowMs: number,
  ) {}

  /** The offsets of `group` on `topic` (every topic it committed to when undefined), from the next batch. */
  get(group: string, topic?: string): Promise<GroupOffsets> {
    if (this.closed) return Promise.reject(new LocalError('the kafka client is closed'));
    const batch = (this.pending ??= this.open());
    const groups = batch.request.groups;
    if (topic === undefined) groups.set(group, null);
    else {
      batch.request.topics.add(topic);
      const topics = groups.get(group);
      if (topics === undefined) groups.set(group, new Set([topic]));
      else topics?.add(topic);
    }
    return new Promise<GroupOffsets>((resolve, reject) => batch.waiters.push({ group, topic, resolve, reject }));
  }

  /** Batches sent and not settled yet (tests). */
  get batchesInFlight(): number {
    return this.inFlight;
  }

  /** Whether a batch is collecting callers (tests: its timer is the only one this class holds). */
  get collecting(): boolean {
    return this.pending !== undefined;
  }

  /** Fails the callers of the batch being collected and clears its timer; later calls fail at once. */
  close(): void {
    this.closed = true;
    const batch = this.pending;
    this.pending = undefined;
    if (!batch) return;
    clearTimeout(batch.timer);
    const err = new LocalError('the kafka client is closed');
    for (const w of batch.waiters) w.reject(err);
  }

  private open(): PendingBatch {
    const batch: PendingBatch = {
      timer: setTimeout(() => this.send(batch), this.windowMs),
      request: { groups: new Map(), topics: new Set() },
      waiters: [],
    };
    return batch;
  }

  private send(batch: PendingBatch): void {
    if (this.pending === batch) this.pending = undefined;
    this.inFlight += 1;
    let answer: Promise<BatchAnswer>;
    try {
      answer = this.fetch(batch.request);
    } catch (err) {
      answer = Promise.reject(err);
    }
    answer.then(
      (a) => {
        this.inFlight -= 1;
        for (const w of batch.waiters) settle(w, a);
      },
      (err: unknown) => {
        this.inFlight -= 1;
        const e = err instanceof Error ? err : new Error(String(err));
        for (const w of batch.waiters) w.reject(e);
      },
    );
  }
}

function settle(w: Waiter, a: BatchAnswer): void {
  const committed = a.committed.get(w.group);
  if (committed === undefined) return w.reject(new LocalError(`no committed offsets fetched for group ${w.group}`));
  if (committed instanceof Error) return w.reject(committed);
  const topics = w.topic !== undefined ? [w.topic] : [...committed.keys()];
  const out: GroupOffsets = { committed: new Map(), latest: new Map() };
  for (const topic of topics) {
    const c = committed.get(topic);
    if (c instanceof Error) return w.reject(c);
    if (c) out.committed.set(topic, c);
    const latest = a.latest.get(topic);
    if (latest === undefined) return w.reject(new LocalError(`no offsets fetched for topic ${topic}`));
    if (latest instanceof Error) return w.reject(latest);
    out.latest.set(topic, latest);
  }
  w.resolve(out);
}
