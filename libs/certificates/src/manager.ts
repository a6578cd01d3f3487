/**
 * The controller's self-managed certificates (KEDA's `--enable-cert-rotation`): keeps the Secret
 * current (creating a CA and serving certificate when none exist, rotating before expiry), copies
 * it into the cert dir when that is writable, and keeps the caBundle of the webhook configuration
 * and the APIService equal to ca.crt.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isConflict, isNotFound, KubeApiError, type KubeClient } from '@keda-ts/k8s';
import type { Logger } from '@keda-ts/runtime';
import { LEAF_FILES, LEAF_NAMES } from './components';
import { BUNDLE_KEYS, type CertificateBundle } from './inspect';
import { checkPolicy, type RotationPolicy } from './plan';
import { KEDA_IDENTITY, rotate, type Identity } from './rotate';

export type CertificateApi = Pick<KubeClient, 'get' | 'create' | 'replace' | 'patch'>;

export interface CertificateManagerOptions {
  client: CertificateApi;
  namespace: string;
  secretName: string;
  policy: RotationPolicy;
  identity?: Identity;
  /** Written with every key of the Secret (ca.crt, ca.key, each leaf) whenever it changes; skipped when read-only. */
  certDir?: string;
  /** ValidatingWebhookConfiguration whose webhooks get the caBundle; undefined: not patched. */
  validatingWebhookName?: string;
  /** APIService whose spec.caBundle is patched; undefined: not patched. */
  apiServiceName?: string;
  /** Regular look at the Secret besides the computed due times (KEDA: 12 h). */
  checkIntervalMs: number;
  /** How often the caBundles are compared (objects created or edited later); default 30 s. */
  caBundleResyncMs?: number;
  logger: Logger;
  clock?: () => Date;
  /** Called after each rotation with the reasons (metrics, events). */
  onRotated?: (reasons: string[]) => void;
}

interface SecretObject {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: { name: string; namespace: string; resourceVersion?: string; labels?: Record<string, string> };
  type?: string;
  data?: Record<string, string>;
}

export const CERT_SECRET_LABELS = {
  app: 'keda-operator',
  'app.kubernetes.io/name': 'keda-operator',
  'app.kubernetes.io/component': 'keda-operator',
  'app.kubernetes.io/part-of': 'keda',
};

const decode = (data: Record<string, string> | undefined): CertificateBundle => {
  const out: CertificateBundle = {};
  for (const k of BUNDLE_KEYS) if (data?.[k]) out[k] = Buffer.from(data[k], 'base64').toString('utf8');
  return out;
};
const encode = (bundle: CertificateBundle): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const k of BUNDLE_KEYS) if (bundle[k]) out[k] = Buffer.from(bundle[k]!).toString('base64');
  return out;
};

const MIN_WAIT_MS = 1_000;

export class CertificateManager {
  private timer?: NodeJS.Timeout;
  private stopped = true;
  private running?: Promise<void>;
  private current?: CertificateBundle;
  private certDirWritable = true;
  private lastError = '';
  private readonly clock: () => Date;

  constructor(private readonly options: CertificateManagerOptions) {
    checkPolicy(options.policy);
    this.clock = options.clock ?? (() => new Date());
  }

  /** ca.crt, tls.crt and tls.key are in the Secret (and the cert dir, when writable). */
  get ready(): boolean {
    return this.current !== undefined;
  }

  /** The CA bundle currently in the Secret (PEM). */
  get caBundle(): string | undefined {
    return this.current?.['ca.crt'];
  }

