
import { groupAnswer, type GroupRequest, type KafkaBrokerApi, kafkaError, KafkaOffsetsClient, type PartitionLeader } from './kafka-client';
import type { CommittedOffsets, LatestOffsets } from './kafka-batch';

const WINDOW = 10;

/**
 * A fake cluster behind KafkaBrokerApi: topic `orders` (partitions 0, 1) and `audit` (0) led by
 * node 1; every group's coordinator is node 1. `coordinatorErrors` makes OffsetFetch answer a
 * group with these error codes first; `staleOnce` makes ListOffsets answer a topic with
 * NOT_LEADER_OR_FOLLOWER once. Records the requests it receives.
 */
function fakeCluster(options: { coordinatorErrors?: Record<string, number[]>; staleOnce?: string[] } = {}) {
  const log: string[] = [];
  const committed: Record<string, Record<string, Record<number, number>>> = {
    g1: { orders: { 0: 3, 1: 4 } },
    g2: { orders: { 0: 1 } },
    all: { audit: { 0: 2 } },
  };
  const partitions: Record<string, number[]> = { orders: [0, 1], audit: [0] };
  const coordinatorErrors = { ...options.coordinatorErrors };
  const staleOnce = new Set(options.staleOnce);
  const close = jest.fn(async () => undefined);
  const api: KafkaBrokerApi = {
    async topics(topics, refresh) {
      log.push(`Metadata ${topics.join(',')}${refresh ? ' (refresh)' : ''}`);
      const missing = topics.find((t) => !partitions[t]);
      if (missing) throw Object.assign(new Error(`Unknown topic ${missing}.`), { code: 'PLT_KFK_USER' });
      return new Map(topics.map((t) => [t, partitions[t].map((partition): PartitionLeader => ({ partition, leader: 1 }))]));
    },
    async coordinators(groups) {
      log.push(`FindCoordinator ${[...groups].sort().join(',')}`);
      return new Map(groups.map((g) => [g, 1]));
    },
    async offsetFetch(nodeId, groups: GroupRequest[]) {
      log.push(`OffsetFetch ${groups.map((g) => g.groupId).join(',')}`);
      const out = new Map<string, CommittedOffsets | Error>();
      for (const g of groups) {
        const code = coordinatorErrors[g.groupId]?.shift() ?? 0;
        const topics = Object.entries(committed[g.groupId] ?? {})
          .filter(([t]) => g.topics === null || g.topics.some((x) => x.name === t))
          .map(([name, ps]) => ({
            name,
            partitions: Object.entries(ps).map(([p, o]) => ({ partitionIndex: Number(p), committedOffset: BigInt(o), committedLeaderEpoch: -1, metadata: null, errorCode: 0 })),
          }));
        out.set(g.groupId, groupAnswer({ groupId: g.groupId, errorCode: code, topics: code ? [] : topics }));
      }
      return out;
    },
    async listOffsets(nodeId, topics) {
      log.push(`ListOffsets ${topics.map((t) => t.name).join(',')}`);
      const out = new Map<string, LatestOffsets | Error>();
      for (const t of topics) {
        if (staleOnce.delete(t.name)) out.set(t.name, kafkaError(6));
        else out.set(t.name, t.partitions.map((partition) => ({ partition, offset: 10 })));
      }
      return out;
    },
    close,
  };
  return { api, log, committed, close };
}

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

async function round(client: KafkaOffsetsClient, asks: [string, string?][]) {
  const answers = Promise.allSettled(asks.map(([g, t]) => client.offsets(g, t)));
  await jest.advanceTimersByTimeAsync(WINDOW);
  return answers;
}

type Offsets = Awaited<ReturnType<KafkaOffsetsClient['offsets']>>;

