import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { kedaLeafSpecs, LEAF_FILES, LEAF_NAMES } from './components';
import { createCertificateAuthority, issueCertificate } from './issue';
import { inspectBundle, splitPemCertificates, subjectAltNames, type CertificateBundle } from './inspect';
import type { RotationPolicy } from './plan';
import { rotate, serviceHosts } from './rotate';

const MIN = 60_000;
const DAY = 86_400_000;
const HOSTS = [...serviceHosts(['keda-operator', 'keda-metrics-apiserver'], 'keda', 'cluster.local'), '127.0.0.1', 'localhost'];
const LOCAL = ['127.0.0.1', 'localhost'];
const LEAVES = kedaLeafSpecs({
  operator: [...serviceHosts(['keda-operator'], 'keda', 'cluster.local'), ...LOCAL],
  metricsAdapter: [...serviceHosts(['keda-metrics-apiserver'], 'keda', 'cluster.local'), ...LOCAL],
  webhook: [...serviceHosts(['keda-admission-webhooks'], 'keda', 'cluster.local'), ...LOCAL],
});
/** The pair of one leaf as a bundle with tls.crt/tls.key (what mutualTls and trusts read). */
const pairOf = (b: CertificateBundle, name: (typeof LEAF_NAMES)[number]): CertificateBundle => ({
  'ca.crt': b['ca.crt'],
  'tls.crt': b[LEAF_FILES[name].cert],
  'tls.key': b[LEAF_FILES[name].key],
});

