import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { MongoClient } from 'mongodb';
import type { TestServerDefinition } from './launcher';

export interface FerretdbServerOptions {
  /** The ferretdb binary (`(await ensureToolchain('extras')).ferretdb`). */
  binary: string;
  /** A SCRAM user created at startup in `database` (default `keda`); every command then needs a login. */
  user?: string;
  /** Its password (default `my-s3cret`). */
  password?: string;
  /** The database the user is created in (default `keda`). */
  database?: string;
  /**
   * Also serve TLS on the `tls` port with this certificate; with `clientCaPem` a client certificate
   * signed by that CA is required there.
   */
  tls?: { certPem: string; keyPem: string; clientCaPem?: string };
}

export function ferretdbLogin(options: Pick<FerretdbServerOptions, 'user' | 'password' | 'database'> = {}): {
  user: string;
  password: string;
  database: string;
} {
  return { user: options.user ?? 'keda', password: options.password ?? 'my-s3cret', database: options.database ?? 'keda' };
}

/** `mongodb://user:password@127.0.0.1:<port>/<database>` for the test user. */
export function ferretdbUri(port: number, options: Pick<FerretdbServerOptions, 'user' | 'password' | 'database'> = {}): string {
  const login = ferretdbLogin(options);
  return `mongodb://${encodeURIComponent(login.user)}:${encodeURIComponent(login.password)}@127.0.0.1:${port}/${encodeURIComponent(login.database)}`;
}

/**
 * FerretDB v1 (MongoDB wire protocol, SQLite backend; built by e2e/toolchain/build.sh extras) in the
 * foreground on 127.0.0.1. Its experimental SCRAM authentication is on, with one user set up at
 * start. Telemetry and the debug/metrics HTTP listener are off, so nothing leaves the process but
 * the wire-protocol listeners.
 */
export function ferretdbServer(options: FerretdbServerOptions): TestServerDefinition<'mongo' | 'tls'> {
  const login = ferretdbLogin(options);
  const file = (dataDir: string, name: string) => path.join(dataDir, name);
  return {
    name: 'ferretdb',
    ports: ['mongo', 'tls'],
    prepare: async ({ dataDir }) => {
      if (!options.tls) return;
      writeFileSync(file(dataDir, 'tls.crt'), options.tls.certPem);
      writeFileSync(file(dataDir, 'tls.key'), options.tls.keyPem, { mode: 0o600 });
      if (options.tls.clientCaPem) writeFileSync(file(dataDir, 'client-ca.crt'), options.tls.clientCaPem);
    },
    command: ({ ports, dataDir }) => ({
      command: options.binary,
      args: [
        '--handler=sqlite', `--sqlite-url=file:${dataDir}/`, `--state-dir=${dataDir}`,
        `--listen-addr=127.0.0.1:${ports.mongo}`, '--debug-addr=-', '--telemetry=disable', '--log-level=warn',
        '--test-enable-new-auth', `--setup-database=${login.database}`, `--setup-username=${login.user}`,
        ...(options.tls
          ? [`--listen-tls=127.0.0.1:${ports.tls}`, `--listen-tls-cert-file=${file(dataDir, 'tls.crt')}`,
              `--listen-tls-key-file=${file(dataDir, 'tls.key')}`,
              ...(options.tls.clientCaPem ? [`--listen-tls-ca-file=${file(dataDir, 'client-ca.crt')}`] : [])]
          : []),
      ],
      // The password goes through the environment, not the command line that `ps` shows.
      env: { FERRETDB_SETUP_PASSWORD: login.password },
    }),
    ready: async ({ ports }) => {
      await withFerretdb(ports.mongo, options, (client) => client.db(login.database).command({ ping: 1 }), 2000);
      return true;
    },
    readyTimeoutMs: 60_000,
  };
}

/** Runs `work` with a client logged in as the test user, then closes the client. */
export async function withFerretdb<T>(
  port: number,
  options: Pick<FerretdbServerOptions, 'user' | 'password' | 'database'>,
  work: (client: MongoClient, database: string) => Promise<T>,
  timeoutMs = 10_000,
): Promise<T> {
  const client = new MongoClient(ferretdbUri(port, options), { serverSelectionTimeoutMS: timeoutMs, connectTimeoutMS: timeoutMs });
  try {
    return await work(client, ferretdbLogin(options).database);
  } finally {
    await client.close();
  }
}
