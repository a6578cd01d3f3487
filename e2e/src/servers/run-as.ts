import { chmodSync, chownSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

/**
 * Servers that refuse to run as root (PostgreSQL) run as their Debian system user when the tests
 * run as root; otherwise as the current user. `setpriv` execs in place, so the server stays the
 * leader of the launcher's process group.
 */
export function asServiceUser(user: string, command: string, args: string[]): { command: string; args: string[] } {
  if (process.getuid?.() !== 0) return { command, args };
  return { command: 'setpriv', args: ['--reuid', user, '--regid', user, '--init-groups', command, ...args] };
}

/** Hands `dataDir` to `user` when running as root (and lets it traverse the launcher's state dir). */
export function giveDataDirTo(user: string, dataDir: string): void {
  if (process.getuid?.() !== 0) return;
  const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
  chmodSync(path.dirname(dataDir), 0o711);
  chownSync(dataDir, uid, gid);
}

/** chown of files written into a data dir handed to `user`. */
export function chownTo(user: string, ...files: string[]): void {
  if (process.getuid?.() !== 0) return;
  const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
  for (const f of files) chownSync(f, uid, gid);
}
