/** The postgresql scaler against a real PostgreSQL 15 (Debian package), with and without TLS. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Scaler } from '@keda-ts/scaler-sdk';
import { postgresServers, scalers, type ScalerContext } from '@keda-ts/scalers';
import { createServingCertificate } from '../../src/pki';
import { postgresqlLogin, postgresqlServer, psql, startTestServer, type RunningTestServer } from '../../src/servers';
import { waitFor } from '../../src/testing';

const ctx = (httpTimeoutMs = 3000): ScalerContext => ({
  httpTimeoutMs,
  now: () => new Date(),
  kubernetes: { countPods: () => Promise.reject(new Error('not used')) },
});

/** `fromCluster`: the auth came from a ClusterTriggerAuthentication and the operator's file root is `fromCluster`. */
function build(metadata: Record<string, string>, authParams: Record<string, string> = {}, httpTimeoutMs = 3000, fromCluster?: string): Scaler {
  return scalers.build(
    {
      triggerIndex: 0,
      triggerType: 'postgresql',
      metadata,
      authParams,
      resolvedEnv: {},
      scalableObject: { kind: 'ScaledObject', namespace: 'default', name: 'so' },
      authenticationKind: fromCluster ? 'ClusterTriggerAuthentication' : 'TriggerAuthentication',
    },
    { ...ctx(httpTimeoutMs), filePathRoot: fromCluster },
  );
}

const login = postgresqlLogin();
const WAITING = "SELECT count(*) FROM tasks WHERE state = 'waiting'";
/** 1 when the polling connection uses TLS. */
const SSL_IN_USE = 'SELECT CASE WHEN ssl THEN 1 ELSE 0 END FROM pg_stat_ssl WHERE pid = pg_backend_pid()';

