/** The mysql scaler against a real MariaDB 10.11 (Debian package, MySQL protocol) with TLS. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Scaler } from '@keda-ts/scaler-sdk';
import { mysqlServers, scalers, type ScalerContext } from '@keda-ts/scalers';
import { createServingCertificate } from '../../src/pki';
import { mariadbLogin, mariadbQuery, mariadbServer, startTestServer, type RunningTestServer } from '../../src/servers';
import { waitFor } from '../../src/testing';

const ctx = (httpTimeoutMs = 3000): ScalerContext => ({
  httpTimeoutMs,
  now: () => new Date(),
  kubernetes: { countPods: () => Promise.reject(new Error('not used')) },
});

function build(metadata: Record<string, string>, authParams: Record<string, string> = {}, httpTimeoutMs = 3000): Scaler {
  return scalers.build(
    {
      triggerIndex: 0,
      triggerType: 'mysql',
      metadata,
      authParams,
      resolvedEnv: {},
      scalableObject: { kind: 'ScaledObject', namespace: 'default', name: 'so' },
    },
    ctx(httpTimeoutMs),
  );
}

const login = mariadbLogin();
const WAITING = "SELECT COUNT(*) FROM tasks WHERE state = 'waiting'";
/** 1 when the polling connection uses TLS. */
const TLS_IN_USE = "SELECT IF(VARIABLE_VALUE <> '', 1, 0) FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'Ssl_cipher'";
/** Connections of the test user other than the one asking. */
const OTHER_CONNECTIONS = `SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '${login.user}' AND ID <> CONNECTION_ID()`;

