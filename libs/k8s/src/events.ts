import type { Logger } from '@keda-ts/runtime';
import { EVENT_CORRELATOR_DEFAULTS, EventCorrelator, type EventCorrelatorOptions, type EventSeries } from './event-correlator';
import { KubeApiError, WriteRefusedError, type KubeClient } from './kube-client';
import { TokenBucketFullError } from './token-bucket';

export type EventType = 'Normal' | 'Warning';

/** The object an event is about (any Kubernetes object shape will do). */
export interface EventSubject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

export interface RecordedEvent {
  type: EventType;
  reason: string;
  /** What was done (events.k8s.io/v1 `action`); defaults to the reason. */
  action?: string;
  note: string;
}

/** MicroTime as the API server wants it: RFC 3339 with exactly six fractional digits. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export type EventDropReason = 'spam' | 'queue_full';

export interface EventRecorderOptions extends EventCorrelatorOptions {
  /** Writes waiting to be sent; beyond it a new Event is dropped (default 1000, as client-go). */
  maxQueued?: number;
  /** Writes in flight at once (each also waits for the client's rate limiter). */
  concurrency?: number;
  /** Every Event that was not written (for a dropped-events counter). */
  onDropped?: (reason: EventDropReason) => void;
}

/** What a series keeps of its latest occurrence: a slim copy, so no cached object is held on to. */
interface Occurrence {
  regarding: EventSubject;
  /** The note lives in the series (a combined series shows the latest). */
  event: Omit<RecordedEvent, 'note'>;
}
type Series = EventSeries<Occurrence>;
type Job = { kind: 'create' | 'patch'; series: Series };

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));
// The API limits note to 1 kB.
const clampNote = (note: string) => (note.length > 1024 ? `${note.slice(0, 1021)}...` : note);

/**
 * Writes events.k8s.io/v1 Events about objects. Fire-and-forget: a failed write is logged, never
 * thrown, so an event can not fail a reconcile.
 *
 * `emit` goes through an EventCorrelator: a repeated Event becomes one Event object whose `series`
 * count is patched at most every `seriesPatchIntervalMs`; many different notes of one reason are
 * combined; a per-object token bucket drops the excess. Writes wait in a queue of at most
 * `maxQueued`; when it is full the NEW Event is dropped (as client-go's broadcaster does): the
 * queue keeps its order, a count update is never queued twice (it reads the latest count when
 * sent), and a recurring condition gets another chance at its next occurrence.
 */
