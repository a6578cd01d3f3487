import { status } from '@grpc/grpc-js';
import { GrpcChannel, type ConnectivityStateName } from './channel';
import { fromWireList } from './convert';
import { CONNECTION_TIMEOUT_MESSAGE, MetricsServiceError, callCancelledError, clientClosedError } from './errors';
import { ExternalMetricValueList, ScaledObjectRef } from './generated/metrics/metrics';
import {
  MAX_RECEIVE_MESSAGE_BYTES,
  errorForClosedStream,
  frameMessage,
  grpcCodeForHttpStatus,
  grpcTimeoutHeader,
  statusFromTrailers,
  unframeUnaryMessage,
} from './grpc-wire';
import { H2_ERROR, type H2ClientConnection, type H2ClientStream } from './h2-connection';
import { RepeatedHeaderFields, encodeLiteralFields, type HeaderFields } from './hpack';
import type { MetricsServiceLogger } from './logger';
import { TlsMaterialSource, type TlsSource } from './tls';
import type { ExternalMetricValue, MetricRef } from './types';

export type { ConnectivityStateName } from './channel';

export interface MetricsClientOptions {
  /** `host:port` of the controller's metrics service, e.g. `keda-operator.keda.svc.cluster.local:9666`. */
  address: string;
  tls: TlsSource;
  /** Overrides `:authority` and the TLS server name (`--metrics-service-grpc-authority`). */
  authority?: string;
  /** Per-call deadline; default 3000 ms (KEDA's service config `timeout: 3s`). */
  timeoutMs?: number;
  /** Keepalive ping interval and timeout; default 30 s / 10 s, sent even without calls. */
  keepaliveTimeMs?: number;
  keepaliveTimeoutMs?: number;
  logger: MetricsServiceLogger;
}

export interface MetricsClient {
  /** `api.MetricsService/GetMetrics`; rejects with a {@link MetricsServiceError} carrying the status. */
  getMetrics(
    ref: MetricRef,
    options?: { signal?: AbortSignal; timeoutMs?: number },
  ): Promise<ExternalMetricValue[]>;
  /** Connects if needed and resolves once READY; rejects with KEDA's timeout message at `deadline`. */
  waitForReady(deadline: Date | number): Promise<void>;
  /** The channel state, for readiness (`READY` means the link is up). */
  connectivityState(tryToConnect?: boolean): ConnectivityStateName;
  isReady(): boolean;
  close(): Promise<void>;
}

/**
 * KEDA's adapter-side call policy (M-27): 3 s timeout, wait for ready, retry UNAVAILABLE with
 * 0.25 s initial backoff, 2 s max, ×2. KEDA leaves the attempt count to grpc-go; 5 is the cap
 * gRPC implementations apply.
 */
export const METRICS_CALL_POLICY = {
  timeoutMs: 3000,
  maxAttempts: 5,
  initialBackoffMs: 250,
  maxBackoffMs: 2000,
  backoffMultiplier: 2,
} as const;

/** gRPC's default connection backoff: 1 s base, ×1.6, jitter 0.2, max 120 s. */
const CONNECT_BACKOFF = { initialBackoffMs: 1000, maxBackoffMs: 120_000 };

const GET_METRICS_PATH = '/api.MetricsService/GetMetrics';
const USER_AGENT = 'keda-ts-metrics-client';

/**
 * The metrics adapter side of KEDA's metrics link: `api.MetricsService/GetMetrics` over one HTTP/2
 * connection with mutual TLS. The adapter makes this call for every metric request of the HPA, so
 * it is a unary call written directly on HTTP/2 ({@link GrpcChannel} keeps the connection, an
 * {@link H2ClientConnection}), which costs a fraction of the CPU and garbage of grpc-js's general
 * client and of node:http2's. The TLS material is loaded before the
 * first call; with a cert directory, new connections use reloaded certificates.
 */
