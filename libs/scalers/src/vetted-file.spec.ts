import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filePathsAllowed, readVettedFile } from './vetted-file';

describe('readVettedFile', () => {
  let base: string;
  let root: string;
  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'vetted-'));
    root = join(base, 'root');
    mkdirSync(join(root, 'certs'), { recursive: true });
    writeFileSync(join(root, 'certs', 'ca.pem'), 'PEM');
    writeFileSync(join(base, 'outside.pem'), 'SECRET-OUTSIDE');
    writeFileSync(join(root, 'big.pem'), Buffer.alloc(64 * 1024 + 1, 65));
    symlinkSync(join(base, 'outside.pem'), join(root, 'escape.pem'));
    symlinkSync('certs/ca.pem', join(root, 'inside-link.pem'));
    symlinkSync('/dev/zero', join(root, 'zero'));
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('reads a regular file under the root (relative, absolute, or through a symlink inside it)', async () => {
    expect((await readVettedFile('sslrootcert', 'certs/ca.pem', root)).toString()).toBe('PEM');
    expect((await readVettedFile('sslrootcert', join(root, 'certs/ca.pem'), root)).toString()).toBe('PEM');
    expect((await readVettedFile('sslrootcert', 'inside-link.pem', root)).toString()).toBe('PEM');
  });

  it.each<[string, () => string, string]>([
    ['a symlink escaping the root', () => 'escape.pem', "sslcert: the file is outside the operator's file root"],
    ['..', () => '../outside.pem', "sslcert: the file is outside the operator's file root"],
    ['an absolute path outside', () => join(base, 'outside.pem'), "sslcert: the file is outside the operator's file root"],
    ['/dev/zero', () => '/dev/zero', "sslcert: the file is outside the operator's file root"],
    ['/dev/zero through a symlink in the root', () => 'zero', "sslcert: the file is outside the operator's file root"],
    ['a directory', () => 'certs', 'sslcert: not a regular file'],
    ['a missing file', () => 'nope.pem', 'sslcert: cannot resolve the file (ENOENT)'],
    ['a file over the cap', () => 'big.pem', 'sslcert: the file is larger than 65536 bytes'],
  ])('refuses %s', async (_, path, message) => {
    await expect(readVettedFile('sslcert', path(), root)).rejects.toThrow(message);
  });

  it('refuses a device inside the root', async () => {
    // With the root at /dev, /dev/zero is inside it: still refused as not a regular file.
    await expect(readVettedFile('sslkey', 'zero', '/dev')).rejects.toThrow('sslkey: not a regular file');
  });

  it('allows file paths only from a ClusterTriggerAuthentication with a root', () => {
    expect(filePathsAllowed('ClusterTriggerAuthentication', true, '/etc/keda')).toBeUndefined();
    expect(filePathsAllowed('TriggerAuthentication', true, '/etc/keda')).toMatch(/only from a ClusterTriggerAuthentication/);
    expect(filePathsAllowed('ClusterTriggerAuthentication', false, '/etc/keda')).toMatch(/only from a ClusterTriggerAuthentication/);
    expect(filePathsAllowed(undefined, true, '/etc/keda')).toMatch(/only from a ClusterTriggerAuthentication/);
    expect(filePathsAllowed('ClusterTriggerAuthentication', true, undefined)).toBe('file paths need the operator to set --filepath-auth-root-path');
  });
});