export class EventRecorder {
  private readonly correlator: EventCorrelator<Occurrence>;
  private readonly queue: Job[] = [];
  private readonly listeners: ((regarding: EventSubject, event: RecordedEvent) => void)[] = [];
  private active = 0;
  private readonly maxQueued: number;
  private readonly concurrency: number;
  private readonly now: () => number;
  private flushTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly client: KubeClient,
    private readonly logger: Logger,
    private readonly reportingController = 'keda-operator',
    private readonly reportingInstance = `keda-operator-${process.pid}`,
    private readonly options: EventRecorderOptions = {},
  ) {
    this.now = options.now ?? (() => Date.now());
    this.correlator = new EventCorrelator(options);
    this.maxQueued = options.maxQueued ?? 1000;
    this.concurrency = options.concurrency ?? 4;
  }

  /** Writes waiting to be sent (for tests and benchmarks). */
  get queued(): number {
    return this.queue.length;
  }

  /**
   * Calls `listener` with every Event passed to emit(), before correlation (CloudEvents see each
   * occurrence). Listeners run synchronously and must not block; what they throw is logged.
   */
  addListener(listener: (regarding: EventSubject, event: RecordedEvent) => void): void {
    this.listeners.push(listener);
  }

  emit(regarding: EventSubject, event: RecordedEvent): void {
    if (this.closed) return;
    for (const listener of this.listeners) {
      try {
        listener(regarding, event);
      } catch (err) {
        this.logger.error({ err: errorText(err), reason: event.reason }, 'event listener failed');
      }
    }
    const m = regarding.metadata;
    const occurrence: Occurrence = {
      regarding: { apiVersion: regarding.apiVersion, kind: regarding.kind, metadata: { name: m?.name, namespace: m?.namespace, uid: m?.uid, resourceVersion: m?.resourceVersion } },
      event: { type: event.type, reason: event.reason, action: event.action },
    };
    const c = this.correlator.observe(
      { objectKey: subjectKey(regarding), type: event.type, reason: event.reason, action: event.action ?? event.reason, note: clampNote(event.note) },
      occurrence,
    );
    if (c.action === 'drop') return this.dropped(c.reason, occurrence);
    if (c.action === 'create') this.enqueue({ kind: 'create', series: c.series });
    else if (c.patchDue) this.enqueue({ kind: 'patch', series: c.series });
    this.startFlushTimer();
  }

  /** Stops the periodic flush of count updates; queued writes still go out. */
  close(): void {
    this.closed = true;
    clearInterval(this.flushTimer);
    this.flushTimer = undefined;
  }

  /** Queues the count updates that are due (also run periodically, so a series that stopped still gets its final count). */
  flushSeries(): void {
    for (const series of this.correlator.dueSeries()) this.enqueue({ kind: 'patch', series });
  }

  private startFlushTimer(): void {
    if (this.flushTimer || this.closed) return;
    const interval = Math.max(1000, Math.min(30_000, (this.options.seriesPatchIntervalMs ?? EVENT_CORRELATOR_DEFAULTS.seriesPatchIntervalMs) / 4));
    this.flushTimer = setInterval(() => this.flushSeries(), interval);
    this.flushTimer.unref?.();
  }

  private enqueue(job: Job): void {
    if (this.queue.length >= this.maxQueued) {
      // A count update stays due and is retried by the next flush; only a new Event is lost.
      if (job.kind === 'create') {
        this.correlator.forget(job.series);
        this.dropped('queue_full', job.series.context);
      }
      return;
    }
    job.series.queued = true;
    this.queue.push(job);
    this.pump();
  }

  private dropped(reason: EventDropReason, { event, regarding }: Occurrence): void {
    this.options.onDropped?.(reason);
    this.logger.debug({ reason, eventReason: event.reason, namespace: regarding.metadata?.namespace, name: regarding.metadata?.name }, 'event dropped');
  }

  private pump(): void {
    while (this.active < this.concurrency) {
      const job = this.queue.shift();
      if (!job) return;
      this.active += 1;
      void this.send(job).finally(() => {
        this.active -= 1;
        this.pump();
      });
    }
  }

  private async send(job: Job): Promise<void> {
    const { series } = job;
    const { regarding, event } = series.context;
    series.queued = false;
    const count = series.count;
    const sentAt = this.now();
    try {
      if (job.kind === 'patch' && series.name) {
        const namespace = regarding.metadata?.namespace || 'default';
        try {
          await this.client.patch(`/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/events/${encodeURIComponent(series.name)}`, {
            note: series.note,
            series: { count, lastObservedTime: microTime(new Date(series.lastObserved)) },
          });
          this.correlator.written(series, series.name, count, sentAt);
          return;
        } catch (err) {
          // Expired (the API server's event TTL) or deleted: the series goes on in a new Event.
          if (!(err instanceof KubeApiError && err.status === 404)) throw err;
        }
      }
      const body = this.body(regarding, event, series);
      await this.create(body);
      this.correlator.written(series, body.metadata.name, count, sentAt);
    } catch (err) {
      // A failed create: a later occurrence starts over. A failed count update keeps its Event
      // (another Event for the same thing is what this class avoids) and is retried when due.
      if (series.state !== 'created') this.correlator.forget(series);
      if (err instanceof WriteRefusedError) return; // not the leader: the leader records it
      if (err instanceof TokenBucketFullError) return this.dropped('queue_full', series.context);
      this.logger.warn({ err: errorText(err), reason: event.reason, namespace: regarding.metadata?.namespace, name: regarding.metadata?.name }, 'could not record event');
    }
  }

  /** Creates one Event now, without correlation (one-off events and tests). */
  async write(regarding: EventSubject, event: RecordedEvent): Promise<void> {
    const body = this.body(regarding, event);
    try {
      await this.create(body);
    } catch (err) {
      this.logger.warn({ err: errorText(err), reason: event.reason, namespace: body.metadata.namespace, name: body.regarding.name }, 'could not record event');
    }
  }

  private create(body: ReturnType<EventRecorder['body']>): Promise<unknown> {
    return this.client.create(`/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(body.metadata.namespace)}/events`, body);
  }

  private body(regarding: EventSubject, event: Omit<RecordedEvent, 'note'> & { note?: string }, series?: Series) {
    const namespace = regarding.metadata?.namespace || 'default';
    const name = regarding.metadata?.name ?? 'unknown';
    return {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      // client-go's naming: <object>.<unique hex>; a generateName ending in "." is not valid.
      metadata: {
        name: `${name}.${Date.now().toString(16)}${Math.floor(Math.random() * 0xfffff).toString(16)}`,
        namespace,
      },
      eventTime: microTime(new Date(series?.firstTime ?? this.now())),
      // A series needs at least two occurrences (API validation).
      ...(series && series.count >= 2 ? { series: { count: series.count, lastObservedTime: microTime(new Date(series.lastObserved)) } } : {}),
      reportingController: this.reportingController,
      reportingInstance: this.reportingInstance,
      type: event.type,
      reason: event.reason,
      action: event.action ?? event.reason,
      note: series?.note ?? clampNote(event.note ?? ''),
      regarding: {
        apiVersion: regarding.apiVersion,
        kind: regarding.kind,
        name,
        namespace: regarding.metadata?.namespace,
        uid: regarding.metadata?.uid,
        resourceVersion: regarding.metadata?.resourceVersion,
      },
    };
  }
}

/** The object an Event is about, as a cache key (uid included: a re-created object is another object). */
function subjectKey(regarding: EventSubject): string {
  const m = regarding.metadata;
  return `${regarding.apiVersion ?? ''}/${regarding.kind ?? ''}/${m?.namespace ?? ''}/${m?.name ?? ''}/${m?.uid ?? ''}`;
}
