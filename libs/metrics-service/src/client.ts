import {
  connectivityState as GrpcConnectivityState,
  credentials,
  Metadata,
  status,
  type CallOptions,
  type ChannelOptions,
  type ServiceError,
} from '@grpc/grpc-js';
import { fromWireList } from './convert';
import { CONNECTION_TIMEOUT_MESSAGE, MetricsServiceError, callCancelledError, clientClosedError } from './errors';
import { MetricsServiceClient, type ExternalMetricValueList } from '@keda-ts/proto/metrics';
import type { MetricsServiceLogger } from './logger';
import { TlsMaterialSource, type TlsSource } from './tls';
import type { ExternalMetricValue, MetricRef } from './types';

export type ConnectivityStateName = 'IDLE' | 'CONNECTING' | 'READY' | 'TRANSIENT_FAILURE' | 'SHUTDOWN';

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

/**
 * Connection backoff: gRPC's 1 s base (×1.6 with jitter, grpc-js's own), but at most 2 s instead of
 * gRPC's 120 s. The controller Service leads to one leader; during a failover (SIGKILL: one lease
 * duration) the growing backoff would otherwise leave the channel waiting several seconds after the new
 * leader is in the Service, failing calls (3 s deadline) that could succeed. Capped below the call
 * deadline, a call waiting for the channel sees the next attempt. The cost is one connection attempt
 * every ~2 s while no controller is reachable.
 */
const CONNECT_BACKOFF = { initialBackoffMs: 1000, maxBackoffMs: 2000 };

/** The largest answer accepted (gRPC's default receive limit). */
const MAX_RECEIVE_MESSAGE_BYTES = 4 * 1024 * 1024;

const USER_AGENT = 'keda-ts-metrics-client';

/** KEDA's service config for `api.MetricsService` (M-27), as grpc-js reads it. */
const SERVICE_CONFIG = JSON.stringify({
  methodConfig: [
    {
      name: [{ service: 'api.MetricsService' }],
      waitForReady: true,
      timeout: `${METRICS_CALL_POLICY.timeoutMs / 1000}s`,
      retryPolicy: {
        maxAttempts: METRICS_CALL_POLICY.maxAttempts,
        initialBackoff: `${METRICS_CALL_POLICY.initialBackoffMs / 1000}s`,
        maxBackoff: `${METRICS_CALL_POLICY.maxBackoffMs / 1000}s`,
        backoffMultiplier: METRICS_CALL_POLICY.backoffMultiplier,
        retryableStatusCodes: ['UNAVAILABLE'],
      },
    },
  ],
});

const STATE_NAMES: Record<GrpcConnectivityState, ConnectivityStateName> = {
  [GrpcConnectivityState.IDLE]: 'IDLE',
  [GrpcConnectivityState.CONNECTING]: 'CONNECTING',
  [GrpcConnectivityState.READY]: 'READY',
  [GrpcConnectivityState.TRANSIENT_FAILURE]: 'TRANSIENT_FAILURE',
  [GrpcConnectivityState.SHUTDOWN]: 'SHUTDOWN',
};

/** The host of `host:port` or `[v6]:port`. */
function hostOf(hostPort: string): string {
  if (hostPort.startsWith('[')) return hostPort.slice(1, hostPort.indexOf(']'));
  const colon = hostPort.lastIndexOf(':');
  return colon < 0 ? hostPort : hostPort.slice(0, colon);
}

/** One grpc-js client (one channel) built from one set of TLS material. */
interface Generation {
  client: MetricsServiceClient;
  /** Calls started on it and not finished yet. */
  inFlight: number;
  /** Replaced by a newer generation: closed as soon as `inFlight` is 0. */
  retired: boolean;
}

/** A grpc-js ServiceError (or anything else a call failed with) as a {@link MetricsServiceError}. */
function toMetricsServiceError(err: unknown, signal?: AbortSignal): MetricsServiceError {
  if (err instanceof MetricsServiceError) return err;
  const e = err as Partial<ServiceError>;
  if (e.code === status.CANCELLED && signal?.aborted) return callCancelledError();
  if (typeof e.code === 'number') return new MetricsServiceError(e.code, e.details ?? e.message ?? '', { cause: err });
  return new MetricsServiceError(status.UNKNOWN, (err as Error)?.message ?? String(err), { cause: err });
}

/**
 * The metrics adapter side of KEDA's metrics link: `api.MetricsService/GetMetrics` with the
 * generated grpc-js client over mutual TLS, with KEDA's service config (deadline, wait for ready,
 * UNAVAILABLE retried), keepalive and grpc-js's reconnection. The TLS material is loaded before
 * the first call; with a cert directory, a change of the files builds new credentials and a new
 * channel that new calls use, and the previous channel is closed once its calls have finished.
 */
