import { BACKDATE_MS } from './issue';
import type { CertFacts, CertState, LeafFacts } from './inspect';
import { checkPolicy, planRotation, type RotationPolicy } from './plan';

const DAY = 86_400_000;
const NOW = new Date('2030-06-01T00:00:00Z');
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs);
const HOSTS = ['keda-operator', 'keda-operator.keda.svc'];

const policy: RotationPolicy = {
  caValidityMs: 3650 * DAY,
  caRenewBeforeMs: 365 * DAY,
  validityMs: 365 * DAY,
  renewBeforeMs: 90 * DAY,
  rolloverDelayMs: 5 * 60_000,
  hosts: HOSTS,
};

/** A CA issued `issuedAgo` before NOW, valid `lifetime`. */
const ca = (fingerprint: string, issuedAgo: number, lifetime: number): CertFacts => ({
  fingerprint,
  notBefore: at(-issuedAgo - BACKDATE_MS),
  notAfter: at(-issuedAgo + lifetime),
  pem: fingerprint,
});
const leaf = (issuer: string | undefined, issuedAgo: number, lifetime: number, extra: Partial<LeafFacts> = {}): LeafFacts => ({
  ...ca('leaf', issuedAgo, lifetime),
  issuer,
  hosts: HOSTS,
  keyMatches: true,
  ...extra,
});

const caA = ca('A', 100 * DAY, 3650 * DAY);
const caOld = ca('OLD', 3400 * DAY, 3650 * DAY); // 250 days left: inside caRenewBefore
const caNew = ca('NEW', 60_000, 3650 * DAY); // created a minute ago
const caNewSettled = ca('NEW', 10 * 60_000, 3650 * DAY); // created ten minutes ago
const caExpired = ca('GONE', 3651 * DAY, 3650 * DAY);

type Row = [name: string, state: CertState, expected: { newCa: boolean; newLeaf: boolean; keepCas: string[]; reasons: string[]; nextDue?: Date }];

