import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createSecureContext, createServer as createTlsServer, type SecureContextOptions } from 'node:tls';
import { ServerCredentials, type Server } from '@grpc/grpc-js';
import { CertificateFilesWatcher } from '@keda-ts/certificates';
import type { MetricsServiceLogger } from './logger';
import { identityOfPeer, type PeerIdentity } from './authz';

/** PEM material for one side of the mutual TLS link. */
export interface TlsMaterial {
  /** CA bundle the peer's certificate must chain to (KEDA's `ca.crt`). */
  ca: string | Buffer;
  /** Our certificate chain (KEDA's `tls.crt`). */
  cert: string | Buffer;
  /** Our private key (KEDA's `tls.key`). */
  key: string | Buffer;
}

/**
 * A certificate directory as KEDA mounts it (`--cert-dir`, default `/certs`): `ca.crt`, `tls.crt`
 * and `tls.key`. Changes are picked up without a restart: the directory is watched (a Kubernetes
 * Secret volume swaps a `..data` symlink) and, as a safety net, re-read every `pollIntervalMs`.
 */
export interface CertDirSource {
  certDir: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  /** Re-read interval in addition to the directory watch; default 60 s, 0 turns polling off. */
  pollIntervalMs?: number;
}

export type TlsSource = TlsMaterial | CertDirSource;

/** KEDA_SERVICE_MIN_TLS_VERSION values. */
export type MinTlsVersion = 'TLS12' | 'TLS13';

export const DEFAULT_CERT_DIR = '/certs';

export function isCertDirSource(source: TlsSource): source is CertDirSource {
  return typeof (source as CertDirSource).certDir === 'string';
}

export function toNodeTlsVersion(version: MinTlsVersion): 'TLSv1.2' | 'TLSv1.3' {
  return version === 'TLS12' ? 'TLSv1.2' : 'TLSv1.3';
}

interface LoadedMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

const toBuffer = (v: string | Buffer) => (Buffer.isBuffer(v) ? v : Buffer.from(v));

/** Throws when the PEMs do not parse or the key does not belong to the certificate. */
function checkMaterial(m: LoadedMaterial): void {
  createSecureContext({ ca: m.ca, cert: m.cert, key: m.key });
}

/**
 * The current TLS material, fixed or read from a certificate directory and reloaded when it
 * changes (through the shared {@link CertificateFilesWatcher}); new connections use the current
 * material. A reload that reads an inconsistent set (a key that does not match the certificate, a
 * half written file) is logged and ignored; the last good material stays in use.
 */
export class TlsMaterialSource {
  private material: LoadedMaterial | null = null;
  private readonly changeListeners = new Set<(m: LoadedMaterial) => void>();
  private watcher: CertificateFilesWatcher | null = null;

  /** Loads the material once (throwing when it is missing or invalid) and starts watching. */
  static async open(source: TlsSource, logger: MetricsServiceLogger): Promise<TlsMaterialSource> {
    const s = new TlsMaterialSource();
    if (!isCertDirSource(source)) {
      const fixed = { ca: toBuffer(source.ca), cert: toBuffer(source.cert), key: toBuffer(source.key) };
      checkMaterial(fixed);
      s.material = fixed;
      return s;
    }
    const files = {
      ca: join(source.certDir, source.caFile ?? 'ca.crt'),
      cert: join(source.certDir, source.certFile ?? 'tls.crt'),
      key: join(source.certDir, source.keyFile ?? 'tls.key'),
    };
    const watcher = await CertificateFilesWatcher.open(files, logger, { pollIntervalMs: source.pollIntervalMs ?? 60_000 });
    const first = watcher.current;
    if (!first?.ca) {
      watcher.close();
      // Read once more for the precise cause (missing file, key mismatch...).
      const [ca, cert, key] = await Promise.all([readFile(files.ca), readFile(files.cert), readFile(files.key)]);
      checkMaterial({ ca, cert, key });
      throw new Error(`TLS material in ${source.certDir} could not be loaded`);
    }
    s.material = { ca: first.ca, cert: first.cert, key: first.key };
    s.watcher = watcher;
    watcher.onChange((m) => {
      if (m.ca) s.apply({ ca: m.ca, cert: m.cert, key: m.key });
    });
    return s;
  }

  get current(): LoadedMaterial {
    if (!this.material) throw new Error('TLS material is not loaded');
    return this.material;
  }

