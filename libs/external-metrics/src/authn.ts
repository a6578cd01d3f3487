import { X509Certificate } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { PeerCertificate, TLSSocket } from 'node:tls';

/** The authenticated caller, as a SubjectAccessReview spec names it. */
export interface UserInfo {
  name: string;
  uid?: string;
  groups: string[];
  extra: Record<string, string[]>;
}

/** The aggregation layer's front-proxy settings (`requestheader-*` of the ConfigMap). */
export interface RequestHeaderConfig {
  /** CAs the front proxy's client certificate must chain to. */
  clientCa: X509Certificate[];
  /** CNs allowed for the front proxy's certificate; empty: any CN. */
  allowedNames: string[];
  usernameHeaders: string[];
  uidHeaders: string[];
  groupHeaders: string[];
  extraHeaderPrefixes: string[];
}

/** What decides who a request comes from. */
export interface AuthenticationConfig {
  requestHeader?: RequestHeaderConfig;
  /** CAs for plain client certificates (user = CN, groups = O). */
  clientCa: X509Certificate[];
}

/** `kube-system/extension-apiserver-authentication`: where the API server publishes the above. */
export const AUTHENTICATION_CONFIGMAP = { namespace: 'kube-system', name: 'extension-apiserver-authentication' };

const CLIENT_AUTH_EKU = '1.3.6.1.5.5.7.3.2';
const ANY_EKU = '2.5.29.37.0';

/** Every certificate in a PEM bundle (invalid blocks are skipped). */
export function parsePemBundle(pem: string | undefined): X509Certificate[] {
  if (!pem) return [];
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const out: X509Certificate[] = [];
  for (const block of blocks) {
    try {
      out.push(new X509Certificate(block));
    } catch {
      // not a certificate we can use
    }
  }
  return out;
}

function jsonList(text: string | undefined): string[] {
  if (!text) return [];
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.filter((v): v is string => typeof v === 'string' && v !== '') : [];
  } catch {
    return [];
  }
}

/**
 * Reads the ConfigMap data the API server publishes for aggregated API servers, plus the
 * adapter's own `--client-ca-file` CAs (KEDA passes its `ca.crt`).
 */
export function parseAuthenticationConfigMap(
  data: Record<string, string> | undefined,
  extraClientCaPem?: string,
): AuthenticationConfig {
  const d = data ?? {};
  const requestHeaderCa = parsePemBundle(d['requestheader-client-ca-file']);
  const usernameHeaders = jsonList(d['requestheader-username-headers']);
  return {
    clientCa: [...parsePemBundle(d['client-ca-file']), ...parsePemBundle(extraClientCaPem)],
    requestHeader:
      requestHeaderCa.length && usernameHeaders.length
        ? {
            clientCa: requestHeaderCa,
            allowedNames: jsonList(d['requestheader-allowed-names']),
            usernameHeaders,
            uidHeaders: jsonList(d['requestheader-uid-headers']),
            groupHeaders: jsonList(d['requestheader-group-headers']),
            extraHeaderPrefixes: jsonList(d['requestheader-extra-headers-prefix']),
          }
        : undefined,
  };
}

/** All CA PEMs of a config, for the TLS server's certificate request (`ca` option). */
export function clientCaPems(config: AuthenticationConfig): string[] {
  return [...(config.requestHeader?.clientCa ?? []), ...config.clientCa].map((c) => c.toString());
}

function validAt(cert: X509Certificate, now: number): boolean {
  return Date.parse(cert.validFrom) <= now && now <= Date.parse(cert.validTo);
}

function signedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/**
 * Whether `chain` (leaf first, then the intermediates the client sent) verifies up to one of
 * `roots` at `now`, with a leaf usable for client authentication.
 */
export function verifyClientChain(chain: X509Certificate[], roots: X509Certificate[], now = Date.now()): boolean {
  const leaf = chain[0];
  if (!leaf || roots.length === 0) return false;
  const eku = leaf.keyUsage as string[] | undefined;
  if (eku && eku.length > 0 && !eku.includes(CLIENT_AUTH_EKU) && !eku.includes(ANY_EKU)) return false;
  let current = leaf;
  const used = new Set<X509Certificate>();
  for (let depth = 0; depth < 8; depth++) {
    if (!validAt(current, now)) return false;
    const root = roots.find((r) => signedBy(current, r) && validAt(r, now));
    if (root) return true;
    const next = chain.find((c) => !used.has(c) && c !== current && c.ca && signedBy(current, c));
    if (!next) return false;
    used.add(next);
    current = next;
  }
  return false;
}

/** The certificates a TLS client presented, leaf first. */
export function peerChain(socket: TLSSocket): X509Certificate[] {
  if (typeof socket.getPeerCertificate !== 'function') return [];
  const first = socket.getPeerCertificate(true) as PeerCertificate & { issuerCertificate?: PeerCertificate };
  if (!first || !first.raw) return [];
  const out: X509Certificate[] = [];
  const seen = new Set<string>();
  let cur: (PeerCertificate & { issuerCertificate?: PeerCertificate }) | undefined = first;
  while (cur?.raw && !seen.has(cur.fingerprint256) && out.length < 10) {
    seen.add(cur.fingerprint256);
    try {
      out.push(new X509Certificate(cur.raw));
    } catch {
      break;
    }
    cur = cur.issuerCertificate as typeof cur;
  }
  return out;
}

