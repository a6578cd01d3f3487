import { Server, status, type ServerUnaryCall, type ServiceError, type sendUnaryData } from '@grpc/grpc-js';
import { authorize, DEFAULT_AUTHORIZATION_POLICY, identityOfPeer, sharedPairIdentity, type AuthorizationPolicy, type MethodClass, type PeerIdentity } from './authz';
import { toWireList } from './convert';
import { MetricsServiceError, callCancelledError } from './errors';
import {
  MetricsServiceService,
  RawMetricsServiceService,
  type ExternalMetricValueList,
  type MetricsServiceServer,
  type ScaledObjectRef,
} from '@keda-ts/proto/metrics';
import {
  DecisionDebugService,
  type DecisionDebugServer,
  type ExplainRequest,
  type ExplainResponse,
  type ListTracedRequest,
  type ListTracedResponse,
} from '@keda-ts/proto/debug';
import type { Registry } from 'prom-client';
import { GrpcServerMetrics } from './grpc-metrics';
import { HealthService } from './health';
import type { MetricsServiceLogger } from './logger';
import { addReflection } from './reflection';
import { createRawMetricsService, RAW_METRICS_SERVICE_NAME, type RawMetricsSource } from './raw-metrics';
import {
  TlsMaterialSource,
  listenMutualTls,
  type MutualTlsListener,
  type ServerTlsOptions,
  type TlsSource,
} from './tls';
import type { MetricsProvider } from './types';

export const METRICS_SERVICE_NAME = 'api.MetricsService';
export const DECISION_DEBUG_SERVICE_NAME = 'kedats.debug.v1.DecisionDebug';

/** What the debug service (`kedats.debug.v1.DecisionDebug`) serves: the controller's decision traces. */
export interface DecisionDebugProvider {
  /** The polls of one object, newest first; undefined when the controller has no trace of it. */
  explain(request: ExplainRequest): ExplainResponse | undefined;
  /** Every traced object as `kind/namespace/name`. */
  listTraced(): string[];
}
export const DEFAULT_METRICS_SERVICE_PORT = 9666;

export interface MetricsServerOptions extends ServerTlsOptions {
  provider: MetricsProvider;
  /** Fixed PEM material, or a cert directory (`ca.crt`, `tls.crt`, `tls.key`) that is watched for changes. */
  tls: TlsSource;
  /** Interface to listen on; default `0.0.0.0` (KEDA's `:9666`). */
  bindAddress?: string;
  /** Default 9666; 0 picks a free port (see {@link MetricsServer.port}). */
  port?: number;
  logger: MetricsServiceLogger;
  /** How long stop() lets in-flight calls finish before cancelling them; default 5000 ms. */
  drainTimeoutMs?: number;
  /** Expose server reflection (grpcurl list/describe); default true. */
  reflection?: boolean;
  /** Also serve keda-ts's decision debug service. */
  debug?: DecisionDebugProvider;
  /** Also serve KEDA's `api.RawMetricsService` from this source (the controller's RawMetricsHub). */
  rawMetrics?: RawMetricsSource;
  /** Who may call GetMetrics and the debug service (see authz.ts); default: the adapter's CN, operators' O. */
  authorization?: AuthorizationPolicy;
  /** Where to count the calls (`keda_internal_metricsservice_grpc_server_*`); absent: not counted. */
  metricsRegistry?: Registry;
}

