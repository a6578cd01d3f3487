/**
 * Issuing X.509 certificates with @peculiar/x509 on Node's WebCrypto (Node's own crypto can parse
 * and verify certificates but not create them). Keys are ECDSA P-256 by default: fast to generate,
 * accepted by the API server, grpc-js and Node's TLS; RSA CA keys (e.g. a CA a user brought) can sign too.
 */
import { createPrivateKey, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
// @peculiar/x509's documented requirement: a Reflect metadata polyfill imported before it.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type SigningAlgorithm = webcrypto.Algorithm | webcrypto.EcdsaParams;

const subtle = webcrypto.subtle;
const provider = webcrypto as unknown as Parameters<typeof x509.X509CertificateGenerator.create>[1];

/** Certificates are dated this far back, so a peer whose clock is a little behind accepts them at once. */
export const BACKDATE_MS = 60_000;

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;
const RSA_SHA256 = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

export interface KeyPairPem {
  cryptoKeys: CryptoKeyPair;
  /** PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
  keyPem: string;
}

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
}

export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
}

function toPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END ${label}-----\n`;
}

export async function generateKeyPair(): Promise<KeyPairPem> {
  const cryptoKeys = (await subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
  const pkcs8 = await subtle.exportKey('pkcs8', cryptoKeys.privateKey);
  return { cryptoKeys, keyPem: toPem(pkcs8, 'PRIVATE KEY') };
}

/** Imports a PEM private key (PKCS#1, SEC1 or PKCS#8; EC P-256/384 or RSA) as a WebCrypto signing key. */
async function importSigningKey(keyPem: string): Promise<{ key: CryptoKey; algorithm: SigningAlgorithm }> {
  const keyObject = createPrivateKey(keyPem);
  const der = keyObject.export({ format: 'der', type: 'pkcs8' });
  const pkcs8 = der.buffer.slice(der.byteOffset, der.byteOffset + der.byteLength) as ArrayBuffer;
  if (keyObject.asymmetricKeyType === 'ec') {
    const curve = keyObject.asymmetricKeyDetails?.namedCurve;
    const namedCurve = curve === 'secp384r1' ? 'P-384' : curve === 'prime256v1' ? 'P-256' : undefined;
    if (!namedCurve) throw new Error(`CA key uses curve ${curve ?? 'unknown'}; allowed: P-256, P-384`);
    const key = await subtle.importKey('pkcs8', pkcs8, { name: 'ECDSA', namedCurve }, false, ['sign']);
    return { key, algorithm: ECDSA_SHA256 };
  }
  if (keyObject.asymmetricKeyType === 'rsa') {
    const key = await subtle.importKey('pkcs8', pkcs8, RSA_SHA256, false, ['sign']);
    return { key, algorithm: RSA_SHA256 };
  }
  throw new Error(`CA key type ${keyObject.asymmetricKeyType ?? 'unknown'} is not supported; allowed: ec, rsa`);
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] &= 0x7f; // positive
  return Buffer.from(bytes).toString('hex');
}

export interface CreateCaOptions {
  commonName: string;
  organization?: string;
  now: Date;
  validityMs: number;
}

/** A self-signed CA (basic constraints CA, may sign certificates). */
export async function createCertificateAuthority(options: CreateCaOptions): Promise<CertificateAuthority> {
  const keys = await generateKeyPair();
  const name = x509Name(options.commonName, options.organization);
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      name,
      notBefore: new Date(options.now.getTime() - BACKDATE_MS),
      notAfter: new Date(options.now.getTime() + options.validityMs),
      keys: keys.cryptoKeys,
      signingAlgorithm: ECDSA_SHA256,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(keys.cryptoKeys.publicKey, false, provider),
      ],
    },
    provider,
  );
  return { certPem: cert.toString('pem') + '\n', keyPem: keys.keyPem };
}

export interface IssueCertificateOptions {
  ca: CertificateAuthority;
  commonName: string;
  organization?: string;
  /** DNS names and IP addresses (told apart by their syntax) for the subjectAltName. */
  hosts: readonly string[];
  now: Date;
  validityMs: number;
  /** Default both (KEDA's one shared pair); the controller's own leaves carry only what each needs. */
  usages?: readonly ('server' | 'client')[];
}

/**
 * A leaf certificate signed by `ca`. Its validity never outlasts the CA's, so a short-lived CA
 * (tests) yields leaves that expire with it rather than certificates no one can verify.
 */
export async function issueCertificate(options: IssueCertificateOptions): Promise<IssuedCertificate> {
  const caCert = new x509.X509Certificate(options.ca.certPem);
  const signer = await importSigningKey(options.ca.keyPem);
  const keys = await generateKeyPair();
  const usages = options.usages ?? ['server', 'client'];
  const notAfter = Math.min(options.now.getTime() + options.validityMs, caCert.notAfter.getTime());
  const names: x509.JsonGeneralName[] = options.hosts.map((h) => ({ type: isIP(h) ? 'ip' : 'dns', value: h }));
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject: x509Name(options.commonName, options.organization),
      // The CA's subject as encoded (string types included): Go clients pick their certificate by comparing
      // its issuer bytes with the CAs the server accepts, so a re-encoded name (PrintableString for an
      // openssl CA's UTF8String) would make them send none.
      issuer: caCert.subjectName,
      notBefore: new Date(options.now.getTime() - BACKDATE_MS),
      notAfter: new Date(notAfter),
      publicKey: keys.cryptoKeys.publicKey,
      signingKey: signer.key,
      signingAlgorithm: signer.algorithm,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension(
          usages.map((u) => (u === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth)),
          false,
        ),
        // A client certificate may name no host (an empty subjectAltName would be invalid).
        ...(names.length ? [new x509.SubjectAlternativeNameExtension(names, false)] : []),
        await x509.SubjectKeyIdentifierExtension.create(keys.cryptoKeys.publicKey, false, provider),
        await x509.AuthorityKeyIdentifierExtension.create(caCert, false, provider),
      ],
    },
    provider,
  );
  return { certPem: cert.toString('pem') + '\n', keyPem: keys.keyPem };
}

function x509Name(commonName: string, organization?: string): string {
  const escape = (v: string) => v.replace(/([,+"\\<>;=])/g, '\\$1');
  return organization ? `CN=${escape(commonName)}, O=${escape(organization)}` : `CN=${escape(commonName)}`;
}
