/**
 * `keda-ts operator-certificate`: an operator's client certificate for the controller's debug
 * service (`keda-ts explain`), issued from KEDA's CA. The gRPC server allows the debug service to
 * certificates with subject O=keda-operators only (and GetMetrics to CN=keda-metrics-adapter only).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspectBundle, issueCertificate, OPERATOR_GROUP, type CertificateBundle } from '@keda-ts/certificates';
import { CliError, ExitCode } from './exit-codes';

/** Files of a CLI cert dir (`--cert-dir`, KEDA_TS_CERT_DIR). */
export const OPERATOR_CERT_FILES = { ca: 'ca.crt', cert: 'operator.crt', key: 'operator.key' } as const;

export interface OperatorCertificateOptions {
  /** Subject CN: who holds it (appears in the controller's log when refused). */
  name: string;
  /** ca.crt (bundle) and ca.key of KEDA's Secret. */
  ca: CertificateBundle;
  validityMs: number;
  now?: Date;
}

/** A clientAuth certificate CN=<name>, O=keda-operators signed by the CA whose key is ca.key. */
export async function issueOperatorCertificate(o: OperatorCertificateOptions): Promise<{ caPem: string; certPem: string; keyPem: string }> {
  if (!o.name || /[\n\r]/.test(o.name)) throw new CliError('--name must be a non-empty single-line name', ExitCode.Usage);
  const state = inspectBundle({ 'ca.crt': o.ca['ca.crt'], 'ca.key': o.ca['ca.key'] });
  if (!state.signingCa) throw new CliError('ca.key does not belong to any CA in ca.crt (or one of them is missing)', ExitCode.Usage);
  const now = o.now ?? new Date();
  const leaf = await issueCertificate({
    ca: { certPem: state.signingCa.pem, keyPem: o.ca['ca.key']! },
    commonName: o.name,
    organization: OPERATOR_GROUP,
    hosts: [],
    usages: ['client'],
    now,
    validityMs: o.validityMs,
  });
  return { caPem: o.ca['ca.crt']!, certPem: leaf.certPem, keyPem: leaf.keyPem };
}

/** Writes ca.crt, operator.crt and operator.key (0600) into `dir`. */
export function writeOperatorCertDir(dir: string, pems: { caPem: string; certPem: string; keyPem: string }): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, OPERATOR_CERT_FILES.ca), pems.caPem);
  writeFileSync(join(dir, OPERATOR_CERT_FILES.cert), pems.certPem);
  writeFileSync(join(dir, OPERATOR_CERT_FILES.key), pems.keyPem, { mode: 0o600 });
  chmodSync(join(dir, OPERATOR_CERT_FILES.key), 0o600);
}

/**
 * The client pair of a CLI cert dir: operator.crt/operator.key, else tls.crt/tls.key (a pair made
 * with openssl under KEDA's names; it must still carry O=keda-operators for the debug service).
 */
export function readClientCertDir(dir: string): { ca: Buffer; cert: Buffer; key: Buffer } {
  const own = existsSync(join(dir, OPERATOR_CERT_FILES.cert));
  const [certFile, keyFile] = own ? [OPERATOR_CERT_FILES.cert, OPERATOR_CERT_FILES.key] : ['tls.crt', 'tls.key'];
  try {
    return { ca: readFileSync(join(dir, 'ca.crt')), cert: readFileSync(join(dir, certFile)), key: readFileSync(join(dir, keyFile)) };
  } catch (err) {
    throw new CliError(
      `cannot read the operator certificate from --cert-dir ${dir} (ca.crt and operator.crt/operator.key, see keda-ts operator-certificate): ${err instanceof Error ? err.message : String(err)}`,
      ExitCode.Usage,
    );
  }
}

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `30m`, `24h`, `7d`. */
export function parseValidity(v: string): number {
  const m = /^(\d+)([smhd])$/.exec(v.trim());
  const ms = m ? Number(m[1]) * UNITS[m[2]!]! : NaN;
  if (!(ms > 0)) throw new CliError(`--validity must be a duration like 24h or 7d, got ${JSON.stringify(v)}`, ExitCode.Usage);
  return ms;
}
