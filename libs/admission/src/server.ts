/**
 * The HTTPS admission server: a plain node:https handler for KEDA's paths, AdmissionReview v1 in
 * and out, a body size limit, and the serving certificate reloaded when its files change.
 */
import https from 'node:https';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { SecureContextOptions } from 'node:tls';
import { CertificateFilesWatcher, type CertificateMaterial } from '@keda-ts/certificates';
import type { Logger } from '@keda-ts/runtime';
import type { WebhookMetrics } from './metrics';
import { AdmissionInputError, parseAdmissionReview, reviewResponse, verdictResponse, type AdmissionRequest, type Verdict } from './review';

export const WEBHOOK_PATHS = {
  scaledobject: '/validate-keda-sh-v1alpha1-scaledobject',
  scaledjob: '/validate-keda-sh-v1alpha1-scaledjob',
  triggerauthentication: '/validate-keda-sh-v1alpha1-triggerauthentication',
  clustertriggerauthentication: '/validate-keda-sh-v1alpha1-clustertriggerauthentication',
  cloudeventsource: '/validate-eventing-keda-sh-v1alpha1-cloudeventsource',
  clustercloudeventsource: '/validate-eventing-keda-sh-v1alpha1-clustercloudeventsource',
} as const;

export type WebhookName = keyof typeof WEBHOOK_PATHS;
export type Validate = (req: AdmissionRequest) => Verdict | Promise<Verdict>;

export interface AdmissionAppOptions {
  validators: Record<WebhookName, Validate>;
  logger: Logger;
  metrics?: WebhookMetrics;
  /** Largest accepted body in bytes; default 6 MiB (an object is at most ~3 MiB, plus oldObject). */
  bodyLimitBytes?: number;
}

const JSON_TYPE = 'application/json; charset=utf-8';

function sendJson(res: ServerResponse, code: number, body: unknown, close = false): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'content-type': JSON_TYPE,
    'content-length': Buffer.byteLength(text),
    // The rest of an oversized body is not read: the connection cannot be reused.
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(text);
}

/** A 400 answer: not an AdmissionReview the API server could use, so a plain JSON error. */
function badRequest(res: ServerResponse, message: string, close = false): void {
  sendJson(res, 400, { error: message }, close);
}

/**
 * The request handler (served over TLS by {@link AdmissionServer}; plain HTTP in tests). Four POST
 * paths and nothing else: a framework's router and body parsers cost more per admission than
 * the checks themselves.
 */
export function createAdmissionApp(options: AdmissionAppOptions): RequestListener {
  const limit = options.bodyLimitBytes ?? 6 * 1024 * 1024;
  const routes = new Map<string, { webhook: WebhookName; path: string; validate: Validate; labels: { webhook: string } }>();
  for (const [webhook, path] of Object.entries(WEBHOOK_PATHS) as [WebhookName, string][]) {
    routes.set(path, { webhook, path, validate: options.validators[webhook], labels: { webhook: path } });
  }
  const { metrics, logger } = options;

  const answer = async (route: NonNullable<ReturnType<typeof routes.get>>, body: Buffer, res: ServerResponse) => {
    let review: AdmissionRequest;
    try {
      review = parseAdmissionReview(JSON.parse(body.toString('utf8')) as unknown);
    } catch (err) {
      const message =
        err instanceof AdmissionInputError ? err.message : `request body is not valid JSON: ${err instanceof Error ? err.message.slice(0, 200) : ''}`;
      badRequest(res, message);
      return;
    }
    let verdict: Verdict;
    try {
      verdict = await route.validate(review);
    } catch (err) {
      logger.error({ err, webhook: route.webhook, uid: review.uid }, 'validation failed unexpectedly');
      verdict = { allowed: false, code: 500, message: `internal error validating the object: ${err instanceof Error ? err.message : String(err)}` };
    }
    if (!verdict.allowed) {
      logger.info({ webhook: route.webhook, uid: review.uid, namespace: review.namespace, name: review.name, reason: verdict.reason, message: verdict.message }, 'admission rejected');
    }
    sendJson(res, 200, reviewResponse(verdictResponse(review.uid, verdict)));
  };

  return (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const route = req.method === 'POST' ? routes.get(q < 0 ? url : url.slice(0, q)) : undefined;
    if (!route) {
      req.resume();
      sendJson(res, 404, { error: 'not found' });
      return;
    }
    const started = performance.now();
    metrics?.inFlight.inc(route.labels);
    res.once('close', () => {
      metrics?.inFlight.dec(route.labels);
      if (!res.writableFinished) return; // the client went away first
      metrics?.latency.observe(route.labels, (performance.now() - started) / 1000);
      metrics?.requests.inc({ webhook: route.path, code: String(res.statusCode) });
    });
    // Errors while reading (client aborted, bad framing): nothing more to answer.
    req.on('error', () => undefined);
    const encoding = req.headers['content-encoding'];
    if (encoding && encoding !== 'identity') {
      req.resume();
      badRequest(res, `unsupported content encoding ${JSON.stringify(encoding.slice(0, 32))}`);
      return;
    }
    if (Number(req.headers['content-length']) > limit) {
      badRequest(res, 'request body too large', true);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.off('end', onEnd);
        badRequest(res, 'request body too large', true);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      answer(route, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size), res).catch((err: unknown) => {
        logger.error({ err }, 'admission handler failed');
        badRequest(res, 'internal error');
      });
    };
    req.on('data', onData);
    req.on('end', onEnd);
  };
}

export interface ServingCertificate {
  certFile: string;
  keyFile: string;
}

export const servingCertificateIn = (dir: string): ServingCertificate => ({
  certFile: join(dir, 'tls.crt'),
  keyFile: join(dir, 'tls.key'),
});

/**
 * node:https around the app. The certificate is read at start and followed by the shared
 * {@link CertificateFilesWatcher}: missing files are waited for (the server is not ready until a
 * certificate loads) and a rotated pair is used for new connections without a restart.
 */
export class AdmissionServer {
  private server?: https.Server;
  private watcher?: CertificateFilesWatcher;

  constructor(
    private readonly app: RequestListener,
    private readonly cert: ServingCertificate,
    private readonly logger: Logger,
    private readonly pollIntervalMs = 2000,
  ) {}

  get hasCertificate(): boolean {
    return this.watcher?.current !== undefined;
  }

  private context(m: CertificateMaterial): SecureContextOptions {
    return { cert: m.cert, key: m.key, minVersion: 'TLSv1.2' };
  }

  async listen(port: number, host?: string): Promise<number> {
    this.watcher = await CertificateFilesWatcher.open({ cert: this.cert.certFile, key: this.cert.keyFile }, this.logger, {
      pollIntervalMs: this.pollIntervalMs,
    });
    const initial = this.watcher.current;
    // Without a certificate yet, TLS handshakes fail until the files appear.
    this.server = https.createServer({ ...(initial ? this.context(initial) : {}), requestTimeout: 30_000, headersTimeout: 15_000 }, this.app);
    this.server.keepAliveTimeout = 60_000;
    const server = this.server;
    this.watcher.onChange((m) => {
      try {
        server.setSecureContext(this.context(m));
      } catch (err) {
        this.logger.error({ err: (err as Error).message, ...this.cert }, 'serving certificate invalid; keeping the previous one');
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const bound = (server.address() as AddressInfo).port;
    this.logger.info({ port: bound, host: host ?? '' }, 'admission webhook server listening');
    return bound;
  }

  async close(): Promise<void> {
    this.watcher?.close();
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 2000).unref();
    });
  }
}
