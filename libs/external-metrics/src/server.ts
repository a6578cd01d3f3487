import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { CertificateFilesWatcher } from '@keda-ts/certificates';
import express, { type NextFunction, type Request, type Response } from 'express';
import { signedMilliQuantity } from '@keda-ts/api';
import type { ExternalMetricValue, MetricRef } from '@keda-ts/metrics-service';
import type { CheckResult, Logger } from '@keda-ts/runtime';
import {
  authenticateRequest,
  clientCaPems,
  headerValuesFrom,
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

const DISCOVERY_PATHS = new Set([
  '/apis',
  `/apis/${GROUP}`,
  `/apis/${GROUP_VERSION}`,
  '/openapi/v2',
  '/openapi/v3',
  `/openapi/v3/apis/${GROUP_VERSION}`,
]);
const HEALTH_PATHS = ['/healthz', '/livez', '/readyz'];

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

interface Locals {
  user?: UserInfo;
  resource?: string;
  scope?: string;
}

function sendStatus(res: Response, err: StatusError): void {
  res.status(err.code).json(err.toStatus());
}

/**
 * The HTTPS aggregated API server of `external.metrics.k8s.io/v1beta1`: discovery, OpenAPI,
 * metric values, and `/healthz` `/livez` `/readyz`, with front-proxy / client-certificate
 * authentication and SubjectAccessReview authorization of metric reads.
 */
export class ExternalMetricsServer {
  readonly app: express.Express;
  private server?: https.Server;
  private identities = new WeakMap<TLSSocket, { generation: number; identity: CertificateIdentity }>();
  private reloadTimer?: NodeJS.Timeout;
  private secureFingerprint = '';
  private certificate?: CertificateFilesWatcher;

  constructor(private readonly options: ExternalMetricsServerOptions) {
    this.app = this.buildApp();
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
    const server = https.createServer(this.secureOptions(), this.app);
    server.keepAliveTimeout = 65_000;
    server.headersTimeout = 66_000;
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
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 2_000).unref();
    });
  }

  private secureOptions(): https.ServerOptions & { cert: string; ca?: string[] } {
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

  private identity(socket: TLSSocket, auth: { config: AuthenticationConfig; generation: number }): CertificateIdentity {
    const cached = this.identities.get(socket);
    if (cached && cached.generation === auth.generation) return cached.identity;
    const identity = identifyCertificate(peerChain(socket), auth.config);
    this.identities.set(socket, { generation: auth.generation, identity });
    return identity;
  }

  private buildApp(): express.Express {
    const o = this.options;
    const app = express();
    app.disable('x-powered-by');
    app.set('etag', false);

    // Request metrics and debug logging.
    app.use((req: Request, res: Response, next: NextFunction) => {
      const start = process.hrtime.bigint();
      res.on('finish', () => {
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        const locals = res.locals as Locals;
        const isMetric = locals.resource !== undefined;
        o.prom?.request(
          {
            verb: isMetric ? 'GET' : req.method,
            group: isMetric ? GROUP : undefined,
            version: isMetric ? VERSION : undefined,
            resource: locals.resource ?? '',
            scope: locals.scope ?? (isMetric ? 'namespace' : ''),
            code: res.statusCode,
          },
          seconds,
        );
        o.logger.debug(
          { method: req.method, path: req.path, status: res.statusCode, ms: Math.round(seconds * 1e4) / 10, user: locals.user?.name },
          'request',
        );
      });
      next();
    });

    // Health: no authentication (k8s.io/apiserver's always-allowed paths).
    const ok = (_req: Request, res: Response) => {
      res.type('text/plain').send('ok');
    };
    app.get(['/healthz', '/livez', '/healthz/ping', '/livez/ping'], ok);
    app.get('/readyz', (req: Request, res: Response) => {
      const results = Object.entries(o.readiness).map(([name, check]) => ({ name, ...check() }));
      const failed = results.filter((r) => !r.ok);
      const verbose = req.query['verbose'] !== undefined;
      const lines = results.map((r) => (r.ok ? `[+]${r.name} ok` : `[-]${r.name} failed: ${r.message ?? 'not ready'}`));
      res.status(failed.length ? 503 : 200).type('text/plain');
      if (failed.length) res.send(`${lines.join('\n')}\nreadyz check failed\n`);
      else res.send(verbose ? `${lines.join('\n')}\nreadyz check passed\n` : 'ok');
    });

    // Authentication for everything else.
    app.use((req: Request, res: Response, next: NextFunction) => {
      if (HEALTH_PATHS.includes(req.path)) return next();
      const auth = o.authentication();
      const identity = this.identity(req.socket as TLSSocket, auth);
      const result = authenticateRequest(
        identity,
        auth.config,
        headerValuesFrom(req.headersDistinct, req.headers),
        Object.keys(req.headers),
      );
      if (!result.ok) {
        o.prom?.authentication('failure');
        o.logger.debug({ path: req.path, reason: result.reason }, 'unauthenticated request');
        return sendStatus(res, new StatusError(401, 'Unauthorized'));
      }
      o.prom?.authentication('success');
      (res.locals as Locals).user = result.user;
      next();
    });

    // Discovery and OpenAPI: any authenticated user (system:discovery is bound to system:authenticated).
    app.get('/apis', (_req, res) => void res.json(apiGroupList()));
    app.get(`/apis/${GROUP}`, (_req, res) => void res.json(apiGroup()));
    app.get(`/apis/${GROUP_VERSION}`, (_req, res) => void res.json(apiResourceList()));
    app.get('/openapi/v2', (_req, res) => void res.json(openApiV2()));
    app.get('/openapi/v3', (_req, res) => void res.json(openApiV3Index()));
    app.get(`/openapi/v3/apis/${GROUP_VERSION}`, (_req, res) => void res.json(openApiV3GroupVersion()));

    // The metric values.
    app.all(`/apis/${GROUP_VERSION}/namespaces/:namespace/:metricName`, async (req: Request, res: Response) => {
      const namespace = String(req.params['namespace']);
      const metricName = String(req.params['metricName']);
      const locals = res.locals as Locals;
      locals.resource = metricName;
      locals.scope = 'namespace';
      if (req.method !== 'GET') {
        return sendStatus(res, new StatusError(405, `the server does not allow this method on the requested resource`));
      }
      const user = locals.user as UserInfo;
      // RequestInfo of a GET without a name is a "list" of the resource <metricName>, as in
      // custom-metrics-apiserver; the HPA controller's role grants get and list.
      const attributes: ResourceAttributes = { group: GROUP, version: VERSION, resource: metricName, namespace, verb: 'list' };
      let decision: Decision;
      try {
        decision = await o.authorize(user, attributes);
      } catch (err) {
        o.prom?.authorization('error', 'sar');
        o.logger.warn({ err: (err as Error).message }, 'SubjectAccessReview failed');
        return sendStatus(res, new StatusError(500, `authorization error: ${(err as Error).message}`));
      }
      o.prom?.authorization(decision.allowed ? 'allowed' : 'denied', 'sar');
      if (!decision.allowed) {
        return sendStatus(
          res,
          new StatusError(
            403,
            `${metricName}.${GROUP} is forbidden: User "${user.name}" cannot list resource "${metricName}" in API group "${GROUP}" in the namespace "${namespace}"${decision.reason ? `: ${decision.reason}` : ''}`,
            { name: metricName, group: GROUP, kind: metricName },
          ),
        );
      }
      try {
        const selector = typeof req.query['labelSelector'] === 'string' ? req.query['labelSelector'] : undefined;
        const name = scaledObjectNameFromSelector(selector);
        const done = o.prom?.grpcCall();
        const abort = new AbortController();
        const onClose = () => {
          if (!res.writableEnded) abort.abort();
        };
        res.on('close', onClose);
        try {
          const values = await o.metrics.getMetrics(
            { name, namespace, metricName },
            { signal: abort.signal, timeoutMs: o.grpcTimeoutMs ?? 3_000 },
          );
          done?.('OK');
          res.json(externalMetricValueList(values));
        } catch (err) {
          done?.((err as { codeName?: string }).codeName ?? 'Unknown');
          throw err;
        } finally {
          res.off('close', onClose);
        }
      } catch (err) {
        const status = statusFromMetricsError(err, metricName, o.controllerAddress);
        if (status.code >= 500) o.logger.warn({ namespace, metricName, err: status.message }, 'metric request failed');
        sendStatus(res, status);
      }
    });

    app.use((req: Request, res: Response) => {
      sendStatus(res, new StatusError(404, `the server could not find the requested resource`));
    });
    // Express error handler (4 arguments).
    app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      o.logger.error({ err }, 'request handler failed');
      if (!res.headersSent) res.status(500).json(statusOf(500, (err as Error).message ?? String(err)));
    });
    return app;
  }
}

/** Whether a path is discovery or OpenAPI (no SubjectAccessReview). */
export function isDiscoveryPath(path: string): boolean {
  return DISCOVERY_PATHS.has(path);
}

/** A plain HTTP server for `/metrics` (`--port`). */
export async function startPrometheusServer(
  prom: AdapterMetrics,
  bindAddress: string,
  port: number,
  logger: Logger,
): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end('not found\n');
      return;
    }
    prom.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': prom.registry.contentType }).end(text),
      (err: Error) => res.writeHead(500).end(err.message),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, bindAddress, () => {
      server.off('error', reject);
      resolve();
    });
  });
  logger.info({ address: bindAddress, port: (server.address() as AddressInfo).port }, 'Prometheus metrics listening on /metrics');
  return server;
}
