import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { TestServerDefinition } from './launcher';

const execFileAsync = promisify(execFile);

export interface MariadbServerOptions {
  /** A password user created at startup with every privilege (default `keda`). */
  user?: string;
  /** Its password (default `my-s3cret`). */
  password?: string;
  /** A database created at startup (default `keda`). */
  database?: string;
  /** Serve TLS with this certificate (clients may still connect without TLS). */
  tls?: { certPem: string; keyPem: string };
}

export function mariadbLogin(options: MariadbServerOptions = {}): { user: string; password: string; database: string } {
  return { user: options.user ?? 'keda', password: options.password ?? 'my-s3cret', database: options.database ?? 'keda' };
}

const sqlString = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * A MariaDB 10.11 server (Debian `mariadb-server`, MySQL protocol): mariadb-install-db into the
 * temp dir, then `mariadbd` in the foreground on 127.0.0.1, its socket in the data dir. root keeps
 * unix_socket auth; an init file creates the password user and database the tests log in with.
 */
export function mariadbServer(options: MariadbServerOptions = {}): TestServerDefinition<'mysql'> {
  const login = mariadbLogin(options);
  // mariadbd refuses to run as root unless told to.
  const userArgs = process.getuid?.() === 0 ? ['--user=root'] : [];
  const db = (dataDir: string) => path.join(dataDir, 'db');
  return {
    name: 'mariadb',
    ports: ['mysql'],
    prepare: async (ctx) => {
      await ctx.run('mariadb-install-db', [
        '--no-defaults', `--datadir=${db(ctx.dataDir)}`, '--auth-root-authentication-method=socket', '--skip-test-db',
        ...userArgs,
      ]);
      const user = `${sqlString(login.user)}@'%'`;
      writeFileSync(
        path.join(ctx.dataDir, 'init.sql'),
        [
          `CREATE DATABASE IF NOT EXISTS \`${login.database}\`;`,
          `CREATE USER IF NOT EXISTS ${user} IDENTIFIED BY ${sqlString(login.password)};`,
          `GRANT ALL PRIVILEGES ON *.* TO ${user};`,
          '',
        ].join('\n'),
        { mode: 0o600 },
      );
      if (options.tls) {
        writeFileSync(path.join(ctx.dataDir, 'tls.crt'), options.tls.certPem);
        writeFileSync(path.join(ctx.dataDir, 'tls.key'), options.tls.keyPem, { mode: 0o600 });
      }
    },
    command: ({ ports, dataDir }) => ({
      command: 'mariadbd',
      args: [
        '--no-defaults', `--datadir=${db(dataDir)}`, `--port=${ports.mysql}`, '--bind-address=127.0.0.1',
        `--socket=${path.join(dataDir, 'mysqld.sock')}`, `--pid-file=${path.join(dataDir, 'mysqld.pid')}`,
        `--init-file=${path.join(dataDir, 'init.sql')}`, '--skip-name-resolve', '--skip-log-bin',
        '--innodb-buffer-pool-size=16M', '--innodb-log-file-size=8M', '--innodb-flush-log-at-trx-commit=0',
        '--max-connections=300', ...userArgs,
        ...(options.tls ? [`--ssl-cert=${path.join(dataDir, 'tls.crt')}`, `--ssl-key=${path.join(dataDir, 'tls.key')}`] : []),
      ],
    }),
    ready: async (ctx) => {
      await ctx.run(
        'mariadb-admin',
        ['--no-defaults', '-h', '127.0.0.1', '-P', String(ctx.ports.mysql), '-u', login.user, '--connect-timeout=2', 'ping'],
        { env: { MYSQL_PWD: login.password }, timeoutMs: 5000 },
      );
      return true;
    },
    readyTimeoutMs: 90_000,
  };
}

/** Runs SQL with the `mariadb` client as the password user; resolves with its tab-separated output. */
export async function mariadbQuery(port: number, sql: string, options: MariadbServerOptions = {}): Promise<string> {
  const login = mariadbLogin(options);
  try {
    const { stdout } = await execFileAsync(
      'mariadb',
      ['--no-defaults', '-h', '127.0.0.1', '-P', String(port), '-u', login.user, '-N', '-B', '-e', sql, login.database],
      { env: { ...process.env, MYSQL_PWD: login.password }, timeout: 30_000 },
    );
    return stdout.trim();
  } catch (err) {
    throw new Error(`mariadb -e ${JSON.stringify(sql)} failed: ${(err as { stderr?: string }).stderr || (err as Error).message}`, { cause: err });
  }
}
