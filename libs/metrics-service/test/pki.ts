/**
 * Test PKI made with the `openssl` binary: CAs and leaf certificates (EC P-256) for loopback
 * mutual TLS, and a certificate directory laid out like a mounted Kubernetes Secret
 * (`ca.crt -> ..data/ca.crt`, `..data -> ..<timestamp>`), so reloads can swap `..data`.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export interface Pem {
  cert: string;
  key: string;
}

const openssl = (args: string[], cwd: string) =>
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

let counter = 0;

export function createCa(dir: string, commonName: string): Pem {
  mkdirSync(dir, { recursive: true });
  const base = `ca-${++counter}`;
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/O=KEDAORG/CN=${commonName}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-keyout',
      `${base}.key`,
      '-out',
      `${base}.crt`,
    ],
    dir,
  );
  return {
    cert: readFileSync(join(dir, `${base}.crt`), 'utf8'),
    key: readFileSync(join(dir, `${base}.key`), 'utf8'),
  };
}

/** A leaf for both server and client auth (unless `options.usages`), signed by `ca`, with DNS/IP SANs. */
export function createLeaf(
  dir: string,
  ca: Pem,
  commonName: string,
  sans: string[] = ['127.0.0.1', 'localhost'],
  options: { organization?: string; usages?: 'serverAuth' | 'clientAuth' | 'serverAuth,clientAuth' } = {},
): Pem {
  mkdirSync(dir, { recursive: true });
  const base = `leaf-${++counter}`;
  writeFileSync(join(dir, `${base}-ca.crt`), ca.cert);
  writeFileSync(join(dir, `${base}-ca.key`), ca.key);
  const san = sans.map((s) => (/^[\d.]+$|:/.test(s) ? `IP:${s}` : `DNS:${s}`)).join(',');
  writeFileSync(
    join(dir, `${base}.ext`),
    [
      `subjectAltName=${san}`,
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage=${options.usages ?? 'serverAuth,clientAuth'}`,
    ].join('\n'),
  );
  openssl(
    [
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      `/O=${options.organization ?? 'KEDAORG'}/CN=${commonName}`,
      '-keyout',
      `${base}.key`,
      '-out',
      `${base}.csr`,
    ],
    dir,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      `${base}.csr`,
      '-CA',
      `${base}-ca.crt`,
      '-CAkey',
      `${base}-ca.key`,
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      `${base}.ext`,
      '-out',
      `${base}.crt`,
    ],
    dir,
  );
  return {
    cert: readFileSync(join(dir, `${base}.crt`), 'utf8'),
    key: readFileSync(join(dir, `${base}.key`), 'utf8'),
  };
}

/**
 * Writes `ca.crt`, `tls.crt` and `tls.key` the way the kubelet updates a Secret volume: into a new
 * `..<n>` directory, then an atomic rename of a new `..data` symlink over the old one. The
 * top-level names are symlinks through `..data` (created on the first write).
 */
export function writeCertDir(dir: string, ca: Pem, leaf: Pem): void {
  mkdirSync(dir, { recursive: true });
  const version = `..${Date.now()}_${++counter}`;
  mkdirSync(join(dir, version));
  writeFileSync(join(dir, version, 'ca.crt'), ca.cert);
  writeFileSync(join(dir, version, 'tls.crt'), leaf.cert);
  writeFileSync(join(dir, version, 'tls.key'), leaf.key);
  symlinkSync(version, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const f of ['ca.crt', 'tls.crt', 'tls.key'])
    if (!existsSync(join(dir, f))) symlinkSync(join('..data', f), join(dir, f));
}
