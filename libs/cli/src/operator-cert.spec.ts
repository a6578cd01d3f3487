import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestPki } from '@keda-ts/certificates/testing';
import { ExitCode } from './exit-codes';
import { parseValidity, readClientCertDir } from './operator-cert';
import { runCli } from './program';

describe('keda-ts operator-certificate', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'operator-cert-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const io = () => {
    const out = { stdout: '', stderr: '' };
    return { out, io: { stdout: (t: string) => (out.stdout += t), stderr: (t: string) => (out.stderr += t), env: {} } };
  };

  it('issues a clientAuth certificate CN=<name>, O=keda-operators from a CA dir, which explain reads', async () => {
    const pki = await createTestPki();
    writeFileSync(join(dir, 'ca.crt'), pki.ca.certPem);
    writeFileSync(join(dir, 'ca.key'), pki.ca.keyPem);
    const { out, io: cliIo } = io();
    const code = await runCli(['operator-certificate', '--name', 'alice', '--ca-dir', dir, '--out', join(dir, 'out'), '--validity', '2h'], cliIo);
    expect(out.stderr).toBe('');
    expect(code).toBe(ExitCode.Ok);
    const cert = new X509Certificate(readFileSync(join(dir, 'out', 'operator.crt')));
    expect(cert.subject).toBe('CN=alice\nO=keda-operators');
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(cert.verify(new X509Certificate(pki.ca.certPem).publicKey)).toBe(true);
    expect(new Date(cert.validTo).getTime() - Date.now()).toBeLessThanOrEqual(2 * 3_600_000);
    expect(statSync(join(dir, 'out', 'operator.key')).mode & 0o777).toBe(0o600);
    expect(readClientCertDir(join(dir, 'out')).cert.toString()).toContain('BEGIN CERTIFICATE');
  });

  it('refuses a CA key that belongs to no CA in ca.crt', async () => {
    const a = await createTestPki();
    const b = await createTestPki();
    writeFileSync(join(dir, 'ca.crt'), a.ca.certPem);
    writeFileSync(join(dir, 'ca.key'), b.ca.keyPem);
    const { out, io: cliIo } = io();
    expect(await runCli(['operator-certificate', '--name', 'x', '--ca-dir', dir, '--out', join(dir, 'out')], cliIo)).toBe(ExitCode.Usage);
    expect(out.stderr).toContain('ca.key does not belong to any CA in ca.crt');
  });

  it('falls back to tls.crt/tls.key in a cert dir without operator.crt', () => {
    writeFileSync(join(dir, 'ca.crt'), 'ca');
    writeFileSync(join(dir, 'tls.crt'), 'crt');
    writeFileSync(join(dir, 'tls.key'), 'key');
    expect(readClientCertDir(dir).cert.toString()).toBe('crt');
  });

  it.each([
    ['24h', 86_400_000],
    ['7d', 7 * 86_400_000],
    ['90s', 90_000],
  ])('parses --validity %s', (v, ms) => expect(parseValidity(v)).toBe(ms));
  it('rejects a bad --validity', () => expect(() => parseValidity('1y')).toThrow(/duration like 24h/));
});
