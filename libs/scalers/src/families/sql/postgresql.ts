/**
 * `postgresql` (KEDA postgresql_scaler.go): the number in the first column of the first row of
 * `query`. Every scaler pointing at the same server, database, user and password shares one
 * `pg.Pool` (at most POSTGRESQL_POOL_SIZE connections), closed with the last scaler using it.
 */
import type { ConnectionOptions } from 'node:tls';
import type { Pool, PoolClient, PoolConfig, QueryArrayConfig, QueryArrayResult } from 'pg';
import type * as Pg from 'pg';
import { EgressSocket } from '../../net/egress-connect';
import { defaultEgressPolicy, egressOf, type EgressPolicy } from '../../net/egress-policy';
import { externalMetricSpec, externalMetricType, FILE_OPTIONS, fileOptionsOf, isActiveValue, metricName, type MetricsAndActivity, metricTargetMilli, metricValue, POSTGRESQL_POOL_SIZE, type PostgresqlConfig, postgresqlDescriptor, postgresTarget, type PostgresTarget, type Scaler, ScalerConfigError } from '@keda-ts/scaler-sdk';
import { abortable, connectionKey, SharedClients } from '../../pools/shared-pool';
import type { ScalerContext } from '../../context';
import { readVettedFile } from '../../vetted-file';
import { LocalError, upstreamError } from '../../upstream-errors';
import { sqlResultValue } from './sql-value';
import { implementScaler } from '../../implementation';
import { onFirstUse } from '../../lazy-module';

// The client library is loaded by the first PostgreSQL scaler, not at start-up (lazy-module.ts).
const pg = onFirstUse(() => require('pg') as typeof Pg);

/** `host:port/database`: where a poll went, for messages (no user, no password). */
export function postgresDisplay(t: PostgresTarget): string {
  return `${t.host}:${t.port}/${t.database}`;
}

/** Content of the libpq file options, read through readVettedFile. */
type PemFiles = Partial<Record<(typeof FILE_OPTIONS)[number], string>>;

/** Reads the file options of `t` under `root` (asynchronously, vetted); nothing without file options. */
async function readPemFiles(t: PostgresTarget, root: string | undefined): Promise<PemFiles> {
  const files: PemFiles = {};
  for (const option of FILE_OPTIONS) {
    const path = t[option];
    if (!path) continue;
    if (!root) throw new LocalError(`${option}: file paths need the operator to set --filepath-auth-root-path`);
    files[option] = (await readVettedFile(option, path, root)).toString('utf8');
  }
  return files;
}

