import { kedaLeafSpecs, type LeafSpec } from './components';
import { BACKDATE_MS } from './issue';
import type { CertFacts, CertState, LeafFacts } from './inspect';
import { checkPolicy, planRotation, type RotationPolicy } from './plan';

const DAY = 86_400_000;
const NOW = new Date('2030-06-01T00:00:00Z');
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs);
const HOSTS = ['keda-operator', 'keda-operator.keda.svc'];
const OPERATOR: LeafSpec = { name: 'operator', commonName: 'keda-operator', usages: ['server'], hosts: HOSTS };

/** Single-leaf policy (the controller's gRPC server): the CA and leaf decisions one at a time. */
const policy: RotationPolicy = {
  caValidityMs: 3650 * DAY,
  caRenewBeforeMs: 365 * DAY,
  validityMs: 365 * DAY,
  renewBeforeMs: 90 * DAY,
  rolloverDelayMs: 5 * 60_000,
  leaves: [OPERATOR],
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
  commonName: 'keda-operator',
  usages: ['server'],
  ...extra,
});
const only = (l: LeafFacts): CertState['leaves'] => ({ operator: l });

const caA = ca('A', 100 * DAY, 3650 * DAY);
const caOld = ca('OLD', 3400 * DAY, 3650 * DAY); // 250 days left: inside caRenewBefore
const caNew = ca('NEW', 60_000, 3650 * DAY); // created a minute ago
const caNewSettled = ca('NEW', 10 * 60_000, 3650 * DAY); // created ten minutes ago
const caExpired = ca('GONE', 3651 * DAY, 3650 * DAY);

type Row = [name: string, state: CertState, expected: { newCa: boolean; newLeaf: boolean; keepCas: string[]; reasons: string[]; nextDue?: Date }];

const rows: Row[] = [
  ['empty Secret: everything new', { bundle: [], leaves: {} }, { newCa: true, newLeaf: true, keepCas: [], reasons: ['no CA', 'operator: no certificate'] }],
  [
    'healthy: nothing; next due when the leaf enters its renewal window',
    { bundle: [caA], signingCa: caA, leaves: only(leaf('A', 10 * DAY, 365 * DAY)) },
    { newCa: false, newLeaf: false, keepCas: [], reasons: [], nextDue: at(355 * DAY - 90 * DAY) },
  ],
  [
    'leaf inside its renewal window: new leaf from the same CA',
    { bundle: [caA], signingCa: caA, leaves: only(leaf('A', 300 * DAY, 365 * DAY)) },
    { newCa: false, newLeaf: true, keepCas: [], reasons: ['operator: certificate expires soon'] },
  ],
  [
    'leaf expired',
    { bundle: [caA], signingCa: caA, leaves: only(leaf('A', 400 * DAY, 365 * DAY)) },
    { newCa: false, newLeaf: true, keepCas: [], reasons: ['operator: certificate expires soon'] },
  ],
  [
    'key does not match the leaf',
    { bundle: [caA], signingCa: caA, leaves: only(leaf('A', DAY, 365 * DAY, { keyMatches: false })) },
    { newCa: false, newLeaf: true, keepCas: [], reasons: ['operator: key does not match the certificate'] },
  ],
  [
    'leaf signed by a CA that is not in ca.crt',
    { bundle: [caA], signingCa: caA, leaves: only(leaf(undefined, DAY, 365 * DAY)) },
    { newCa: false, newLeaf: true, keepCas: [], reasons: ['operator: certificate not signed by a valid CA in ca.crt'] },
  ],
  [
    'service names changed (other namespace or webhook patching turned on)',
    { bundle: [caA], signingCa: caA, leaves: only(leaf('A', DAY, 365 * DAY, { hosts: ['keda-operator'] })) },
    { newCa: false, newLeaf: true, keepCas: [], reasons: ['operator: certificate names changed'] },
  ],
  [
    'CA near expiry: step 1 adds a new CA, keeps the old one and the leaf; step 2 is due after the rollover delay',
    { bundle: [caOld], signingCa: caOld, leaves: only(leaf('OLD', 10 * DAY, 200 * DAY)) },
    { newCa: true, newLeaf: false, keepCas: ['OLD'], reasons: ['CA expires soon'], nextDue: at(5 * 60_000) },
  ],
  [
    'rollover in progress: the leaf waits until the new bundle had time to spread',
    { bundle: [caNew, caOld], signingCa: caNew, leaves: only(leaf('OLD', 10 * DAY, 200 * DAY)) },
    { newCa: false, newLeaf: false, keepCas: ['OLD'], reasons: [], nextDue: at(4 * 60_000) },
  ],
  [
    'rollover step 2: the leaf is re-signed by the new CA; the old CA stays trusted',
    { bundle: [caNewSettled, caOld], signingCa: caNewSettled, leaves: only(leaf('OLD', 10 * DAY, 200 * DAY)) },
    { newCa: false, newLeaf: true, keepCas: ['OLD'], reasons: ['operator: CA rollover: signing the certificate with the new CA'] },
  ],
  [
    'expired CAs leave the bundle',
    { bundle: [caA, caExpired], signingCa: caA, leaves: only(leaf('A', DAY, 365 * DAY)) },
    { newCa: false, newLeaf: false, keepCas: [], reasons: ['dropping expired CAs from ca.crt'] },
  ],
  [
    'CA key lost: a new CA; the leaf of the old one is kept until the rollover delay',
    { bundle: [caA], leaves: only(leaf('A', DAY, 365 * DAY)) },
    { newCa: true, newLeaf: false, keepCas: ['A'], reasons: ['no usable CA key for ca.crt'], nextDue: at(5 * 60_000) },
  ],
  [
    'CA expired: new CA and a new leaf at once (nothing valid to keep)',
    { bundle: [caExpired], signingCa: caExpired, leaves: only(leaf('GONE', 400 * DAY, 365 * DAY)) },
    { newCa: true, newLeaf: true, keepCas: [], reasons: ['CA expired', 'operator: certificate not signed by a valid CA in ca.crt'] },
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
    const state: CertState = { bundle: [caA], signingCa: caA, leaves: only(leaf('A', DAY, 365 * DAY, { hosts: [...HOSTS].reverse() })) };
    expect(planRotation(state, NOW, { ...policy, leaves: [{ ...OPERATOR, hosts: HOSTS.map((h) => h.toUpperCase()) }] }).reasons).toEqual([]);
  });
});

