/**
 * When to issue what: a pure decision over the Secret's current certificates and the time.
 *
 * A CA is replaced in two steps so no component ever sees a peer certificate it cannot verify:
 * first the new CA joins ca.crt next to the old one while tls.crt (signed by the old CA) stays;
 * once every component had `rolloverDelayMs` to pick the new bundle up (a Secret volume lags up to
 * a kubelet sync period), tls.crt is re-issued by the new CA. Expired CAs leave the bundle.
 */
import { BACKDATE_MS } from './issue';
import type { CertFacts, CertState } from './inspect';

export interface RotationPolicy {
  /** Lifetime of a new CA (KEDA: 10 years). */
  caValidityMs: number;
  /** Replace the CA when less than this remains (must exceed rolloverDelayMs). */
  caRenewBeforeMs: number;
  /** Lifetime of a new serving certificate (KEDA: 1 year; capped by the CA's). */
  validityMs: number;
  /** Re-issue the serving certificate when less than this remains (KEDA: 90 days). */
  renewBeforeMs: number;
  /** Wait between adding a new CA to the bundle and signing the serving certificate with it. */
  rolloverDelayMs: number;
  /** DNS names and IPs the serving certificate must carry (lower case). */
  hosts: readonly string[];
}

export interface RotationPlan {
  /** Create a new CA (it signs from now on and heads the bundle). */
  newCa: boolean;
  /** Issue a new tls.crt/tls.key. */
  newLeaf: boolean;
  /** Fingerprints of existing CAs to keep in ca.crt after the (new) signing CA. */
  keepCas: string[];
  /** Why anything changes; empty when nothing does. */
  reasons: string[];
  /** When to look again at the latest (something falls due then); undefined: not before the regular check. */
  nextDue?: Date;
}

export function checkPolicy(policy: RotationPolicy): void {
  const positive = ['caValidityMs', 'validityMs', 'renewBeforeMs', 'caRenewBeforeMs'] as const;
  for (const k of positive) if (!(policy[k] > 0)) throw new Error(`certificate policy ${k} must be > 0, got ${policy[k]}`);
  if (policy.renewBeforeMs >= policy.validityMs)
    throw new Error(`certificate renew-before (${policy.renewBeforeMs} ms) must be shorter than the validity (${policy.validityMs} ms)`);
  if (policy.caRenewBeforeMs >= policy.caValidityMs)
    throw new Error(`CA renew-before (${policy.caRenewBeforeMs} ms) must be shorter than the CA validity (${policy.caValidityMs} ms)`);
  if (policy.rolloverDelayMs >= policy.caRenewBeforeMs)
    throw new Error(`CA rollover delay (${policy.rolloverDelayMs} ms) must be shorter than the CA renew-before (${policy.caRenewBeforeMs} ms)`);
  if (policy.hosts.length === 0) throw new Error('certificate policy needs at least one host name');
}

const sameSet = (a: readonly string[], b: readonly string[]) => {
  const sa = new Set(a);
  return sa.size === new Set(b).size && b.every((x) => sa.has(x));
};

/** When a certificate was actually issued (they are backdated). */
const issuedAt = (c: CertFacts) => c.notBefore.getTime() + BACKDATE_MS;

export function planRotation(state: CertState, now: Date, policy: RotationPolicy): RotationPlan {
  const t = now.getTime();
  const reasons: string[] = [];
  const unexpired = state.bundle.filter((c) => c.notAfter.getTime() > t);
  const due: number[] = [];

  let signing = state.signingCa && state.signingCa.notAfter.getTime() > t ? state.signingCa : undefined;
  let newCa = false;
  if (!state.signingCa) {
    newCa = true;
    reasons.push(state.bundle.length ? 'no usable CA key for ca.crt' : 'no CA');
  } else if (!signing) {
    newCa = true;
    reasons.push('CA expired');
  } else if (signing.notAfter.getTime() - t <= policy.caRenewBeforeMs) {
    newCa = true;
    reasons.push('CA expires soon');
  } else {
    due.push(signing.notAfter.getTime() - policy.caRenewBeforeMs);
  }
  if (newCa) signing = undefined;

  const leaf = state.leaf;
  let newLeaf = false;
  const leafReason = (() => {
    if (!leaf) return 'no serving certificate';
    if (!leaf.keyMatches) return 'tls.key does not match tls.crt';
    if (!leaf.issuer || !unexpired.some((c) => c.fingerprint === leaf.issuer)) return 'serving certificate not signed by a valid CA in ca.crt';
    if (leaf.notAfter.getTime() - t <= policy.renewBeforeMs) return 'serving certificate expires soon';
    if (!sameSet(leaf.hosts, policy.hosts.map((h) => h.toLowerCase()))) return 'serving certificate names changed';
    return undefined;
  })();
  if (leafReason) {
    newLeaf = true;
    reasons.push(leafReason);
  } else if (leaf) {
    due.push(leaf.notAfter.getTime() - policy.renewBeforeMs);
    // Finish a rollover: the bundle with the current CA has had time to reach every component.
    if (signing && leaf.issuer !== signing.fingerprint) {
      const switchAt = issuedAt(signing) + policy.rolloverDelayMs;
      if (t >= switchAt) {
        newLeaf = true;
        reasons.push('CA rollover: signing the serving certificate with the new CA');
      } else {
        due.push(switchAt);
      }
    }
  }

  // Old CAs stay trusted until they expire (peers may still present certificates they signed).
  const keepCas = unexpired.filter((c) => c.fingerprint !== signing?.fingerprint).map((c) => c.fingerprint);
  if (!newCa && !newLeaf && unexpired.length < state.bundle.length) reasons.push('dropping expired CAs from ca.crt');
  for (const c of unexpired) if (c.fingerprint !== signing?.fingerprint) due.push(c.notAfter.getTime());
  if (newCa && !newLeaf) due.push(t + policy.rolloverDelayMs);

  const next = due.length ? Math.max(t, Math.min(...due)) : undefined;
  return { newCa, newLeaf, keepCas, reasons, nextDue: next === undefined ? undefined : new Date(next) };
}
