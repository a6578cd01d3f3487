/**
 * Reading a file named in a trigger's settings (issue 17). A path a tenant controls is a
 * file-existence oracle, stalls the event loop (`/dev/zero`), or presents the controller's own key
 * to a server of the tenant's choosing. Scalers therefore accept file paths only from a
 * ClusterTriggerAuthentication (written by the cluster's operators) and only when the operator set
 * a root (`--filepath-auth-root-path`, ScalerContext.filePathRoot); the file is then read here:
 * resolved with realpath, inside the root, a regular file, size-capped, asynchronously.
 */
import { constants } from 'node:fs';
import { lstat, open, realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { filePathsAllowed } from '@keda-ts/scaler-sdk';
import { LocalError } from './upstream-errors';

export { filePathsAllowed };

/** Largest file read (certificates and keys are a few KiB). */
export const VETTED_FILE_MAX_BYTES = 64 * 1024;


/**
 * The content of `path` (relative paths are taken under `root`), refused unless its real path is
 * a regular file inside the real `root` of at most `maxBytes`. `what` names the option in messages;
 * the path itself is not shown.
 */
export async function readVettedFile(what: string, path: string, root: string, maxBytes = VETTED_FILE_MAX_BYTES): Promise<Buffer> {
  const fail = (reason: string) => new LocalError(`${what}: ${reason}`);
  if (!isAbsolute(root)) throw fail('the operator file root is not an absolute path');
  let realRoot: string;
  let real: string;
  try {
    realRoot = await realpath(root);
    real = await realpath(resolve(realRoot, path));
  } catch (err) {
    throw fail(`cannot resolve the file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const rel = relative(realRoot, real);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) throw fail("the file is outside the operator's file root");
  // lstat before open: opening a FIFO or a device could block or never end.
  const before = await lstat(real).catch(() => undefined);
  if (!before?.isFile()) throw fail('not a regular file');
  if (before.size > maxBytes) throw fail(`the file is larger than ${maxBytes} bytes`);
  // O_NOFOLLOW and O_NONBLOCK: a path swapped for a symlink or FIFO since the checks fails here.
  const flags = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);
  let handle;
  try {
    handle = await open(real, flags);
  } catch (err) {
    throw fail(`cannot open the file (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile() || stat.ino !== before.ino || stat.dev !== before.dev) throw fail('the file changed while it was checked');
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > maxBytes) throw fail(`the file is larger than ${maxBytes} bytes`);
    return buffer.subarray(0, length);
  } finally {
    await handle.close();
  }
}
