/**
 * When to issue what: a pure decision over the Secret's current certificates and the time.
 *
 * Every leaf of the policy (the controller's gRPC server, the adapter's gRPC client, the adapter's
 * and the webhook's HTTPS servers) is checked on its own: missing, key mismatch, not signed by a
 * valid CA, renewal window, changed names, subject or key usage each re-issue that leaf only.
 *
 * A CA is replaced in two steps so no component ever sees a peer certificate it cannot verify:
 * first the new CA joins ca.crt next to the old one while the leaves (signed by the old CA) stay;
 * once every component had `rolloverDelayMs` to pick the new bundle up (a Secret volume lags up to
 * a kubelet sync period), every leaf is re-issued by the new CA. Expired CAs leave the bundle.
 */
import type { LeafName, LeafSpec } from './components';
import { BACKDATE_MS } from './issue';
import type { CertFacts, CertState, LeafFacts } from './inspect';

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
  /** The leaves to keep current: names, subject, usages (see kedaLeafSpecs). */
  leaves: readonly LeafSpec[];
}

export interface RotationPlan {
  /** Create a new CA (it signs from now on and heads the bundle). */
  newCa: boolean;
  /** Some leaf is issued anew (see newLeaves). */
  newLeaf: boolean;
  /** The leaves to issue, in policy order. */
  newLeaves: LeafName[];
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
  if (policy.leaves.length === 0) throw new Error('certificate policy needs at least one leaf');
  const seen = new Set<string>();
  for (const leaf of policy.leaves) {
    if (seen.has(leaf.name)) throw new Error(`certificate policy lists leaf ${leaf.name} twice`);
    seen.add(leaf.name);
    if (leaf.usages.length === 0) throw new Error(`certificate policy: leaf ${leaf.name} needs a key usage`);
    if (leaf.usages.includes('server') && leaf.hosts.length === 0) throw new Error(`certificate policy: serving leaf ${leaf.name} needs at least one host name`);
  }
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

  const newLeaves: LeafName[] = [];
  for (const spec of policy.leaves) {
    const leaf = state.leaves[spec.name];
    const reason = leafProblem(leaf, spec, unexpired, t, policy);
    // A CA rollover is waiting for the new bundle to spread: a leaf that is merely due for renewal
    // (still valid past the switch) waits too, instead of being signed early by the new CA.
    const switchAt = !leaf ? undefined : newCa ? t + policy.rolloverDelayMs : signing && leaf.issuer !== signing.fingerprint ? issuedAt(signing) + policy.rolloverDelayMs : undefined;
    if (reason === EXPIRES_SOON && leaf && switchAt !== undefined && t < switchAt && leaf.notAfter.getTime() > switchAt) {
      due.push(switchAt);
      continue;
    }
    if (reason) {
      newLeaves.push(spec.name);
      reasons.push(`${spec.name}: ${reason}`);
    } else if (leaf) {
      due.push(leaf.notAfter.getTime() - policy.renewBeforeMs);
      // Finish a rollover: the bundle with the current CA has had time to reach every component.
      if (signing && switchAt !== undefined) {
        if (t >= switchAt) {
          newLeaves.push(spec.name);
          reasons.push(`${spec.name}: CA rollover: signing the certificate with the new CA`);
        } else {
          due.push(switchAt);
        }
      }
    }
  }
  const newLeaf = newLeaves.length > 0;
  const allNew = newLeaves.length === policy.leaves.length;

  // Old CAs stay trusted until they expire (peers may still present certificates they signed).
  const keepCas = unexpired.filter((c) => c.fingerprint !== signing?.fingerprint).map((c) => c.fingerprint);
  if (!newCa && !newLeaf && unexpired.length < state.bundle.length) reasons.push('dropping expired CAs from ca.crt');
  for (const c of unexpired) if (c.fingerprint !== signing?.fingerprint) due.push(c.notAfter.getTime());
  // A new CA with leaves of an older one left: they are re-signed after the rollover delay.
  if (newCa && !allNew) due.push(t + policy.rolloverDelayMs);

  const next = due.length ? Math.max(t, Math.min(...due)) : undefined;
  return { newCa, newLeaf, newLeaves, keepCas, reasons, nextDue: next === undefined ? undefined : new Date(next) };
}

const EXPIRES_SOON = 'certificate expires soon';

/** Why `leaf` must be issued anew; undefined: it is fine (the rollover aside). */
function leafProblem(leaf: LeafFacts | undefined, spec: LeafSpec, unexpired: CertFacts[], t: number, policy: RotationPolicy): string | undefined {
  if (!leaf) return 'no certificate';
  if (!leaf.keyMatches) return 'key does not match the certificate';
  if (!leaf.issuer || !unexpired.some((c) => c.fingerprint === leaf.issuer)) return 'certificate not signed by a valid CA in ca.crt';
  if (leaf.notAfter.getTime() - t <= policy.renewBeforeMs) return EXPIRES_SOON;
  if (!sameSet(leaf.hosts, spec.hosts.map((h) => h.toLowerCase()))) return 'certificate names changed';
  if (leaf.commonName !== spec.commonName) return 'certificate subject changed';
  if (!sameSet(leaf.usages, spec.usages)) return 'certificate key usage changed';
  return undefined;
}
