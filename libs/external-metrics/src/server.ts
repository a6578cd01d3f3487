import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { CertificateFilesWatcher } from '@keda-ts/certificates';
import { signedMilliQuantity } from '@keda-ts/api';
import { grpcCodeLabel, type ExternalMetricValue, type MetricRef } from '@keda-ts/metrics-service';
import type { CheckResult, Logger } from '@keda-ts/runtime';
import {
  authenticateRequest,
  clientCaPems,
  headersFromRaw,
  identifyCertificate,
  peerChain,
  type AuthenticationConfig,
  type CertificateIdentity,
  type UserInfo,
} from './authn';
import type { Decision, ResourceAttributes } from './authz';
import {
  GROUP,
  GROUP_VERSION,
  VERSION,
  apiGroup,
  apiGroupList,
  apiResourceList,
  openApiV2,
  openApiV3GroupVersion,
  openApiV3Index,
} from './discovery';
import type { AdapterMetrics } from './prom';
import { scaledObjectNameFromSelector } from './selector';
import { StatusError, statusFromMetricsError, statusOf } from './status';

/** Where metric values come from (the gRPC metrics client). */
export interface MetricsSource {
  getMetrics(ref: MetricRef, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<ExternalMetricValue[]>;
}

export interface ExternalMetricsServerOptions {
  metrics: MetricsSource;
  /** Named in 503 messages and readiness. */
  controllerAddress: string;
  /** Current authentication settings (e.g. `AuthConfigSource.config`) and their generation. */
  authentication: () => { config: AuthenticationConfig; generation: number };
  authorize: (user: UserInfo, attributes: ResourceAttributes) => Promise<Decision>;
  /** `/readyz` checks (gRPC channel, authentication config...). */
  readiness: Record<string, () => CheckResult>;
  tls: { certFile: string; keyFile: string; minVersion?: 'TLSv1.2' | 'TLSv1.3' };
  bindAddress: string;
  port: number;
  logger: Logger;
  prom?: AdapterMetrics;
  /** Re-reads the serving certificate and client CAs this often; default 60 s. */
  reloadIntervalMs?: number;
  /** Per-request deadline of the gRPC call; default 3000 ms (M-27). */
  grpcTimeoutMs?: number;
}


/** RFC 3339 with whole seconds, as metav1.Time marshals. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The `ExternalMetricValueList` for the values the controller returned. */
export function externalMetricValueList(values: ExternalMetricValue[]) {
  return {
    kind: 'ExternalMetricValueList',
    apiVersion: GROUP_VERSION,
    metadata: {},
    items: values.map((v) => ({
      metricName: v.metricName,
      metricLabels: v.metricLabels ?? {},
      timestamp: rfc3339(v.timestamp),
      value: signedMilliQuantity(v.value),
    })),
  };
}

const JSON_TYPE = 'application/json; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';
const METRIC_PATH = new RegExp(`^/apis/${GROUP_VERSION.replace(/\./g, '\\.')}/namespaces/([^/]+)/([^/]+)/?$`);

/** Discovery and OpenAPI documents never change: serialized once. */
const discoveryDocuments = new Map<string, () => unknown>([
  ['/apis', apiGroupList],
  [`/apis/${GROUP}`, apiGroup],
  [`/apis/${GROUP_VERSION}`, apiResourceList],
  ['/openapi/v2', openApiV2],
  ['/openapi/v3', openApiV3Index],
  [`/openapi/v3/apis/${GROUP_VERSION}`, openApiV3GroupVersion],
]);
const serializedDiscovery = new Map<string, Buffer>();
function discoveryBody(path: string): Buffer | undefined {
  let body = serializedDiscovery.get(path);
  if (!body) {
    const build = discoveryDocuments.get(path);
    if (!build) return undefined;
    body = Buffer.from(JSON.stringify(build()));
    serializedDiscovery.set(path, body);
  }
  return body;
}

/** One request, over HTTP/1.1 or HTTP/2: what the handlers read and how they answer. */
interface Exchange {
  method: string;
  path: string;
  query: string;
  /** Header names and values alternating, as received. */
  rawHeaders: string[];
  /** The TLS connection (one object per connection, the key of the certificate identity cache). */
  connection: TLSSocket;
  started: number;
  user?: UserInfo;
  /** The metric name once the request is known to be a metric read (labels it as such). */
  resource?: string;
  /** Answered, or the client is gone. */
  finished(): boolean;
  /** Writes status, headers and the whole body (none for HEAD). */
  reply(code: number, headers: { 'content-type': string; 'content-length': number }, body: string | Buffer): void;
  /** Runs `listener` if the client goes away before the answer; returns its removal. */
  onAbandoned(listener: () => void): () => void;
}

function splitUrl(url: string): { path: string; query: string } {
  const q = url.indexOf('?');
  return { path: q < 0 ? url : url.slice(0, q), query: q < 0 ? '' : url.slice(q + 1) };
}

/** An HTTP/1.1 request (clients that did not negotiate h2). */
function http1Exchange(req: http.IncomingMessage, res: http.ServerResponse): Exchange {
  return {
    method: req.method ?? 'GET',
    ...splitUrl(req.url ?? '/'),
    rawHeaders: req.rawHeaders,
    connection: req.socket as TLSSocket,
    started: performance.now(),
    finished: () => res.writableEnded || res.destroyed,
    reply(code, headers, body) {
      res.writeHead(code, headers);
      if (this.method === 'HEAD') res.end();
      else res.end(body);
    },
    onAbandoned(listener) {
      const onClose = () => {
        if (!res.writableEnded) listener();
      };
      res.once('close', onClose);
      return () => res.off('close', onClose);
    },
  };
}

/**
 * An HTTP/2 stream, answered through node:http2's core API: its compatibility layer builds a
 * request and a response object (two more streams) per request and sends empty trailers after
 * each answer, which cost the adapter CPU and garbage on every metric request of the HPA.
 */
function http2Exchange(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, rawHeaders: string[]): Exchange {
  let answered = false;
  // A reset by the client ends the stream with an error; it is not the adapter's.
  stream.on('error', ignore);
  return {
    method: String(headers[':method'] ?? 'GET'),
    ...splitUrl(String(headers[':path'] ?? '/')),
    rawHeaders,
    connection: stream.session?.socket as TLSSocket,
    started: performance.now(),
    finished: () => answered || stream.destroyed || stream.closed,
    reply(code, fields, body) {
      answered = true;
      const headOnly = this.method === 'HEAD';
      stream.respond({ ':status': code, ...fields }, { endStream: headOnly });
      if (!headOnly) stream.end(body);
    },
    onAbandoned(listener) {
      const onClose = () => {
        if (!answered) listener();
      };
      stream.once('close', onClose);
      return () => stream.off('close', onClose);
    },
  };
}

/** The ALPN choice of an HTTP/2 server with HTTP/1.1 fallback: h2 when offered, else http/1.1, else a fatal alert. */
function selectAlpn({ protocols }: { protocols: string[] }): string | undefined {
  if (protocols.includes('h2')) return 'h2';
  return protocols.includes('http/1.1') ? 'http/1.1' : undefined;
}

/**
 * An HTTPS server that answers HTTP/2 streams through node:http2's core API (`onStream`) and
 * HTTP/1.1 requests through node:http (`onRequest`), on one port, with documented APIs only.
 * node:http2's own `allowHTTP1` would route HTTP/2 streams through its compatibility objects too
 * as soon as a 'request' listener is added, so it stays off: TLS connections that do not
 * negotiate h2 (ALPN `http/1.1` through `ALPNCallback`, or no ALPN) reach the 'unknownProtocol'
 * event and are handed to an `http.Server` through its 'connection' event (keep-alive included;
 * `unknownProtocolTimeout` applies only when no 'unknownProtocol' listener exists). The returned
 * `http1` server never listens: set its timeouts alongside `server`'s.
 */
export function createStreamsAndHttp1Server(
  options: http2.SecureServerOptions,
  onStream: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, rawHeaders: string[]) => void,
  onRequest: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): { server: http2.Http2SecureServer; http1: http.Server } {
  const server = http2.createSecureServer({ ...options, allowHTTP1: false, ALPNCallback: selectAlpn });
  const http1 = http.createServer(onRequest);
  // node:http2 passes the raw header list as a fourth argument (not in its type declarations).
  const streamListener = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]) =>
    onStream(stream, headers, rawHeaders);
  server.on('stream', streamListener as (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void);
  server.on('unknownProtocol', (socket) => http1.emit('connection', socket));
  return { server, http1 };
}

