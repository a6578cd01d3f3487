import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createServingCertificate, issueCert } from './pki';

/** The files KEDA keeps in its cert dir (the Secret `kedaorg-certs` mounted at /certs). */
export interface CertDir {
  dir: string;
  caCert: string;
  caKey: string;
  tlsCert: string;
  tlsKey: string;
  caPem: string;
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

/**
 * Writes a KEDA-style cert dir: `ca.crt`/`ca.key` (a fresh CA) and `tls.crt`/`tls.key` usable for
 * both serving and client authentication (the gRPC link is mutual TLS with one pair), with SANs
 * localhost, 127.0.0.1 and the KEDA service names, plus `extraHosts`.
 */
export async function writeCertDir(dir: string, extraHosts: string[] = []): Promise<CertDir> {
  await fs.mkdir(dir, { recursive: true });
  const work = path.join(dir, '.work');
  const hosts = [...new Set(['localhost', '127.0.0.1', ...kedaServiceHosts(), ...extraHosts])];
  // Makes the CA (serving-ca.*) in the work dir; the leaf it also makes is server-only, so issue another.
  await createServingCertificate(work, ['localhost']);
  const sans = hosts.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`));
  await issueCert(work, 'serving-ca', 'tls', '/O=KEDAORG/CN=keda-ts', 'both', sans);
  const out: CertDir = {
    dir,
    caCert: path.join(dir, 'ca.crt'),
    caKey: path.join(dir, 'ca.key'),
    tlsCert: path.join(dir, 'tls.crt'),
    tlsKey: path.join(dir, 'tls.key'),
    caPem: await fs.readFile(path.join(work, 'serving-ca.crt'), 'utf8'),
  };
  await fs.copyFile(path.join(work, 'serving-ca.crt'), out.caCert);
  await fs.copyFile(path.join(work, 'serving-ca.key'), out.caKey);
  await fs.copyFile(path.join(work, 'tls.crt'), out.tlsCert);
  await fs.copyFile(path.join(work, 'tls.key'), out.tlsKey);
  await fs.chmod(out.caKey, 0o600);
  await fs.chmod(out.tlsKey, 0o600);
  await fs.rm(work, { recursive: true, force: true });
  return out;
}
