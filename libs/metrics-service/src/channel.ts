import { isIP } from 'node:net';
import { status } from '@grpc/grpc-js';
import { MetricsServiceError, callCancelledError, clientClosedError } from './errors';
import { H2ClientConnection } from './h2-connection';
import type { MetricsServiceLogger } from './logger';
import type { TlsMaterialSource } from './tls';

export type ConnectivityStateName = 'IDLE' | 'CONNECTING' | 'READY' | 'TRANSIENT_FAILURE' | 'SHUTDOWN';

export interface ChannelOptions {
  /** `host:port` of the server. */
  address: string;
  /** TLS server name and `:authority` override; default: the address. */
  authority?: string;
  tls: TlsMaterialSource;
  /** Keepalive ping interval and ack timeout, sent even without calls. */
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  /** Reconnect backoff after a failed connection attempt (gRPC's connection-backoff). */
  initialBackoffMs: number;
  maxBackoffMs: number;
  logger: MetricsServiceLogger;
  /** A stream whose answer is larger than this is reset. */
  maxReceiveBytes: number;
}

/** gRPC's connection-backoff multiplier and jitter. */
const BACKOFF_MULTIPLIER = 1.6;
const BACKOFF_JITTER = 0.2;
/** A session is replaced well before HTTP/2's 2^31 client stream ids run out. */
const MAX_STREAMS_PER_SESSION = 2 ** 30;

interface Waiter {
  resolve: (session: H2ClientConnection) => void;
  reject: (err: Error) => void;
  timer?: NodeJS.Timeout;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/** The host of `host:port` or `[v6]:port`. */
export function hostOf(hostPort: string): string {
  if (hostPort.startsWith('[')) return hostPort.slice(1, hostPort.indexOf(']'));
  const colon = hostPort.lastIndexOf(':');
  return colon < 0 ? hostPort : hostPort.slice(0, colon);
}

/** The port of `host:port` or `[v6]:port`; 443 when there is none, as for an https URL. */
export function portOf(hostPort: string): number {
  const colon = hostPort.lastIndexOf(':');
  if (colon < 0 || hostPort.lastIndexOf(']') > colon) return 443;
  return Number(hostPort.slice(colon + 1));
}

/**
 * One HTTP/2 connection ({@link H2ClientConnection}) over mutual TLS to a gRPC server, kept up as a gRPC channel keeps its
 * subchannel: connected on demand, READY until the server sends GOAWAY or the connection drops
 * (then IDLE, and connected again when a call needs it), reconnect attempts spaced by an
 * exponential backoff with jitter after failures, keepalive pings that replace a connection whose
 * peer stopped answering. Calls in flight on a connection that received GOAWAY finish on it.
 */
export class GrpcChannel {
  private stateName: ConnectivityStateName = 'IDLE';
  private session?: H2ClientConnection;
  private streamsOnSession = 0;
  private readonly waiters = new Set<Waiter>();
  private backoffMs: number;
  private backoffTimer?: NodeJS.Timeout;
  private keepaliveTimer?: NodeJS.Timeout;
  private readonly servername?: string;
  readonly authority: string;

  constructor(private readonly options: ChannelOptions) {
    this.backoffMs = options.initialBackoffMs;
    this.authority = options.authority ?? options.address;
    const host = hostOf(this.authority);
    // Node verifies an IP address against the certificate's IP SANs when no server name is set.
    this.servername = isIP(host) ? undefined : host;
  }

  get state(): ConnectivityStateName {
    return this.stateName;
  }

  /** The connected session, if READY; counts the stream the caller is about to open. */
  readySession(): H2ClientConnection | undefined {
    const session = this.session;
    if (this.stateName !== 'READY' || !session) return undefined;
    if (++this.streamsOnSession >= MAX_STREAMS_PER_SESSION) this.detach(session, 'IDLE');
    return session;
  }

  /** Starts connecting when IDLE (after the backoff, when one runs). */
  connect(): void {
    if (this.stateName === 'IDLE' && !this.backoffTimer) this.open();
  }