function ignore(): void {
  // The stream's 'close' handling decides what a reset means.
}

function decodeSegment(segment: string): string | undefined {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * The HTTPS aggregated API server of `external.metrics.k8s.io/v1beta1`: discovery, OpenAPI,
 * metric values, and `/healthz` `/livez` `/readyz`, with front-proxy / client-certificate
 * authentication and SubjectAccessReview authorization of metric reads.
 *
 * One small routing table behind HTTP/2 streams (node:http2's core API) and HTTP/1.1 requests:
 * the HPA polls the metric path hundreds of times a second, and a general router, response
 * helpers or node:http2's compatibility objects cost more CPU per request than everything else
 * the adapter does.
 */
export class ExternalMetricsServer {
  private server?: http2.Http2SecureServer;
  /** Open TLS connections (HTTP/2 sessions and HTTP/1.1 sockets), closed on shutdown. */
  private readonly connections = new Set<TLSSocket>();
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private identities = new WeakMap<TLSSocket, { generation: number; identity: CertificateIdentity }>();
  private reloadTimer?: NodeJS.Timeout;
  private secureFingerprint = '';
  private readonly debugEnabled: boolean;
  private certificate?: CertificateFilesWatcher;

  constructor(private readonly options: ExternalMetricsServerOptions) {
    this.debugEnabled = typeof options.logger.isLevelEnabled === 'function' ? options.logger.isLevelEnabled('debug') : true;
  }

  /** Listens; resolves with the bound port. */
  async listen(): Promise<number> {
    // The serving pair follows the shared watcher: a rotated certificate is used without a restart.
    this.certificate = await CertificateFilesWatcher.open(
      { cert: this.options.tls.certFile, key: this.options.tls.keyFile },
      this.options.logger,
      { pollIntervalMs: this.options.reloadIntervalMs ?? 60_000 },
    );
    this.certificate.onChange(() => this.reloadSecureContext());
    // HTTP/2 as the aggregator prefers it: one multiplexed connection instead of a pool of HTTP/1.1
    // connections that churns (a TLS handshake each) once more requests are in flight than it keeps idle.
    const { server, http1 } = createStreamsAndHttp1Server(
      this.secureOptions(),
      (stream, headers, rawHeaders) => this.handle(http2Exchange(stream, headers, rawHeaders)),
      (req, res) => this.handle(http1Exchange(req, res)),
    );
    server.on('secureConnection', (socket: TLSSocket) => {
      this.connections.add(socket);
      socket.once('close', () => this.connections.delete(socket));
    });
    server.on('session', (session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
    });
    server.setTimeout(65_000);
    http1.setTimeout(65_000);
    server.on('tlsClientError', (err) => this.options.logger.debug({ err: err.message }, 'TLS handshake failed'));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.bindAddress, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.reloadTimer = setInterval(() => this.reloadSecureContext(), this.options.reloadIntervalMs ?? 60_000);
    this.reloadTimer.unref();
    const port = (server.address() as AddressInfo).port;
    this.options.logger.info({ address: this.options.bindAddress, port }, 'external metrics API listening (HTTPS)');
    return port;
  }

  get port(): number | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : undefined;
  }

  /** Applies new client CAs or a new serving certificate to new connections. */
  reloadSecureContext(): void {
    if (!this.server) return;
    try {
      const opts = this.secureOptions();
      const fp = JSON.stringify([opts.cert, opts.ca]);
      if (fp === this.secureFingerprint) return;
      this.server.setSecureContext(opts);
      this.secureFingerprint = fp;
      this.options.logger.info('serving certificate / client CAs reloaded');
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'cannot reload the serving certificate; keeping the old one');
    }
  }

  async close(): Promise<void> {
    clearInterval(this.reloadTimer);
    this.certificate?.close();
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const session of this.sessions) session.close();
      for (const socket of this.connections) if (!socket.alpnProtocol || socket.alpnProtocol === 'http/1.1') socket.end();
      setTimeout(() => {
        for (const socket of this.connections) socket.destroy();
      }, 2_000).unref();
    });
  }

  private secureOptions(): http2.SecureServerOptions & { cert: string; ca?: string[] } {
    const material = this.certificate?.current;
    if (!material) throw new Error(`serving certificate ${this.options.tls.certFile} / ${this.options.tls.keyFile} not loadable`);
    const cert = material.cert.toString('utf8');
    const key = material.key.toString('utf8');
    const ca = clientCaPems(this.options.authentication().config);
    const opts = {
      cert,
      key,
      ...(ca.length ? { ca } : {}),
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: this.options.tls.minVersion ?? 'TLSv1.2',
    };
    if (!this.secureFingerprint) this.secureFingerprint = JSON.stringify([cert, opts.ca]);
    return opts;
  }

  /** The certificate identity of a connection: verified once per TLS socket and auth config generation. */
  private identity(socket: TLSSocket, auth: { config: AuthenticationConfig; generation: number }): CertificateIdentity {
    const cached = this.identities.get(socket);
    if (cached && cached.generation === auth.generation) return cached.identity;
    const identity = identifyCertificate(peerChain(socket), auth.config);
    this.identities.set(socket, { generation: auth.generation, identity });
    return identity;
  }

  /** Routes one request: health (no authentication), then authentication, discovery, metric values, 404. */
  private handle(x: Exchange): void {
    const readOnly = x.method === 'GET' || x.method === 'HEAD';
    try {
      if (readOnly && this.serveHealth(x)) return;
      // Authentication for everything else.
      const o = this.options;
      const auth = o.authentication();
      const headers = headersFromRaw(x.rawHeaders);
      const result = authenticateRequest(this.identity(x.connection, auth), auth.config, headers.values, headers.names);
      if (!result.ok) {
        o.prom?.authentication('failure');
        if (this.debugEnabled) o.logger.debug({ path: x.path, reason: result.reason }, 'unauthenticated request');
        return this.sendStatus(x, new StatusError(401, 'Unauthorized'));
      }
      o.prom?.authentication('success');
      x.user = result.user;
      // Discovery and OpenAPI: any authenticated user (system:discovery is bound to system:authenticated).
      const document = readOnly ? discoveryBody(x.path) : undefined;
      if (document) return this.send(x, 200, JSON_TYPE, document);
      const metric = METRIC_PATH.exec(x.path);
      if (metric) {
        const namespace = decodeSegment(metric[1]);
        const metricName = decodeSegment(metric[2]);
        if (namespace === undefined || metricName === undefined) {
          return this.sendStatus(x, new StatusError(400, `invalid percent-encoding in ${x.path}`));
        }
        x.resource = metricName;
        void this.serveMetric(x, namespace, metricName).catch((err: unknown) => this.internalError(x, err));
        return;
      }
      this.sendStatus(x, new StatusError(404, 'the server could not find the requested resource'));
    } catch (err) {
      this.internalError(x, err);
    }
  }

  /** `/healthz`, `/livez` (and their `/ping`), `/readyz`; false for any other path. */
  private serveHealth(x: Exchange): boolean {
    switch (x.path) {
      case '/healthz':
      case '/livez':
      case '/healthz/ping':
      case '/livez/ping':
        this.send(x, 200, TEXT_TYPE, 'ok');
        return true;
      case '/readyz': {
        const results = Object.entries(this.options.readiness).map(([name, check]) => ({ name, ...check() }));
        const failed = results.filter((r) => !r.ok);
        const verbose = new URLSearchParams(x.query).has('verbose');
        const lines = results.map((r) => (r.ok ? `[+]${r.name} ok` : `[-]${r.name} failed: ${r.message ?? 'not ready'}`));
        if (failed.length) this.send(x, 503, TEXT_TYPE, `${lines.join('\n')}\nreadyz check failed\n`);
        else this.send(x, 200, TEXT_TYPE, verbose ? `${lines.join('\n')}\nreadyz check passed\n` : 'ok');
        return true;
      }
      default:
        return false;
    }
  }

  /** `GET .../namespaces/{namespace}/{metricName}?labelSelector=...`: authorize, then ask the controller. */
  private async serveMetric(x: Exchange, namespace: string, metricName: string): Promise<void> {
    const o = this.options;
    if (x.method !== 'GET') {
      return this.sendStatus(x, new StatusError(405, `the server does not allow this method on the requested resource`));
    }
    const user = x.user as UserInfo;
    // RequestInfo of a GET without a name is a "list" of the resource <metricName>, as in
    // custom-metrics-apiserver; the HPA controller's role grants get and list.
    const attributes: ResourceAttributes = { group: GROUP, version: VERSION, resource: metricName, namespace, verb: 'list' };
    let decision: Decision;
    try {
      decision = await o.authorize(user, attributes);
    } catch (err) {
      o.prom?.authorization('error', 'sar');
      o.logger.warn({ err: (err as Error).message }, 'SubjectAccessReview failed');
      return this.sendStatus(x, new StatusError(500, `authorization error: ${(err as Error).message}`));
    }
    o.prom?.authorization(decision.allowed ? 'allowed' : 'denied', 'sar');
    if (!decision.allowed) {
      // Who was refused what, and the authorizer's reason: names only (no headers, no credentials).
      o.logger.info(
        { user: user.name, groups: user.groups, verb: attributes.verb, group: GROUP, resource: metricName, namespace, reason: decision.reason },
        'SubjectAccessReview denied the metric request',
      );
      return this.sendStatus(
        x,
        new StatusError(
          403,
          `${metricName}.${GROUP} is forbidden: User "${user.name}" cannot list resource "${metricName}" in API group "${GROUP}" in the namespace "${namespace}"${decision.reason ? `: ${decision.reason}` : ''}`,
          { name: metricName, group: GROUP, kind: metricName },
        ),
      );
    }
    try {
      const name = scaledObjectNameFromSelector(new URLSearchParams(x.query).get('labelSelector') ?? undefined);
      const done = o.prom?.grpcCall();
      // A client that goes away cancels the gRPC call.
      const abort = new AbortController();
      const stopWatching = x.onAbandoned(() => abort.abort());
      try {
        const values = await o.metrics.getMetrics({ name, namespace, metricName }, { signal: abort.signal, timeoutMs: o.grpcTimeoutMs ?? 3_000 });
        done?.('OK');
        this.send(x, 200, JSON_TYPE, JSON.stringify(externalMetricValueList(values)));
      } catch (err) {
        // Go's spelling of the code (NotFound), as go-grpc-prometheus labels it.
        const code = (err as { code?: unknown }).code;
        done?.(grpcCodeLabel(typeof code === 'number' ? code : undefined));
        throw err;
      } finally {
        stopWatching();
      }
    } catch (err) {
      const status = statusFromMetricsError(err, metricName, o.controllerAddress);
      if (status.code >= 500) o.logger.warn({ namespace, metricName, err: status.message }, 'metric request failed');
      this.sendStatus(x, status);
    }
  }

  private sendStatus(x: Exchange, err: StatusError): void {
    this.send(x, err.code, JSON_TYPE, JSON.stringify(err.toStatus()));
  }

  private internalError(x: Exchange, err: unknown): void {
    this.options.logger.error({ err }, 'request handler failed');
    if (!x.finished()) this.send(x, 500, JSON_TYPE, JSON.stringify(statusOf(500, (err as Error)?.message ?? String(err))));
  }

  /** Writes the whole response at once and records it (Prometheus, debug log). */
  private send(x: Exchange, code: number, contentType: string, body: string | Buffer): void {
    if (x.finished()) return;
    x.reply(code, { 'content-type': contentType, 'content-length': typeof body === 'string' ? Buffer.byteLength(body) : body.length }, body);
    const seconds = (performance.now() - x.started) / 1000;
    const isMetric = x.resource !== undefined;
    this.options.prom?.request(
      {
        verb: isMetric ? 'GET' : x.method,
        group: isMetric ? GROUP : undefined,
        version: isMetric ? VERSION : undefined,
        resource: x.resource ?? '',
        scope: isMetric ? 'namespace' : '',
        code,
      },
      seconds,
    );
    if (this.debugEnabled) {
      this.options.logger.debug({ method: x.method, path: x.path, status: code, ms: Math.round(seconds * 1e4) / 10, user: x.user?.name }, 'request');
    }
  }
}

/** Whether a path is discovery or OpenAPI (no SubjectAccessReview). */
export function isDiscoveryPath(path: string): boolean {
  return discoveryDocuments.has(path);
}
