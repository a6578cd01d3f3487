import { mkdtempSync, rmSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestPki, writeTestCertDir } from '../test/testing';
import { CertificateFilesWatcher, certDirFiles } from './watch';

const logger = { info: jest.fn(), warn: jest.fn() };
const until = async (check: () => boolean, timeoutMs = 5_000) => {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('CertificateFilesWatcher', () => {
  let dir: string;
  let watcher: CertificateFilesWatcher | undefined;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'certs-watch-'))));
  afterEach(() => {
    watcher?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('waits for files that do not exist yet, then loads them', async () => {
    watcher = await CertificateFilesWatcher.open(certDirFiles(join(dir, 'later')), logger, { pollIntervalMs: 50 });
    expect(watcher.current).toBeUndefined();
    const written = await writeTestCertDir(join(dir, 'later'));
    await until(() => watcher!.current !== undefined);
    expect(watcher.current!.cert.toString()).toBe(written.certPem);
  });

  it('reloads a renamed-in certificate, notifies listeners, and ignores a key that does not match', async () => {
    await writeTestCertDir(dir);
    watcher = await CertificateFilesWatcher.open(certDirFiles(dir), logger, { pollIntervalMs: 0 });
    const first = watcher.current!.cert.toString();
    const seen: string[] = [];
    watcher.onChange((m) => seen.push(m.cert.toString()));

    // A mismatched pair (a new certificate with the old key) is skipped.
    const other = await createTestPki();
    await writeFile(join(dir, 'tls.crt.tmp'), other.leaf.certPem);
    await rename(join(dir, 'tls.crt.tmp'), join(dir, 'tls.crt'));
    await new Promise((r) => setTimeout(r, 300));
    await watcher.reload();
    expect(watcher.current!.cert.toString()).toBe(first);

    // The matching key arrives: the new pair is taken (by the directory watch alone).
    await writeFile(join(dir, 'tls.key.tmp'), other.leaf.keyPem);
    await rename(join(dir, 'tls.key.tmp'), join(dir, 'tls.key'));
    await until(() => seen.length === 1);
    expect(seen[0]).toBe(other.leaf.certPem);
    expect(await readFile(join(dir, 'tls.crt'), 'utf8')).toBe(other.leaf.certPem);
  });

  it('serves without a CA when none is asked for', async () => {
    await writeTestCertDir(dir);
    watcher = await CertificateFilesWatcher.open(certDirFiles(dir, { withCa: false }), logger);
    expect(watcher.current?.ca).toBeUndefined();
    expect(watcher.current?.key).toBeDefined();
  });
});