describe('postgresql scaler against a real PostgreSQL with TLS', () => {
  let pg: RunningTestServer<'pg'>;
  let dir: string;
  let caFile: string;
  const open: Scaler[] = [];
  const scaler = (...args: Parameters<typeof build>) => {
    const s = build(...args);
    open.push(s);
    return s;
  };
  const separate = () => ({ host: '127.0.0.1', port: String(pg.ports.pg), userName: login.user, dbName: login.database, sslmode: 'require' });
  const connection = (extra = '') =>
    `host=127.0.0.1 port=${pg.ports.pg} user=${login.user} password='${login.password}' dbname=${login.database} ${extra}`;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'keda-ts-pg-e2e-'));
    const serving = await createServingCertificate(dir, ['127.0.0.1']);
    caFile = path.join(dir, 'ca.pem');
    writeFileSync(caFile, serving.caPem);
    pg = await startTestServer(postgresqlServer({ tls: { certPem: serving.certPem, keyPem: serving.keyPem } }));
    await psql(pg.ports.pg, 'CREATE TABLE tasks (id serial PRIMARY KEY, state text NOT NULL)');
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('goes inactive -> active -> value N as rows are added', async () => {
    const s = scaler({ ...separate(), query: WAITING, targetQueryValue: '2', activationTargetQueryValue: '1' }, { password: login.password });
    expect(s.getMetricSpecForScaling()).toEqual([
      { type: 'External', external: { metric: { name: 's0-postgresql' }, target: { type: 'AverageValue', averageValue: '2' } } },
    ]);
    expect(await s.getMetricsAndActivity('s0-postgresql')).toMatchObject({ metrics: [{ metricName: 's0-postgresql', value: 0 }], isActive: false });
    await psql(pg.ports.pg, "INSERT INTO tasks (state) VALUES ('waiting'), ('done')");
    expect(await s.getMetricsAndActivity('s0-postgresql')).toMatchObject({ metrics: [{ value: 1 }], isActive: false });
    await psql(pg.ports.pg, "INSERT INTO tasks (state) SELECT 'waiting' FROM generate_series(1, 6)");
    expect(await s.getMetricsAndActivity('s0-postgresql')).toMatchObject({ metrics: [{ value: 7 }], isActive: true });
    expect((await scaler({ ...separate(), query: 'SELECT 2.5::numeric', targetQueryValue: '1' }, { password: login.password }).getMetricsAndActivity('m')).metrics[0].value).toBe(2.5);
  });

  it('uses TLS as sslmode says: verify-full against a CA (PEM content, or a file under the operator root from a ClusterTriggerAuthentication), require, prefer, disable', async () => {
    const value = async (conn: string, auth: Record<string, string> = {}, fromCluster?: string) =>
      (await scaler({ query: SSL_IN_USE, targetQueryValue: '1' }, { connection: conn, ...auth }, 3000, fromCluster).getMetricsAndActivity('m')).metrics[0].value;
    expect(await value(connection('sslmode=verify-full'), { ca: readFileSync(caFile, 'utf8') })).toBe(1);
    expect(await value(connection(`sslmode=verify-full sslrootcert=${path.basename(caFile)}`), {}, dir)).toBe(1);
    // The same file path from a namespaced TriggerAuthentication names a file on the controller: refused.
    expect(() => build({ query: SSL_IN_USE, targetQueryValue: '1' }, { connection: connection(`sslmode=verify-full sslrootcert=${caFile}`) })).toThrow(
      'option "sslrootcert" names a file on the controller',
    );
    expect(await value(connection('sslmode=require'))).toBe(1);
    expect(await value(connection(''))).toBe(1); // libpq default: prefer
    expect(await value(connection('sslmode=disable'))).toBe(0);
    const unverified = scaler({ query: SSL_IN_USE, targetQueryValue: '1' }, { connection: connection('sslmode=verify-ca') });
    await expect(unverified.getMetricsAndActivity('m')).rejects.toThrow(/error querying postgresql at 127\.0\.0\.1:\d+\/postgres: .*(self.signed|unable.to.verify|certificate|CERT|SSL|TLS)/i);
  });

  it('reports a wrong password without the password', async () => {
    const s = scaler({ ...separate(), query: 'SELECT 1', targetQueryValue: '1' }, { password: 'wrong-pg-pass' });
    const err = await s.getMetricsAndActivity('m').then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/^error querying postgresql at 127\.0\.0\.1:\d+\/postgres: server error SQLSTATE 28P01/);
    expect(err?.message).not.toContain('wrong-pg-pass');
  });

  it('gives up on a slow query after the timeout', async () => {
    const s = scaler({ ...separate(), query: 'SELECT 1 FROM pg_sleep(20)', targetQueryValue: '1' }, { password: login.password }, 1000);
    const started = Date.now();
    await expect(s.getMetricsAndActivity('m')).rejects.toThrow(/error querying postgresql at .*: (Query read timeout|server error SQLSTATE 57014)/);
    expect(Date.now() - started).toBeLessThan(3000);
    // statement_timeout makes the server drop it too.
    await waitFor(async () => (await psql(pg.ports.pg, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(20)%' AND pid <> pg_backend_pid()")) === '0', {
      description: 'the server to cancel the slow query',
      timeoutMs: 10_000,
    });
  });

  it('shares one pool between scalers pointing at the same server and closes it with the last one', async () => {
    const before = postgresServers.size;
    const a = scaler({ ...separate(), query: 'SELECT 1', targetQueryValue: '1' }, { password: login.password });
    const b = scaler({ ...separate(), query: 'SELECT 2', targetQueryValue: '1' }, { password: login.password });
    const other = scaler({ ...separate(), query: 'SELECT 3', targetQueryValue: '1' }, { password: 'another-password' });
    expect(postgresServers.size).toBe(before + 2); // a+b share; a different password is another pool
    for (let i = 0; i < 10; i++) {
      expect((await a.getMetricsAndActivity('m')).metrics[0].value).toBe(1);
      expect((await b.getMetricsAndActivity('m')).metrics[0].value).toBe(2);
    }
    // One server connection for both (a backend of an earlier test may still be on its way out).
    await waitFor(async () => Number(await psql(pg.ports.pg, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'keda-ts'")) === 1, {
      description: 'one pooled connection',
      timeoutMs: 10_000,
    });
    await other.close();
    await a.close();
    expect(postgresServers.size).toBe(before + 1);
    await b.close();
    expect(postgresServers.size).toBe(before);
    await waitFor(async () => Number(await psql(pg.ports.pg, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'keda-ts'")) === 0, {
      description: 'the pool connections to close',
      timeoutMs: 10_000,
    });
  });

  it('fails quickly while the server is down and recovers when it is back', async () => {
    const s = scaler({ ...separate(), query: 'SELECT 5', targetQueryValue: '1' }, { password: login.password }, 2000);
    expect((await s.getMetricsAndActivity('m')).metrics[0].value).toBe(5);
    await pg.pause();
    try {
      const started = Date.now();
      await expect(s.getMetricsAndActivity('m')).rejects.toThrow(/^error querying postgresql at 127\.0\.0\.1:\d+\/postgres: /);
      await expect(s.getMetricsAndActivity('m')).rejects.toThrow(/ECONNREFUSED/);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await pg.resume();
    }
    await waitFor(() => s.getMetricsAndActivity('m').then((r) => r.metrics[0].value === 5), { description: 'recovery', timeoutMs: 30_000 });
  });
});

describe('postgresql scaler against a PostgreSQL without TLS', () => {
  let pg: RunningTestServer<'pg'>;
  beforeAll(async () => {
    pg = await startTestServer(postgresqlServer());
  });
  afterAll(async () => pg?.stop());

  it('sslmode prefer falls back to plaintext; require fails clearly', async () => {
    const metadata = { query: SSL_IN_USE, targetQueryValue: '1' };
    const conn = (mode: string) =>
      `postgresql://${login.user}:${encodeURIComponent(login.password)}@127.0.0.1:${pg.ports.pg}/${login.database}?sslmode=${mode}`;
    const prefer = build(metadata, { connection: conn('prefer') });
    const require = build(metadata, { connection: conn('require') });
    try {
      expect((await prefer.getMetricsAndActivity('m')).metrics[0].value).toBe(0);
      await expect(require.getMetricsAndActivity('m')).rejects.toThrow(/error querying postgresql at 127\.0\.0\.1:\d+\/postgres: The server does not support SSL connections/);
    } finally {
      await prefer.close();
      await require.close();
    }
  });
});