  /**
   * Resolves with a READY session, connecting as needed; rejects with DEADLINE_EXCEEDED at
   * `deadline` (with `timeoutMessage`), CANCELLED when `signal` aborts, UNAVAILABLE on shutdown.
   */
  waitForReady(deadline: number, timeoutMessage: string, signal?: AbortSignal): Promise<H2ClientConnection> {
    const ready = this.readySession();
    if (ready) return Promise.resolve(ready);
    if (this.stateName === 'SHUTDOWN') return Promise.reject(clientClosedError());
    if (signal?.aborted) return Promise.reject(callCancelledError());
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal };
      const remaining = deadline - Date.now();
      if (remaining <= 0) return reject(new MetricsServiceError(status.DEADLINE_EXCEEDED, timeoutMessage));
      waiter.timer = setTimeout(() => this.settle(waiter, new MetricsServiceError(status.DEADLINE_EXCEEDED, timeoutMessage)), remaining);
      if (signal) {
        waiter.onAbort = () => this.settle(waiter, callCancelledError());
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.add(waiter);
      this.connect();
    });
  }

  close(): void {
    if (this.stateName === 'SHUTDOWN') return;
    clearTimeout(this.backoffTimer);
    this.backoffTimer = undefined;
    const session = this.session;
    this.setState('SHUTDOWN');
    // Calls in flight finish (each has a deadline); new ones are refused.
    if (session) this.detach(session, 'SHUTDOWN');
    for (const w of [...this.waiters]) this.settle(w, clientClosedError());
  }

  private settle(waiter: Waiter, outcome: H2ClientConnection | Error): void {
    if (!this.waiters.delete(waiter)) return;
    clearTimeout(waiter.timer);
    if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
    if (outcome instanceof Error) waiter.reject(outcome);
    else {
      this.streamsOnSession++;
      waiter.resolve(outcome);
    }
  }

  private open(): void {
    const { tls, address } = this.options;
    let material;
    try {
      material = tls.current;
    } catch (err) {
      this.failed(err as Error);
      return;
    }
    let session: H2ClientConnection;
    try {
      session = new H2ClientConnection({
        host: hostOf(address),
        port: portOf(address),
        ca: material.ca,
        cert: material.cert,
        key: material.key,
        ...(this.servername ? { servername: this.servername } : {}),
        maxReceiveBytes: this.options.maxReceiveBytes,
      });
    } catch (err) {
      this.failed(err as Error);
      return;
    }
    this.setState('CONNECTING');
    this.session = session;
    this.streamsOnSession = 0;
    let connected = false;
    let lastError: Error | undefined;
    session.on('error', (err) => {
      lastError = err;
    });
    session.once('connect', () => {
      if (this.session !== session) return;
      connected = true;
      this.backoffMs = this.options.initialBackoffMs;
      this.setState('READY');
      this.startKeepalive(session);
      for (const w of [...this.waiters]) this.settle(w, session);
    });
    session.on('goaway', () => {
      if (this.session === session) this.detach(session, 'IDLE');
    });
    session.once('close', () => {
      if (this.session !== session) return;
      this.session = undefined;
      this.stopKeepalive();
      if (connected) {
        this.setState('IDLE', lastError);
        if (this.waiters.size > 0) this.connect();
      } else {
        this.failed(lastError ?? new Error('connection closed before it was established'));
      }
    });
  }

  /** A connection attempt failed: TRANSIENT_FAILURE, and the next attempt after the backoff. */
  private failed(err: Error): void {
    this.setState('TRANSIENT_FAILURE', err);
    const jitter = 1 + BACKOFF_JITTER * (Math.random() * 2 - 1);
    const wait = Math.min(this.backoffMs, this.options.maxBackoffMs) * jitter;
    this.backoffMs = Math.min(this.backoffMs * BACKOFF_MULTIPLIER, this.options.maxBackoffMs);
    this.backoffTimer = setTimeout(() => {
      this.backoffTimer = undefined;
      if (this.stateName !== 'TRANSIENT_FAILURE') return;
      this.setState('IDLE');
      if (this.waiters.size > 0) this.open();
    }, wait);
    this.backoffTimer.unref();
  }

  /** Stops using `session` for new calls; its calls in flight finish, then it closes. */
  private detach(session: H2ClientConnection, next: ConnectivityStateName): void {
    if (this.session === session) {
      this.session = undefined;
      this.stopKeepalive();
    }
    if (next !== 'SHUTDOWN') this.setState(next);
    if (!session.closed && !session.destroyed) session.close();
    if (next === 'IDLE' && this.waiters.size > 0) this.connect();
  }

  private startKeepalive(session: H2ClientConnection): void {
    const { keepaliveTimeMs, keepaliveTimeoutMs } = this.options;
    this.keepaliveTimer = setInterval(() => {
      let acked = false;
      const timeout = setTimeout(() => {
        if (acked || session.destroyed) return;
        this.options.logger.warn({ target: this.options.address, keepaliveTimeoutMs }, 'metrics service did not answer a keepalive ping; reconnecting');
        session.destroy();
      }, keepaliveTimeoutMs);
      timeout.unref();
      try {
        session.ping((err) => {
          acked = !err;
          clearTimeout(timeout);
        });
      } catch {
        // Closed in between: the close handler takes over.
        clearTimeout(timeout);
      }
    }, keepaliveTimeMs);
    this.keepaliveTimer.unref();
  }

  private stopKeepalive(): void {
    clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = undefined;
  }

  private setState(next: ConnectivityStateName, err?: Error): void {
    const from = this.stateName;
    if (from === next || from === 'SHUTDOWN') return;
    this.stateName = next;
    this.options.logger.info(
      { target: this.options.address, from, to: next, ...(err ? { err: err.message } : {}) },
      `metrics service connection ${next}`,
    );
  }
}