/** A mutual-TLS handshake in both roles with one pair (as KEDA's gRPC link uses it). */
async function mutualTls(server: CertificateBundle, client: CertificateBundle, servername = 'keda-operator.keda.svc'): Promise<string> {
  const srv = tls.createServer({ cert: server['tls.crt'], key: server['tls.key'], ca: server['ca.crt'], requestCert: true, rejectUnauthorized: true }, (s) =>
    s.end('ok'),
  );
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  try {
    return await new Promise<string>((resolve, reject) => {
      const socket = tls.connect(
        { port: (srv.address() as AddressInfo).port, host: '127.0.0.1', servername, ca: client['ca.crt'], cert: client['tls.crt'], key: client['tls.key'] },
        () => undefined,
      );
      let data = '';
      socket.on('data', (d) => (data += d));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
  } finally {
    srv.close();
  }
}

describe('issuing', () => {
  it('issues a CA and a serving+client certificate with KEDA names that Node TLS accepts both ways', async () => {
    const now = new Date();
    const ca = await createCertificateAuthority({ commonName: 'KEDA', organization: 'KEDAORG', now, validityMs: DAY });
    const leaf = await issueCertificate({ ca, commonName: 'keda-operator', organization: 'KEDAORG', hosts: HOSTS, now, validityMs: DAY });
    const cert = new X509Certificate(leaf.certPem);
    expect(cert.subject).toContain('CN=keda-operator');
    expect(cert.issuer).toContain('CN=KEDA');
    expect(cert.ca).toBe(false);
    expect(new X509Certificate(ca.certPem).ca).toBe(true);
    expect(cert.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']));
    expect(subjectAltNames(cert)).toEqual(HOSTS.map((h) => h.toLowerCase()));
    const bundle = { 'ca.crt': ca.certPem, 'ca.key': ca.keyPem, 'tls.crt': leaf.certPem, 'tls.key': leaf.keyPem };
    await expect(mutualTls(bundle, bundle)).resolves.toBe('ok');
    await expect(mutualTls(bundle, bundle, '127.0.0.1')).resolves.toBe('ok');
  });

  it("copies the CA's subject bytes into the leaf's issuer (Go clients match them to pick their certificate)", async () => {
    const { execFileSync } = await import('node:child_process');
    const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'issuer-bytes-'));
    try {
      // openssl encodes the CN as UTF8String; a re-encoded name would say PrintableString.
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/O=Corp/CN=corp-ca',
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign'], { cwd: dir, stdio: 'ignore' });
      const ca = { certPem: readFileSync(join(dir, 'ca.crt'), 'utf8'), keyPem: readFileSync(join(dir, 'ca.key'), 'utf8') };
      const leaf = await issueCertificate({ ca, commonName: 'x', hosts: [], usages: ['client'], now: new Date(), validityMs: DAY });
      const { X509Certificate: PeculiarCert } = await import('@peculiar/x509');
      const rawName = (n: { toArrayBuffer(): ArrayBuffer }) => Buffer.from(n.toArrayBuffer()).toString('hex');
      expect(rawName(new PeculiarCert(leaf.certPem).issuerName)).toBe(rawName(new PeculiarCert(ca.certPem).subjectName));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('never lets a leaf outlive its CA', async () => {
    const now = new Date();
    const ca = await createCertificateAuthority({ commonName: 'KEDA', now, validityMs: MIN });
    const leaf = await issueCertificate({ ca, commonName: 'x', hosts: ['x'], now, validityMs: DAY });
    expect(new Date(new X509Certificate(leaf.certPem).validTo).getTime()).toBeLessThanOrEqual(now.getTime() + MIN);
  });

  it('signs with an RSA CA key too', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const now = new Date();
    const ec = await createCertificateAuthority({ commonName: 'KEDA', now, validityMs: DAY });
    // An RSA key does not match ec's certificate; issuing only needs the key, inspect would reject the pair.
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs1' }).toString();
    await expect(issueCertificate({ ca: { certPem: ec.certPem, keyPem: rsa }, commonName: 'x', hosts: ['x'], now, validityMs: DAY })).resolves.toHaveProperty('certPem');
    await expect(issueCertificate({ ca: { certPem: ec.certPem, keyPem: 'nonsense' }, commonName: 'x', hosts: ['x'], now, validityMs: DAY })).rejects.toThrow();
  });
});

/** Whether `peer` (its ca.crt) can verify the certificate `owner` presents (signature, not time). */
const trusts = (peer: CertificateBundle, owner: CertificateBundle) =>
  inspectBundle({ 'ca.crt': peer['ca.crt'], 'tls.crt': owner['tls.crt'], 'tls.key': owner['tls.key'] }).leaves.operator?.issuer !== undefined;

describe('rotate (issuing on an injected clock)', () => {
  // Short lifetimes, as the e2e test runs them: CA 1 h (renewed in its last 20 min), leaf 10 min (renewed in its last 4).
  const policy: RotationPolicy = {
    caValidityMs: 60 * MIN,
    caRenewBeforeMs: 20 * MIN,
    validityMs: 10 * MIN,
    renewBeforeMs: 4 * MIN,
    rolloverDelayMs: 2 * MIN,
    leaves: LEAVES,
  };
  const t0 = new Date('2031-01-01T00:00:00Z');
  const at = (m: number) => new Date(t0.getTime() + m * MIN);

  it('creates, leaves alone, renews the leaf, rolls the CA over in two steps and drops the old CA after it expires', async () => {
    const created = await rotate({}, t0, policy);
    expect(created.plan.reasons).toEqual(['no CA', ...LEAF_NAMES.map((n) => `${n}: no certificate`)]);
    const s1 = created.next!;
    expect(splitPemCertificates(s1['ca.crt'])).toHaveLength(1);
    // One leaf per component, each with only its usage and its names.
    const eku = (pem: string | undefined) => new X509Certificate(pem!).keyUsage;
    expect(eku(s1['tls.crt'])).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(eku(s1['metrics-adapter-client.crt'])).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(eku(s1['metrics-adapter.crt'])).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(eku(s1['webhook.crt'])).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(new X509Certificate(s1['metrics-adapter-client.crt']!).subject).toBe('CN=keda-metrics-adapter\nO=KEDAORG');
    expect(new X509Certificate(s1['metrics-adapter-client.crt']!).subjectAltName).toBeUndefined();
    expect(subjectAltNames(new X509Certificate(s1['webhook.crt']!))).toContain('keda-admission-webhooks.keda.svc');
    expect(subjectAltNames(new X509Certificate(s1['webhook.crt']!))).not.toContain('keda-operator.keda.svc');
    expect((await rotate(s1, at(1), policy)).next).toBeUndefined();

    // Leaf inside its renewal window: same CA, new leaf.
    const renewed = await rotate(s1, at(7), policy);
    const s2 = renewed.next!;
    expect(renewed.plan.reasons).toEqual(LEAF_NAMES.map((n) => `${n}: certificate expires soon`));
    expect(s2['ca.crt']).toBe(s1['ca.crt']);
    expect(s2['tls.crt']).not.toBe(s1['tls.crt']);
    // Peers still holding the old leaf keep working with the new one (same CA).
    expect(trusts(s1, s2) && trusts(s2, s1)).toBe(true);

    // CA inside its renewal window: step 1, new CA first in the bundle, leaf unchanged.
    let s = s2;
    for (const m of [13, 19.5, 26, 32.5, 38.6]) s = (await rotate(s, at(m), policy)).next ?? s; // keep leaves fresh
    const step1 = await rotate(s, at(40.5), policy);
    expect(step1.plan).toMatchObject({ newCa: true, newLeaf: false, reasons: ['CA expires soon'] });
    const s3 = step1.next!;
    expect(splitPemCertificates(s3['ca.crt'])).toHaveLength(2);
    for (const n of LEAF_NAMES) expect(s3[LEAF_FILES[n].cert]).toBe(s[LEAF_FILES[n].cert]);
    // Before the delay nothing happens; old and new bundles interoperate (old leaf, both CAs trusted).
    expect((await rotate(s3, at(42), policy)).next).toBeUndefined();
    expect(trusts(s, s3) && trusts(s3, s)).toBe(true);

    // Step 2: the leaf is re-signed by the new CA; a peer with the two-CA bundle accepts it.
    const step2 = await rotate(s3, at(43.5), policy);
    expect(step2.plan.reasons).toEqual(LEAF_NAMES.map((n) => `${n}: CA rollover: signing the certificate with the new CA`));
    const s4 = step2.next!;
    const state = inspectBundle(s4);
    for (const n of LEAF_NAMES) expect(state.leaves[n]!.issuer).toBe(state.signingCa!.fingerprint);
    expect(state.bundle).toHaveLength(2);
    expect(trusts(s3, s4) && trusts(s4, s3)).toBe(true);
    // A peer that never saw the two-CA bundle would not: that is what the delay protects.
    expect(trusts(s, s4)).toBe(false);

    // After the old CA expires (t0 + 60 min) it leaves the bundle.
    const dropped = await rotate(s4, at(61), policy);
    expect(splitPemCertificates(dropped.next!['ca.crt'])).toHaveLength(1);
  });

  it('issues leaves that work only in their role (real clock: TLS checks validity)', async () => {
    const s1 = (await rotate({}, new Date(), policy)).next!;
    // The gRPC link: the controller serves with its leaf, the adapter authenticates with its client leaf.
    await expect(mutualTls(pairOf(s1, 'operator'), pairOf(s1, 'metrics-adapter-client'))).resolves.toBe('ok');
    // A serving-only leaf is refused as a client certificate (TLS checks the extended key usage)...
    // (TLS 1.3: the client may finish its side and then sees the connection closed without data).
    const refused = (p: Promise<string>) => p.then((data) => data !== 'ok', () => true);
    await expect(refused(mutualTls(pairOf(s1, 'operator'), pairOf(s1, 'webhook')))).resolves.toBe(true);
    await expect(refused(mutualTls(pairOf(s1, 'operator'), pairOf(s1, 'metrics-adapter')))).resolves.toBe(true);
    // ...and a client-only leaf cannot serve.
    await expect(refused(mutualTls(pairOf(s1, 'metrics-adapter-client'), pairOf(s1, 'metrics-adapter-client')))).resolves.toBe(true);
  });

  it('replaces garbage in the Secret', async () => {
    const r = await rotate({ 'ca.crt': 'nope', 'tls.crt': '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' }, t0, policy);
    expect(r.plan).toMatchObject({ newCa: true, newLeaf: true });
    expect(inspectBundle(r.next!).leaves.operator?.keyMatches).toBe(true);
  });
});
