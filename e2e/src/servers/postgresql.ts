import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import * as path from 'node:path';
import type { ServerContext, TestServerDefinition } from './launcher';
import { asServiceUser, chownTo, giveDataDirTo } from './run-as';

const BIN = '/usr/lib/postgresql/15/bin';
const execFileAsync = promisify(execFile);

export interface PostgresqlServerOptions {
  /** The superuser initdb creates (default `keda`). */
  user?: string;
  /** Its password (default `pg-s3cret`); every TCP and socket login uses scram-sha-256. */
  password?: string;
  /** Serve TLS with this certificate (clients may still connect without TLS). */
  tls?: { certPem: string; keyPem: string };
}

export interface PostgresqlServerInfo {
  user: string;
  password: string;
  database: string;
}

/** Login of a server started from postgresqlServer(options). */
export function postgresqlLogin(options: PostgresqlServerOptions = {}): PostgresqlServerInfo {
  return { user: options.user ?? 'keda', password: options.password ?? 'pg-s3cret', database: 'postgres' };
}

/**
 * A PostgreSQL 15 server (Debian `postgresql-15`): initdb into the temp dir, then `postgres` in the
 * foreground on 127.0.0.1 with its socket in the data dir. Runs as the `postgres` system user
 * when the tests run as root (PostgreSQL refuses root).
 */
export function postgresqlServer(options: PostgresqlServerOptions = {}): TestServerDefinition<'pg'> {
  const login = postgresqlLogin(options);
  const pgdata = (dataDir: string) => path.join(dataDir, 'pgdata');
  const runAs = (ctx: ServerContext, command: string, args: string[]) => {
    const c = asServiceUser('postgres', command, args);
    return ctx.run(c.command, c.args);
  };
  return {
    name: 'postgresql',
    ports: ['pg'],
    prepare: async (ctx) => {
      giveDataDirTo('postgres', ctx.dataDir);
      const pwfile = path.join(ctx.dataDir, 'pwfile');
      writeFileSync(pwfile, `${login.password}\n`, { mode: 0o600 });
      chownTo('postgres', pwfile);
      await runAs(ctx, `${BIN}/initdb`, [
        '-D', pgdata(ctx.dataDir), '-U', login.user, `--pwfile=${pwfile}`, '-A', 'scram-sha-256',
        '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions',
      ]);
      if (options.tls) {
        const cert = path.join(pgdata(ctx.dataDir), 'server.crt');
        const key = path.join(pgdata(ctx.dataDir), 'server.key');
        writeFileSync(cert, options.tls.certPem);
        writeFileSync(key, options.tls.keyPem, { mode: 0o600 });
        chownTo('postgres', cert, key);
      }
    },
    command: ({ ports, dataDir }) =>
      asServiceUser('postgres', `${BIN}/postgres`, [
        '-D', pgdata(dataDir), '-k', dataDir, '-p', String(ports.pg), '-h', '127.0.0.1',
        '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
        '-c', 'max_connections=200', '-c', 'shared_buffers=32MB',
        ...(options.tls ? ['-c', 'ssl=on'] : []),
      ]),
    ready: async (ctx) => {
      await ctx.run(`${BIN}/pg_isready`, ['-h', '127.0.0.1', '-p', String(ctx.ports.pg), '-t', '2']);
      return true;
    },
    // A fast shutdown: SIGTERM alone waits for every client (the scalers' pools) to disconnect.
    shutdown: async (ctx) => {
      await runAs(ctx, `${BIN}/pg_ctl`, ['stop', '-D', pgdata(ctx.dataDir), '-m', 'fast', '-w', '-t', '20']);
    },
    readyTimeoutMs: 60_000,
  };
}

/** Runs SQL through psql as the server's superuser; resolves with psql's unaligned output. */
export async function psql(port: number, sql: string, options: PostgresqlServerOptions = {}): Promise<string> {
  const login = postgresqlLogin(options);
  try {
    const { stdout } = await execFileAsync(
      `${BIN}/psql`,
      ['-h', '127.0.0.1', '-p', String(port), '-U', login.user, '-d', login.database, '-v', 'ON_ERROR_STOP=1', '-At', '-c', sql],
      { env: { ...process.env, PGPASSWORD: login.password, PGSSLMODE: 'disable' }, timeout: 30_000 },
    );
    return stdout.trim();
  } catch (err) {
    throw new Error(`psql -c ${JSON.stringify(sql)} failed: ${(err as { stderr?: string }).stderr || (err as Error).message}`, { cause: err });
  }
}