  /** Calls `listener` after every reload that changed the material. */
  onChange(listener: (m: LoadedMaterial) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Re-reads the directory now (no-op for fixed material); resolves when done. */
  reload(): Promise<void> {
    return this.watcher ? this.watcher.reload() : Promise.resolve();
  }

  close(): void {
    this.watcher?.close();
    this.watcher = null;
    this.changeListeners.clear();
  }

  private apply(next: LoadedMaterial): void {
    this.material = next;
    for (const l of this.changeListeners) l(next);
  }
}

export interface ServerTlsOptions {
  minTlsVersion?: MinTlsVersion;
  /** OpenSSL cipher list for TLS 1.2 (TLS 1.3 suites are not affected); default: Node's. */
  ciphers?: string;
}

/** A TLS listener that feeds a grpc-js server (see {@link listenMutualTls}). */
export interface MutualTlsListener {
  /** The bound port. */
  readonly port: number;
  /**
   * The certificate identity of the live connection a call came on, by the call's `getPeer()`
   * (`address:port`), read once at the handshake; undefined when no single live connection has that
   * peer address, and the caller then reads the call's own auth context.
   */
  identityOf(peer: string): PeerIdentity | undefined;
  /**
   * Stops accepting connections and following the material; resolves once every accepted
   * connection has closed (the gRPC server drains or cancels them: tryShutdown / forceShutdown).
   */
  close(): Promise<void>;
}

/**
 * Serves `server` over mutual TLS on `host:port`, following a {@link TlsMaterialSource}: a client
 * must present a certificate that chains to `ca.crt` (Go's RequireAndVerifyClientCert), the
 * minimum protocol version (and the TLS 1.2 ciphers, when given) is enforced, and new connections
 * use reloaded material at once (existing ones keep theirs).
 *
 * Public APIs only: node:tls terminates TLS (its `minVersion`/`ciphers` options and
 * `setSecureContext` for reloads) and hands each connection to grpc-js through
 * `Server.createConnectionInjector`. grpc-js' own reloading credentials
 * (`experimental.createCertificateProviderServerCredentials`) take certificates only, no
 * minimum TLS version or ciphers, so KEDA_SERVICE_MIN_TLS_VERSION could not be honoured with them.
 */
export async function listenMutualTls(
  server: Pick<Server, 'createConnectionInjector'>,
  source: TlsMaterialSource,
  address: { host: string; port: number },
  logger: MetricsServiceLogger,
  options: ServerTlsOptions = {},
): Promise<MutualTlsListener> {
  const extras: Pick<SecureContextOptions, 'minVersion' | 'ciphers'> = {
    minVersion: toNodeTlsVersion(options.minTlsVersion ?? 'TLS13'),
  };
  if (options.ciphers) extras.ciphers = options.ciphers;
  const contextOptions = (m: LoadedMaterial): SecureContextOptions => ({ ca: m.ca, cert: m.cert, key: m.key, ...extras });
  // The TLS socket is the connection grpc-js serves (its auth context reads the peer certificate).
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  const identities = new Map<string, Set<{ identity: PeerIdentity | undefined }>>();
  const tlsServer = createTlsServer(
    { ...contextOptions(source.current), requestCert: true, rejectUnauthorized: true, ALPNProtocols: ['h2'] },
    (socket) => {
      // Socket errors end the HTTP/2 session; without a listener they would be thrown.
      socket.on('error', ignore);
      // The peer certificate is read once per connection, not per call (getPeerCertificate builds a new
      // object with three fingerprints every time). An entry lives as long as its socket; a peer address
      // two live connections share (one source port to two local addresses) answers nothing, so a call
      // never gets another connection's identity.
      const key = `${socket.remoteAddress}:${socket.remotePort}`;
      const entry = { identity: identityOfPeer(socket.getPeerCertificate()) };
      const live = identities.get(key) ?? new Set();
      identities.set(key, live.add(entry));
      socket.once('close', () => {
        live.delete(entry);
        if (live.size === 0 && identities.get(key) === live) identities.delete(key);
      });
      injector.injectConnection(socket);
    },
  );
  const unsubscribe = source.onChange((m) => {
    try {
      tlsServer.setSecureContext(contextOptions(m));
    } catch (err) {
      logger.warn({ err }, 'cannot apply the reloaded TLS material; keeping the previous one');
    }
  });
  try {
    await new Promise<void>((resolve, reject) => {
      tlsServer.once('error', reject);
      tlsServer.listen(address.port, address.host, () => {
        tlsServer.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    unsubscribe();
    injector.destroy();
    throw err;
  }
  return {
    port: (tlsServer.address() as AddressInfo).port,
    identityOf(peer) {
      const live = identities.get(peer);
      return live?.size === 1 ? live.values().next().value?.identity : undefined;
    },
    close() {
      unsubscribe();
      return new Promise<void>((resolve) => tlsServer.close(() => resolve()));
    },
  };
}

function ignore(): void {
  // See the 'error' listener above.
}