export interface MetricsServer {
  /** Binds, starts serving and sets the health status to SERVING; resolves with the bound port. */
  start(): Promise<number>;
  /** The bound port (after start()). */
  readonly port: number;
  /** `host:port` as bound (after start()). */
  readonly address: string;
  /** NOT_SERVING, then drains in-flight calls for up to drainTimeoutMs, then cancels the rest. */
  stop(): Promise<void>;
  /** The grpc.health.v1 service, e.g. to report NOT_SERVING while leadership is lost. */
  readonly health: HealthService;
  /** Re-read the cert directory now (it is also watched). */
  reloadCertificates(): Promise<void>;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

function toServiceError(err: unknown, signal: AbortSignal): Partial<ServiceError> {
  const known = err instanceof MetricsServiceError ? err : signal.aborted ? callCancelledError() : undefined;
  if (known) return { code: known.code, details: known.message };
  return { code: status.UNKNOWN, details: err instanceof Error ? err.message : String(err) };
}

/**
 * The controller side of KEDA's metrics link: `api.MetricsService` over mutual TLS, plus the
 * standard health service and server reflection.
 */
export function createMetricsServer(options: MetricsServerOptions): MetricsServer {
  const { provider, logger } = options;
  const bindAddress = options.bindAddress ?? '0.0.0.0';
  const drainTimeoutMs = options.drainTimeoutMs ?? 5000;
  const health = new HealthService({ '': 'NOT_SERVING', [METRICS_SERVICE_NAME]: 'NOT_SERVING' });
  let server: Server | null = null;
  let tlsSource: TlsMaterialSource | null = null;
  let listener: MutualTlsListener | null = null;
  let boundPort = -1;
  const policy = options.authorization ?? DEFAULT_AUTHORIZATION_POLICY;
  // Once per server, not per start(): a leader that loses and regains the lease keeps its counts.
  const grpcMetrics = options.metricsRegistry ? GrpcServerMetrics.of(options.metricsRegistry) : undefined;
  grpcMetrics?.register(Object.values(MetricsServiceService));
  // The server's own identity when it holds a shared pair (recomputed when the certificate changes).
  let ownCert: Buffer | undefined;
  let ownIdentity: PeerIdentity | undefined;
  const serverIdentity = (): PeerIdentity | undefined => {
    const cert = tlsSource?.current.cert;
    if (cert && cert !== ownCert) {
      ownCert = cert;
      ownIdentity = sharedPairIdentity(cert);
    }
    return ownIdentity;
  };

  /** The client certificate's identity: from the connection's handshake, else (not known there) from the call. */
  const peerOf = (call: Pick<ServerUnaryCall<unknown, unknown>, 'getPeer' | 'getAuthContext'>): PeerIdentity | undefined =>
    listener?.identityOf(call.getPeer()) ?? identityOfPeer(call.getAuthContext()?.sslPeerCertificate);

  /** PERMISSION_DENIED unless the client's certificate identity may call `method`; true: allowed. */
  function allowed<Req, Res>(method: MethodClass, name: string, call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): boolean {
    const peer = peerOf(call);
    const decision = authorize(method, peer, policy, serverIdentity());
    if (decision.allowed) return true;
    logger.warn({ method: name, peer: call.getPeer(), reason: decision.reason }, 'gRPC call refused');
    callback({ code: status.PERMISSION_DENIED, details: decision.reason });
    return false;
  }

  const impl: MetricsServiceServer = {
    getMetrics(
      call: ServerUnaryCall<ScaledObjectRef, ExternalMetricValueList>,
      callback: sendUnaryData<ExternalMetricValueList>,
    ) {
      if (!allowed('metrics', 'GetMetrics', call, callback)) return;
      const ref = {
        name: call.request.name,
        namespace: call.request.namespace,
        metricName: call.request.metricName,
      };
      const controller = new AbortController();
      // grpc-js reports every closed stream as cancelled, answered or not; aborting an answered
      // call would only build a DOMException (a tenth of this server's CPU per call).
      let answered = false;
      call.on('cancelled', () => {
        if (!answered) controller.abort();
      });
      const started = Date.now();
      provider.getMetrics(ref, controller.signal).then(
        (values) => {
          answered = true;
          let list: ExternalMetricValueList;
          try {
            list = toWireList(values);
          } catch (err) {
            logger.error({ err, ...ref }, 'the metrics provider returned a value that is not a quantity');
            callback({ code: status.INTERNAL, details: `metric:${ref.metricName} encountered error` });
            return;
          }
          logger.debug({ ...ref, items: list.items.length, durationMs: Date.now() - started }, 'GetMetrics');
          callback(null, list);
        },
        (err: unknown) => {
          answered = true;
          const e = toServiceError(err, controller.signal);
          logger.warn(
            { ...ref, code: status[e.code ?? status.UNKNOWN], err },
            `GetMetrics failed: ${e.details}`,
          );
          callback(e);
        },
      );
    },
  };

  const rawMetrics =
    options.rawMetrics &&
    createRawMetricsService({
      source: options.rawMetrics,
      logger,
      authorize: (call) => authorize('raw-metrics', peerOf(call), policy, serverIdentity()),
    });

  const debug = options.debug;
  const debugImpl: DecisionDebugServer | undefined = debug && {
    explain(call: ServerUnaryCall<ExplainRequest, ExplainResponse>, callback: sendUnaryData<ExplainResponse>) {
      if (!allowed('debug', 'Explain', call, callback)) return;
      const req = call.request;
      const kind = req.kind || 'ScaledObject';
      if (kind !== 'ScaledObject' && kind !== 'ScaledJob') {
        callback({ code: status.INVALID_ARGUMENT, details: `kind must be ScaledObject or ScaledJob, got ${JSON.stringify(req.kind)}` });
        return;
      }
      if (!req.namespace || !req.name) {
        callback({ code: status.INVALID_ARGUMENT, details: 'namespace and name are required' });
        return;
      }
      const found = debug.explain({ ...req, kind });
      if (!found) {
        callback({ code: status.NOT_FOUND, details: `no decisions recorded for ${kind} ${req.namespace}/${req.name} (not found, not yet polled, or paused)` });
        return;
      }
      callback(null, found);
    },
    listTraced(call: ServerUnaryCall<ListTracedRequest, ListTracedResponse>, callback: sendUnaryData<ListTracedResponse>) {
      if (!allowed('debug', 'ListTraced', call, callback)) return;
      callback(null, { objects: debug.listTraced() });
    },
  };

  return {
    health,
    get port() {
      return boundPort;
    },
    get address() {
      return hostPort(bindAddress, boundPort);
    },
    async start() {
      if (server) throw new Error('the metrics server is already started');
      tlsSource = await TlsMaterialSource.open(options.tls, logger);
      // Channelz stays on (grpc-js' default) although nothing reads it: grpc-js 1.14 tracks the
      // sessions forceShutdown() destroys only with it, and the drain timeout relies on that.
      const s = new Server(grpcMetrics ? { interceptors: [grpcMetrics.interceptor] } : undefined);
      s.addService(MetricsServiceService, impl);
      if (debugImpl) s.addService(DecisionDebugService, debugImpl);
      if (rawMetrics) s.addService(RawMetricsServiceService, rawMetrics.impl);
      health.addToServer(s);
      if (options.reflection ?? true) {
        addReflection(
          s,
          debugImpl ? ['metrics', 'debug', 'health'] : ['metrics', 'health'],
          [
            METRICS_SERVICE_NAME,
            ...(rawMetrics ? [RAW_METRICS_SERVICE_NAME] : []),
            ...(debugImpl ? [DECISION_DEBUG_SERVICE_NAME] : []),
            'grpc.health.v1.Health',
          ],
        );
      }
      try {
        listener = await listenMutualTls(
          s,
          tlsSource,
          { host: bindAddress, port: options.port ?? DEFAULT_METRICS_SERVICE_PORT },
          logger,
          options,
        );
        boundPort = listener.port;
      } catch (err) {
        tlsSource.close();
        s.forceShutdown();
        throw err;
      }
      server = s;
      health.setStatus('', 'SERVING');
      health.setStatus(METRICS_SERVICE_NAME, 'SERVING');
      logger.info(
        { address: hostPort(bindAddress, boundPort), minTlsVersion: options.minTlsVersion ?? 'TLS13' },
        'metrics gRPC server started',
      );
      return boundPort;
    },
    async stop() {
      const s = server;
      if (!s) return;
      server = null;
      // Stops accepting; resolves when every connection has closed (grpc-js does not track the
      // connections it is handed, so its tryShutdown does not wait for their calls).
      const connectionsClosed = listener?.close() ?? Promise.resolve();
      listener = null;
      health.setStatus('', 'NOT_SERVING');
      health.setStatus(METRICS_SERVICE_NAME, 'NOT_SERVING');
      health.endWatches();
      // Raw metrics streams never finish on their own: end them (status OK) so the drain can complete.
      rawMetrics?.endAll();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          logger.warn(
            { drainTimeoutMs },
            'metrics gRPC server did not drain in time; cancelling the remaining calls',
          );
          s.forceShutdown();
          resolve();
        }, drainTimeoutMs);
        s.tryShutdown(() => {
          void connectionsClosed.then(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      });
      tlsSource?.close();
      logger.info({}, 'metrics gRPC server stopped');
    },
    reloadCertificates() {
      return tlsSource ? tlsSource.reload() : Promise.resolve();
    },
  };
}
