import type Cluster from 'kafkajs/src/cluster';
import { createErrorFromCode } from 'kafkajs/src/protocol/error';
import { KafkaOffsetsClient } from './kafka-client';
import type { OffsetFetchGroupRequest } from './kafka-protocol';
import Encoder from 'kafkajs/src/protocol/encoder';

const WINDOW = 10;

/**
 * A fake kafkajs Cluster: topic `orders` (partitions 0, 1) and `audit` (0) on node 1; every group's
 * coordinator is node 1 unless `moved` says otherwise. Records the requests it receives.
 */
function fakeCluster(options: { v8?: boolean; coordinatorErrors?: Record<string, number[]> } = {}) {
  const log: string[] = [];
  const committed: Record<string, Record<string, Record<number, number>>> = {
    g1: { orders: { 0: 3, 1: 4 } },
    g2: { orders: { 0: 1 } },
    all: { audit: { 0: 2 } },
  };
  const partitions: Record<string, number[]> = { orders: [0, 1], audit: [0] };
  const coordinatorErrors = { ...options.coordinatorErrors };
  const v8Groups = (groups: OffsetFetchGroupRequest[]) =>
    groups.map((g) => {
      const code = coordinatorErrors[g.groupId]?.shift() ?? 0;
      const topics = Object.entries(committed[g.groupId] ?? {})
        .filter(([t]) => g.topics === null || g.topics.some((x) => x.name === t))
        .map(([name, ps]) => ({
          name,
          partitions: Object.entries(ps).map(([p, o]) => ({
            partition: Number(p),
            offset: String(o),
            errorCode: 0,
          })),
        }));
      return { groupId: g.groupId, errorCode: code, topics: code ? [] : topics };
    });
  const broker: Cluster.Broker = {
    nodeId: 1,
    versions: { 9: { minVersion: 1, maxVersion: options.v8 === false ? 7 : 10 } },
    isConnected: () => true,
    disconnect: async () => undefined,
    connectionPool: {
      async send<T>(req: Cluster.ProtocolRequest<T>): Promise<T> {
        // Re-decode what was encoded (the request bytes), and answer as a broker would.
        const payload = (await req.request.encode()) as Encoder;
        log.push(`OffsetFetch v${req.request.apiVersion} ${payload.size()}B`);
        const groups = decodeRequest(payload.buffer);
        return { throttleTimeMs: 0, groups: v8Groups(groups) } as T;
      },
    },
    async offsetFetch({ groupId, topics }) {
      log.push(`OffsetFetch ${groupId}`);
      const code = coordinatorErrors[groupId]?.shift() ?? 0;
      if (code) throw createErrorFromCode(code);
      const [g] = v8Groups([
        { groupId, topics: topics.length ? topics.map((t) => ({ name: t.topic, partitions: [] })) : null },
      ]);
      return { responses: g.topics.map((t) => ({ topic: t.name, partitions: t.partitions })) };
    },
  };
  const cluster = {
    targetTopics: new Set<string>(),
    connect: async () => undefined,
    disconnect: jest.fn(async () => undefined),
    isConnected: () => true,
    refreshMetadata: async () => void log.push('Metadata'),
    refreshMetadataIfNecessary: async () => undefined,
    async addMultipleTargetTopics(topics: string[]) {
      const missing = topics.find((t) => !partitions[t]);
      if (missing) throw createErrorFromCode(3);
    },
    findTopicPartitionMetadata: (t: string) =>
      (partitions[t] ?? []).map((partitionId) => ({ partitionId, leader: 1, partitionErrorCode: 0 })),
    findBroker: async () => broker,
    async findGroupCoordinatorMetadata({ groupId }: { groupId: string }) {
      log.push(`FindCoordinator ${groupId}`);
      return { coordinator: { nodeId: 1, host: '127.0.0.1', port: 9092 } };
    },
    async fetchTopicsOffset(topics: { topic: string; partitions: { partition: number }[] }[]) {
      log.push(`ListOffsets ${topics.map((t) => t.topic).join(',')}`);
      return topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((p) => ({ partition: p.partition, offset: '10' })),
      }));
    },
  };
  return { cluster: cluster as unknown as Cluster, log, committed };
}

