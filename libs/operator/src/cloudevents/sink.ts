/**
 * Delivery to one destination of one (Cluster)CloudEventSource: a bounded FIFO queue drained by a
 * single sender, retries with capped exponential backoff, never awaited by whoever enqueues (the
 * reconcilers), so a slow or dead sink costs memory up to the bound and nothing else.
 *
 * Connections go through the scalers' egress policy (cloud metadata and link-local refused,
 * operator deny/allow lists) on every resolved address; redirects are never followed; the sink's
 * response body is read into nothing and never reaches logs, Events or status.
 */
import http from 'node:http';
import https from 'node:https';
import { AgentPool, EgressDeniedError, defaultEgressPolicy, type AgentLease, type EgressPolicy } from '@keda-ts/scalers';
import type { KedaCloudEvent } from './event-types';

export interface DeliveryOptions {
  /** Events waiting per destination; beyond it a new event is dropped and counted as failed (default 1024, KEDA's channel size). */
  queueBound: number;
  /** First retry delay (default 500 ms), doubled per failed attempt up to `maxBackoffMs` (default 10 s), ±20 % jitter. */
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** An event still undelivered this long after it was emitted is dropped as failed (default 10 min). */
  maxEventAgeMs: number;
  /** One POST, connect to response (default 10 s). */
  requestTimeoutMs: number;
  /** Consecutive failed attempts after which the source is reported failing (default 5, KEDA's maxRetryTimes). */
  failureThreshold: number;
}

export const DEFAULT_DELIVERY: DeliveryOptions = {
  queueBound: 1024,
  initialBackoffMs: 500,
  maxBackoffMs: 10_000,
  maxEventAgeMs: 10 * 60_000,
  requestTimeoutMs: 10_000,
  failureThreshold: 5,
};

export type SinkKind = 'http' | 'azureEventGridTopic';

export type AttemptResult = { ok: true } | { ok: false; error: string; permanent: boolean };

export interface SinkCallbacks {
  emitted(): void;
  failed(): void;
  queueChanged(delta: number): void;
  /** Deliveries work (again). */
  healthy(): void;
  /** `failureThreshold` attempts in a row failed, or the destination is refused; `error` never holds a response body. */
  failing(error: string): void;
}

/** Host (and port) of a URL, the only part of a tenant's URI that goes into logs. */
export const hostOf = (url: URL) => url.host;

const pool = new AgentPool(4);

/** POSTs one body; never follows a redirect; discards the response body. */
export function postOnce(url: URL, lease: AgentLease, headers: Record<string, string>, body: string, timeoutMs: number): Promise<AttemptResult> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: AttemptResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const request = (url.protocol === 'https:' ? https.request : http.request)(
      url,
      { method: 'POST', agent: lease.agent, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        const code = res.statusCode ?? 0;
        // Read into nothing: the body is the tenant's and goes nowhere. A body that is large or
        // slow costs its socket, never a held one (64 KiB, the request timeout).
        let bytes = 0;
        const drainTimer = setTimeout(() => res.destroy(), timeoutMs);
        drainTimer.unref?.();
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > 64 * 1024) res.destroy();
        });
        res.on('close', () => clearTimeout(drainTimer));
        res.on('error', () => undefined);
        if (code >= 200 && code < 300) done({ ok: true });
        else if (code >= 300 && code < 400) done({ ok: false, error: `HTTP ${code}: redirects are not followed`, permanent: false });
        else done({ ok: false, error: `HTTP ${code}`, permanent: false });
      },
    );
    const timer = setTimeout(() => {
      request.destroy(new Error(`no response within ${timeoutMs} ms`));
    }, timeoutMs);
    request.on('error', (err) => {
      if (err instanceof EgressDeniedError || (err as { code?: string }).code === 'EGRESS_DENIED') done({ ok: false, error: err.message, permanent: true });
      else done({ ok: false, error: `${(err as { code?: string }).code ?? 'error'}: ${err.message}`.slice(0, 300), permanent: false });
    });
    request.end(body);
  });
}

interface Queued {
  event: KedaCloudEvent;
  enqueuedAt: number;
}

export interface SinkConfig {
  kind: SinkKind;
  url: URL;
  /** Extra headers of each request (Event Grid's aeg-sas-key), read at each attempt; throws when unavailable. */
  headers?: () => Promise<Record<string, string>>;
  egress?: EgressPolicy;
  options?: Partial<DeliveryOptions>;
  now?: () => number;
  /** For tests: replaces the HTTP POST. */
  post?: (body: string, headers: Record<string, string>) => Promise<AttemptResult>;
}

