import {
  Metadata,
  connectivityState,
  status,
  type ChannelOptions,
  type ClientUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';
import { fromWireList } from './convert';
import { CONNECTION_TIMEOUT_MESSAGE, MetricsServiceError } from './errors';
import { MetricsServiceClient as GeneratedClient } from './generated/metrics/metrics';
import type { MetricsServiceLogger } from './logger';
import { TlsMaterialSource, createReloadingChannelCredentials, type TlsSource } from './tls';
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
 * KEDA's adapter-side service config (M-27): 3 s timeout, wait for ready, retry UNAVAILABLE with
 * 0.25 s initial backoff, 2 s max, ×2. grpc-js requires maxAttempts (KEDA leaves it to grpc-go);
 * 5 is grpc-js's own cap.
 */
export function metricsServiceConfig(timeoutMs: number): object {
  return {
    methodConfig: [
      {
        name: [{ service: 'api.MetricsService' }],
        timeout: `${timeoutMs / 1000}s`,
        waitForReady: true,
        retryPolicy: {
          maxAttempts: 5,
          initialBackoff: '0.25s',
          maxBackoff: '2s',
          backoffMultiplier: 2,
          retryableStatusCodes: ['UNAVAILABLE'],
        },
      },
    ],
  };
}

const stateName = (s: connectivityState) => connectivityState[s] as ConnectivityStateName;

/**
 * The metrics adapter side of KEDA's metrics link. The TLS material is loaded before the first
 * call; with a cert directory, new connections follow reloaded certificates.
 */
export function createMetricsClient(options: MetricsClientOptions): MetricsClient {
  const { logger, address } = options;
  const timeoutMs = options.timeoutMs ?? 3000;
  const channelOptions: ChannelOptions = {
    'grpc.service_config': JSON.stringify(metricsServiceConfig(timeoutMs)),
    'grpc.enable_retries': 1,
    'grpc.keepalive_time_ms': options.keepaliveTimeMs ?? 30_000,
    'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs ?? 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    // gRPC's default connect backoff (1 s base, ×1.6, jitter 0.2, max 120 s).
    'grpc.initial_reconnect_backoff_ms': 1000,
    'grpc.max_reconnect_backoff_ms': 120_000,
    // Channelz (per-call statistics for a debug service nobody registers here) costs on every call.
    'grpc.enable_channelz': 0,
  };
  if (options.authority) {
    channelOptions['grpc.default_authority'] = options.authority;
    channelOptions['grpc.ssl_target_name_override'] = options.authority;
  }

  let closed = false;
  let tlsSource: TlsMaterialSource | null = null;
  let client: GeneratedClient | null = null;
  let opening: Promise<GeneratedClient> | null = null;

  const watchState = (c: GeneratedClient, last: connectivityState) => {
    c.getChannel().watchConnectivityState(last, Infinity, () => {
      if (closed) return;
      const now = c.getChannel().getConnectivityState(false);
      logger.info(
        { target: address, from: stateName(last), to: stateName(now) },
        `metrics service connection ${stateName(now)}`,
      );
      if (now !== connectivityState.SHUTDOWN) watchState(c, now);
    });
  };

  const open = (): Promise<GeneratedClient> => {
    if (closed)
      return Promise.reject(new MetricsServiceError(status.UNAVAILABLE, 'the metrics client is closed'));
    if (client) return Promise.resolve(client);
    opening ??= TlsMaterialSource.open(options.tls, logger).then((source) => {
      if (closed) {
        source.close();
        throw new MetricsServiceError(status.UNAVAILABLE, 'the metrics client is closed');
      }
      tlsSource = source;
      client = new GeneratedClient(address, createReloadingChannelCredentials(source), channelOptions);
      watchState(client, client.getChannel().getConnectivityState(false));
      return client;
    });
    return opening;
  };

  return {
    async getMetrics(ref, callOptions = {}) {
      // Once open, skip the extra promise hop: this runs for every HPA metric request.
      const c = client && !closed ? client : await open();
      const deadline = Date.now() + (callOptions.timeoutMs ?? timeoutMs);
      return new Promise<ExternalMetricValue[]>((resolve, reject) => {
        let call: ClientUnaryCall | undefined = undefined;
        const onAbort = () => call?.cancel();
        call = c.getMetrics(
          { name: ref.name, namespace: ref.namespace, metricName: ref.metricName },
          new Metadata(),
          { deadline },
          (err: ServiceError | null, res) => {
            callOptions.signal?.removeEventListener('abort', onAbort);
            if (err) {
              reject(new MetricsServiceError(err.code, err.details || err.message, { cause: err }));
              return;
            }
            try {
              resolve(fromWireList(res));
            } catch (e) {
              reject(
                new MetricsServiceError(
                  status.INTERNAL,
                  `invalid response for ${ref.metricName}: ${(e as Error).message}`,
                  { cause: e },
                ),
              );
            }
          },
        );
        if (callOptions.signal?.aborted) call.cancel();
        else callOptions.signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    async waitForReady(deadline) {
      const c = await open();
      await new Promise<void>((resolve, reject) =>
        c.waitForReady(deadline, (err) =>
          err
            ? reject(
                new MetricsServiceError(status.DEADLINE_EXCEEDED, CONNECTION_TIMEOUT_MESSAGE, { cause: err }),
              )
            : resolve(),
        ),
      );
    },
    connectivityState(tryToConnect = false) {
      if (closed) return 'SHUTDOWN';
      if (!client) {
        if (tryToConnect)
          void open().then(
            (c) => c.getChannel().getConnectivityState(true),
            () => undefined,
          );
        return 'IDLE';
      }
      return stateName(client.getChannel().getConnectivityState(tryToConnect));
    },
    isReady() {
      return (
        client !== null &&
        !closed &&
        client.getChannel().getConnectivityState(false) === connectivityState.READY
      );
    },
    async close() {
      if (closed) return;
      closed = true;
      if (opening) await opening.catch(() => undefined);
      client?.close();
      tlsSource?.close();
    },
  };
}
