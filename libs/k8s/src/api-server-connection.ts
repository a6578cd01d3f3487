import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import type { AppContext, CheckResult, Logger } from '@keda-ts/runtime';
import { loadKubeConfig, summarizeKubeConfig, type LoadKubeConfigOptions } from './kubeconfig';

export interface ApiServerConnectionOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  /** Pause between checks while the API server is reachable. */
  checkIntervalMs?: number;
  requestTimeoutMs?: number;
  /** First retry delay after a failure; doubles per consecutive failure up to maxBackoffMs. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

interface HttpResult {
  status: number;
  body: string;
}

const MAX_ERROR_BODY_CHARS = 200;

// Duck-typed rather than instanceof: errors may come from another realm (e.g. under Jest).
function asError(err: unknown): Error {
  return typeof err === 'object' && err !== null && 'message' in err
    ? (err as Error)
    : new Error(String(err));
}

/**
 * Tracks whether the API server answers, using the kubeconfig's credentials:
 * GET /readyz (falling back to /version on servers without it), every checkIntervalMs
 * while healthy, with exponential backoff while not. Feeds the readiness probe.
 */
export class ApiServerConnection {
  readonly server: string;
  readonly kubeConfig: KubeConfig;
  private readonly logger: Logger;
  private readonly checkIntervalMs: number;
  private readonly requestTimeoutMs: number;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private ready = false;
  private error?: Error;
  private consecutiveFailures = 0;
  private checked = false;
  private started = false;
  private closed = false;
  private timer?: NodeJS.Timeout;
  private readonly closing = new AbortController();

  constructor(options: ApiServerConnectionOptions) {
    this.kubeConfig = options.kubeConfig;
    this.logger = options.logger;
    this.checkIntervalMs = options.checkIntervalMs ?? 10_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 5_000;
    this.initialBackoffMs = options.initialBackoffMs ?? 500;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.server = this.kubeConfig.getCurrentCluster()?.server ?? '';
  }

  /** Starts the periodic checks (the first one immediately). */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    void this.checkAndReschedule();
  }

  isReady(): boolean {
    return this.ready;
  }

  /** Why the most recent check failed; undefined once a check succeeds. */
  lastError(): Error | undefined {
    return this.error;
  }

  /** For the health server's `/readyz`. */
  readiness(): CheckResult {
    if (this.ready) return { ok: true };
    if (!this.error) return { ok: false, message: `API server ${this.server} not checked yet` };
    return { ok: false, message: `API server ${this.server} unreachable: ${this.error.message}` };
  }

  /** Runs one check now and records the outcome; resolves with readiness. */
  async check(): Promise<boolean> {
    try {
      await this.probe();
      this.recordSuccess();
    } catch (err) {
      if (this.closed) return this.ready;
      this.recordFailure(asError(err));
    }
    return this.ready;
  }

  /** Stops checking and aborts a check in flight. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.closing.abort(new Error('connection closed'));
  }

  /** Delay before the next check: the normal interval when healthy, else exponential backoff. */
  nextDelayMs(): number {
    if (this.ready) return this.checkIntervalMs;
    return Math.min(
      this.maxBackoffMs,
      this.initialBackoffMs * 2 ** Math.max(0, this.consecutiveFailures - 1),
    );
  }

  private async checkAndReschedule(): Promise<void> {
    await this.check();
    if (this.closed) return;
    this.timer = setTimeout(() => void this.checkAndReschedule(), this.nextDelayMs());
    // The health server keeps the process alive; this timer alone should not.
    this.timer.unref();
  }

  private recordSuccess(): void {
    const wasReady = this.ready;
    const failures = this.consecutiveFailures;
    this.ready = true;
    this.error = undefined;
    this.consecutiveFailures = 0;
    this.checked = true;
    if (!wasReady) this.logger.info({ server: this.server, failedChecks: failures }, 'API server reachable');
  }

  private recordFailure(error: Error): void {
    const wasReady = this.ready;
    const previousMessage = this.error?.message;
    const firstCheck = !this.checked;
    this.ready = false;
    this.error = error;
    this.consecutiveFailures += 1;
    this.checked = true;
    const fields = {
      server: this.server,
      error: error.message,
      failedChecks: this.consecutiveFailures,
      retryInMs: this.nextDelayMs(),
    };
    // Log transitions and changed errors loudly; repeats of the same failure only at debug.
    if (wasReady || firstCheck || previousMessage !== error.message) {
      this.logger.warn(fields, 'API server unreachable');
    } else {
      this.logger.debug(fields, 'API server still unreachable');
    }
  }

  private async probe(): Promise<void> {
    if (!this.server) throw new Error('kubeconfig has no current cluster');
    // Re-applied per check so rotated tokens and exec/OIDC credentials are picked up.
    const requestOptions: https.RequestOptions = {
      method: 'GET',
      headers: { Accept: 'application/json, */*' },
    };
    await this.kubeConfig.applyToHTTPSOptions(requestOptions);
    try {
      for (const path of ['/readyz', '/version']) {
        const { status, body } = await this.get(path, requestOptions);
        if (status >= 200 && status < 300) return;
        // Very old or unusual servers lack /readyz; /version is served by every API server.
        if (status === 404 && path === '/readyz') continue;
        const detail = body.trim().slice(0, MAX_ERROR_BODY_CHARS);
        throw new Error(`GET ${path} returned HTTP ${status}${detail ? `: ${detail}` : ''}`);
      }
    } finally {
      (requestOptions.agent as http.Agent | undefined)?.destroy();
    }
  }

  private get(path: string, requestOptions: https.RequestOptions): Promise<HttpResult> {
    const url = new URL(this.server);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
    const transport = url.protocol === 'http:' ? http : https;
    const timeout = AbortSignal.timeout(this.requestTimeoutMs);
    const signal = AbortSignal.any([this.closing.signal, timeout]);
    return new Promise<HttpResult>((resolve, reject) => {
      const request = transport.request(url, { ...requestOptions, signal }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (body.length < MAX_ERROR_BODY_CHARS) body += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        response.on('error', reject);
      });
      request.on('error', (err) => {
        reject(
          timeout.aborted
            ? new Error(`GET ${path} timed out after ${this.requestTimeoutMs}ms`, { cause: err })
            : err,
        );
      });
      request.end();
    });
  }
}

export interface ConnectToApiServerOptions
  extends Omit<ApiServerConnectionOptions, 'kubeConfig' | 'logger'>,
    LoadKubeConfigOptions {
  /** Empty: in-cluster or default kubeconfig. */
  kubeconfigPath: string;
}

/**
 * The wiring every app needs: load the kubeconfig, start watching the API server,
 * gate readiness on it (check `api-server`) and stop it on shutdown.
 */
export function connectToApiServer(
  app: Pick<AppContext<unknown>, 'logger' | 'health' | 'onShutdown'>,
  options: ConnectToApiServerOptions,
): ApiServerConnection {
  const { kubeconfigPath, env, serviceAccountTokenExists, ...connectionOptions } = options;
  const loaded = loadKubeConfig(kubeconfigPath, { env, serviceAccountTokenExists });
  app.logger.info({ kubeconfig: summarizeKubeConfig(loaded) }, 'loaded kubeconfig');
  const connection = new ApiServerConnection({
    ...connectionOptions,
    kubeConfig: loaded.kubeConfig,
    logger: app.logger,
  });
  app.health.addReadinessCheck('api-server', () => connection.readiness());
  app.onShutdown('api server connection', () => connection.close());
  connection.start();
  return connection;
}
