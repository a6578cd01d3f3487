/**
 * Who may call what on the controller's gRPC port. Mutual TLS already admits only clients whose
 * certificate chains to ca.crt and carries clientAuth (or no extended key usage); this decides by
 * the client's identity in that certificate:
 *
 * - `api.MetricsService/GetMetrics`: the metrics adapter, subject CN `keda-metrics-adapter`
 *   (its self-managed client certificate), or, for certificates a user brought (KEDA's one shared
 *   pair in tls.crt for every component), a client presenting the same subject as the server's own
 *   certificate.
 * - `kedats.debug.v1.DecisionDebug/*` (every namespace's scaling decisions): an operator, subject
 *   O `keda-operators` (`keda-ts operator-certificate` issues one). The shared pair is NOT enough.
 * - `api.RawMetricsService/*` (KEDA's raw scaler values of every namespace, a stream a client
 *   subscribes to): an operator as well, subject O `keda-operators` by default
 *   (`rawMetricsGroups`). KEDA itself admits any client its CA signed; we keep the adapter's
 *   certificate and the shared pair out, since neither needs it.
 * - health and reflection: any client that passed mutual TLS.
 */
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { METRICS_CLIENT_COMMON_NAME, OPERATOR_GROUP, subjectField } from '@keda-ts/certificates';

/** The kinds of methods the server distinguishes. */
export type MethodClass = 'metrics' | 'debug' | 'raw-metrics' | 'public';

/** The client's identity as read from its certificate. */
export interface PeerIdentity {
  commonName: string;
  organizations: string[];
}

export interface AuthorizationPolicy {
  /** Subject CNs allowed to call GetMetrics (default: keda-metrics-adapter). */
  metricsClients: readonly string[];
  /** Subject organizations allowed to call the debug service (default: keda-operators). */
  debugGroups: readonly string[];
  /** Subject organizations allowed to use the raw metrics service (default: keda-operators; when absent, `debugGroups`). */
  rawMetricsGroups?: readonly string[];
  /** Allow GetMetrics to a client whose subject equals the server's (a user-brought shared pair); default true. */
  allowSharedPair: boolean;
}

export const DEFAULT_AUTHORIZATION_POLICY: AuthorizationPolicy = {
  metricsClients: [METRICS_CLIENT_COMMON_NAME],
  debugGroups: [OPERATOR_GROUP],
  rawMetricsGroups: [OPERATOR_GROUP],
  allowSharedPair: true,
};

export interface AuthorizationDecision {
  allowed: boolean;
  /** Why not (for the PERMISSION_DENIED details and the log); empty when allowed. */
  reason: string;
}

const sameIdentity = (a: PeerIdentity, b: PeerIdentity) =>
  a.commonName === b.commonName && a.organizations.length === b.organizations.length && a.organizations.every((o, i) => o === b.organizations[i]);

const describe = (p: PeerIdentity) => `CN=${JSON.stringify(p.commonName)}${p.organizations.map((o) => `, O=${JSON.stringify(o)}`).join('')}`;

/** The pure decision: may `peer` (undefined: no client certificate) call a method of `method`? */
export function authorize(
  method: MethodClass,
  peer: PeerIdentity | undefined,
  policy: AuthorizationPolicy,
  server?: PeerIdentity,
): AuthorizationDecision {
  if (method === 'public') return { allowed: true, reason: '' };
  if (!peer || (!peer.commonName && peer.organizations.length === 0)) return { allowed: false, reason: 'no client certificate identity' };
  if (method === 'metrics') {
    if (peer.commonName && policy.metricsClients.includes(peer.commonName)) return { allowed: true, reason: '' };
    if (policy.allowSharedPair && server && peer.commonName && sameIdentity(peer, server)) return { allowed: true, reason: '' };
    return { allowed: false, reason: `${describe(peer)} may not call GetMetrics (allowed: CN ${policy.metricsClients.join(', ')})` };
  }
  if (method === 'raw-metrics') {
    const groups = policy.rawMetricsGroups ?? policy.debugGroups;
    if (peer.organizations.some((o) => groups.includes(o))) return { allowed: true, reason: '' };
    return { allowed: false, reason: `${describe(peer)} may not use the raw metrics service (allowed: O ${groups.join(', ')})` };
  }
  if (peer.organizations.some((o) => policy.debugGroups.includes(o))) return { allowed: true, reason: '' };
  return { allowed: false, reason: `${describe(peer)} may not use the debug service (allowed: O ${policy.debugGroups.join(', ')})` };
}

const asList = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** The identity of a TLS peer certificate (grpc-js `call.getAuthContext().sslPeerCertificate`). */
export function identityOfPeer(cert: PeerCertificate | undefined): PeerIdentity | undefined {
  if (!cert?.subject) return undefined;
  const subject = cert.subject as unknown as Record<string, string | string[] | undefined>;
  return { commonName: asList(subject['CN'])[0] ?? '', organizations: asList(subject['O']) };
}

/**
 * The server's own identity when its certificate is a shared pair (it may also authenticate a
 * client: clientAuth or no extended key usage, as in KEDA's one pair); undefined for a serving-only
 * certificate (the controller's self-managed leaf), which turns the shared-pair rule off.
 */
export function sharedPairIdentity(pem: string | Buffer): PeerIdentity | undefined {
  try {
    const cert = new X509Certificate(pem);
    const eku = cert.keyUsage as string[] | undefined;
    if (eku && eku.length > 0 && !eku.includes('1.3.6.1.5.5.7.3.2')) return undefined;
    return { commonName: subjectField(cert.subject, 'CN')[0] ?? '', organizations: subjectField(cert.subject, 'O') };
  } catch {
    return undefined;
  }
}