export function createMetricsClient(options: MetricsClientOptions): MetricsClient {
  const { logger, address } = options;
  const timeoutMs = options.timeoutMs ?? METRICS_CALL_POLICY.timeoutMs;
  let closed = false;
  let tlsSource: TlsMaterialSource | null = null;
  let channel: GrpcChannel | null = null;
  let opening: Promise<GrpcChannel> | null = null;
  const authority = options.authority ?? address;
  /** The request headers every call sends (all but grpc-timeout), indexed in the server's HPACK table. */
  const requestHeaders = new RepeatedHeaderFields([
    [':method', 'POST'],
    [':scheme', 'https'],
    [':path', GET_METRICS_PATH],
    [':authority', authority],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
    ['user-agent', USER_AGENT],
  ]);

  const open = (): Promise<GrpcChannel> => {
    if (closed) return Promise.reject(clientClosedError());
    if (channel) return Promise.resolve(channel);
    opening ??= TlsMaterialSource.open(options.tls, logger).then((source) => {
      if (closed) {
        source.close();
        throw clientClosedError();
      }
      tlsSource = source;
      channel = new GrpcChannel({
        address,
        authority,
        tls: source,
        keepaliveTimeMs: options.keepaliveTimeMs ?? 30_000,
        keepaliveTimeoutMs: options.keepaliveTimeoutMs ?? 10_000,
        ...CONNECT_BACKOFF,
        // The message and its 5-byte prefix; anything larger is refused.
        maxReceiveBytes: MAX_RECEIVE_MESSAGE_BYTES + 5,
        logger,
      });
      return channel;
    });
    return opening;
  };

  const waitingMessage = `deadline exceeded while waiting for a connection to the metrics service at ${address}`;

  /** One attempt: a READY connection (waited for until the deadline), then the call on it. */
  const attempt = (c: GrpcChannel, request: Buffer, deadline: number, signal?: AbortSignal): Promise<ExternalMetricValueList> => {
    const session = c.readySession();
    if (session) return unaryCall(session, requestHeaders, request, deadline, signal);
    return c.waitForReady(deadline, waitingMessage, signal).then((s) => unaryCall(s, requestHeaders, request, deadline, signal));
  };

  return {
    async getMetrics(ref, callOptions = {}) {
      const c = channel && !closed ? channel : await open();
      const deadline = Date.now() + (callOptions.timeoutMs ?? timeoutMs);
      const request = frameMessage(
        ScaledObjectRef.encode({ name: ref.name, namespace: ref.namespace, metricName: ref.metricName }).finish(),
      );
      let backoffMs: number = METRICS_CALL_POLICY.initialBackoffMs;
      for (let n = 1; ; n++) {
        let list: ExternalMetricValueList;
        try {
          list = await attempt(c, request, deadline, callOptions.signal);
        } catch (err) {
          const retryable = err instanceof MetricsServiceError && err.code === status.UNAVAILABLE && !closed;
          // gRPC retry: a random wait up to the current backoff, never past the deadline.
          const wait = Math.random() * backoffMs;
          if (!retryable || n >= METRICS_CALL_POLICY.maxAttempts || Date.now() + wait >= deadline) throw err;
          backoffMs = Math.min(backoffMs * METRICS_CALL_POLICY.backoffMultiplier, METRICS_CALL_POLICY.maxBackoffMs);
          await new Promise((r) => setTimeout(r, wait));
          continue;
        }
        try {
          return fromWireList(list);
        } catch (e) {
          throw new MetricsServiceError(status.INTERNAL, `invalid response for ${ref.metricName}: ${(e as Error).message}`, {
            cause: e,
          });
        }
      }
    },
    async waitForReady(deadline) {
      const c = await open();
      await c.waitForReady(typeof deadline === 'number' ? deadline : deadline.getTime(), CONNECTION_TIMEOUT_MESSAGE);
    },
    connectivityState(tryToConnect = false) {
      if (closed) return 'SHUTDOWN';
      if (!channel) {
        if (tryToConnect) void open().then((c) => c.connect(), () => undefined);
        return 'IDLE';
      }
      if (tryToConnect) channel.connect();
      return channel.state;
    },
    isReady() {
      return channel !== null && !closed && channel.state === 'READY';
    },
    async close() {
      if (closed) return;
      closed = true;
      if (opening) await opening.catch(() => undefined);
      channel?.close();
      tlsSource?.close();
    },
  };
}

