import { readFileSync } from 'node:fs';
import type { CheckResult, Logger } from '@keda-ts/runtime';
import { AUTHENTICATION_CONFIGMAP, parseAuthenticationConfigMap, type AuthenticationConfig } from './authn';

export interface AuthConfigSourceOptions {
  /** Reads the ConfigMap (e.g. `kubeClient.get(path)`). */
  getConfigMap: (path: string) => Promise<{ data?: Record<string, string> }>;
  /** `--client-ca-file`: more CAs for plain client certificates; re-read with the ConfigMap. */
  clientCaFile?: string;
  logger: Logger;
  /** Re-read interval; default 60 s. Failures retry after `retryMs` (default 5 s). */
  refreshMs?: number;
  retryMs?: number;
  onChange?: (config: AuthenticationConfig) => void;
}

const CONFIGMAP_PATH = `/api/v1/namespaces/${AUTHENTICATION_CONFIGMAP.namespace}/configmaps/${AUTHENTICATION_CONFIGMAP.name}`;

/**
 * Keeps the authentication settings current: the API server's
 * `kube-system/extension-apiserver-authentication` ConfigMap, read at start and periodically.
 */
export class AuthConfigSource {
  private current: AuthenticationConfig = { clientCa: [] };
  private fingerprint = '';
  private loaded = false;
  private lastError?: string;
  private timer?: NodeJS.Timeout;
  private closed = false;
  /** Bumped whenever the settings change; per-connection results are keyed by it. */
  generation = 0;

  constructor(private readonly options: AuthConfigSourceOptions) {}

  get config(): AuthenticationConfig {
    return this.current;
  }

  isLoaded(): boolean {
    return this.loaded;
  }

  readiness(): CheckResult {
    if (this.loaded) return { ok: true };
    return { ok: false, message: `${CONFIGMAP_PATH} not read yet${this.lastError ? `: ${this.lastError}` : ''}` };
  }

  /** Loads once now, then keeps refreshing in the background. */
  async start(): Promise<void> {
    await this.refresh();
    this.schedule();
  }

  async refresh(): Promise<boolean> {
    try {
      const cm = await this.options.getConfigMap(CONFIGMAP_PATH);
      const extraCa = this.options.clientCaFile ? readFileSync(this.options.clientCaFile, 'utf8') : undefined;
      const next = parseAuthenticationConfigMap(cm.data, extraCa);
      const fp = JSON.stringify({ data: cm.data ?? {}, extraCa: extraCa ?? '' });
      if (fp !== this.fingerprint) {
        this.fingerprint = fp;
        this.current = next;
        this.generation++;
        this.options.logger.info(
          {
            requestHeaderCAs: next.requestHeader?.clientCa.length ?? 0,
            allowedNames: next.requestHeader?.allowedNames ?? [],
            clientCAs: next.clientCa.length,
          },
          'authentication configuration loaded',
        );
        this.options.onChange?.(next);
      }
      this.loaded = true;
      this.lastError = undefined;
      return true;
    } catch (err) {
      const message = (err as Error).message;
      if (message !== this.lastError) this.options.logger.warn({ err: message }, `cannot read ${CONFIGMAP_PATH}`);
      this.lastError = message;
      return false;
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.closed) return;
    const delay = this.loaded && !this.lastError ? (this.options.refreshMs ?? 60_000) : (this.options.retryMs ?? 5_000);
    this.timer = setTimeout(() => {
      void this.refresh().then(() => this.schedule());
    }, delay);
    this.timer.unref();
  }
}
