/**
 * Test certificates from the same issuing code the controller uses (no openssl): a CA and a pair
 * for serving and client authentication, optionally written as a KEDA cert dir.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate, type CertificateAuthority, type IssuedCertificate } from '../src/issue';

const DAY_MS = 86_400_000;

export interface TestPki {
  ca: CertificateAuthority;
  /** Serving + client certificate for `hosts`, signed by `ca`. */
  leaf: IssuedCertificate;
  /** Issues another certificate from the same CA. */
  issue(options: { commonName: string; organization?: string; hosts?: string[]; usages?: ('server' | 'client')[] }): Promise<IssuedCertificate>;
}

export async function createTestPki(hosts: string[] = ['localhost', '127.0.0.1'], options: { caName?: string; validityMs?: number } = {}): Promise<TestPki> {
  const now = new Date();
  const validityMs = options.validityMs ?? DAY_MS;
  const ca = await createCertificateAuthority({ commonName: options.caName ?? 'keda-ts test CA', organization: 'KEDAORG', now, validityMs });
  const issue: TestPki['issue'] = (o) =>
    issueCertificate({ ca, commonName: o.commonName, organization: o.organization, hosts: o.hosts ?? hosts, usages: o.usages, now: new Date(), validityMs });
  const leaf = await issue({ commonName: 'keda-ts', organization: 'KEDAORG' });
  return { ca, leaf, issue };
}

export interface TestCertDir {
  dir: string;
  caPem: string;
  caKeyPem: string;
  certPem: string;
  keyPem: string;
}

/** A KEDA-style cert dir: ca.crt, ca.key, tls.crt, tls.key (keys 0600). */
export async function writeTestCertDir(dir: string, hosts: string[] = ['localhost', '127.0.0.1']): Promise<TestCertDir> {
  const pki = await createTestPki(hosts);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'ca.crt'), pki.ca.certPem);
  await writeFile(join(dir, 'ca.key'), pki.ca.keyPem);
  await writeFile(join(dir, 'tls.crt'), pki.leaf.certPem);
  await writeFile(join(dir, 'tls.key'), pki.leaf.keyPem);
  await chmod(join(dir, 'ca.key'), 0o600);
  await chmod(join(dir, 'tls.key'), 0o600);
  return { dir, caPem: pki.ca.certPem, caKeyPem: pki.ca.keyPem, certPem: pki.leaf.certPem, keyPem: pki.leaf.keyPem };
}
