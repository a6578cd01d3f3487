/**
 * The `redis`, `redis-cluster` and `redis-sentinel` scalers against real Redis 7 servers (Debian
 * redis-server / redis-sentinel): standalone with a password, TLS with a client certificate, a
 * three-node cluster and a sentinel-managed master.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Cluster, Redis } from 'ioredis';
import type { Scaler, ScalerInput } from '@keda-ts/scaler-sdk';
import { redisPoolSize, scalers, type ScalerContext } from '@keda-ts/scalers';
import { writeCertDir, type CertDir } from '../../src/certs';
import {
  redisServer,
  startRedisCluster,
  startRedisSentinel,
  startTestServer,
  type RunningRedisCluster,
  type RunningRedisSentinel,
  type RunningTestServer,
} from '../../src/servers';

const TIMEOUT_MS = 2000;
const ctx: ScalerContext = {
  httpTimeoutMs: TIMEOUT_MS,
  now: () => new Date(),
  kubernetes: { countPods: () => Promise.reject(new Error('not used')) },
};

function build(triggerType: string, metadata: Record<string, string>, authParams: Record<string, string> = {}): Scaler {
  const input: ScalerInput = {
    triggerIndex: 0,
    triggerType,
    metadata,
    resolvedEnv: {},
    authParams,
    scalableObject: { kind: 'ScaledObject', namespace: 'ns', name: 'so' },
  };
  return scalers.build(input, ctx);
}

async function read(scaler: Scaler): Promise<{ value: number; isActive: boolean; name: string }> {
  const name = scaler.getMetricSpecForScaling()[0].external?.metric.name ?? '';
  const r = await scaler.getMetricsAndActivity(name);
  return { value: r.metrics[0].value, isActive: r.isActive, name: r.metrics[0].metricName };
}

const opened: Scaler[] = [];
const track = (s: Scaler) => (opened.push(s), s);
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

describe('redis (standalone, password)', () => {
  const PASSWORD = 'p4ss-redis-e2e';
  let server: RunningTestServer<'redis'>;
  let admin: Redis;
  beforeAll(async () => {
    server = await startTestServer(redisServer({ password: PASSWORD }));
    admin = new Redis({ host: '127.0.0.1', port: server.ports.redis, password: PASSWORD, lazyConnect: true });
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
  });

  it('goes inactive -> active -> N on a list, with the metric name and int target', async () => {
    const scaler = track(build('redis', { address: `127.0.0.1:${server.ports.redis}`, listName: 'jobs', listLength: '3', activationListLength: '1' }, { password: PASSWORD }));
    expect(scaler.getMetricSpecForScaling()).toEqual([
      { type: 'External', external: { metric: { name: 's0-redis-jobs' }, target: { type: 'AverageValue', averageValue: '3' } } },
    ]);
    expect(await read(scaler)).toEqual({ value: 0, isActive: false, name: 's0-redis-jobs' });
    await admin.rpush('jobs', 'a');
    expect(await read(scaler)).toMatchObject({ value: 1, isActive: false });
    await admin.rpush('jobs', 'b', 'c', 'd', 'e', 'f', 'g');
    expect(await read(scaler)).toMatchObject({ value: 7, isActive: true });
  });

  it('counts sets, sorted sets and hashes; other types are an error', async () => {
    await admin.sadd('a-set', 'x', 'y');
    await admin.zadd('a-zset', 1, 'x', 2, 'y', 3, 'z');
    await admin.hset('a-hash', { f1: '1', f2: '2', f3: '3', f4: '4' });
    await admin.set('a-string', 'v');
    const count = async (listName: string) =>
      (await read(track(build('redis', { host: '127.0.0.1', port: String(server.ports.redis), listName }, { password: PASSWORD })))).value;
    expect(await count('a-set')).toBe(2);
    expect(await count('a-zset')).toBe(3);
    expect(await count('a-hash')).toBe(4);
    await expect(count('a-string')).rejects.toThrow(/key has type string, expected list, set, sorted set or hash/);
  });

  it('reads the database given by databaseIndex', async () => {
    const db3 = new Redis({ host: '127.0.0.1', port: server.ports.redis, password: PASSWORD, db: 3 });
    await db3.rpush('in-db3', '1', '2');
    db3.disconnect();
    const scaler = track(build('redis', { address: `127.0.0.1:${server.ports.redis}`, listName: 'in-db3', databaseIndex: '3' }, { password: PASSWORD }));
    expect((await read(scaler)).value).toBe(2);
  });

  it('a wrong password fails clearly without showing the password', async () => {
    const wrong = 'not-the-password-123';
    const scaler = track(build('redis', { address: `127.0.0.1:${server.ports.redis}`, listName: 'jobs' }, { password: wrong }));
    const err = await scaler.getMetricsAndActivity('s0-redis-jobs').then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/redis 127\.0\.0\.1:\d+: reading the length of "jobs" failed: server replied with an error WRONGPASS/);
    expect(err?.message).not.toContain(wrong);
    expect(err?.message).not.toContain(PASSWORD);
  });

  it('shares one connection between scalers of the same server and closes it with the last', async () => {
    const before = redisPoolSize();
    const meta = { address: `127.0.0.1:${server.ports.redis}`, listName: 'jobs' };
    const a = build('redis', meta, { password: PASSWORD });
    const b = build('redis-streams', { address: meta.address, stream: 's' }, { password: PASSWORD });
    await Promise.all([read(a), read(b), read(a), read(b)]);
    expect(redisPoolSize()).toBe(before + 1);
    const clients = (await admin.client('LIST')) as string;
    expect(clients.split('\n').filter((l) => l.includes('name=keda-ts'))).toHaveLength(1);
    await a.close();
    expect(redisPoolSize()).toBe(before + 1);
    await b.close();
    expect(redisPoolSize()).toBe(before);
  });

  it('fails within the timeout while the server is down, and recovers when it is back', async () => {
    const scaler = track(build('redis', { address: `127.0.0.1:${server.ports.redis}`, listName: 'jobs' }, { password: PASSWORD }));
    expect((await read(scaler)).value).toBe(7);
    await server.pause();
    try {
      const started = Date.now();
      await expect(read(scaler)).rejects.toThrow(/redis 127\.0\.0\.1:\d+: reading the length of "jobs" (failed|timed out)/);
      expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 1500);
    } finally {
      await server.resume();
    }
    // No persistence: the list is gone after the restart, and the shared client reconnected.
    let value: number | undefined;
    for (let i = 0; i < 50 && value === undefined; i++) {
      value = await read(scaler).then((r) => r.value, () => undefined);
      if (value === undefined) await new Promise((r) => setTimeout(r, 200));
    }
    expect(value).toBe(0);
  });
});

describe('redis over TLS with a client certificate', () => {
  let certs: CertDir;
  let server: RunningTestServer<'redis'>;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'redis-tls-'));
    // One pair for serving and client authentication (redis-cli probes the server with the server's pair).
    certs = await writeCertDir(dir, [], { layout: 'shared' });
    server = await startTestServer(redisServer({ tls: { certFile: certs.tlsCert, keyFile: certs.tlsKey, caFile: certs.caCert, authClients: true } }));
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads through TLS with ca, cert and key from authParams (enableTLS or tls: enable)', async () => {
    // A client certificate (clientAuth) from the same CA; tls.crt is serving-only.
    const auth = { ca: certs.caPem, cert: readFileSync(certs.clientCert, 'utf8'), key: readFileSync(certs.clientKey, 'utf8') };
    const admin = new Redis({ host: '127.0.0.1', port: server.ports.redis, tls: { ...auth } });
    await admin.rpush('tls-jobs', '1', '2', '3');
    admin.disconnect();
    const viaMetadata = track(build('redis', { address: `127.0.0.1:${server.ports.redis}`, listName: 'tls-jobs', enableTLS: 'true' }, auth));
    expect(await read(viaMetadata)).toMatchObject({ value: 3, isActive: true });
    const viaAuth = track(build('redis', { address: `127.0.0.1:${server.ports.redis}`, listName: 'tls-jobs' }, { ...auth, tls: 'enable' }));
    expect((await read(viaAuth)).value).toBe(3);
  });

  it('fails clearly without a client certificate or with an untrusted server', async () => {
    const noCert = track(build('redis', { address: `127.0.0.1:${server.ports.redis}`, listName: 'tls-jobs', enableTLS: 'true' }, { ca: certs.caPem }));
    await expect(read(noCert)).rejects.toThrow(/redis 127\.0\.0\.1:\d+: reading the length of "tls-jobs" (failed|timed out)/);
    const untrusted = track(build('redis', { address: `127.0.0.1:${server.ports.redis}`, listName: 'tls-jobs', enableTLS: 'true' }));
    await expect(read(untrusted)).rejects.toThrow(/self[- ]signed|unable to (get|verify)|certificate/i);
  });
});

describe('redis-cluster', () => {
  let cluster: RunningRedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster({ password: 'cluster-pw' });
  }, 90_000);
  afterAll(async () => cluster?.stop());

  it('reads lists whose keys live on different nodes, through one shared cluster client', async () => {
    const admin = new Cluster(cluster.addresses.map((a) => ({ host: '127.0.0.1', port: Number(a.split(':')[1]) })), {
      redisOptions: { password: 'cluster-pw' },
    });
    const names = ['alpha', 'bravo', 'charlie', 'delta', 'echo'];
    const before = redisPoolSize();
    const built = names.map((listName) =>
      track(build('redis-cluster', { addresses: cluster.addresses.join(','), listName, activationListLength: '2' }, { password: 'cluster-pw' })),
    );
    expect(redisPoolSize()).toBe(before + 1);
    for (const s of built) expect(await read(s)).toMatchObject({ value: 0, isActive: false });
    for (const [i, n] of names.entries()) await admin.rpush(n, ...Array.from({ length: i + 1 }, (_, k) => String(k)));
    const values = await Promise.all(built.map(read));
    expect(values.map((v) => v.value)).toEqual([1, 2, 3, 4, 5]);
    expect(values.map((v) => v.isActive)).toEqual([false, false, true, true, true]);
    // The keys really are spread over the nodes.
    const perNode = await Promise.all(
      cluster.addresses.map(async (a) => {
        const node = new Redis({ host: '127.0.0.1', port: Number(a.split(':')[1]), password: 'cluster-pw' });
        const size = await node.dbsize();
        node.disconnect();
        return size;
      }),
    );
    expect(perNode.filter((n) => n > 0).length).toBeGreaterThan(1);
    admin.disconnect();
  });

  it('hosts/ports form and a wrong password', async () => {
    const hosts = cluster.addresses.map(() => '127.0.0.1').join(',');
    const ports = cluster.addresses.map((a) => a.split(':')[1]).join(',');
    const ok = track(build('redis-cluster', { hosts, ports, listName: 'charlie' }, { password: 'cluster-pw' }));
    expect((await read(ok)).value).toBe(3);
    const bad = track(build('redis-cluster', { hosts, ports, listName: 'charlie' }, { password: 'wrong-cluster-pw' }));
    const err = await read(bad).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/redis 127\.0\.0\.1:\d+,.*reading the length of "charlie" (failed|timed out)/);
    expect(err?.message).not.toContain('wrong-cluster-pw');
  });
});

describe('redis-sentinel', () => {
  let group: RunningRedisSentinel;
  beforeAll(async () => {
    group = await startRedisSentinel({ password: 'master-pw', sentinelPassword: 'sentinel-pw' });
  }, 60_000);
  afterAll(async () => group?.stop());

  it('finds the master through the sentinel and reads the list', async () => {
    const admin = new Redis({ host: '127.0.0.1', port: group.master.ports.redis, password: 'master-pw' });
    const scaler = track(
      build(
        'redis-sentinel',
        { addresses: `127.0.0.1:${group.sentinel.ports.sentinel}`, listName: 'queue', sentinelMaster: group.masterName },
        { password: 'master-pw', sentinelPassword: 'sentinel-pw' },
      ),
    );
    expect(await read(scaler)).toEqual({ value: 0, isActive: false, name: 's0-redis-queue' });
    await admin.rpush('queue', '1', '2', '3', '4');
    expect(await read(scaler)).toMatchObject({ value: 4, isActive: true });
    admin.disconnect();
  });

  it('a wrong sentinel password fails within the timeout without showing it', async () => {
    const scaler = track(
      build(
        'redis-sentinel',
        { addresses: `127.0.0.1:${group.sentinel.ports.sentinel}`, listName: 'queue', sentinelMaster: group.masterName },
        { password: 'master-pw', sentinelPassword: 'bad-sentinel-pw' },
      ),
    );
    const started = Date.now();
    const err = await read(scaler).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/redis sentinel master "mymaster" via 127\.0\.0\.1:\d+: reading the length of "queue" (failed|timed out)/);
    expect(err?.message).not.toContain('bad-sentinel-pw');
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 1500);
  });
});