  /** Runs the first pass (errors are logged and retried) and keeps running until {@link stop}. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Resolves once certificates exist (or the manager is stopped). */
  async whenReady(pollMs = 200): Promise<void> {
    while (!this.ready && !this.stopped) await new Promise((r) => setTimeout(r, pollMs));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass: rotate when due, sync the cert dir and the caBundles. Returns when to run again (ms). */
  async reconcile(): Promise<number> {
    const o = this.options;
    const now = this.clock();
    const { secret, bundle } = await this.readSecret();
    const rotation = await rotate(bundle, now, o.policy, o.identity ?? KEDA_IDENTITY);
    let stored = bundle;
    if (rotation.next) {
      stored = await this.writeSecret(secret, rotation.next);
      o.logger.info(
        { secret: `${o.namespace}/${o.secretName}`, reasons: rotation.plan.reasons, newCa: rotation.plan.newCa, newCertificates: rotation.plan.newLeaves },
        secret ? 'rotated the certificates' : 'created the certificates',
      );
      o.onRotated?.(rotation.plan.reasons);
    }
    this.current = stored;
    await this.writeCertDir(stored);
    await this.syncCaBundles(stored['ca.crt']!);

    const resync = o.caBundleResyncMs ?? 30_000;
    const untilDue = rotation.plan.nextDue ? rotation.plan.nextDue.getTime() - now.getTime() : Infinity;
    // A freshly written set is checked again at once: planRotation settles in one more pass.
    return rotation.next ? MIN_WAIT_MS : Math.max(MIN_WAIT_MS, Math.min(o.checkIntervalMs, resync, untilDue));
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.reconcile().then(
        (next) => {
          this.lastError = '';
          this.schedule(next);
        },
        (err: unknown) => {
          const message = (err as Error).message;
          if (message !== this.lastError) this.options.logger.error({ err: message }, 'certificate rotation failed; retrying');
          this.lastError = message;
          this.schedule(5_000);
        },
      );
    }, ms);
    this.timer.unref();
  }

  private secretPath(name?: string): string {
    return `/api/v1/namespaces/${encodeURIComponent(this.options.namespace)}/secrets${name ? `/${encodeURIComponent(name)}` : ''}`;
  }

  private async readSecret(): Promise<{ secret?: SecretObject; bundle: CertificateBundle }> {
    try {
      const secret = await this.options.client.get<SecretObject>(this.secretPath(this.options.secretName));
      return { secret, bundle: decode(secret.data) };
    } catch (err) {
      if (isNotFound(err)) return { bundle: {} };
      throw err;
    }
  }

  /** Create or replace (optimistic concurrency: a conflict means another writer won; re-read next pass). */
  private async writeSecret(existing: SecretObject | undefined, bundle: CertificateBundle): Promise<CertificateBundle> {
    const o = this.options;
    const body: SecretObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        ...(existing?.metadata ?? { name: o.secretName, namespace: o.namespace }),
        labels: { ...(existing?.metadata.labels ?? {}), ...CERT_SECRET_LABELS },
      },
      type: existing?.type ?? 'kubernetes.io/tls',
      data: { ...(existing?.data ?? {}), ...encode(bundle) },
    };
    try {
      if (existing) await o.client.replace(this.secretPath(o.secretName), body);
      else await o.client.create(this.secretPath(), body);
    } catch (err) {
      if (isConflict(err) || (err instanceof KubeApiError && err.reason === 'AlreadyExists'))
        throw new Error(`Secret ${o.namespace}/${o.secretName} changed while rotating; will re-read it`, { cause: err });
      throw err;
    }
    return bundle;
  }

  private async writeCertDir(bundle: CertificateBundle): Promise<void> {
    const dir = this.options.certDir;
    if (!dir || !this.certDirWritable) return;
    // ca.crt first, each key before its certificate (readers reload once a pair matches again) and
    // the shared tls.crt last: a component that finds its own pair never falls back to tls.crt.
    const order = ['ca.crt', 'ca.key', ...[...LEAF_NAMES].reverse().flatMap((n) => [LEAF_FILES[n].key, LEAF_FILES[n].cert])];
    try {
      await mkdir(dir, { recursive: true });
      for (const name of order) {
        const content = bundle[name];
        if (!content) continue;
        const path = join(dir, name);
        const existing = await readFile(path, 'utf8').catch(() => undefined);
        if (existing === content) continue;
        const tmp = join(dir, `.${name}.${randomBytes(4).toString('hex')}.tmp`);
        await writeFile(tmp, content, { mode: name.endsWith('.key') ? 0o600 : 0o644 });
        await rename(tmp, path);
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') {
        // A mounted Secret: the kubelet brings the new files.
        this.certDirWritable = false;
        this.options.logger.info({ certDir: dir }, 'cert dir is read-only; the certificates arrive through the mounted Secret');
        return;
      }
      throw err;
    }
  }

  private async syncCaBundles(caPem: string): Promise<void> {
    const o = this.options;
    const caBundle = Buffer.from(caPem).toString('base64');
    if (o.validatingWebhookName) {
      const path = `/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/${encodeURIComponent(o.validatingWebhookName)}`;
      await this.ifPresent(`ValidatingWebhookConfiguration ${o.validatingWebhookName}`, async () => {
        const vwc = await o.client.get<{ metadata: object; webhooks?: { name: string; clientConfig: { caBundle?: string } }[] }>(path);
        const stale = (vwc.webhooks ?? []).filter((w) => w.clientConfig.caBundle !== caBundle);
        if (!stale.length) return;
        for (const w of stale) w.clientConfig.caBundle = caBundle;
        await o.client.replace(path, vwc);
        o.logger.info({ validatingWebhookConfiguration: o.validatingWebhookName, webhooks: stale.map((w) => w.name) }, 'patched caBundle');
      });
    }
    if (o.apiServiceName) {
      const path = `/apis/apiregistration.k8s.io/v1/apiservices/${encodeURIComponent(o.apiServiceName)}`;
      await this.ifPresent(`APIService ${o.apiServiceName}`, async () => {
        const svc = await o.client.get<{ spec: { caBundle?: string; insecureSkipTLSVerify?: boolean } }>(path);
        if (svc.spec.caBundle === caBundle) return;
        if (svc.spec.insecureSkipTLSVerify) {
          this.warnOnce(`APIService ${o.apiServiceName} has insecureSkipTLSVerify: its caBundle is left alone`);
          return;
        }
        await o.client.patch(path, { spec: { caBundle } }, 'merge');
        o.logger.info({ apiService: o.apiServiceName }, 'patched caBundle');
      });
    }
  }

  private readonly warned = new Set<string>();
  private warnOnce(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.options.logger.warn({}, message);
  }

  /** Missing objects are fine (not installed yet, or disabled); conflicts retry on the next pass. */
  private async ifPresent(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      if (isNotFound(err)) {
        this.warnOnce(`${what} not found; its caBundle is patched once it exists`);
        return;
      }
      if (isConflict(err)) return;
      throw err;
    }
  }
}