/** Validates a destination URL: absolute http(s), a host, no credentials. */
export function parseSinkUrl(raw: string | undefined): URL | string {
  if (!raw) return 'no URI';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'not an absolute URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `scheme ${url.protocol} is not http or https`;
  if (!url.hostname) return 'no host';
  if (url.username || url.password) return 'credentials in the URI are not allowed';
  return url;
}

export class Sink {
  private readonly queue: Queued[] = [];
  private readonly options: DeliveryOptions;
  private readonly now: () => number;
  private readonly lease?: AgentLease;
  private readonly egress: EgressPolicy;
  private running = false;
  private closed = false;
  private failures = 0;
  /** Whether `healthy` was the last report (a source starts Active). */
  private reportedHealthy = true;
  private wake?: () => void;
  private sleepTimer?: NodeJS.Timeout;
  /** Set when the destination can never be reached (refused by the egress policy before any connection). */
  readonly refused?: string;

  constructor(
    private readonly config: SinkConfig,
    private readonly callbacks: SinkCallbacks,
  ) {
    this.options = { ...DEFAULT_DELIVERY, ...config.options };
    this.now = config.now ?? Date.now;
    this.egress = config.egress ?? defaultEgressPolicy;
    // An IP literal or a metadata host name is refused here, before any connection or DNS query.
    const denied = this.egress.hostError(config.url.hostname.replace(/^\[|\]$/g, ''));
    if (denied) this.refused = denied.message;
    else if (!config.post) this.lease = pool.acquire(config.url, {}, this.egress);
  }

  get kind(): SinkKind {
    return this.config.kind;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Never blocks: queues the event (or drops it when the queue is full or the destination refused). */
  enqueue(event: KedaCloudEvent): void {
    if (this.closed) return;
    if (this.refused || this.queue.length >= this.options.queueBound) {
      this.callbacks.failed();
      return;
    }
    this.queue.push({ event, enqueuedAt: this.now() });
    this.callbacks.queueChanged(1);
    if (!this.running) void this.pump();
  }

  /** Stops sending; queued events are dropped (the queued gauge goes down by them). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.sleepTimer);
    this.wake?.();
    const left = this.queue.length;
    this.queue.length = 0;
    if (left) this.callbacks.queueChanged(-left);
    this.lease?.release();
  }

  private shift(): void {
    this.queue.shift();
    this.callbacks.queueChanged(-1);
  }

  private async attempt(event: KedaCloudEvent): Promise<AttemptResult> {
    let extra: Record<string, string> = {};
    if (this.config.headers) {
      try {
        extra = await this.config.headers();
      } catch (err) {
        return { ok: false, error: `credentials unavailable: ${err instanceof Error ? err.message : String(err)}`, permanent: false };
      }
    }
    const headers = { 'content-type': 'application/cloudevents+json; charset=utf-8', ...extra };
    const body = JSON.stringify(event);
    if (this.config.post) return this.config.post(body, headers);
    if (!this.lease) return { ok: false, error: 'no connection agent', permanent: true };
    return postOnce(this.config.url, this.lease, headers, body, this.options.requestTimeoutMs);
  }

  private backoff(): number {
    const base = Math.min(this.options.maxBackoffMs, this.options.initialBackoffMs * 2 ** Math.min(20, this.failures - 1));
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.sleepTimer = setTimeout(resolve, ms);
      this.sleepTimer.unref?.();
    });
  }

  private async pump(): Promise<void> {
    this.running = true;
    try {
      while (!this.closed && this.queue.length > 0) {
        const head = this.queue[0];
        const result = await this.attempt(head.event);
        if (this.closed) return;
        if (result.ok) {
          this.shift();
          this.callbacks.emitted();
          if (this.failures > 0 || !this.reportedHealthy) {
            this.failures = 0;
            this.reportedHealthy = true;
            this.callbacks.healthy();
          }
          continue;
        }
        this.failures++;
        if (result.permanent || this.failures === this.options.failureThreshold) {
          this.reportedHealthy = false;
          this.callbacks.failing(result.error);
        }
        if (result.permanent || this.now() - head.enqueuedAt >= this.options.maxEventAgeMs) {
          this.shift();
          this.callbacks.failed();
          if (result.permanent) continue;
        }
        await this.sleep(this.backoff());
      }
    } finally {
      this.running = false;
    }
  }
}
