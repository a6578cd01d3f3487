/**
 * Reading what a certificate Secret holds (ca.crt, ca.key, tls.crt, tls.key) into the facts the
 * rotation plan decides on. Node's crypto parses and verifies; nothing here issues.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';

/** The PEM texts of KEDA's certificate Secret, keyed as in the Secret. */
export interface CertificateBundle {
  'ca.crt'?: string;
  'ca.key'?: string;
  'tls.crt'?: string;
  'tls.key'?: string;
}

export const BUNDLE_KEYS = ['ca.crt', 'ca.key', 'tls.crt', 'tls.key'] as const;

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
  /** tls.key belongs to tls.crt. */
  keyMatches: boolean;
}

export interface CertState {
  /** Every parseable CA certificate in ca.crt, in order. */
  bundle: CertFacts[];
  /** The CA whose key is ca.key (it signs new leaves); undefined: no key or it matches no CA. */
  signingCa?: CertFacts;
  leaf?: LeafFacts;
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
  const state: CertState = { bundle: cas.map((c) => facts(c.cert, c.pem)) };

  const caKey = data['ca.key'] ? tryKey(data['ca.key']) : undefined;
  if (caKey) {
    const signing = cas.find((c) => c.cert.checkPrivateKey(caKey));
    if (signing) state.signingCa = facts(signing.cert, signing.pem);
  }

  const leafPem = splitPemCertificates(data['tls.crt'])[0];
  const leaf = leafPem ? parse(leafPem) : undefined;
  if (leaf && leafPem) {
    const tlsKey = data['tls.key'] ? tryKey(data['tls.key']) : undefined;
    const issuer = cas.find((c) => leaf.checkIssued(c.cert) && leaf.verify(c.cert.publicKey));
    state.leaf = {
      ...facts(leaf, leafPem),
      issuer: issuer?.cert.fingerprint256,
      hosts: subjectAltNames(leaf),
      keyMatches: tlsKey ? leaf.checkPrivateKey(tlsKey) : false,
    };
  }
  return state;
}

function tryKey(pem: string) {
  try {
    return createPrivateKey(pem);
  } catch {
    return undefined;
  }
}
