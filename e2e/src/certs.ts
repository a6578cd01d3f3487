import { existsSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createServingCertificate, issueCert } from './pki';

/** The apps that read a cert dir. */
export type CertApp = 'controller' | 'metrics-adapter' | 'webhook';

/**
 * The certificates of a local KEDA, laid out as the controller's self-managed Secret `kedaorg-certs`
 * (one leaf per component, each with only the usage it needs) and, per app, as the chart mounts it
 * (each Pod gets ca.crt and only its own pair):
 *
 * - `dir`: every key of the Secret: ca.crt, ca.key, tls.crt/tls.key (controller gRPC server,
 *   serverAuth, CN=keda-operator), metrics-adapter-client.crt/.key (the adapter's gRPC client,
 *   clientAuth, CN=keda-metrics-adapter), metrics-adapter.crt/.key (the adapter's HTTPS server,
 *   serverAuth), webhook.crt/.key (the webhook's HTTPS server, serverAuth).
 * - `appDirs[app]`: what that app's Pod mounts (pass it as the app's `--cert-dir`).
 * - `operatorDir`: an operator's client certificate for the CLI / the debug service
 *   (ca.crt, operator.crt, operator.key: clientAuth, CN=e2e-operator, O=keda-operators).
 *
 * With `layout: 'shared'`, KEDA's layout for certificates a user brings instead: one pair
 * tls.crt/tls.key for serving and client authentication in `dir` and in every app dir.
 */
export interface CertDir {
  dir: string;
  caCert: string;
  caKey: string;
  /** The controller's serving pair (shared layout: the one pair of every component). */
  tlsCert: string;
  tlsKey: string;
  /** A client pair signed by the CA: the adapter's gRPC client certificate (shared layout: tls.*). */
  clientCert: string;
  clientKey: string;
  /** The webhook's serving pair (shared layout: tls.*). */
  webhookCert: string;
  webhookKey: string;
  caPem: string;
  appDirs: Record<CertApp, string>;
  /** ca.crt, operator.crt, operator.key (the CLI's --cert-dir / KEDA_TS_CERT_DIR). */
  operatorDir: string;
  operatorCert: string;
  operatorKey: string;
}

/** The DNS names KEDA's certificate generator puts in (M-26), for the default namespace `keda`. */
export function kedaServiceHosts(namespace = 'keda', clusterDomain = 'cluster.local'): string[] {
  return ['keda-operator', 'keda-metrics-apiserver', 'keda-admission-webhooks'].flatMap((svc) => [
    svc,
    `${svc}.${namespace}`,
    `${svc}.${namespace}.svc`,
    `${svc}.${namespace}.svc.${clusterDomain}`,
  ]);
}

/** Secret keys each app's Pod mounts (charts/keda/templates/_helpers.tpl keda.certs.items). */
export const APP_CERT_FILES: Record<CertApp, string[]> = {
  controller: ['ca.crt', 'ca.key', 'tls.crt', 'tls.key'],
  'metrics-adapter': ['ca.crt', 'metrics-adapter-client.crt', 'metrics-adapter-client.key', 'metrics-adapter.crt', 'metrics-adapter.key'],
  webhook: ['ca.crt', 'webhook.crt', 'webhook.key'],
};
const SHARED_APP_FILES = ['ca.crt', 'tls.crt', 'tls.key'];

/** The cert dir of `app` under a dir written by {@link writeCertDir} (the dir itself for older layouts). */
export function appCertDir(certDir: string, app: CertApp): string {
  const own = path.join(certDir, 'apps', app);
  return existsSync(own) ? own : certDir;
}

/**
 * Writes the certificates (see {@link CertDir}), with SANs localhost, 127.0.0.1 and the KEDA
 * service names plus `extraHosts` on every serving certificate.
 */
export async function writeCertDir(dir: string, extraHosts: string[] = [], options: { layout?: 'per-component' | 'shared' } = {}): Promise<CertDir> {
  const shared = options.layout === 'shared';
  await fs.mkdir(dir, { recursive: true });
  const work = path.join(dir, '.work');
  const hosts = [...new Set(['localhost', '127.0.0.1', ...kedaServiceHosts(), ...extraHosts])];
  // Makes the CA (serving-ca.*) in the work dir; the leaf it also makes is not used.
  await createServingCertificate(work, ['localhost']);
  const sans = hosts.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`));
  const leaves: [file: string, subject: string, usage: 'server' | 'client' | 'both', sans: string[]][] = shared
    ? [['tls', '/O=KEDAORG/CN=keda-ts', 'both', sans]]
    : [
        ['tls', '/O=KEDAORG/CN=keda-operator', 'server', sans],
        ['metrics-adapter-client', '/O=KEDAORG/CN=keda-metrics-adapter', 'client', []],
        ['metrics-adapter', '/O=KEDAORG/CN=keda-metrics-apiserver', 'server', sans],
        ['webhook', '/O=KEDAORG/CN=keda-admission-webhooks', 'server', sans],
      ];
  leaves.push(['operator', '/O=keda-operators/CN=e2e-operator', 'client', []]);
  // One after the other: openssl keeps the CA's serial number file between them.
  for (const [file, subject, usage, s] of leaves) await issueCert(work, 'serving-ca', file, subject, usage, s);

  const copy = async (from: string, to: string, secret = false) => {
    await fs.mkdir(path.dirname(to), { recursive: true });
    await fs.copyFile(from, to);
    await fs.chmod(to, secret ? 0o600 : 0o644);
  };
  const w = (f: string) => path.join(work, f);
  await copy(w('serving-ca.crt'), path.join(dir, 'ca.crt'));
  await copy(w('serving-ca.key'), path.join(dir, 'ca.key'), true);
  for (const [file] of leaves) {
    if (file === 'operator') continue;
    await copy(w(`${file}.key`), path.join(dir, `${file}.key`), true);
    await copy(w(`${file}.crt`), path.join(dir, `${file}.crt`));
  }
  const appDirs = {} as Record<CertApp, string>;
  for (const app of Object.keys(APP_CERT_FILES) as CertApp[]) {
    appDirs[app] = path.join(dir, 'apps', app);
    const files = shared ? (app === 'controller' ? ['ca.crt', 'ca.key', 'tls.crt', 'tls.key'] : SHARED_APP_FILES) : APP_CERT_FILES[app];
    for (const f of files) await copy(path.join(dir, f), path.join(appDirs[app], f), f.endsWith('.key'));
  }
  const operatorDir = path.join(dir, 'operator');
  await copy(w('serving-ca.crt'), path.join(operatorDir, 'ca.crt'));
  await copy(w('operator.key'), path.join(operatorDir, 'operator.key'), true);
  await copy(w('operator.crt'), path.join(operatorDir, 'operator.crt'));
  const caPem = await fs.readFile(w('serving-ca.crt'), 'utf8');
  await fs.rm(work, { recursive: true, force: true });
  const p = (f: string) => path.join(dir, f);
  return {
    dir,
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    tlsCert: p('tls.crt'),
    tlsKey: p('tls.key'),
    clientCert: shared ? p('tls.crt') : p('metrics-adapter-client.crt'),
    clientKey: shared ? p('tls.key') : p('metrics-adapter-client.key'),
    webhookCert: shared ? p('tls.crt') : p('webhook.crt'),
    webhookKey: shared ? p('tls.key') : p('webhook.key'),
    caPem,
    appDirs,
    operatorDir,
    operatorCert: path.join(operatorDir, 'operator.crt'),
    operatorKey: path.join(operatorDir, 'operator.key'),
  };
}
