/**
 * `mysql` (KEDA mysql_scaler.go): the number in the first column of the first row of `query`,
 * against MySQL or MariaDB. Every scaler pointing at the same server, database, user and
 * password shares one mysql2 pool (at most MYSQL_POOL_SIZE connections), closed with the last
 * scaler using it.
 */
import type { Pool, PoolConnection, PoolOptions } from 'mysql2';
import type * as MySql from 'mysql2';
import { egressNetConnect } from '../../net/egress-connect';
import { defaultEgressPolicy, egressOf, type EgressPolicy } from '../../net/egress-policy';
import { externalMetricSpec, externalMetricType, isActiveValue, metricName, type MetricsAndActivity, metricTargetMilli, metricValue, MYSQL_POOL_SIZE, type MysqlConfig, mysqlDescriptor, type MysqlTarget, mysqlTarget, type Scaler } from '@keda-ts/scaler-sdk';
import { abortable, connectionKey, SharedClients } from '../../pools/shared-pool';
import type { ScalerContext } from '../../context';
import { LocalError, upstreamError } from '../../upstream-errors';
import { type SqlResult, sqlResultValue } from './sql-value';
import { implementScaler } from '../../implementation';
import { onFirstUse } from '../../lazy-module';

// The client library is loaded by the first MySQL scaler, not at start-up (lazy-module.ts).
const mysql2 = onFirstUse(() => require('mysql2') as typeof MySql);

/**
 * One server's pool. `tls=preferred` starts with TLS (certificate not checked, as the Go driver
 * does) and switches once to plaintext when the server has no TLS.
 */
export class MysqlServer {
  private pool?: Pool;
  private encrypted: boolean;
  private switched = false;

  constructor(
    readonly target: MysqlTarget,
    private readonly pollTimeoutMs: number,
    private readonly egress: EgressPolicy = defaultEgressPolicy,
  ) {
    this.encrypted = target.tls !== 'false';
  }

  private currentPool(): Pool {
    if (!this.pool) {
      const t = this.target;
      const options: PoolOptions = {
        host: t.host,
        port: t.port,
        user: t.user,
        password: t.password,
        database: t.database || undefined,
        connectionLimit: MYSQL_POOL_SIZE,
        maxIdle: MYSQL_POOL_SIZE,
        idleTimeout: 60_000,
        connectTimeout: t.connectTimeoutMs ?? this.pollTimeoutMs,
        enableKeepAlive: true,
        ssl: this.encrypted ? { rejectUnauthorized: t.tls === 'true' } : undefined,
        // mysql2's public `stream` factory: each connection's socket goes through the egress policy
        // (it then skips its own keep-alive and no-delay setup, so they are set here).
        stream: () => egressNetConnect(this.egress, { host: t.host, port: t.port, noDelay: true, keepAlive: true }),
      };
      const pool = mysql2().createPool(options);
      // A pooled connection that breaks (server restart) is dropped; the next poll reconnects.
      pool.on('connection', (c: PoolConnection) => c.on('error', () => undefined));
      this.pool = pool;
    }
    return this.pool;
  }

  private run(sql: string, timeoutMs: number, signal?: AbortSignal): Promise<SqlResult> {
    const pool = this.currentPool();
    return new Promise<SqlResult>((resolve, reject) => {
      let connection: PoolConnection | undefined;
      let timedOut = false;
      // Bounds the wait for a pooled connection and the query. A connection whose query timed out
      // (or was aborted by the caller) is destroyed, not returned: it is still busy, and closing
      // the pool would wait for it.
      const giveUp = (reason: string) => {
        if (timedOut) return;
        timedOut = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        connection?.destroy();
        reject(new LocalError(reason));
      };
      const onAbort = () => giveUp('request aborted');
      const timer = setTimeout(() => giveUp(`timed out after ${timeoutMs}ms`), timeoutMs);
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      pool.getConnection((connectError, conn) => {
        if (timedOut) {
          conn?.destroy();
          return;
        }
        if (connectError) {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          return reject(connectError);
        }
        connection = conn;
        conn.query({ sql, rowsAsArray: true }, (err, rows, fields) => {
          if (timedOut) return;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          if (err) {
            conn.destroy();
            return reject(err);
          }
          conn.release();
          if (!Array.isArray(rows) || !Array.isArray(fields))
            return reject(new LocalError('the statement returned no result set (it must be a query)'));
          resolve({ rows: rows as unknown as unknown[][], columns: fields.length });
        });
      });
    });
  }

  /** `signal` aborting destroys the connection running the query (mysql2 has no query cancel of its own). */
  async query(sql: string, timeoutMs: number, signal?: AbortSignal): Promise<SqlResult> {
    try {
      return await this.run(sql, this.target.readTimeoutMs ?? timeoutMs, signal);
    } catch (err) {
      if (this.switched || this.target.tls !== 'preferred' || !/does not support secure connection/i.test((err as Error).message)) throw err;
      this.switched = true;
      this.encrypted = false;
      const old = this.pool;
      this.pool = undefined;
      old?.end(() => undefined);
      return this.run(sql, this.target.readTimeoutMs ?? timeoutMs, signal);
    }
  }

  close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    return new Promise((resolve) => (pool ? pool.end(() => resolve()) : resolve()));
  }
}

/** The process-wide mysql pools, one per server/database/user/password. */
export const mysqlServers = new SharedClients<MysqlServer>((server) => server.close());

class MysqlScaler implements Scaler {
  readonly type = 'mysql';
  private readonly lease;
  private readonly where: string;
  private closed = false;

  constructor(
    private readonly config: MysqlConfig,
    private readonly name: string,
    private readonly metricType: 'AverageValue' | 'Value',
    private readonly ctx: ScalerContext,
  ) {
    const target = mysqlTarget(config);
    this.where = `${target.host}:${target.port}/${target.database}`;
    const { password, ...visible } = target;
    const egress = egressOf(ctx);
    this.lease = mysqlServers.acquire(connectionKey({ ...visible, egress: egress.id }, { password }), () => new MysqlServer(target, ctx.httpTimeoutMs, egress));
  }

  getMetricSpecForScaling() {
    return [externalMetricSpec(this.name, metricTargetMilli(this.metricType, this.config.queryValue))];
  }

  async getMetricsAndActivity(requested: string, options?: { signal?: AbortSignal }): Promise<MetricsAndActivity> {
    const prefix = `error querying mysql at ${this.where}`;
    if (this.closed) throw new Error(`${prefix}: the scaler is closed`);
    options?.signal?.throwIfAborted();
    let value: number;
    try {
      value = sqlResultValue(await abortable(this.lease.client.query(this.config.query, this.ctx.httpTimeoutMs, options?.signal), options?.signal));
    } catch (err) {
      // The server's error text is the tenant's server's: its code (SQLSTATE, errno) is shown instead.
      throw upstreamError(prefix, err);
    }
    return {
      metrics: [metricValue(requested, value, this.ctx.now())],
      isActive: isActiveValue(value, this.config.activationQueryValue),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.lease.release();
  }
}

/**
 * `mysql-<dbName>`; from a DSN the database is the text after the last `/`, without the `?…`
 * parameters (KEDA keeps them, which gives metric names the HPA cannot use).
 */
function metricPart(config: MysqlConfig): string {
  return `mysql-${mysqlTarget(config).database}`;
}

export const mysqlScaler = implementScaler(mysqlDescriptor, (config, input, ctx) => {
  return new MysqlScaler(config, metricName(input.triggerIndex, metricPart(config)), externalMetricType(input.metricType), ctx);
});
