/**
 * The one implementation of "certificates reload without a restart" that the gRPC metrics service
 * (both ends), the metrics adapter's HTTPS server and the webhook server share.
 */
import { existsSync, watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createSecureContext } from 'node:tls';

/** The part of a pino logger this module uses. */
export interface WatchLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface CertificateFiles {
  cert: string;
  key: string;
  /** CA bundle the peer's certificate must chain to; omitted for a server that does not verify clients. */
  ca?: string;
}

export interface CertificateMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/** KEDA's cert dir layout (the Secret mounted at /certs). */
export function certDirFiles(certDir: string, options: { withCa?: boolean } = {}): CertificateFiles {
  return {
    cert: join(certDir, 'tls.crt'),
    key: join(certDir, 'tls.key'),
    ...(options.withCa === false ? {} : { ca: join(certDir, 'ca.crt') }),
  };
}

export interface CertificateFilesWatcherOptions {
  /** Re-read interval besides the directory watch (a safety net); default 60 s, 0: off. */
  pollIntervalMs?: number;
  /** Coalesces the burst of events of one update; default 100 ms. */
  debounceMs?: number;
}

const same = (a: Buffer | undefined, b: Buffer | undefined) => (a && b ? a.equals(b) : a === b);

/**
 * The current certificate, key and CA read from files, reloaded when they change: the directories
 * are watched (a Kubernetes Secret volume swaps its `..data` symlink; a local writer renames files
 * into place) and re-read every `pollIntervalMs`. A set that does not load together (a key that does
 * not belong to the certificate, a half-written file) is logged and skipped: the last good one
 * stays. Files that do not exist yet are waited for: `current` is undefined until they appear.
 */
export class CertificateFilesWatcher {
  private material?: CertificateMaterial;
  private readonly listeners = new Set<(m: CertificateMaterial) => void>();
  private readonly watchers: FSWatcher[] = [];
  private pollTimer?: NodeJS.Timeout;
  private debounceTimer?: NodeJS.Timeout;
  private reloading: Promise<void> = Promise.resolve();
  private closed = false;
  private lastProblem = '';

  private constructor(
    readonly files: CertificateFiles,
    private readonly logger: WatchLogger,
    private readonly options: CertificateFilesWatcherOptions,
  ) {}

  /** Reads the files once (absent or invalid: `current` stays undefined) and starts watching. */
  static async open(files: CertificateFiles, logger: WatchLogger, options: CertificateFilesWatcherOptions = {}): Promise<CertificateFilesWatcher> {
    const w = new CertificateFilesWatcher(files, logger, options);
    await w.reload();
    w.startWatching();
    return w;
  }

  get current(): CertificateMaterial | undefined {
    return this.material;
  }

  /** Calls `listener` after every reload that changed the material. */
  onChange(listener: (m: CertificateMaterial) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Re-reads the files now; resolves when done. */
  reload(): Promise<void> {
    this.reloading = this.reloading.then(() => this.doReload());
    return this.reloading;
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers) w.close();
    this.watchers.length = 0;
    clearInterval(this.pollTimer);
    clearTimeout(this.debounceTimer);
    this.listeners.clear();
  }

  private startWatching(): void {
    const dirs = new Set([this.files.cert, this.files.key, this.files.ca].filter((f): f is string => !!f).map((f) => dirname(f)));
    for (const dir of dirs) {
      try {
        const w = watch(dir, { persistent: false }, () => this.scheduleReload());
        w.on('error', (err) => this.logger.warn({ err: err.message, dir }, 'watching the certificate directory failed; relying on polling'));
        this.watchers.push(w);
      } catch (err) {
        // The directory may not exist yet (a Secret still to be written): polling finds the files.
        this.logger.warn({ err: (err as Error).message, dir }, 'cannot watch the certificate directory; relying on polling');
      }
    }
    const interval = this.options.pollIntervalMs ?? 60_000;
    if (interval > 0) {
      this.pollTimer = setInterval(() => void this.reload(), interval);
      this.pollTimer.unref();
    }
  }

  private scheduleReload(): void {
    if (this.closed) return;
    clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => void this.reload(), this.options.debounceMs ?? 100);
    this.debounceTimer.unref();
  }

  private async doReload(): Promise<void> {
    if (this.closed) return;
    let next: CertificateMaterial;
    try {
      const [cert, key, ca] = await Promise.all([
        readFile(this.files.cert),
        readFile(this.files.key),
        this.files.ca ? readFile(this.files.ca) : Promise.resolve(undefined),
      ]);
      next = { cert, key, ...(ca ? { ca } : {}) };
      const m = this.material;
      if (m && same(m.cert, next.cert) && same(m.key, next.key) && same(m.ca, next.ca)) return;
      createSecureContext({ cert: next.cert, key: next.key, ...(next.ca ? { ca: next.ca } : {}) });
    } catch (err) {
      const problem = (err as Error).message;
      // Logged once per distinct problem: polling a missing file would otherwise log every interval.
      if (problem !== this.lastProblem) {
        this.lastProblem = problem;
        this.logger.warn(
          { err: problem, ...this.files },
          this.material ? 'could not reload the certificates; keeping the current ones' : 'certificates not loadable yet',
        );
      }
      return;
    }
    if (this.closed) return;
    const first = !this.material;
    this.material = next;
    this.lastProblem = '';
    this.logger.info({ ...this.files }, first ? 'certificates loaded' : 'certificates reloaded');
    for (const l of this.listeners) l(next);
  }
}

/** Resolves once every file exists (polling), or with false when `stopped()` turns true first. */
export async function waitForFiles(paths: readonly string[], options: { intervalMs?: number; stopped?: () => boolean } = {}): Promise<boolean> {
  while (!paths.every((p) => existsSync(p))) {
    if (options.stopped?.()) return false;
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 500));
  }
  return true;
}