/** node TLS options for a libpq sslmode; false for plaintext. PEM content wins over files. */
function tlsOptions(t: PostgresTarget, encrypted: boolean, files: PemFiles = {}): false | ConnectionOptions {
  if (!encrypted) return false;
  const tls: ConnectionOptions = {};
  const cert = t.cert ?? files.sslcert;
  const key = t.key ?? files.sslkey;
  if (cert) tls.cert = cert;
  if (key) tls.key = key;
  if (t.sslmode === 'verify-ca' || t.sslmode === 'verify-full') {
    const ca = t.ca ?? files.sslrootcert;
    if (ca) tls.ca = ca;
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
  /** File options' content, read once before the pool exists (asynchronously, vetted). */
  private files: PemFiles = {};
  private filesRead?: Promise<void>;

  constructor(
    readonly target: PostgresTarget,
    private readonly pollTimeoutMs: number,
    private readonly egress: EgressPolicy = defaultEgressPolicy,
    private readonly fileRoot?: string,
  ) {
    this.encrypted = !['disable', 'allow'].includes(target.sslmode);
  }

  private readFiles(): Promise<void> {
    this.filesRead ??= readPemFiles(this.target, this.fileRoot).then(
      (files) => {
        this.files = files;
      },
      (err: unknown) => {
        this.filesRead = undefined; // read again at the next poll
        throw err;
      },
    );
    return this.filesRead;
  }

  private currentPool(): Pool {
    if (!this.pool) {
      const config: PoolConfig = {
        host: this.target.host,
        port: this.target.port,
        user: this.target.user,
        database: this.target.database,
        password: this.target.password,
        ssl: tlsOptions(this.target, this.encrypted, this.files),
        max: POSTGRESQL_POOL_SIZE,
        idleTimeoutMillis: 60_000,
        connectionTimeoutMillis: this.target.connectTimeoutMs ?? this.pollTimeoutMs,
        // The server cancels a query the client stopped waiting for (query_timeout below).
        statement_timeout: this.pollTimeoutMs,
        application_name: 'keda-ts',
        // pg's public `stream` factory: every connection's socket checks its address against the
        // egress policy (and refuses Unix socket paths) before connecting.
        stream: () => new EgressSocket(this.egress),
      };
      const pool = new (pg().Pool)(config);
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
  async query(text: string, timeoutMs: number, signal?: AbortSignal): Promise<{ rows: unknown[][]; columns: number }> {
    await this.readFiles();
    try {
      // query_timeout (pg's client-side read timeout) is honoured per query but missing from @types/pg.
      const config: QueryArrayConfig & { query_timeout: number } = { text, rowMode: 'array', query_timeout: timeoutMs };
      const result = signal ? await this.queryUntilAborted(config, signal) : await this.currentPool().query(config);
      return { rows: result.rows, columns: result.fields.length };
    } catch (err) {
      if (!this.canSwitch(err as Error)) throw err;
      this.switched = true;
      this.encrypted = !this.encrypted;
      const old = this.pool;
      this.pool = undefined;
      void old?.end().catch(() => undefined);
      return this.query(text, timeoutMs, signal);
    }
  }

  /**
   * The query on a connection of its own from the pool; `signal` aborting ends that connection (pg
   * has no cancel of its own short of a second connection; the server's statement_timeout ends the
   * query there), so an aborted poll leaves nothing running in this process.
   */
  private async queryUntilAborted(config: QueryArrayConfig, signal: AbortSignal): Promise<QueryArrayResult> {
    const connecting = this.currentPool().connect();
    let client: PoolClient;
    try {
      client = await abortable(connecting, signal);
    } catch (err) {
      // A connection that comes after the abort goes straight back to the pool.
      connecting.then((c) => c.release(), () => undefined);
      throw err;
    }
    let released = false;
    const release = (err?: Error) => {
      if (released) return;
      released = true;
      client.release(err);
    };
    const onAbort = () => release(new LocalError('request aborted'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await abortable(client.query(config), signal);
      release();
      return result;
    } catch (err) {
      release(err as Error); // a failed connection is not reused, as pool.query does
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
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
    const { password, key, ...visible } = target;
    const egress = egressOf(ctx);
    this.lease = postgresServers.acquire(
      connectionKey({ ...visible, egress: egress.id, fileRoot: ctx.filePathRoot }, { password, key }),
      () => new PostgresServer(target, ctx.httpTimeoutMs, egress, ctx.filePathRoot),
    );
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
      const pending = this.lease.client.query(this.config.query, this.ctx.httpTimeoutMs, options?.signal);
      value = postgresValue(await abortable(pending, options?.signal));
    } catch (err) {
      // The server's error text is the tenant's server's: its code (SQLSTATE, errno) is shown instead.
      throw upstreamError(prefix, err);
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

export const postgresqlScaler = implementScaler(postgresqlDescriptor, (config, input, ctx) => {
  // Files are read only under the operator's root: without one, a path is refused at build.
  const noRoot = ctx.filePathRoot ? [] : fileOptionsOf(config.connection);
  if (noRoot.length > 0)
    throw new ScalerConfigError('postgresql', input.triggerIndex, noRoot.map((option) => ({
      parameter: 'connection',
      message: `parameter "connection" option "${option}" names a file on the controller: file paths need the operator to set --filepath-auth-root-path`,
    })));
  return new PostgresqlScaler(config, metricName(input.triggerIndex, 'postgresql'), externalMetricType(input.metricType), ctx);
});
