/**
 * The HTTPS admission server: express 5 on node:https, KEDA's paths, AdmissionReview v1 in and out,
 * a body size limit, and the serving certificate reloaded when its files change.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { SecureContextOptions } from 'node:tls';
import { CertificateFilesWatcher, type CertificateMaterial } from '@keda-ts/certificates';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '@keda-ts/runtime';
import type { WebhookMetrics } from './metrics';
import { AdmissionInputError, parseAdmissionReview, reviewResponse, verdictResponse, type AdmissionRequest, type Verdict } from './review';

export const WEBHOOK_PATHS = {
  scaledobject: '/validate-keda-sh-v1alpha1-scaledobject',
  scaledjob: '/validate-keda-sh-v1alpha1-scaledjob',
  triggerauthentication: '/validate-keda-sh-v1alpha1-triggerauthentication',
  clustertriggerauthentication: '/validate-keda-sh-v1alpha1-clustertriggerauthentication',
} as const;

export type WebhookName = keyof typeof WEBHOOK_PATHS;
export type Validate = (req: AdmissionRequest) => Verdict | Promise<Verdict>;

export interface AdmissionAppOptions {
  validators: Record<WebhookName, Validate>;
  logger: Logger;
  metrics?: WebhookMetrics;
  /** Largest accepted body (express/bytes syntax); default 6mb (an object is at most ~3 MiB, plus oldObject). */
  bodyLimit?: string;
}

/** A 400 answer: not an AdmissionReview the API server could use, so a plain JSON error. */
function badRequest(res: Response, message: string): void {
  res.status(400).json({ error: message });
}

/** The express application (also used without TLS by the tests and the benchmark). */
export function createAdmissionApp(options: AdmissionAppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const raw = express.raw({ type: () => true, limit: options.bodyLimit ?? '6mb' });
  for (const [webhook, path] of Object.entries(WEBHOOK_PATHS) as [WebhookName, string][]) {
    const validate = options.validators[webhook];
    app.post(path, raw, async (req: Request, res: Response) => {
      const end = options.metrics?.latency.startTimer({ webhook: path });
      options.metrics?.inFlight.inc({ webhook: path });
      res.on('finish', () => {
        end?.();
        options.metrics?.inFlight.dec({ webhook: path });
        options.metrics?.requests.inc({ webhook: path, code: String(res.statusCode) });
      });
      let review: AdmissionRequest;
      try {
        const text = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
        review = parseAdmissionReview(JSON.parse(text) as unknown);
      } catch (err) {
        const message =
          err instanceof AdmissionInputError ? err.message : `request body is not valid JSON: ${err instanceof Error ? err.message.slice(0, 200) : ''}`;
        badRequest(res, message);
        return;
      }
      let verdict: Verdict;
      try {
        verdict = await validate(review);
      } catch (err) {
        options.logger.error({ err, webhook, uid: review.uid }, 'validation failed unexpectedly');
        verdict = { allowed: false, code: 500, message: `internal error validating the object: ${err instanceof Error ? err.message : String(err)}` };
      }
      if (!verdict.allowed) {
        options.logger.info({ webhook, uid: review.uid, namespace: review.namespace, name: review.name, reason: verdict.reason, message: verdict.message }, 'admission rejected');
      }
      res.status(200).json(reviewResponse(verdictResponse(review.uid, verdict)));
    });
  }
  app.use((_req: Request, res: Response) => {
    res.status(404).json({ error: 'not found' });
  });
  // Body parser errors (too large, aborted, bad encoding) and anything else: 400, never a crash.
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as { type?: string; message?: string };
    if (res.headersSent) return;
    badRequest(res, e.type === 'entity.too.large' ? 'request body too large' : `bad request: ${String(e.message ?? err).slice(0, 200)}`);
  });
  return app;
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
    private readonly app: express.Express,
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