const rows: Row[] = [
  ['empty Secret: everything new', { bundle: [] }, { newCa: true, newLeaf: true, keepCas: [], reasons: ['no CA', 'no serving certificate'] }],
  [
    'healthy: nothing; next due when the leaf enters its renewal window',
    { bundle: [caA], signingCa: caA, leaf: leaf('A', 10 * DAY, 365 * DAY) },
    { newCa: false, newLeaf: false, keepCas: [], reasons: [], nextDue: at(355 * DAY - 90 * DAY) },
  ],
  [
    'leaf inside its renewal window: new leaf from the same CA',
    { bundle: [caA], signingCa: caA, leaf: leaf('A', 300 * DAY, 365 * DAY) },
    { newCa: false, newLeaf: true, keepCas: [], reasons: ['serving certificate expires soon'] },
  ],
  [
    'leaf expired',
    { bundle: [caA], signingCa: caA, leaf: leaf('A', 400 * DAY, 365 * DAY) },
    { newCa: false, newLeaf: true, keepCas: [], reasons: ['serving certificate expires soon'] },
  ],
  [
    'key does not match the leaf',
    { bundle: [caA], signingCa: caA, leaf: leaf('A', DAY, 365 * DAY, { keyMatches: false }) },
    { newCa: false, newLeaf: true, keepCas: [], reasons: ['tls.key does not match tls.crt'] },
  ],
  [
    'leaf signed by a CA that is not in ca.crt',
    { bundle: [caA], signingCa: caA, leaf: leaf(undefined, DAY, 365 * DAY) },
    { newCa: false, newLeaf: true, keepCas: [], reasons: ['serving certificate not signed by a valid CA in ca.crt'] },
  ],
  [
    'service names changed (other namespace or webhook patching turned on)',
    { bundle: [caA], signingCa: caA, leaf: leaf('A', DAY, 365 * DAY, { hosts: ['keda-operator'] }) },
    { newCa: false, newLeaf: true, keepCas: [], reasons: ['serving certificate names changed'] },
  ],
  [
    'CA near expiry: step 1 adds a new CA, keeps the old one and the leaf; step 2 is due after the rollover delay',
    { bundle: [caOld], signingCa: caOld, leaf: leaf('OLD', 10 * DAY, 200 * DAY) },
    { newCa: true, newLeaf: false, keepCas: ['OLD'], reasons: ['CA expires soon'], nextDue: at(5 * 60_000) },
  ],
  [
    'rollover in progress: the leaf waits until the new bundle had time to spread',
    { bundle: [caNew, caOld], signingCa: caNew, leaf: leaf('OLD', 10 * DAY, 200 * DAY) },
    { newCa: false, newLeaf: false, keepCas: ['OLD'], reasons: [], nextDue: at(4 * 60_000) },
  ],
  [
    'rollover step 2: the leaf is re-signed by the new CA; the old CA stays trusted',
    { bundle: [caNewSettled, caOld], signingCa: caNewSettled, leaf: leaf('OLD', 10 * DAY, 200 * DAY) },
    { newCa: false, newLeaf: true, keepCas: ['OLD'], reasons: ['CA rollover: signing the serving certificate with the new CA'] },
  ],
  [
    'expired CAs leave the bundle',
    { bundle: [caA, caExpired], signingCa: caA, leaf: leaf('A', DAY, 365 * DAY) },
    { newCa: false, newLeaf: false, keepCas: [], reasons: ['dropping expired CAs from ca.crt'] },
  ],
  [
    'CA key lost: a new CA; the leaf of the old one is kept until the rollover delay',
    { bundle: [caA], leaf: leaf('A', DAY, 365 * DAY) },
    { newCa: true, newLeaf: false, keepCas: ['A'], reasons: ['no usable CA key for ca.crt'], nextDue: at(5 * 60_000) },
  ],
  [
    'CA expired: new CA and a new leaf at once (nothing valid to keep)',
    { bundle: [caExpired], signingCa: caExpired, leaf: leaf('GONE', 400 * DAY, 365 * DAY) },
    { newCa: true, newLeaf: true, keepCas: [], reasons: ['CA expired', 'serving certificate not signed by a valid CA in ca.crt'] },
  ],
];

describe('planRotation', () => {
  it.each(rows)('%s', (_name, state, expected) => {
    const plan = planRotation(state, NOW, policy);
    expect({ newCa: plan.newCa, newLeaf: plan.newLeaf, keepCas: plan.keepCas, reasons: plan.reasons }).toEqual({
      newCa: expected.newCa,
      newLeaf: expected.newLeaf,
      keepCas: expected.keepCas,
      reasons: expected.reasons,
    });
    if (expected.nextDue) expect(plan.nextDue).toEqual(expected.nextDue);
  });

  it('compares host names case-insensitively and as a set', () => {
    const state: CertState = { bundle: [caA], signingCa: caA, leaf: leaf('A', DAY, 365 * DAY, { hosts: [...HOSTS].reverse() }) };
    expect(planRotation(state, NOW, { ...policy, hosts: HOSTS.map((h) => h.toUpperCase()) }).reasons).toEqual([]);
  });
});

describe('checkPolicy', () => {
  it.each([
    [{ renewBeforeMs: 400 * DAY }, /renew-before .* must be shorter than the validity/],
    [{ caRenewBeforeMs: 4000 * DAY }, /CA renew-before .* must be shorter than the CA validity/],
    [{ rolloverDelayMs: 400 * DAY }, /CA rollover delay .* must be shorter than the CA renew-before/],
    [{ validityMs: 0 }, /validityMs must be > 0/],
    [{ hosts: [] }, /at least one host name/],
  ] as [Partial<RotationPolicy>, RegExp][])('rejects %o', (change, message) => {
    expect(() => checkPolicy({ ...policy, ...change })).toThrow(message);
  });

  it('accepts KEDA defaults', () => {
    expect(() => checkPolicy(policy)).not.toThrow();
  });
});