describe('mysql scaler against a real MariaDB', () => {
  let db: RunningTestServer<'mysql'>;
  let dir: string;
  const open: Scaler[] = [];
  const scaler = (...args: Parameters<typeof build>) => {
    const s = build(...args);
    open.push(s);
    return s;
  };
  const separate = () => ({ host: '127.0.0.1', port: String(db.ports.mysql), username: login.user, dbName: login.database });
  const dsn = (params = '', password = login.password) => `${login.user}:${password}@tcp(127.0.0.1:${db.ports.mysql})/${login.database}${params}`;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'keda-ts-mysql-e2e-'));
    const serving = await createServingCertificate(dir, ['127.0.0.1']);
    db = await startTestServer(mariadbServer({ tls: { certPem: serving.certPem, keyPem: serving.keyPem } }));
    await mariadbQuery(db.ports.mysql, 'CREATE TABLE tasks (id INT AUTO_INCREMENT PRIMARY KEY, state VARCHAR(20) NOT NULL)');
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await db?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('goes inactive -> active -> value N as rows are added', async () => {
    const s = scaler({ ...separate(), query: WAITING, queryValue: '2', activationQueryValue: '1' }, { password: login.password });
    expect(s.getMetricSpecForScaling()).toEqual([
      { type: 'External', external: { metric: { name: 's0-mysql-keda' }, target: { type: 'AverageValue', averageValue: '2' } } },
    ]);
    expect(await s.getMetricsAndActivity('s0-mysql-keda')).toMatchObject({ metrics: [{ metricName: 's0-mysql-keda', value: 0 }], isActive: false });
    await mariadbQuery(db.ports.mysql, "INSERT INTO tasks (state) VALUES ('waiting'), ('done')");
    expect(await s.getMetricsAndActivity('s0-mysql-keda')).toMatchObject({ metrics: [{ value: 1 }], isActive: false });
    await mariadbQuery(db.ports.mysql, "INSERT INTO tasks (state) VALUES ('waiting'), ('waiting'), ('waiting'), ('waiting'), ('waiting'), ('waiting')");
    expect(await s.getMetricsAndActivity('s0-mysql-keda')).toMatchObject({ metrics: [{ value: 7 }], isActive: true });
    const decimal = scaler({ query: 'SELECT CAST(2.5 AS DECIMAL(4,2))', queryValue: '1' }, { connectionString: dsn() });
    expect((await decimal.getMetricsAndActivity('m')).metrics[0].value).toBe(2.5);
  });

  it('uses TLS as the DSN says: skip-verify, preferred, none; tls=true checks the certificate', async () => {
    const value = async (params: string) =>
      (await scaler({ query: TLS_IN_USE, queryValue: '1' }, { connectionString: dsn(params) }).getMetricsAndActivity('m')).metrics[0].value;
    expect(await value('?tls=skip-verify')).toBe(1);
    expect(await value('?tls=preferred')).toBe(1);
    expect(await value('')).toBe(0);
    const verified = scaler({ query: TLS_IN_USE, queryValue: '1' }, { connectionString: dsn('?tls=true') });
    await expect(verified.getMetricsAndActivity('m')).rejects.toThrow(/error querying mysql at 127\.0\.0\.1:\d+\/keda: .*(self.signed|unable.to.verify|certificate|CERT|SSL|TLS)/i);
  });

  it('reports a wrong password without the password', async () => {
    const s = scaler({ query: 'SELECT 1', queryValue: '1' }, { connectionString: dsn('', 'wrong-my-pass') });
    const err = await s.getMetricsAndActivity('m').then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/^error querying mysql at 127\.0\.0\.1:\d+\/keda: server error ER_ACCESS_DENIED_ERROR errno 1045/);
    expect(err?.message).not.toContain('wrong-my-pass');
  });

  it('gives up on a slow query after the timeout', async () => {
    const s = scaler({ ...separate(), query: 'SELECT SLEEP(20)', queryValue: '1' }, { password: login.password }, 1000);
    const started = Date.now();
    await expect(s.getMetricsAndActivity('m')).rejects.toThrow(/error querying mysql at .*: timed out after 1000ms/);
    expect(Date.now() - started).toBeLessThan(3000);
    // The busy connection is dropped, so closing the scaler (and its pool) does not wait for the query.
    const closing = Date.now();
    await s.close();
    expect(Date.now() - closing).toBeLessThan(2000);
  });

  it('shares one pool between scalers pointing at the same server and closes it with the last one', async () => {
    await mariadbQuery(db.ports.mysql, `SELECT 1`);
    const before = mysqlServers.size;
    const a = scaler({ ...separate(), query: 'SELECT 1', queryValue: '1' }, { password: login.password });
    const b = scaler({ ...separate(), query: 'SELECT 2', queryValue: '1' }, { password: login.password });
    expect(mysqlServers.size).toBe(before + 1);
    for (let i = 0; i < 10; i++) {
      expect((await a.getMetricsAndActivity('m')).metrics[0].value).toBe(1);
      expect((await b.getMetricsAndActivity('m')).metrics[0].value).toBe(2);
    }
    // One server connection for both (a connection of an earlier test may still be on its way out).
    await waitFor(async () => (await mariadbQuery(db.ports.mysql, OTHER_CONNECTIONS)) === '1', {
      description: 'one pooled connection',
      timeoutMs: 15_000,
    });
    await a.close();
    expect(mysqlServers.size).toBe(before + 1);
    await b.close();
    expect(mysqlServers.size).toBe(before);
    await waitFor(async () => (await mariadbQuery(db.ports.mysql, OTHER_CONNECTIONS)) === '0', { description: 'the pool to close', timeoutMs: 10_000 });
  });

  it('fails quickly while the server is down and recovers when it is back', async () => {
    const s = scaler({ ...separate(), query: 'SELECT 5', queryValue: '1' }, { password: login.password }, 2000);
    expect((await s.getMetricsAndActivity('m')).metrics[0].value).toBe(5);
    await db.pause();
    try {
      const started = Date.now();
      await expect(s.getMetricsAndActivity('m')).rejects.toThrow(/^error querying mysql at 127\.0\.0\.1:\d+\/keda: /);
      await expect(s.getMetricsAndActivity('m')).rejects.toThrow(/ECONNREFUSED/);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await db.resume();
    }
    await waitFor(() => s.getMetricsAndActivity('m').then((r) => r.metrics[0].value === 5), { description: 'recovery', timeoutMs: 30_000 });
  });
});
