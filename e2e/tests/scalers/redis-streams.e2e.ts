/**
 * `redis-streams`, `redis-cluster-streams` and `redis-sentinel-streams` against real Redis 7
 * servers: the length, pending-entries and lag modes.
 */
import { Cluster, Redis } from 'ioredis';
import type { Scaler } from '@keda-ts/scaler-sdk';
import { scalers, type ScalerContext } from '@keda-ts/scalers';
import {
  redisServer,
  startRedisCluster,
  startRedisSentinel,
  startTestServer,
  type RunningRedisCluster,
  type RunningRedisSentinel,
  type RunningTestServer,
} from '../../src/servers';

const ctx: ScalerContext = {
  httpTimeoutMs: 2000,
  now: () => new Date(),
  kubernetes: { countPods: () => Promise.reject(new Error('not used')) },
};

const opened: Scaler[] = [];
function build(triggerType: string, metadata: Record<string, string>, authParams: Record<string, string> = {}): Scaler {
  const scaler = scalers.build(
    { triggerIndex: 1, triggerType, metadata, resolvedEnv: {}, authParams, scalableObject: { kind: 'ScaledObject', namespace: 'ns', name: 'so' } },
    ctx,
  );
  opened.push(scaler);
  return scaler;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

async function read(scaler: Scaler): Promise<{ value: number; isActive: boolean }> {
  const name = scaler.getMetricSpecForScaling()[0].external?.metric.name ?? '';
  const r = await scaler.getMetricsAndActivity(name);
  return { value: r.metrics[0].value, isActive: r.isActive };
}

describe('redis-streams (standalone)', () => {
  let server: RunningTestServer<'redis'>;
  let admin: Redis;
  let address: string;
  beforeAll(async () => {
    server = await startTestServer(redisServer({ password: 'streams-pw' }));
    address = `127.0.0.1:${server.ports.redis}`;
    admin = new Redis({ host: '127.0.0.1', port: server.ports.redis, password: 'streams-pw' });
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.stop();
  });

  it('length mode: XLEN, inactive -> active -> N', async () => {
    const scaler = build('redis-streams', { address, stream: 'orders', streamLength: '10', activationLagCount: '1' }, { password: 'streams-pw' });
    expect(scaler.getMetricSpecForScaling()[0].external).toEqual({
      metric: { name: 's1-redis-streams-orders' },
      target: { type: 'AverageValue', averageValue: '10' },
    });
    expect(await read(scaler)).toEqual({ value: 0, isActive: false });
    await admin.xadd('orders', '*', 'n', '1');
    expect(await read(scaler)).toEqual({ value: 1, isActive: false });
    for (let i = 0; i < 5; i++) await admin.xadd('orders', '*', 'n', String(i));
    expect(await read(scaler)).toEqual({ value: 6, isActive: true });
  });

  it('pending mode: XPENDING of the group', async () => {
    await admin.xgroup('CREATE', 'work', 'workers', '$', 'MKSTREAM');
    const scaler = build('redis-streams', { address, stream: 'work', consumerGroup: 'workers', pendingEntriesCount: '2' }, { password: 'streams-pw' });
    expect(scaler.getMetricSpecForScaling()[0].external?.target).toEqual({ type: 'AverageValue', averageValue: '2' });
    for (let i = 0; i < 4; i++) await admin.xadd('work', '*', 'n', String(i));
    // Added but not delivered: nothing pending yet.
    expect(await read(scaler)).toEqual({ value: 0, isActive: false });
    const delivered = (await admin.xreadgroup('GROUP', 'workers', 'c1', 'COUNT', 3, 'STREAMS', 'work', '>')) as [string, [string, string[]][]][];
    expect(await read(scaler)).toEqual({ value: 3, isActive: true });
    await admin.xack('work', 'workers', delivered[0][1][0][0]);
    expect(await read(scaler)).toEqual({ value: 2, isActive: true });
    const missing = build('redis-streams', { address, stream: 'work', consumerGroup: 'nobody' }, { password: 'streams-pw' });
    await expect(read(missing)).rejects.toThrow(/reading the pending entries of group "nobody" on stream "work" failed: server replied with an error NOGROUP/);
  });

  it('lag mode: XINFO GROUPS lag; missing stream -> 0, missing group -> XLEN', async () => {
    await admin.xgroup('CREATE', 'events', 'readers', '$', 'MKSTREAM');
    const scaler = build('redis-streams', { address, stream: 'events', consumerGroup: 'readers', lagCount: '4', pendingEntriesCount: '99' }, { password: 'streams-pw' });
    expect(scaler.getMetricSpecForScaling()[0].external?.target).toEqual({ type: 'AverageValue', averageValue: '4' });
    expect(await read(scaler)).toEqual({ value: 0, isActive: false });
    for (let i = 0; i < 5; i++) await admin.xadd('events', '*', 'n', String(i));
    expect(await read(scaler)).toEqual({ value: 5, isActive: true });
    await admin.xreadgroup('GROUP', 'readers', 'c1', 'COUNT', 2, 'STREAMS', 'events', '>');
    expect(await read(scaler)).toEqual({ value: 3, isActive: true });

    const noStream = build('redis-streams', { address, stream: 'nothing-here', consumerGroup: 'readers', lagCount: '4' }, { password: 'streams-pw' });
    expect(await read(noStream)).toEqual({ value: 0, isActive: false });
    const noGroup = build('redis-streams', { address, stream: 'events', consumerGroup: 'not-created', lagCount: '4' }, { password: 'streams-pw' });
    expect(await read(noGroup)).toEqual({ value: 5, isActive: true });
  });
});

describe('redis-cluster-streams', () => {
  let cluster: RunningRedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster();
  }, 90_000);
  afterAll(async () => cluster?.stop());

  it('reads length, pending and lag of streams on the cluster', async () => {
    const admin = new Cluster(cluster.addresses.map((a) => ({ host: '127.0.0.1', port: Number(a.split(':')[1]) })));
    await admin.xgroup('CREATE', 'cl-jobs', 'g', '$', 'MKSTREAM');
    for (let i = 0; i < 6; i++) await admin.xadd('cl-jobs', '*', 'n', String(i));
    await admin.xreadgroup('GROUP', 'g', 'c', 'COUNT', 2, 'STREAMS', 'cl-jobs', '>');
    const addresses = cluster.addresses.join(',');
    expect(await read(build('redis-cluster-streams', { addresses, stream: 'cl-jobs' }))).toEqual({ value: 6, isActive: true });
    expect(await read(build('redis-cluster-streams', { addresses, stream: 'cl-jobs', consumerGroup: 'g' }))).toEqual({ value: 2, isActive: true });
    expect(await read(build('redis-cluster-streams', { addresses, stream: 'cl-jobs', consumerGroup: 'g', lagCount: '1' }))).toEqual({ value: 4, isActive: true });
    expect(await read(build('redis-cluster-streams', { addresses, stream: 'cl-empty', consumerGroup: 'g', lagCount: '1' }))).toEqual({ value: 0, isActive: false });
    admin.disconnect();
  });
});

describe('redis-sentinel-streams', () => {
  let group: RunningRedisSentinel;
  beforeAll(async () => {
    group = await startRedisSentinel({ password: 'm-pw' });
  }, 60_000);
  afterAll(async () => group?.stop());

  it('reads the lag of a group on the master the sentinel names', async () => {
    const admin = new Redis({ host: '127.0.0.1', port: group.master.ports.redis, password: 'm-pw' });
    await admin.xgroup('CREATE', 's-jobs', 'g', '$', 'MKSTREAM');
    const scaler = build(
      'redis-sentinel-streams',
      { addresses: `127.0.0.1:${group.sentinel.ports.sentinel}`, sentinelMaster: group.masterName, stream: 's-jobs', consumerGroup: 'g', lagCount: '2' },
      { password: 'm-pw' },
    );
    expect(await read(scaler)).toEqual({ value: 0, isActive: false });
    for (let i = 0; i < 3; i++) await admin.xadd('s-jobs', '*', 'n', String(i));
    expect(await read(scaler)).toEqual({ value: 3, isActive: true });
    admin.disconnect();
  });
});
