/**
 * Reading what a certificate Secret holds (ca.crt, ca.key and the leaf pairs: tls.crt/tls.key and
 * the per-component ones of {@link LEAF_FILES}) into the facts the rotation plan decides on.
 * Node's crypto parses and verifies; nothing here issues.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { LEAF_FILES, LEAF_NAMES, type KeyUsage, type LeafName } from './components';

/** Every key of KEDA's certificate Secret that keda-ts reads or writes. */
export const BUNDLE_KEYS = ['ca.crt', 'ca.key', ...LEAF_NAMES.flatMap((n) => [LEAF_FILES[n].cert, LEAF_FILES[n].key])] as readonly string[];

/** The PEM texts of KEDA's certificate Secret, keyed as in the Secret. */
export type CertificateBundle = { 'ca.crt'?: string; 'ca.key'?: string } & Partial<Record<string, string>>;

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

export interface CertFacts {
  fingerprint: string;
  notBefore: Date;
  notAfter: Date;
  pem: string;
}

export interface LeafFacts extends CertFacts {
  /** Fingerprint of the CA (from the bundle) that signed it; undefined: none of them. */
  issuer?: string;
  /** DNS names and IP addresses of the subjectAltName. */
  hosts: string[];
  /** The key belongs to the certificate. */
  keyMatches: boolean;
  /** Subject CN ('' when none). */
  commonName: string;
  /** Extended key usages among server and client (sorted); both when the certificate has no EKU. */
  usages: KeyUsage[];
}

export interface CertState {
  /** Every parseable CA certificate in ca.crt, in order. */
  bundle: CertFacts[];
  /** The CA whose key is ca.key (it signs new leaves); undefined: no key or it matches no CA. */
  signingCa?: CertFacts;
  /** Each leaf present in the Secret. */
  leaves: Partial<Record<LeafName, LeafFacts>>;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The certificates of a PEM bundle, in order (other blocks ignored). */
export function splitPemCertificates(pem: string | undefined): string[] {
  return (pem ?? '').match(PEM_BLOCK)?.map((block) => `${block}\n`) ?? [];
}

function facts(cert: X509Certificate, pem: string): CertFacts {
  return { fingerprint: cert.fingerprint256, notBefore: new Date(cert.validFrom), notAfter: new Date(cert.validTo), pem };
}

/** The subjectAltName entries as plain names: `DNS:a, IP Address:127.0.0.1` → [a, 127.0.0.1]. */
export function subjectAltNames(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(', ')
    .map((entry) => /^(?:DNS|IP Address):(.+)$/.exec(entry.trim())?.[1])
    .filter((v): v is string => Boolean(v))
    .map((v) => v.toLowerCase());
}

function parse(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/** What the Secret holds; malformed parts read as absent, so the plan replaces them. */
export function inspectBundle(data: CertificateBundle): CertState {
  const cas = splitPemCertificates(data['ca.crt'])
    .map((pem) => ({ pem, cert: parse(pem) }))
    .filter((c): c is { pem: string; cert: X509Certificate } => c.cert !== undefined && c.cert.ca);
  const state: CertState = { bundle: cas.map((c) => facts(c.cert, c.pem)), leaves: {} };

  const caKey = data['ca.key'] ? tryKey(data['ca.key']) : undefined;
  if (caKey) {
    const signing = cas.find((c) => c.cert.checkPrivateKey(caKey));
    if (signing) state.signingCa = facts(signing.cert, signing.pem);
  }

  for (const name of LEAF_NAMES) {
    const files = LEAF_FILES[name];
    const leafPem = splitPemCertificates(data[files.cert])[0];
    const leaf = leafPem ? parse(leafPem) : undefined;
    if (!leaf || !leafPem) continue;
    const key = data[files.key] ? tryKey(data[files.key]!) : undefined;
    const issuer = cas.find((c) => leaf.checkIssued(c.cert) && leaf.verify(c.cert.publicKey));
    state.leaves[name] = {
      ...facts(leaf, leafPem),
      issuer: issuer?.cert.fingerprint256,
      hosts: subjectAltNames(leaf),
      keyMatches: key ? leaf.checkPrivateKey(key) : false,
      commonName: subjectField(leaf.subject, 'CN')[0] ?? '',
      usages: extendedUsages(leaf),
    };
  }
  return state;
}

/** Values of one attribute of a subject as Node prints it (`CN=a\nO=b\nO=c`). */
export function subjectField(subject: string, attribute: string): string[] {
  return subject
    .split('\n')
    .map((line) => line.split('='))
    .filter(([k]) => k === attribute)
    .map(([, ...v]) => v.join('='));
}

function extendedUsages(cert: X509Certificate): KeyUsage[] {
  const eku = cert.keyUsage as string[] | undefined;
  if (!eku || eku.length === 0) return ['client', 'server'];
  const out: KeyUsage[] = [];
  if (eku.includes(CLIENT_AUTH)) out.push('client');
  if (eku.includes(SERVER_AUTH)) out.push('server');
  return out;
}

function tryKey(pem: string) {
  try {
    return createPrivateKey(pem);
  } catch {
    return undefined;
  }
}