export function createMetricsClient(options: MetricsClientOptions): MetricsClient {
  const { logger, address } = options;
  const timeoutMs = options.timeoutMs ?? METRICS_CALL_POLICY.timeoutMs;
  const channelOptions: ChannelOptions = {
    'grpc.service_config': SERVICE_CONFIG,
    'grpc.enable_retries': 1,
    'grpc.keepalive_time_ms': options.keepaliveTimeMs ?? 30_000,
    'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs ?? 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.initial_reconnect_backoff_ms': CONNECT_BACKOFF.initialBackoffMs,
    'grpc.max_reconnect_backoff_ms': CONNECT_BACKOFF.maxBackoffMs,
    'grpc.max_receive_message_length': MAX_RECEIVE_MESSAGE_BYTES,
    'grpc.primary_user_agent': USER_AGENT,
    // No idle shutdown (grpc-js's default is 30 min): the link stays up between HPA queries, so
    // readiness does not flap; a dead peer is found by the keepalive pings.
    'grpc.client_idle_timeout_ms': 2 ** 31 - 1,
    // Every generation has its own connection, so rotated certificates are never mixed with old ones.
    'grpc.use_local_subchannel_pool': 1,
    // No channelz: nothing reads it, and it traces every call.
    'grpc.enable_channelz': 0,
  };
  if (options.authority) {
    channelOptions['grpc.default_authority'] = options.authority;
    channelOptions['grpc.ssl_target_name_override'] = hostOf(options.authority);
  }

  // grpc-js copies the metadata of each call, so one empty instance serves them all.
  const metadata = new Metadata();
  let closed = false;
  let tlsSource: TlsMaterialSource | null = null;
  let current: Generation | null = null;
  let opening: Promise<Generation> | null = null;
  const retired = new Set<Generation>();

  const build = (source: TlsMaterialSource): Generation => {
    const m = source.current;
    const client = new MetricsServiceClient(address, credentials.createSsl(m.ca, m.key, m.cert), channelOptions);
    const generation: Generation = { client, inFlight: 0, retired: false };
    watchState(generation);
    return generation;
  };

  /** Logs each connectivity change of the generation's channel until it shuts down. */
  const watchState = (generation: Generation) => {
    const channel = generation.client.getChannel();
    const watch = (state: GrpcConnectivityState) => {
      if (state === GrpcConnectivityState.SHUTDOWN) return;
      channel.watchConnectivityState(state, Infinity, () => {
        const next = channel.getConnectivityState(false);
        if (!generation.retired) logger.info({ target: address, state: STATE_NAMES[next] }, 'gRPC metrics channel state changed');
        watch(next);
      });
    };
    watch(channel.getConnectivityState(false));
  };

  const retire = (generation: Generation) => {
    generation.retired = true;
    if (generation.inFlight === 0) generation.client.close();
    else retired.add(generation);
  };

  const open = (): Promise<Generation> => {
    if (closed) return Promise.reject(clientClosedError());
    if (current) return Promise.resolve(current);
    opening ??= TlsMaterialSource.open(options.tls, logger).then((source) => {
      if (closed) {
        source.close();
        throw clientClosedError();
      }
      tlsSource = source;
      const first = build(source);
      current = first;
      source.onChange(() => {
        if (closed || !current) return;
        const previous = current;
        const wasConnecting = previous.client.getChannel().getConnectivityState(false) !== GrpcConnectivityState.IDLE;
        current = build(source);
        logger.info({ target: address }, 'metrics service client certificates changed; new calls use a new connection');
        if (wasConnecting) current.client.getChannel().getConnectivityState(true);
        retire(previous);
      });
      return first;
    });
    // A failed load (files missing or invalid) is tried again by the next call.
    opening.catch(() => {
      if (!current) opening = null;
    });
    return opening;
  };

  const call = (generation: Generation, ref: MetricRef, deadline: number, signal?: AbortSignal) =>
    new Promise<ExternalMetricValueList>((resolve, reject) => {
      if (signal?.aborted) return reject(callCancelledError());
      generation.inFlight++;
      const callOptions: Partial<CallOptions> = { deadline };
      const onAbort = () => c.cancel();
      const c = generation.client.getMetrics(
        { name: ref.name, namespace: ref.namespace, metricName: ref.metricName },
        metadata,
        callOptions,
        (err, answer) => {
          signal?.removeEventListener('abort', onAbort);
          if (--generation.inFlight === 0 && generation.retired) {
            retired.delete(generation);
            generation.client.close();
          }
          if (err) reject(toMetricsServiceError(err, signal));
          else resolve(answer);
        },
      );
      signal?.addEventListener('abort', onAbort, { once: true });
    });

  return {
    async getMetrics(ref, callOptions = {}) {
      if (!current) await open();
      if (closed || !current) throw clientClosedError();
      const list = await call(current, ref, Date.now() + (callOptions.timeoutMs ?? timeoutMs), callOptions.signal);
      try {
        return fromWireList(list);
      } catch (e) {
        throw new MetricsServiceError(status.INTERNAL, `invalid response for ${ref.metricName}: ${(e as Error).message}`, {
          cause: e,
        });
      }
    },
    async waitForReady(deadline) {
      const generation = await open();
      await new Promise<void>((resolve, reject) =>
        generation.client.waitForReady(deadline, (err) =>
          err
            ? reject(new MetricsServiceError(closed ? status.UNAVAILABLE : status.DEADLINE_EXCEEDED, closed ? clientClosedError().message : CONNECTION_TIMEOUT_MESSAGE, { cause: err }))
            : resolve(),
        ),
      );
    },
    connectivityState(tryToConnect = false) {
      if (closed) return 'SHUTDOWN';
      if (!current) {
        if (tryToConnect) void open().then((g) => g.client.getChannel().getConnectivityState(true), () => undefined);
        return 'IDLE';
      }
      return STATE_NAMES[current.client.getChannel().getConnectivityState(tryToConnect)];
    },
    isReady() {
      return current !== null && !closed && current.client.getChannel().getConnectivityState(false) === GrpcConnectivityState.READY;
    },
    async close() {
      if (closed) return;
      closed = true;
      if (opening) await opening.catch(() => undefined);
      tlsSource?.close();
      current?.client.close();
      for (const g of retired) g.client.close();
      retired.clear();
    },
  };
}
