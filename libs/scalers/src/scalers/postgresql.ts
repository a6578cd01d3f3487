/**
 * `postgresql` (KEDA postgresql_scaler.go): the number in the first column of the first row of
 * `query`. Every scaler pointing at the same server, database, user and password shares one
 * `pg.Pool` (at most POSTGRESQL_POOL_SIZE connections), closed with the last scaler using it.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Pool, type PoolConfig, type QueryArrayConfig } from 'pg';
import { defineScaler, type ValidationIssue } from '../descriptor';
import { externalMetricSpec, externalMetricType, isActiveValue, metricName, metricTargetMilli, metricValue } from '../metrics';
import { param, type ParsedParams } from '../params';
import { SharedClients, abortable, connectionKey } from '../pools/shared-pool';
import type { MetricsAndActivity, Scaler, ScalerContext } from '../types';
import { sqlResultValue } from './sql-value';
import { SSL_MODES, parsePostgresConnection, type PostgresTarget } from './postgresql-connection';

/** Connections per server (database, user) shared by every postgresql scaler. */
export const POSTGRESQL_POOL_SIZE = 5;

const M = ['triggerMetadata'] as const;
const AM = ['authParams', 'triggerMetadata'] as const;
const AE = ['authParams', 'resolvedEnv'] as const;

const params = {
  query: param.string({ name: 'query', order: M, description: 'SQL query returning one row with one numeric column.' }),
  targetQueryValue: param.float({
    name: 'targetQueryValue',
    order: M,
    optional: true,
    description: 'Target value per replica; required (and non-zero) unless the trigger only feeds scaling modifiers.',
  }),
  activationTargetQueryValue: param.float({
    name: 'activationTargetQueryValue',
    order: M,
    default: '0',
    description: 'Active when the value is greater than this.',
  }),
  connection: param.string({
    name: 'connection',
    order: AE,
    optional: true,
    secret: true,
    description:
      "libpq connection string (`host=db port=5432 user=keda password=… dbname=app sslmode=require`, or a `postgresql://` URI); replaces the separate host/port/userName/dbName/sslmode/password. Also `sslrootcert`, `sslcert`, `sslkey` (file paths) and `connect_timeout`.",
  }),
  host: param.string({ name: 'host', order: AM, optional: true, description: 'Server host name or IP (without `connection`).' }),
  port: param.string({ name: 'port', order: AM, optional: true, description: 'Server port (without `connection`).' }),
  userName: param.string({ name: 'userName', order: AM, optional: true, description: 'User name (without `connection`).' }),
  dbName: param.string({ name: 'dbName', order: AM, optional: true, description: 'Database name (without `connection`).' }),
  sslmode: param.enum(SSL_MODES, {
    name: 'sslmode',
    order: AM,
    optional: true,
    description:
      'libpq SSL mode (without `connection`): `disable`, `allow`, `prefer` (TLS, plaintext if the server has none), `require` (TLS, certificate not checked), `verify-ca`, `verify-full` (against the system roots).',
  }),
  password: param.string({ name: 'password', order: AE, optional: true, secret: true, description: 'Password (without `connection`).' }),
};

export type PostgresqlConfig = ParsedParams<typeof params>;

/** The server settings of a config: the parsed `connection`, or the separate parameters. */
export function postgresTarget(config: PostgresqlConfig): PostgresTarget {
  if (config.connection) return parsePostgresConnection(config.connection);
  return {
    host: config.host ?? '',
    port: Number(config.port),
    user: config.userName ?? '',
    database: config.dbName ?? '',
    password: config.password,
    sslmode: config.sslmode ?? 'prefer',
  };
}

function validate(config: PostgresqlConfig, asMetricSource: boolean): ValidationIssue[] {
  const problems: ValidationIssue[] = [];
  if ((config.targetQueryValue ?? 0) === 0 && !asMetricSource)
    problems.push({ parameter: 'targetQueryValue', message: 'no targetQueryValue given' });
  if (config.connection) {
    try {
      parsePostgresConnection(config.connection);
    } catch (err) {
      problems.push({ parameter: 'connection', message: `parameter "connection" is not a valid connection string: ${(err as Error).message}` });
    }
    return problems;
  }
  if (!config.host) problems.push({ parameter: 'host', message: 'no host given' });
  if (!config.port) problems.push({ parameter: 'port', message: 'no port given' });
  else if (!/^\d+$/.test(config.port) || Number(config.port) < 1 || Number(config.port) > 65535)
    problems.push({ parameter: 'port', message: `parameter "port" must be a TCP port number, got "${config.port}"` });
  if (!config.userName) problems.push({ parameter: 'userName', message: 'no username given' });
  if (!config.dbName) problems.push({ parameter: 'dbName', message: 'no dbName given' });
  if (!config.sslmode) problems.push({ parameter: 'sslmode', message: 'no sslmode given' });
  return problems;
}

/** `host:port/database`: where a poll went, for messages (no user, no password). */
export function postgresDisplay(t: PostgresTarget): string {
  return `${t.host}:${t.port}/${t.database}`;
}

function readPem(what: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${what} file ${JSON.stringify(file)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
    });
  }
}

/** node TLS options for a libpq sslmode; false for plaintext. */
function tlsOptions(t: PostgresTarget, encrypted: boolean): false | ConnectionOptions {
  if (!encrypted) return false;
  const tls: ConnectionOptions = {};
  if (t.sslcert) tls.cert = readPem('sslcert', t.sslcert);
  if (t.sslkey) tls.key = readPem('sslkey', t.sslkey);
  if (t.sslmode === 'verify-ca' || t.sslmode === 'verify-full') {
    if (t.sslrootcert) tls.ca = readPem('sslrootcert', t.sslrootcert);
    tls.rejectUnauthorized = true;
    // verify-ca checks the chain only; verify-full also the host name.
    if (t.sslmode === 'verify-ca') tls.checkServerIdentity = () => undefined;
  } else {
    tls.rejectUnauthorized = false;
  }
  return tls;
}