/**
 * One unary GetMetrics call on `connection`: the request headers plus `grpc-timeout` for the time
 * left, the framed request, and a local deadline that cancels the stream. Resolves with the decoded
 * answer or rejects with a {@link MetricsServiceError} carrying the gRPC status.
 */
function unaryCall(
  connection: H2ClientConnection,
  requestHeaders: RepeatedHeaderFields,
  request: Buffer,
  deadline: number,
  signal?: AbortSignal,
): Promise<ExternalMetricValueList> {
  return new Promise((resolve, reject) => {
    const remaining = deadline - Date.now();
    if (remaining <= 0) return reject(new MetricsServiceError(status.DEADLINE_EXCEEDED, 'Deadline exceeded'));
    if (signal?.aborted) return reject(callCancelledError());
    let stream: H2ClientStream | undefined;
    let outcome: MetricsServiceError | undefined;
    let answer: { code: status; details: string } | undefined;
    let httpStatus = 0;
    const chunks: Buffer[] = [];
    let received = 0;
    const end = (err: MetricsServiceError) => {
      outcome ??= err;
      stream?.cancel(H2_ERROR.CANCEL);
    };
    const timer = setTimeout(() => end(new MetricsServiceError(status.DEADLINE_EXCEEDED, 'Deadline exceeded')), remaining);
    const onAbort = () => end(callCancelledError());
    signal?.addEventListener('abort', onAbort, { once: true });
    const finished = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    const headers = { repeated: requestHeaders, other: encodeLiteralFields([['grpc-timeout', grpcTimeoutHeader(remaining)]]) };
    try {
      stream = connection.request(headers, request, {
        onHeaders(fields: HeaderFields) {
          if (httpStatus === 0) {
            httpStatus = Number(fields[':status']);
            // A trailers-only answer (an error) carries the status in its headers.
            answer = statusFromTrailers(fields);
          } else answer = statusFromTrailers(fields) ?? answer;
        },
        onData(chunk: Buffer) {
          received += chunk.length;
          if (received > MAX_RECEIVE_MESSAGE_BYTES + 5) {
            end(new MetricsServiceError(status.RESOURCE_EXHAUSTED, `received message larger than max (${received - 5} vs. ${MAX_RECEIVE_MESSAGE_BYTES})`));
          } else chunks.push(chunk);
        },
        onClose(rstCode: number, connectionGone: boolean) {
          finished();
          if (outcome) return reject(outcome);
          if (httpStatus !== 0 && httpStatus !== 200) {
            return reject(new MetricsServiceError(grpcCodeForHttpStatus(httpStatus), `the metrics service answered HTTP ${httpStatus}`));
          }
          if (!answer) return reject(errorForClosedStream(rstCode, connectionGone));
          if (answer.code !== status.OK) return reject(new MetricsServiceError(answer.code, answer.details));
          try {
            resolve(ExternalMetricValueList.decode(unframeUnaryMessage(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks))));
          } catch (err) {
            reject(err instanceof MetricsServiceError ? err : new MetricsServiceError(status.INTERNAL, `cannot decode the answer: ${(err as Error).message}`, { cause: err }));
          }
        },
      });
    } catch (err) {
      finished();
      // The connection closed between the state check and the request.
      reject(new MetricsServiceError(status.UNAVAILABLE, `cannot start the call: ${(err as Error).message}`, { cause: err }));
    }
  });
}