/** Decodes an OffsetFetch v8 request payload (the test's own reader, independent of the encoder). */
function decodeRequest(buf: Buffer): OffsetFetchGroupRequest[] {
  let o = 0;
  const uv = () => buf[o++]; // small values only
  const cstr = () => {
    const n = uv() - 1;
    const s = buf.toString('utf8', o, o + n);
    o += n;
    return s;
  };
  uv(); // header tags
  const groups: OffsetFetchGroupRequest[] = [];
  for (let g = uv() - 1; g > 0; g--) {
    const groupId = cstr();
    const nt = uv();
    let topics: OffsetFetchGroupRequest['topics'] = null;
    if (nt > 0) {
      topics = [];
      for (let t = nt - 1; t > 0; t--) {
        const name = cstr();
        const ps: number[] = [];
        for (let p = uv() - 1; p > 0; p--, o += 4) ps.push(buf.readInt32BE(o));
        uv();
        topics.push({ name, partitions: ps });
      }
    }
    uv();
    groups.push({ groupId, topics });
  }
  return groups;
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

async function round(client: KafkaOffsetsClient, asks: [string, string?][]) {
  const answers = Promise.allSettled(asks.map(([g, t]) => client.offsets(g, t)));
  await jest.advanceTimersByTimeAsync(WINDOW);
  return answers;
}

describe('KafkaOffsetsClient', () => {
  it('one OffsetFetch v8 for every group and one ListOffsets per phase; coordinators cached', async () => {
    const { cluster, log } = fakeCluster();
    const client = new KafkaOffsetsClient(cluster, WINDOW);
    const asks: [string, string?][] = [['g1', 'orders'], ['g2', 'orders'], ['g1', 'orders'], ['all']];
    const first = await round(client, asks);
    expect(first.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    const g1 = (first[0] as PromiseFulfilledResult<Awaited<ReturnType<KafkaOffsetsClient['offsets']>>>).value;
    expect(g1.committed.get('orders')).toEqual(
      new Map([
        [0, 3],
        [1, 4],
      ]),
    );
    expect(g1.latest.get('orders')).toEqual([
      { partition: 0, offset: 10 },
      { partition: 1, offset: 10 },
    ]);
    const all = (first[3] as PromiseFulfilledResult<Awaited<ReturnType<KafkaOffsetsClient['offsets']>>>)
      .value;
    expect([...all.latest.keys()]).toEqual(['audit']);
    expect(log.filter((l) => l.startsWith('FindCoordinator')).sort()).toEqual([
      'FindCoordinator all',
      'FindCoordinator g1',
      'FindCoordinator g2',
    ]);
    // OffsetFetch and the named topic's ListOffsets run in parallel; the topic found through `all` follows.
    const requests = () =>
      log.filter((l) => !l.startsWith('FindCoordinator')).map((l) => l.replace(/ \d+B$/, ''));
    expect(requests().sort()).toEqual(['ListOffsets audit', 'ListOffsets orders', 'OffsetFetch v8']);
    expect(requests().at(-1)).toBe('ListOffsets audit');
    log.length = 0;
    await round(client, asks);
    // Second batch: no coordinator lookups.
    expect(requests().sort()).toEqual(['ListOffsets audit', 'ListOffsets orders', 'OffsetFetch v8']);
    expect(log).toHaveLength(3);
    await client.close();
    expect(jest.getTimerCount()).toBe(0);
  });

  it('a moved coordinator is looked up again and asked once more within the batch; other groups unaffected', async () => {
    const { cluster, log } = fakeCluster({ coordinatorErrors: { g2: [16] } });
    const client = new KafkaOffsetsClient(cluster, WINDOW);
    const r = await round(client, [
      ['g1', 'orders'],
      ['g2', 'orders'],
    ]);
    expect(r.map((x) => x.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(log.filter((l) => l === 'FindCoordinator g2')).toHaveLength(2);
    expect(log.filter((l) => l.startsWith('OffsetFetch'))).toHaveLength(2);
    await client.close();
  });

  it('a coordinator that keeps failing fails only its group', async () => {
    const { cluster } = fakeCluster({ coordinatorErrors: { g2: [15, 15] } });
    const client = new KafkaOffsetsClient(cluster, WINDOW);
    const r = await round(client, [
      ['g1', 'orders'],
      ['g2', 'orders'],
    ]);
    expect(r[0].status).toBe('fulfilled');
    expect(r[1]).toEqual({
      status: 'rejected',
      reason: expect.objectContaining({ message: 'The group coordinator is not available' }),
    });
    await client.close();
  });

  it('below v8: kafkajs OffsetFetch per group', async () => {
    const { cluster, log } = fakeCluster({ v8: false });
    const client = new KafkaOffsetsClient(cluster, WINDOW);
    const r = await round(client, [['g1', 'orders'], ['g2', 'orders'], ['all']]);
    expect(r.map((x) => x.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(log.filter((l) => l.startsWith('OffsetFetch')).sort()).toEqual([
      'OffsetFetch all',
      'OffsetFetch g1',
      'OffsetFetch g2',
    ]);
    await client.close();
  });

  it('an unknown topic fails only its callers', async () => {
    const { cluster } = fakeCluster();
    const client = new KafkaOffsetsClient(cluster, WINDOW);
    const r = await round(client, [
      ['g1', 'orders'],
      ['g1', 'nope'],
    ]);
    expect(r[0].status).toBe('fulfilled');
    expect(r[1]).toEqual({
      status: 'rejected',
      reason: expect.objectContaining({ message: 'This server does not host this topic-partition' }),
    });
    await client.close();
  });
});