/**
 * One server's pool. `allow` starts in plaintext and `prefer` with TLS; each switches once to the
 * other when the server refuses the first (as libpq retries).
 */
export class PostgresServer {
  private pool?: Pool;
  private encrypted: boolean;
  private switched = false;

  constructor(readonly target: PostgresTarget, private readonly pollTimeoutMs: number) {
    this.encrypted = !['disable', 'allow'].includes(target.sslmode);
  }

  private currentPool(): Pool {
    if (!this.pool) {
      const config: PoolConfig = {
        host: this.target.host,
        port: this.target.port,
        user: this.target.user,
        database: this.target.database,
        password: this.target.password,
        ssl: tlsOptions(this.target, this.encrypted),
        max: POSTGRESQL_POOL_SIZE,
        idleTimeoutMillis: 60_000,
        connectionTimeoutMillis: this.target.connectTimeoutMs ?? this.pollTimeoutMs,
        // The server cancels a query the client stopped waiting for (query_timeout below).
        statement_timeout: this.pollTimeoutMs,
        application_name: 'keda-ts',
      };
      const pool = new Pool(config);
      // An idle connection that breaks (server restart) is dropped by the pool; the next poll reconnects.
      pool.on('error', () => undefined);
      this.pool = pool;
    }
    return this.pool;
  }

  private canSwitch(err: Error): boolean {
    if (this.switched) return false;
    if (this.target.sslmode === 'prefer') return /does not support SSL/i.test(err.message);
    if (this.target.sslmode === 'allow') return /no encryption/i.test(err.message);
    return false;
  }

  /** Runs `text` and returns its rows and column count. */
  async query(text: string, timeoutMs: number): Promise<{ rows: unknown[][]; columns: number }> {
    try {
      // query_timeout (pg's client-side read timeout) is honoured per query but missing from @types/pg.
      const config: QueryArrayConfig & { query_timeout: number } = { text, rowMode: 'array', query_timeout: timeoutMs };
      const result = await this.currentPool().query(config);
      return { rows: result.rows, columns: result.fields.length };
    } catch (err) {
      if (!this.canSwitch(err as Error)) throw err;
      this.switched = true;
      this.encrypted = !this.encrypted;
      const old = this.pool;
      this.pool = undefined;
      void old?.end().catch(() => undefined);
      return this.query(text, timeoutMs);
    }
  }

  /** Connections open now (for tests and benchmarks). */
  get openConnections(): number {
    return this.pool?.totalCount ?? 0;
  }

  async close(): Promise<void> {
    await this.pool?.end();
  }
}

/** The process-wide postgresql pools, one per server/database/user/password. */
export const postgresServers = new SharedClients<PostgresServer>((server) => server.close());

/** The number in the first column of the first row. */
export const postgresValue = sqlResultValue;

class PostgresqlScaler implements Scaler {
  readonly type = 'postgresql';
  private readonly lease;
  private readonly where: string;
  private closed = false;

  constructor(
    private readonly config: PostgresqlConfig,
    private readonly name: string,
    private readonly metricType: 'AverageValue' | 'Value',
    private readonly ctx: ScalerContext,
  ) {
    const target = postgresTarget(config);
    this.where = postgresDisplay(target);
    const { password, ...visible } = target;
    this.lease = postgresServers.acquire(connectionKey({ ...visible }, { password }), () => new PostgresServer(target, ctx.httpTimeoutMs));
  }

  getMetricSpecForScaling() {
    return [externalMetricSpec(this.name, metricTargetMilli(this.metricType, this.config.targetQueryValue ?? 0))];
  }

  async getMetricsAndActivity(requested: string, options?: { signal?: AbortSignal }): Promise<MetricsAndActivity> {
    const prefix = `error querying postgresql at ${this.where}`;
    if (this.closed) throw new Error(`${prefix}: the scaler is closed`);
    options?.signal?.throwIfAborted();
    let value: number;
    try {
      const pending = this.lease.client.query(this.config.query, this.ctx.httpTimeoutMs);
      value = postgresValue(await abortable(pending, options?.signal));
    } catch (err) {
      throw new Error(`${prefix}: ${(err as Error).message}`, { cause: err });
    }
    return {
      metrics: [metricValue(requested, value, this.ctx.now())],
      isActive: isActiveValue(value, this.config.activationTargetQueryValue),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.lease.release();
  }
}

export const postgresqlScaler = defineScaler({
  type: 'postgresql',
  description:
    'Scales on the number returned by a SQL query against PostgreSQL (first column of the first row). ' +
    'Connection: a libpq `connection` string, or host/port/userName/dbName/sslmode with `password`. ' +
    'Scalers pointing at the same server and credentials share one connection pool.',
  params,
  example: {
    host: 'postgres.db.svc',
    port: '5432',
    userName: 'keda',
    dbName: 'jobs',
    sslmode: 'require',
    query: "SELECT count(*) FROM tasks WHERE state = 'waiting'",
    targetQueryValue: '10',
  },
  exampleAuth: { password: 'replace-with-the-password' },
  validate: (config, input) => validate(config, Boolean(input.asMetricSource)),
  create(config, input, ctx) {
    return new PostgresqlScaler(config, metricName(input.triggerIndex, 'postgresql'), externalMetricType(input.metricType), ctx);
  },
});
