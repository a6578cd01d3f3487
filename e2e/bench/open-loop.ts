/**
 * The open-loop load generator the benchmarks share. Requests are due at a fixed rate; each one's
 * latency counts from the moment it was due, not from when the generator got round to sending it,
 * so a generator (or event loop) that falls behind shows up as latency instead of hiding it
 * (coordinated omission). Failures are not dropped: every outcome is in the `all` percentiles (a
 * timeout at the timeout, an error at the moment it failed), and the successes have their own.
 */
import * as http2 from 'node:http2';
import * as hdr from 'hdr-histogram-js';

export type Outcome = 'ok' | 'error' | 'timeout';

export interface OpenLoopOptions {
  /** Requests per second. */
  rate: number;
  seconds: number;
  /** Sends request `i`; resolves with its outcome (never rejects: a rejection counts as an error). */
  send: (i: number) => Promise<Outcome>;
  /** Requests still in flight when more than this many are: the generator waits for the oldest half. */
  maxInFlight?: number;
}

export interface LatencySummary {
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

export interface OpenLoopResult {
  requests: number;
  ok: number;
  errors: number;
  timeouts: number;
  /** (errors + timeouts) / requests, in percent. */
  failedPercent: number;
  /** Latency of every request from its due time, failures included. */
  all: LatencySummary;
  /** Latency of the successful requests from their due time. */
  okOnly: LatencySummary;
  /** How far behind schedule the generator sent, at worst (its own lag, included in the latencies). */
  maxSendLagMs: number;
  achievedRate: number;
}

function histogram(): hdr.Histogram {
  // Microseconds from 1 µs to 10 min, 3 significant digits.
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
}

export function summary(h: hdr.Histogram): LatencySummary {
  const ms = (us: number) => +(us / 1000).toFixed(2);
  return {
    meanMs: ms(h.mean),
    p50Ms: ms(h.getValueAtPercentile(50)),
    p90Ms: ms(h.getValueAtPercentile(90)),
    p99Ms: ms(h.getValueAtPercentile(99)),
    p999Ms: ms(h.getValueAtPercentile(99.9)),
    maxMs: ms(h.maxValue),
  };
}

export async function openLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const { rate, seconds, send } = options;
  const maxInFlight = options.maxInFlight ?? 5000;
  const all = histogram();
  const ok = histogram();
  const counts = { ok: 0, error: 0, timeout: 0 };
  const total = Math.max(1, Math.round(rate * seconds));
  const started = performance.now();
  let maxSendLagMs = 0;
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    maxSendLagMs = Math.max(maxSendLagMs, performance.now() - due);
    const record = (outcome: Outcome) => {
      const us = Math.max(1, Math.round((performance.now() - due) * 1000));
      counts[outcome]++;
      all.recordValue(us);
      if (outcome === 'ok') ok.recordValue(us);
    };
    let sent: Promise<Outcome>;
    try {
      sent = send(i);
    } catch {
      sent = Promise.resolve('error');
    }
    inflight.push(sent.then(record, () => record('error')));
    if (inflight.length > maxInFlight) await Promise.all(inflight.splice(0, maxInFlight / 2));
  }
  await Promise.all(inflight);
  const wall = (performance.now() - started) / 1000;
  const failed = counts.error + counts.timeout;
  const result: OpenLoopResult = {
    requests: total,
    ok: counts.ok,
    errors: counts.error,
    timeouts: counts.timeout,
    failedPercent: +((failed / total) * 100).toFixed(3),
    all: summary(all),
    okOnly: summary(ok),
    maxSendLagMs: +maxSendLagMs.toFixed(1),
    achievedRate: +(total / wall).toFixed(1),
  };
  all.destroy();
  ok.destroy();
  return result;
}

/** One HTTP/2 request on `session`: 'ok' on a 200 whose body arrived, 'timeout' after `timeoutMs`. */
export function http2Request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, timeoutMs = 10_000): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    let status = 0;
    let timedOut = false;
    try {
      const stream = session.request(headers, { endStream: true });
      const timer = setTimeout(() => {
        timedOut = true;
        stream.close(http2.constants.NGHTTP2_CANCEL);
      }, timeoutMs);
      stream.on('response', (h) => {
        status ||= Number(h[':status']);
      });
      stream.on('data', () => undefined);
      stream.on('error', () => undefined);
      stream.on('close', () => {
        clearTimeout(timer);
        resolve(timedOut ? 'timeout' : status === 200 ? 'ok' : 'error');
      });
    } catch {
      resolve('error');
    }
  });
}

/** A session getter that opens a new session once the server closed the last one (kube-apiserver sends GOAWAYs). */
export function reconnectingSession(options: { host: string; port: number; ca?: string | Buffer; cert?: Buffer; key?: Buffer; servername?: string }): () => http2.ClientHttp2Session {
  let current: http2.ClientHttp2Session | undefined;
  return () => {
    if (current && !current.closed && !current.destroyed) return current;
    const { host, port, ...tls } = options;
    // Streams queue on a session until it is connected; a failed session fails its streams.
    current = http2.connect(`https://${host}:${port}`, tls);
    current.on('error', () => undefined);
    current.on('goaway', () => current?.close());
    return current;
  };
}