/** KEDA's four leaves: the same decisions per leaf; only the leaves that need it are issued. */
describe('planRotation with a leaf per component', () => {
  const ADAPTER_HOSTS = ['keda-metrics-apiserver', 'keda-metrics-apiserver.keda.svc'];
  const WEBHOOK_HOSTS = ['keda-admission-webhooks', 'keda-admission-webhooks.keda.svc'];
  const specs = kedaLeafSpecs({ operator: HOSTS, metricsAdapter: ADAPTER_HOSTS, webhook: WEBHOOK_HOSTS });
  const kedaPolicy: RotationPolicy = { ...policy, leaves: specs };
  /** A healthy leaf for every spec (issued by `issuer` `issuedAgo` before NOW), with per-leaf changes. */
  const all = (issuer: string, issuedAgo: number, lifetime: number, changes: Partial<Record<string, Partial<LeafFacts>>> = {}): CertState['leaves'] =>
    Object.fromEntries(
      specs.map((s) => [s.name, leaf(issuer, issuedAgo, lifetime, { hosts: [...s.hosts], commonName: s.commonName, usages: [...s.usages], ...changes[s.name] })]),
    );

  type MultiRow = [name: string, state: CertState, expected: { newCa: boolean; newLeaves: string[]; reasons: string[]; nextDue?: Date }];
  const multiRows: MultiRow[] = [
    [
      'empty Secret: a CA and all four leaves',
      { bundle: [], leaves: {} },
      {
        newCa: true,
        newLeaves: ['operator', 'metrics-adapter-client', 'metrics-adapter', 'webhook'],
        reasons: ['no CA', 'operator: no certificate', 'metrics-adapter-client: no certificate', 'metrics-adapter: no certificate', 'webhook: no certificate'],
      },
    ],
    [
      'healthy: nothing',
      { bundle: [caA], signingCa: caA, leaves: all('A', 10 * DAY, 365 * DAY) },
      { newCa: false, newLeaves: [], reasons: [], nextDue: at(355 * DAY - 90 * DAY) },
    ],
    [
      "upgrade from KEDA's shared pair (both usages in tls.crt): the controller's leaf loses clientAuth, the others are added",
      { bundle: [caA], signingCa: caA, leaves: { operator: leaf('A', 10 * DAY, 365 * DAY, { usages: ['client', 'server'] }) } },
      {
        newCa: false,
        newLeaves: ['operator', 'metrics-adapter-client', 'metrics-adapter', 'webhook'],
        reasons: [
          'operator: certificate key usage changed',
          'metrics-adapter-client: no certificate',
          'metrics-adapter: no certificate',
          'webhook: no certificate',
        ],
      },
    ],
    [
      'one leaf in its renewal window: only that one',
      { bundle: [caA], signingCa: caA, leaves: { ...all('A', 10 * DAY, 365 * DAY), webhook: leaf('A', 300 * DAY, 365 * DAY, { hosts: WEBHOOK_HOSTS, commonName: 'keda-admission-webhooks' }) } },
      { newCa: false, newLeaves: ['webhook'], reasons: ['webhook: certificate expires soon'] },
    ],
    [
      'subject changed (a client certificate under another name): re-issued',
      { bundle: [caA], signingCa: caA, leaves: all('A', 10 * DAY, 365 * DAY, { 'metrics-adapter-client': { commonName: 'keda-operator' } }) },
      { newCa: false, newLeaves: ['metrics-adapter-client'], reasons: ['metrics-adapter-client: certificate subject changed'] },
    ],
    [
      'a client certificate that could also serve: re-issued client-only',
      { bundle: [caA], signingCa: caA, leaves: all('A', 10 * DAY, 365 * DAY, { 'metrics-adapter-client': { usages: ['client', 'server'] } }) },
      { newCa: false, newLeaves: ['metrics-adapter-client'], reasons: ['metrics-adapter-client: certificate key usage changed'] },
    ],
    [
      'CA near expiry, step 1: a new CA, every leaf stays',
      { bundle: [caOld], signingCa: caOld, leaves: all('OLD', 10 * DAY, 200 * DAY) },
      { newCa: true, newLeaves: [], reasons: ['CA expires soon'], nextDue: at(5 * 60_000) },
    ],
    [
      'CA rollover step 2: every leaf re-signed by the new CA',
      { bundle: [caNewSettled, caOld], signingCa: caNewSettled, leaves: all('OLD', 10 * DAY, 200 * DAY) },
      {
        newCa: false,
        newLeaves: ['operator', 'metrics-adapter-client', 'metrics-adapter', 'webhook'],
        reasons: specs.map((l) => `${l.name}: CA rollover: signing the certificate with the new CA`),
      },
    ],
    [
      'rollover waiting: a leaf due for renewal waits for the switch instead of being signed early by the new CA',
      { bundle: [caNew, caOld], signingCa: caNew, leaves: all('OLD', 10 * DAY, 200 * DAY, { 'metrics-adapter-client': { notAfter: at(DAY) } }) },
      { newCa: false, newLeaves: [], reasons: [], nextDue: at(4 * 60_000) },
    ],
    [
      'rollover waiting, but a leaf expires before the switch: issued now',
      { bundle: [caNew, caOld], signingCa: caNew, leaves: all('OLD', 10 * DAY, 200 * DAY, { webhook: { notAfter: at(60_000) } }) },
      { newCa: false, newLeaves: ['webhook'], reasons: ['webhook: certificate expires soon'] },
    ],
    [
      'step 1 with a leaf due for renewal: it waits for the rollover too',
      { bundle: [caOld], signingCa: caOld, leaves: all('OLD', 10 * DAY, 200 * DAY, { operator: { notAfter: at(DAY) } }) },
      { newCa: true, newLeaves: [], reasons: ['CA expires soon'], nextDue: at(5 * 60_000) },
    ],
  ];

  it.each(multiRows)('%s', (_name, state, expected) => {
    const plan = planRotation(state, NOW, kedaPolicy);
    expect({ newCa: plan.newCa, newLeaves: plan.newLeaves, reasons: plan.reasons }).toEqual({
      newCa: expected.newCa,
      newLeaves: expected.newLeaves,
      reasons: expected.reasons,
    });
    expect(plan.newLeaf).toBe(expected.newLeaves.length > 0);
    if (expected.nextDue) expect(plan.nextDue).toEqual(expected.nextDue);
  });
});

describe('checkPolicy', () => {
  it.each([
    [{ renewBeforeMs: 400 * DAY }, /renew-before .* must be shorter than the validity/],
    [{ caRenewBeforeMs: 4000 * DAY }, /CA renew-before .* must be shorter than the CA validity/],
    [{ rolloverDelayMs: 400 * DAY }, /CA rollover delay .* must be shorter than the CA renew-before/],
    [{ validityMs: 0 }, /validityMs must be > 0/],
    [{ leaves: [] }, /at least one leaf/],
    [{ leaves: [{ ...OPERATOR, hosts: [] }] }, /serving leaf operator needs at least one host name/],
    [{ leaves: [OPERATOR, OPERATOR] }, /lists leaf operator twice/],
  ] as [Partial<RotationPolicy>, RegExp][])('rejects %o', (change, message) => {
    expect(() => checkPolicy({ ...policy, ...change })).toThrow(message);
  });

  it('accepts KEDA defaults', () => {
    expect(() => checkPolicy(policy)).not.toThrow();
  });
});
