/**
 * The mongodb scaler against FerretDB v1 (MongoDB wire protocol over SQLite, built by
 * e2e/toolchain/build.sh extras) with SCRAM authentication and a TLS listener that requires a
 * client certificate. FerretDB stands in for MongoDB, which no Debian package provides.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { MONGODB_TIMEOUT_MS, type Scaler } from '@keda-ts/scaler-sdk';
import { mongodbClients, scalers, type ScalerContext } from '@keda-ts/scalers';
import { createServingCertificate, issueCert } from '../../src/pki';
import { ferretdbLogin, ferretdbServer, ferretdbUri, startTestServer, withFerretdb, type RunningTestServer } from '../../src/servers';
import { waitFor } from '../../src/testing';
import { ensureToolchain } from '../../src/toolchain';

jest.setTimeout(300_000);

const ctx: ScalerContext = {
  httpTimeoutMs: 3000,
  now: () => new Date(),
  kubernetes: { countPods: () => Promise.reject(new Error('not used')) },
};

function build(metadata: Record<string, string>, authParams: Record<string, string> = {}, metricType?: 'Value'): Scaler {
  return scalers.build(
    {
      triggerIndex: 0,
      triggerType: 'mongodb',
      metadata,
      authParams,
      resolvedEnv: {},
      metricType,
      scalableObject: { kind: 'ScaledObject', namespace: 'default', name: 'so' },
    },
    ctx,
  );
}

/** Established client-side TCP connections to 127.0.0.1:port (this host's network namespace). */
function connectionsTo(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f.length > 3 && f[2] === `0100007F:${hexPort}` && f[3] === '01').length;
}

const login = ferretdbLogin();
const WAITING = '{"state":"waiting"}';