describe('KafkaOffsetsClient', () => {
  it('one OffsetFetch for every group and one ListOffsets per phase; coordinators cached', async () => {
    const { api, log, close } = fakeCluster();
    const client = new KafkaOffsetsClient(api, WINDOW);
    const asks: [string, string?][] = [['g1', 'orders'], ['g2', 'orders'], ['g1', 'orders'], ['all']];
    const first = await round(client, asks);
    expect(first.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    const g1 = (first[0] as PromiseFulfilledResult<Offsets>).value;
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
    const all = (first[3] as PromiseFulfilledResult<Offsets>).value;
    expect([...all.latest.keys()]).toEqual(['audit']);
    // One lookup for every group; OffsetFetch and the named topic's ListOffsets run in parallel,
    // the topic found through `all` follows.
    expect(log.filter((l) => l.startsWith('FindCoordinator'))).toEqual(['FindCoordinator all,g1,g2']);
    expect(log.filter((l) => !l.startsWith('FindCoordinator') && !l.startsWith('Metadata')).sort()).toEqual([
      'ListOffsets audit',
      'ListOffsets orders',
      'OffsetFetch g1,g2,all',
    ]);
    expect(log.at(-1)).toBe('ListOffsets audit');
    log.length = 0;
    await round(client, asks);
    // Second batch: no coordinator lookups (the metadata is the client's cache).
    expect(log.filter((l) => !l.startsWith('Metadata')).sort()).toEqual(['ListOffsets audit', 'ListOffsets orders', 'OffsetFetch g1,g2,all']);
    await client.close();
    expect(close).toHaveBeenCalledTimes(1);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('a moved coordinator is looked up again and asked once more within the batch; other groups unaffected', async () => {
    const { api, log } = fakeCluster({ coordinatorErrors: { g2: [16] } });
    const client = new KafkaOffsetsClient(api, WINDOW);
    const r = await round(client, [
      ['g1', 'orders'],
      ['g2', 'orders'],
    ]);
    expect(r.map((x) => x.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(log.filter((l) => l.startsWith('FindCoordinator'))).toEqual(['FindCoordinator g1,g2', 'FindCoordinator g2']);
    expect(log.filter((l) => l.startsWith('OffsetFetch'))).toEqual(['OffsetFetch g1,g2', 'OffsetFetch g2']);
    await client.close();
  });

  it('a coordinator that keeps failing fails only its group', async () => {
    const { api } = fakeCluster({ coordinatorErrors: { g2: [15, 15] } });
    const client = new KafkaOffsetsClient(api, WINDOW);
    const r = await round(client, [
      ['g1', 'orders'],
      ['g2', 'orders'],
    ]);
    expect(r[0].status).toBe('fulfilled');
    expect(r[1]).toEqual({ status: 'rejected', reason: expect.objectContaining({ apiId: 'COORDINATOR_NOT_AVAILABLE' }) });
    await client.close();
  });

  it('an unknown topic fails only its callers', async () => {
    const { api } = fakeCluster();
    const client = new KafkaOffsetsClient(api, WINDOW);
    const r = await round(client, [
      ['g1', 'orders'],
      ['g1', 'nope'],
    ]);
    expect(r[0].status).toBe('fulfilled');
    expect(r[1]).toEqual({ status: 'rejected', reason: expect.objectContaining({ message: 'topic "nope" does not exist (UNKNOWN_TOPIC_OR_PARTITION)' }) });
    await client.close();
  });

  it('stale metadata (a moved leader) is refreshed and the topic asked once more', async () => {
    const { api, log } = fakeCluster({ staleOnce: ['orders'] });
    const client = new KafkaOffsetsClient(api, WINDOW);
    const [r] = await round(client, [['g1', 'orders']]);
    expect(r.status).toBe('fulfilled');
    expect(log).toContain('Metadata orders (refresh)');
    expect(log.filter((l) => l === 'ListOffsets orders')).toHaveLength(2);
    await client.close();
  });

  it('a request that fails as a whole fails every caller of the batch with its error', async () => {
    const { api } = fakeCluster();
    api.topics = async () => {
      throw Object.assign(new Error('Connection to 10.0.0.1:9092 failed.'), { code: 'PLT_KFK_NETWORK' });
    };
    const client = new KafkaOffsetsClient(api, WINDOW);
    const r = await round(client, [
      ['g1', 'orders'],
      ['g2', 'audit'],
    ]);
    expect(r.map((x) => x.status)).toEqual(['rejected', 'rejected']);
    await client.close();
  });
});

describe('groupAnswer', () => {
  const partition = (partitionIndex: number, committedOffset: bigint, errorCode = 0) => ({
    partitionIndex,
    committedOffset,
    committedLeaderEpoch: -1,
    metadata: null,
    errorCode,
  });

  it('maps offsets (-1 when nothing is committed), a partition error fails its topic, a coordinator error its group', () => {
    expect(groupAnswer({ groupId: 'g', errorCode: 0, topics: [{ name: 't', partitions: [partition(0, 5n), partition(1, -1n)] }] })).toEqual(
      new Map([
        [
          't',
          new Map([
            [0, 5],
            [1, -1],
          ]),
        ],
      ]),
    );
    const topicFailed = groupAnswer({ groupId: 'g', errorCode: 0, topics: [{ name: 't', partitions: [partition(0, 5n, 3)] }] }) as CommittedOffsets;
    expect(topicFailed.get('t')).toEqual(expect.objectContaining({ apiId: 'UNKNOWN_TOPIC_OR_PARTITION' }));
    expect(groupAnswer({ groupId: 'g', errorCode: 0, topics: [{ name: 't', partitions: [partition(0, 5n, 16)] }] })).toEqual(
      expect.objectContaining({ apiId: 'NOT_COORDINATOR' }),
    );
    expect(groupAnswer({ groupId: 'g', errorCode: 30, topics: [] })).toEqual(expect.objectContaining({ apiId: 'GROUP_AUTHORIZATION_FAILED' }));
    expect(kafkaError(32_000).message).toBe('Kafka error code 32000');
  });
});