/** Distinguished-name field of a certificate subject (`CN`, `O`), all values. */
export function subjectField(cert: X509Certificate, field: string): string[] {
  return cert.subject
    .split('\n')
    .map((line) => line.split('='))
    .filter(([k]) => k === field)
    .map(([, ...v]) => v.join('='));
}

export type CertificateIdentity =
  | { kind: 'requestheader'; commonName: string }
  | { kind: 'client'; user: UserInfo }
  | { kind: 'none'; reason: string };

/** Classifies the certificate of a connection; done once per connection and config. */
export function identifyCertificate(chain: X509Certificate[], config: AuthenticationConfig, now = Date.now()): CertificateIdentity {
  const leaf = chain[0];
  if (!leaf) return { kind: 'none', reason: 'no client certificate presented' };
  const cn = subjectField(leaf, 'CN')[0] ?? '';
  const rh = config.requestHeader;
  if (rh && verifyClientChain(chain, rh.clientCa, now)) {
    if (rh.allowedNames.length === 0 || rh.allowedNames.includes(cn)) return { kind: 'requestheader', commonName: cn };
    // A front-proxy certificate with another name is not trusted for the headers; it may still be a client cert.
  }
  if (verifyClientChain(chain, config.clientCa, now)) {
    if (!cn) return { kind: 'none', reason: 'client certificate has no common name' };
    return { kind: 'client', user: { name: cn, groups: subjectField(leaf, 'O'), extra: {} } };
  }
  return { kind: 'none', reason: `client certificate "${cn}" is not signed by a trusted CA` };
}

/** Values of a header, every occurrence (Node joins repeated headers otherwise). */
export type HeaderValues = (name: string) => string[];

export function headerValuesFrom(distinct: NodeJS.Dict<string[]> | undefined, headers: IncomingHttpHeaders): HeaderValues {
  return (name) => {
    const key = name.toLowerCase();
    const d = distinct?.[key];
    if (d) return d;
    const v = headers[key];
    return v === undefined ? [] : Array.isArray(v) ? v : [v];
  };
}

/**
 * Header values and names straight from `IncomingMessage.rawHeaders` (name, value, name, value...),
 * every occurrence kept; cheaper than `headersDistinct`, which builds an object per request.
 */
export function headersFromRaw(rawHeaders: string[]): { values: HeaderValues; names: string[] } {
  const names: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const lower = rawHeaders[i].toLowerCase();
    if (!names.includes(lower)) names.push(lower);
  }
  return {
    names,
    values: (name) => {
      const out: string[] = [];
      const key = name.toLowerCase();
      for (let i = 0; i < rawHeaders.length; i += 2) {
        if (rawHeaders[i].length === key.length && rawHeaders[i].toLowerCase() === key) out.push(rawHeaders[i + 1]);
      }
      return out;
    },
  };
}

/** The user the front proxy asserts in its headers (k8s.io/apiserver requestheader semantics). */
export function userFromRequestHeaders(rh: RequestHeaderConfig, values: HeaderValues, headerNames: string[]): UserInfo | undefined {
  const first = (names: string[]) => {
    for (const n of names) {
      const v = values(n).find((x) => x !== '');
      if (v) return v;
    }
    return undefined;
  };
  const name = first(rh.usernameHeaders);
  if (!name) return undefined;
  const groups = rh.groupHeaders.flatMap((h) => values(h)).filter((g) => g !== '');
  const extra: Record<string, string[]> = {};
  const prefixes = rh.extraHeaderPrefixes.map((p) => p.toLowerCase());
  for (const header of headerNames) {
    const lower = header.toLowerCase();
    const prefix = prefixes.find((p) => lower.startsWith(p));
    if (!prefix) continue;
    let key = lower.slice(prefix.length);
    try {
      key = decodeURIComponent(key);
    } catch {
      // keep the raw key
    }
    if (!key) continue;
    (extra[key] ??= []).push(...values(header));
  }
  const uid = first(rh.uidHeaders);
  return { name, ...(uid ? { uid } : {}), groups, extra };
}

/** Outcome of authenticating one request. */
export type AuthenticationResult = { ok: true; user: UserInfo } | { ok: false; reason: string };

/**
 * Authenticates a request from its connection's certificate identity and its headers: the front
 * proxy (requestheader CA, allowed CN) with the user in X-Remote-* headers, or a client certificate
 * (client CA, user = CN, groups = O). Anything else is unauthenticated.
 */
export function authenticateRequest(
  identity: CertificateIdentity,
  config: AuthenticationConfig,
  values: HeaderValues,
  headerNames: string[],
): AuthenticationResult {
  if (identity.kind === 'requestheader' && config.requestHeader) {
    const user = userFromRequestHeaders(config.requestHeader, values, headerNames);
    if (user) return { ok: true, user };
    return { ok: false, reason: 'front-proxy request without a user header' };
  }
  if (identity.kind === 'client') return { ok: true, user: identity.user };
  return { ok: false, reason: identity.kind === 'none' ? identity.reason : 'not authenticated' };
}