describe('mongodb scaler against FerretDB (SQLite backend)', () => {
  let db: RunningTestServer<'mongo' | 'tls'>;
  let dir: string;
  let tls: { caPem: string; certPem: string; keyPem: string; encryptedKeyPem: string };
  const open: Scaler[] = [];
  const scaler = (...args: Parameters<typeof build>) => {
    const s = build(...args);
    open.push(s);
    return s;
  };
  const separate = () => ({ host: '127.0.0.1', port: String(db.ports.mongo), username: login.user, dbName: login.database });
  const insert = (collection: string, docs: Record<string, unknown>[]) =>
    withFerretdb(db.ports.mongo, {}, (client, database) => client.db(database).collection(collection).insertMany(docs));

  beforeAll(async () => {
    const { ferretdb } = await ensureToolchain('extras');
    dir = mkdtempSync(path.join(tmpdir(), 'keda-ts-mongodb-e2e-'));
    const serving = await createServingCertificate(dir, ['127.0.0.1']);
    // A client certificate from the same CA, and its key encrypted for the keyPassword case.
    await issueCert(dir, 'serving-ca', 'client', '/CN=keda', 'client');
    await promisify(execFile)('openssl', ['pkey', '-in', 'client.key', '-aes256', '-passout', 'pass:key-s3cret', '-out', 'client-enc.key'], { cwd: dir });
    const read = (f: string) => readFileSync(path.join(dir, f), 'utf8');
    tls = { caPem: serving.caPem, certPem: read('client.crt'), keyPem: read('client.key'), encryptedKeyPem: read('client-enc.key') };
    db = await startTestServer(
      ferretdbServer({ binary: ferretdb, tls: { certPem: serving.certPem, keyPem: serving.keyPem, clientCaPem: serving.caPem } }),
    );
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await db?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('goes inactive -> active -> value N as matching documents are added', async () => {
    const s = scaler({ ...separate(), collection: 'tasks', query: WAITING, queryValue: '2', activationQueryValue: '1' }, { password: login.password });
    expect(s.getMetricSpecForScaling()).toEqual([
      { type: 'External', external: { metric: { name: 's0-mongodb-tasks' }, target: { type: 'AverageValue', averageValue: '2' } } },
    ]);
    // The collection does not exist yet: 0, inactive.
    expect(await s.getMetricsAndActivity('s0-mongodb-tasks')).toMatchObject({ metrics: [{ metricName: 's0-mongodb-tasks', value: 0 }], isActive: false });
    await insert('tasks', [{ state: 'waiting' }, { state: 'done' }]);
    expect(await s.getMetricsAndActivity('s0-mongodb-tasks')).toMatchObject({ metrics: [{ value: 1 }], isActive: false });
    await insert('tasks', Array.from({ length: 6 }, () => ({ state: 'waiting' })));
    expect(await s.getMetricsAndActivity('s0-mongodb-tasks')).toMatchObject({ metrics: [{ value: 7 }], isActive: true });
  });

  it('reads a connection string and an Extended JSON filter', async () => {
    await insert('jobs', [
      { n: 1, at: new Date('2026-01-01T00:00:00Z') },
      { n: 5, at: new Date('2026-02-01T00:00:00Z') },
      { n: 9, at: new Date('2026-03-01T00:00:00Z') },
    ]);
    const s = scaler(
      { collection: 'jobs', dbName: login.database, query: '{"n":{"$gte":{"$numberInt":"5"}},"at":{"$lt":{"$date":"2026-03-01T00:00:00Z"}}}', queryValue: '0.5' },
      { connectionString: ferretdbUri(db.ports.mongo) },
      'Value',
    );
    expect(s.getMetricSpecForScaling()[0].external?.target).toEqual({ type: 'Value', value: '500m' });
    expect(await s.getMetricsAndActivity('s0-mongodb-jobs')).toMatchObject({ metrics: [{ value: 1 }], isActive: true });
  });

  it('connects with TLS and a client certificate (also with an encrypted key)', async () => {
    await insert('secure', [{ state: 'waiting' }, { state: 'waiting' }]);
    const meta = { ...separate(), port: String(db.ports.tls), collection: 'secure', query: WAITING, queryValue: '1' };
    const plain = scaler(meta, { password: login.password, tls: 'enable', ca: tls.caPem, cert: tls.certPem, key: tls.keyPem });
    expect((await plain.getMetricsAndActivity('m')).metrics[0].value).toBe(2);
    const encrypted = scaler(meta, {
      password: login.password, tls: 'enable', ca: tls.caPem, cert: tls.certPem, key: tls.encryptedKeyPem, keyPassword: 'key-s3cret',
    });
    expect((await encrypted.getMetricsAndActivity('m')).metrics[0].value).toBe(2);
    // Without the CA the server's certificate is not trusted; the key password never shows.
    const untrusted = scaler(meta, { password: login.password, tls: 'enable', cert: tls.certPem, key: tls.encryptedKeyPem, keyPassword: 'key-s3cret' });
    const err = await untrusted.getMetricsAndActivity('m').then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/^error counting documents in mongodb 127\.0\.0\.1:\d+\/keda\.secure: .*(self.signed|unable.to.verify|certificate|CERT|SSL|TLS)/i);
    expect(err?.message).not.toContain('key-s3cret');
  });

  it('reports a wrong password without the password', async () => {
    for (const s of [
      scaler({ ...separate(), collection: 'tasks', query: WAITING, queryValue: '1' }, { password: 'wrong-m0ngo-pass' }),
      scaler({ collection: 'tasks', dbName: login.database, query: WAITING, queryValue: '1' }, { connectionString: ferretdbUri(db.ports.mongo, { password: 'wrong-m0ngo-pass' }) }),
    ]) {
      const err = await s.getMetricsAndActivity('m').then(() => undefined, (e: Error) => e);
      expect(err?.message).toMatch(/^error counting documents in mongodb 127\.0\.0\.1:\d+\/keda\.tasks: .*(AuthenticationFailed|code 18)/);
      expect(err?.message).not.toContain('wrong-m0ngo-pass');
      expect(JSON.stringify(err)).not.toContain('wrong-m0ngo-pass');
    }
  });

  it('shares one client between scalers pointing at the same server and closes it with the last one', async () => {
    await waitFor(() => connectionsTo(db.ports.mongo) === 0, { description: 'no connection left from earlier tests', timeoutMs: 15_000 });
    const before = mongodbClients.size;
    const a = scaler({ ...separate(), collection: 'tasks', query: WAITING, queryValue: '1' }, { password: login.password });
    const b = scaler({ ...separate(), collection: 'jobs', query: '{"n":9}', queryValue: '1' }, { password: login.password });
    expect(mongodbClients.size).toBe(before + 1);
    for (let i = 0; i < 10; i++) {
      expect((await a.getMetricsAndActivity('m')).metrics[0].value).toBe(7);
      expect((await b.getMetricsAndActivity('m')).metrics[0].value).toBe(1);
    }
    // One client: its monitoring connection(s) and one pooled connection for the sequential polls.
    const shared = connectionsTo(db.ports.mongo);
    expect(shared).toBeGreaterThanOrEqual(1);
    expect(shared).toBeLessThanOrEqual(3);
    // Another connection string (same server, other options) is another client with its own connections.
    const other = scaler({ collection: 'tasks', dbName: login.database, query: WAITING, queryValue: '1' }, { connectionString: `${ferretdbUri(db.ports.mongo)}?appName=other` });
    expect((await other.getMetricsAndActivity('m')).metrics[0].value).toBe(7);
    expect(mongodbClients.size).toBe(before + 2);
    expect(connectionsTo(db.ports.mongo)).toBeGreaterThan(shared);
    await other.close();
    await a.close();
    expect(mongodbClients.size).toBe(before + 1);
    expect((await b.getMetricsAndActivity('m')).metrics[0].value).toBe(1);
    await b.close();
    expect(mongodbClients.size).toBe(before);
    await waitFor(() => connectionsTo(db.ports.mongo) === 0, { description: 'the clients to close their connections', timeoutMs: 15_000 });
  });

  it('fails within the timeout while the server is down and recovers when it is back', async () => {
    const s = scaler({ ...separate(), collection: 'tasks', query: WAITING, queryValue: '1' }, { password: login.password });
    expect((await s.getMetricsAndActivity('m')).metrics[0].value).toBe(7);
    await db.pause();
    try {
      const started = Date.now();
      const err = await s.getMetricsAndActivity('m').then(() => undefined, (e: Error) => e);
      const took = Date.now() - started;
      expect(err?.message).toMatch(/^error counting documents in mongodb 127\.0\.0\.1:\d+\/keda\.tasks: .*(ECONNREFUSED|connection|timed out)/i);
      expect(err?.message).not.toContain(login.password);
      // The driver's 10 s bound (plus the grace for its reason), with a margin for a busy machine.
      expect(took).toBeLessThan(MONGODB_TIMEOUT_MS + 5000);
    } finally {
      await db.resume();
    }
    await waitFor(() => s.getMetricsAndActivity('m').then((r) => r.metrics[0].value === 7), { description: 'recovery', timeoutMs: 60_000 });
  });
});
