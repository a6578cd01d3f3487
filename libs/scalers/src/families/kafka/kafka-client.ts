/**
 * The broker side of the kafka scaler: one @platformatic/kafka Admin per cluster + credentials, used
 * through its public API only, and a batch fetch that answers every poll of a collection window
 * (kafka-batch.ts) with as few requests as the cluster allows:
 *
 * - newest offsets: one ListOffsets (latest only) per partition leader, covering every topic of
 *   the batch;
 * - committed offsets: per group coordinator, one OffsetFetch v8 for every group of the batch
 *   (KIP-709) when the broker supports it, else the Admin's listConsumerGroupOffsets per group;
 * - group coordinators are cached per group and looked up again (one FindCoordinator for every
 *   group that needs it) only after an error that says the coordinator moved or is unavailable,
 *   or a connection error;
 * - metadata is the Admin's cache: a topic's is fetched when it is new to the client or older
 *   than KAFKA_METADATA_MAX_AGE_MS, and again after an error that says it is stale.
 *
 * The Admin's `listOffsets` would send a Metadata request with every call, and its
 * `listConsumerGroupOffsets` a FindCoordinator, and both fail every group or topic of a call when
 * one fails; so the requests are sent with the library's exported API functions (`offsetFetchV8`,
 * `listOffsetsV*`) on the connections `Admin#connectToBrokers` gives, which keeps errors per group
 * and per topic (a response with errors comes as the library's ResponseError carrying the response).
 *
 * Connections: the Admin keeps one connection per broker it talks to (the bootstrap connection is
 * the broker's own when the bootstrap address is one the brokers advertise).
 */
import type * as Kafka from '@platformatic/kafka';
import { type BatchAnswer, type BatchRequest, type CommittedOffsets, type GroupOffsets, type LatestOffsets, OffsetsBatcher } from './kafka-batch';
import { LocalError } from '../../upstream-errors';
import { q } from '@keda-ts/scaler-sdk';
import { onFirstUse } from '../../lazy-module';

/** @platformatic/kafka, loaded by the first kafka scaler (its import alone costs ~11 MiB of heap and a WebAssembly memory). */
export const platformaticKafka = onFirstUse(() => require('@platformatic/kafka') as typeof Kafka);

type Admin = Kafka.Admin;
type ApiVersionsResponseApi = Awaited<ReturnType<Admin['listApis']>>[number];
type OffsetFetchResponse = Kafka.offsetFetchV8.OffsetFetchResponse;
type OffsetFetchResponseGroup = Kafka.offsetFetchV8.OffsetFetchResponseGroup;

const OFFSET_FETCH_API_KEY = 9;
const LIST_OFFSETS_API_KEY = 2;
/** OffsetFetch v8 is the first with several groups in one request (KIP-709, Kafka 3.0). */
const OFFSET_FETCH_MULTI_GROUP_VERSION = 8;
/** The ListOffsets versions the library exports, by version (same request shape for all). */
const listOffsetsApis = onFirstUse(() => {
  const k = platformaticKafka();
  return new Map([
    [9, k.listOffsetsV9.api],
    [8, k.listOffsetsV8.api],
    [7, k.listOffsetsV7.api],
    [6, k.listOffsetsV6.api],
    [5, k.listOffsetsV5.api],
    [4, k.listOffsetsV4.api],
    [3, k.listOffsetsV3.api],
    [2, k.listOffsetsV2.api],
    [1, k.listOffsetsV1.api],
  ]);
});

/** Kafka error codes that say a group's coordinator moved or is not ready: look it up again. */
const COORDINATOR_ERROR_CODES = new Set([
  14, // COORDINATOR_LOAD_IN_PROGRESS
  15, // COORDINATOR_NOT_AVAILABLE
  16, // NOT_COORDINATOR
]);
/** Kafka error codes that say the metadata (partitions, leaders) is stale. */
const STALE_METADATA_CODES = new Set([
  3, // UNKNOWN_TOPIC_OR_PARTITION
  5, // LEADER_NOT_AVAILABLE
  6, // NOT_LEADER_OR_FOLLOWER
  74, // FENCED_LEADER_EPOCH
  75, // UNKNOWN_LEADER_EPOCH
]);
/** The library's error codes of connection failures, and node's socket error codes. */
const CONNECTION_ERROR_CODES = new Set(['PLT_KFK_NETWORK', 'PLT_KFK_TIMEOUT']);

type KafkaError = Error & { code?: unknown; apiCode?: unknown; hasStaleMetadata?: unknown; errors?: unknown; response?: unknown };

/** The error and the errors it wraps (the library's MultipleErrors hold theirs in `errors`, others use `cause`). */
function* chain(err: unknown, depth = 0): Generator<KafkaError> {
  if (!(err instanceof Error) || depth > 5) return;
  const e = err as KafkaError;
  yield e;
  if (Array.isArray(e.errors)) for (const inner of e.errors.slice(0, 10)) yield* chain(inner, depth + 1);
  if (e.cause) yield* chain(e.cause, depth + 1);
}

const someError = (err: unknown, test: (e: KafkaError) => boolean): boolean => {
  for (const e of chain(err)) if (test(e)) return true;
  return false;
};

export const isCoordinatorError = (err: unknown): boolean =>
  someError(err, (e) => typeof e.apiCode === 'number' && COORDINATOR_ERROR_CODES.has(e.apiCode));
export const isConnectionError = (err: unknown): boolean =>
  someError(err, (e) => typeof e.code === 'string' && (CONNECTION_ERROR_CODES.has(e.code) || /^E[A-Z]+$/.test(e.code)));
export const isStaleMetadata = (err: unknown): boolean =>
  someError(err, (e) => e.hasStaleMetadata === true || (typeof e.apiCode === 'number' && STALE_METADATA_CODES.has(e.apiCode)) || e instanceof StaleMetadataError);

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/** The Admin's metadata call fails with its own "Unknown topic" error (or a protocol error 3). */
const isUnknownTopic = (err: unknown): boolean =>
  someError(err, (e) => e.apiCode === 3 || (e.code === 'PLT_KFK_USER' && /^Unknown topic /.test(e.message)));

/** The error of a topic whose metadata could not be read: a clear one when it does not exist. */
const topicError = (topic: string, err: unknown): Error =>
  isUnknownTopic(err) ? new LocalError(`topic ${q(topic)} does not exist (UNKNOWN_TOPIC_OR_PARTITION)`) : asError(err);

/** The library's ProtocolError (type and message from its own table) for a Kafka error code. */
export function kafkaError(code: number): Error {
  try {
    return new (platformaticKafka().ProtocolError)(code);
  } catch {
    return new LocalError(`Kafka error code ${code}`);
  }
}

/** A partition leader or coordinator that the metadata does not (or no longer) name. */
class StaleMetadataError extends LocalError {
  override readonly name = 'StaleMetadataError';
}

/** The committed offsets of one group in an OffsetFetch response; a group-level error fails the whole group. */
export function groupAnswer(g: OffsetFetchResponseGroup): CommittedOffsets | Error {
  if (g.errorCode !== 0) return kafkaError(g.errorCode);
  const out: CommittedOffsets = new Map();
  for (const t of g.topics) {
    const partitions = new Map<number, number>();
    let failed: Error | undefined;
    for (const p of t.partitions) {
      if (p.errorCode !== 0) {
        // Coordinator errors are the group's (older brokers report them per partition).
        if (COORDINATOR_ERROR_CODES.has(p.errorCode)) return kafkaError(p.errorCode);
        failed ??= kafkaError(p.errorCode);
      } else partitions.set(p.partitionIndex, Number(p.committedOffset));
    }
    out.set(t.name, failed ?? partitions);
  }
  return out;
}

/** A partition of a topic's metadata: its leader's node id (-1 when it has none). */
export interface PartitionLeader {
  partition: number;
  leader: number;
}

/** The OffsetFetch entry of one group: the topics asked with their partitions, or null for every topic. */
export interface GroupRequest {
  groupId: string;
  topics: { name: string; partitions: number[] }[] | null;
}

/**
 * What the offsets client needs from a cluster, one method per kind of request. The Admin-backed
 * implementation is `adminBrokerApi`; tests give a fake.
 */
export interface KafkaBrokerApi {
  /** Partitions and leaders of `topics` (cached, unless `refresh`). Rejects when one of them does not exist. */
  topics(topics: string[], refresh: boolean): Promise<Map<string, PartitionLeader[]>>;
  /** The coordinator node of each group (one FindCoordinator for all), or the error of the lookup. */
  coordinators(groups: string[]): Promise<Map<string, number | Error>>;
  /** Committed offsets of `groups` from their coordinator `nodeId`: per group, its offsets or its error. */
  offsetFetch(nodeId: number, groups: GroupRequest[]): Promise<Map<string, CommittedOffsets | Error>>;
  /** Newest offsets of the partitions led by `nodeId`: per topic, its offsets or its error. */
  listOffsets(nodeId: number, topics: { name: string; partitions: number[] }[]): Promise<Map<string, LatestOffsets | Error>>;
  close(): Promise<void>;
}

/** The response a failed API call carried (the library's ResponseError keeps it), if any. */
function responseOf<T>(err: unknown): T | undefined {
  for (const e of chain(err)) if (e.code === 'PLT_KFK_RESPONSE' && e.response && typeof e.response === 'object') return e.response as T;
  return undefined;
}

/** The highest version of `apiKey` both the broker (`apis`) and `known` support. */
function pickVersion(apis: readonly ApiVersionsResponseApi[], apiKey: number, known: Iterable<number>): number | undefined {
  const range = apis.find((a) => a.apiKey === apiKey);
  if (!range) return undefined;
  return [...known].filter((v) => v >= range.minVersion && v <= range.maxVersion).sort((a, b) => b - a)[0];
}

/** KafkaBrokerApi on an Admin's public API. */
export function adminBrokerApi(admin: Admin): KafkaBrokerApi {
  let apis: Promise<ApiVersionsResponseApi[]> | undefined;
  const versions = () => {
    apis ??= admin.listApis().catch((err: unknown) => {
      apis = undefined;
      throw err;
    });
    return apis;
  };
  const connection = async (nodeId: number) => {
    const connections = await admin.connectToBrokers([nodeId]);
    const c = connections.get(nodeId);
    if (!c) throw new StaleMetadataError(`broker ${nodeId} is not in the cluster metadata`);
    return c;
  };

  return {
    async topics(topics, refresh) {
      const metadata = await admin.metadata({ topics, forceUpdate: refresh });
      const out = new Map<string, PartitionLeader[]>();
      for (const t of topics) {
        const meta = metadata.topics.get(t);
        if (!meta) throw new LocalError(`no metadata for topic ${q(t)}`);
        const partitions: PartitionLeader[] = [];
        meta.partitions.forEach((p, partition) => partitions.push({ partition, leader: p?.leader ?? -1 }));
        out.set(t, partitions);
      }
      return out;
    },

    async coordinators(groups) {
      const out = new Map<string, number | Error>();
      const lookup = async (keys: string[]) => {
        for (const c of await admin.findCoordinator({ keyType: platformaticKafka().FindCoordinatorKeyTypes.GROUP, keys })) out.set(c.key, c.nodeId);
      };
      try {
        await lookup(groups);
      } catch (err) {
        if (groups.length === 1) {
          out.set(groups[0], asError(err));
          return out;
        }
        // One group's error fails the lookup of all: each on its own.
        await Promise.all(groups.map(async (g) => lookup([g]).catch((e: unknown) => void out.set(g, asError(e)))));
      }
      return out;
    },

    async offsetFetch(nodeId, groups) {
      const out = new Map<string, CommittedOffsets | Error>();
      const version = pickVersion(await versions(), OFFSET_FETCH_API_KEY, [OFFSET_FETCH_MULTI_GROUP_VERSION]);
      if (version === undefined) {
        // Brokers before Kafka 3.0: the Admin's own call, one group at a time.
        await Promise.all(
          groups.map(async (g) => {
            try {
              const [answer] = await admin.listConsumerGroupOffsets({
                groups: [{ groupId: g.groupId, topics: g.topics?.map((t) => ({ name: t.name, partitionIndexes: t.partitions })) ?? null }],
              });
              out.set(g.groupId, new Map(answer?.topics.map((t) => [t.name, new Map(t.partitions.map((p) => [p.partitionIndex, Number(p.committedOffset)]))])));
            } catch (err) {
              out.set(g.groupId, asError(err));
            }
          }),
        );
        return out;
      }
      const request: Kafka.offsetFetchV8.OffsetFetchRequestGroup[] = groups.map((g) => ({
        groupId: g.groupId,
        memberEpoch: -1,
        topics: g.topics?.map((t) => ({ name: t.name, partitionIndexes: t.partitions })) ?? null,
      }));
      let response: OffsetFetchResponse;
      try {
        response = await platformaticKafka().offsetFetchV8.api.async(await connection(nodeId), request, false);
      } catch (err) {
        const partial = responseOf<OffsetFetchResponse>(err);
        if (!partial) throw err;
        response = partial;
      }
      for (const g of response.groups) out.set(g.groupId, groupAnswer(g));
      return out;
    },

    async listOffsets(nodeId, topics) {
      const version = pickVersion(await versions(), LIST_OFFSETS_API_KEY, listOffsetsApis().keys());
      const api = version === undefined ? undefined : listOffsetsApis().get(version);
      if (!api) throw new LocalError('the broker supports no ListOffsets version this client speaks');
      const request = topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp: -1n })),
      }));
      type Response = Awaited<ReturnType<typeof Kafka.listOffsetsV9.api.async>>;
      let response: Response;
      try {
        // replica -1 (a client), isolation level 0 (read uncommitted: the high watermark).
        response = await api.async(await connection(nodeId), -1, 0, request);
      } catch (err) {
        const partial = responseOf<Response>(err);
        if (!partial) throw err;
        response = partial;
      }
      const out = new Map<string, LatestOffsets | Error>();
      for (const t of response.topics) {
        const failed = t.partitions.find((p) => p.errorCode !== 0);
        out.set(t.name, failed ? kafkaError(failed.errorCode) : t.partitions.map((p) => ({ partition: p.partitionIndex, offset: Number(p.offset) })));
      }
      return out;
    },

    close: () => admin.close(),
  };
}

export class KafkaOffsetsClient {
  private readonly batcher: OffsetsBatcher;
  /** Group -> node id of its coordinator. */
  private readonly coordinatorOf = new Map<string, number>();

  constructor(
    private readonly api: KafkaBrokerApi,
    windowMs: number,
  ) {
    this.batcher = new OffsetsBatcher((request) => this.fetch(request), windowMs);
  }

  /** Committed and newest offsets of `group` on `topic` (every topic the group committed to without one). */
  offsets(group: string, topic?: string): Promise<GroupOffsets> {
    return this.batcher.get(group, topic);
  }

  async close(): Promise<void> {
    this.batcher.close();
    this.coordinatorOf.clear();
    await this.api.close();
  }

  /** One batch: every request is sent after the batch's window closed. */
  private async fetch(request: BatchRequest): Promise<BatchAnswer> {
    const latest = new Map<string, LatestOffsets | Error>();
    const named = [...request.topics];
    const partitions = await this.metadata(named, false, latest);
    const [committed] = await Promise.all([this.fetchCommitted(request, partitions), this.fetchLatest(partitions, latest)]);
    // Topics found through groups asked for every topic they committed to.
    const found = new Set<string>();
    for (const [group, topics] of request.groups) {
      const c = committed.get(group);
      if (topics === null && c && !(c instanceof Error)) for (const t of c.keys()) if (!latest.has(t) && !partitions.has(t)) found.add(t);
    }
    if (found.size > 0) await this.fetchLatest(await this.metadata([...found], false, latest), latest);
    return { committed, latest };
  }

  /**
   * Partitions and leaders of `topics`, from the client's metadata cache (refreshed for a new topic,
   * an old one, or when `refresh`). A topic that does not exist fails only its own callers: its
   * error goes to `errors`.
   */
  private async metadata(topics: string[], refresh: boolean, errors: Map<string, LatestOffsets | Error>): Promise<Map<string, PartitionLeader[]>> {
    if (topics.length === 0) return new Map();
    try {
      return await this.api.topics(topics, refresh);
    } catch (err) {
      if (topics.length === 1) {
        if (isConnectionError(err)) throw err;
        errors.set(topics[0], topicError(topics[0], err));
        return new Map();
      }
      if (isConnectionError(err)) throw err;
      // One topic's error fails the request of all: each on its own.
      const out = new Map<string, PartitionLeader[]>();
      await Promise.all(
        topics.map(async (t) => {
          try {
            const one = await this.api.topics([t], refresh);
            out.set(t, one.get(t) ?? []);
          } catch (e) {
            errors.set(t, topicError(t, e));
          }
        }),
      );
      return out;
    }
  }

  /** Newest offsets of `topics` into `into`: one ListOffsets per leader; a failing topic fails only its callers. */
  private async fetchLatest(topics: Map<string, PartitionLeader[]>, into: Map<string, LatestOffsets | Error>, attempt = 0): Promise<void> {
    if (topics.size === 0) return;
    const byLeader = new Map<number, { name: string; partitions: number[] }[]>();
    const stale = new Set<string>();
    for (const [name, partitions] of topics) {
      // A topic without partitions has no row: the scaler reports "no active partitions".
      if (partitions.length === 0) into.set(name, []);
      for (const p of partitions) {
        if (p.leader < 0) {
          stale.add(name);
          continue;
        }
        const onLeader = byLeader.get(p.leader) ?? [];
        byLeader.set(p.leader, onLeader);
        const entry = onLeader.find((t) => t.name === name);
        if (entry) entry.partitions.push(p.partition);
        else onLeader.push({ name, partitions: [p.partition] });
      }
    }
    const rows = new Map<string, { partition: number; offset: number }[]>();
    const failed = new Map<string, Error>();
    await Promise.all(
      [...byLeader].map(async ([leader, request]) => {
        let answer: Map<string, LatestOffsets | Error>;
        try {
          answer = await this.api.listOffsets(leader, request);
        } catch (err) {
          for (const t of request) failed.set(t.name, asError(err));
          return;
        }
        for (const t of request) {
          const a = answer.get(t.name) ?? new StaleMetadataError(`the leader returned no offsets for topic ${q(t.name)}`);
          if (a instanceof Error) failed.set(t.name, a);
          else rows.set(t.name, [...(rows.get(t.name) ?? []), ...a]);
        }
      }),
    );
    const again = new Set<string>();
    for (const [name] of topics) {
      const err = failed.get(name);
      if (stale.has(name) || (err && isStaleMetadata(err))) again.add(name);
      else if (err) into.set(name, err);
      else if (!into.has(name)) into.set(name, (rows.get(name) ?? []).sort((a, b) => a.partition - b.partition));
    }
    if (again.size === 0) return;
    if (attempt > 0) {
      for (const name of again) into.set(name, failed.get(name) ?? new LocalError(`topic ${q(name)} has a partition without a leader`));
      return;
    }
    // Stale metadata: refresh it for those topics and ask once more.
    await this.fetchLatest(await this.metadata([...again], true, into), into, attempt + 1);
  }

  /**
   * Committed offsets of every group of the batch, grouped by coordinator. A group whose
   * coordinator moved is looked up again and asked once more within the batch.
   */
  private async fetchCommitted(request: BatchRequest, partitions: Map<string, PartitionLeader[]>): Promise<Map<string, CommittedOffsets | Error>> {
    const result = new Map<string, CommittedOffsets | Error>();
    let pending = [...request.groups.keys()];
    for (let attempt = 0; attempt < 2 && pending.length > 0; attempt++) {
      const again: string[] = [];
      const fail = (group: string, err: unknown) => {
        if (isCoordinatorError(err) || isConnectionError(err) || isStaleMetadata(err)) this.coordinatorOf.delete(group);
        if (attempt === 0 && (isCoordinatorError(err) || err instanceof StaleMetadataError)) again.push(group);
        else result.set(group, asError(err));
      };
      const unknown = pending.filter((g) => !this.coordinatorOf.has(g));
      if (unknown.length > 0) {
        let found: Map<string, number | Error>;
        try {
          found = await this.api.coordinators(unknown);
        } catch (err) {
          found = new Map(unknown.map((g) => [g, asError(err)]));
        }
        for (const g of unknown) {
          const c = found.get(g) ?? new LocalError(`no coordinator found for group ${q(g)}`);
          if (c instanceof Error) fail(g, c);
          else this.coordinatorOf.set(g, c);
        }
      }
      const byNode = new Map<number, string[]>();
      for (const g of pending) {
        const node = this.coordinatorOf.get(g);
        if (node === undefined) continue;
        byNode.set(node, [...(byNode.get(node) ?? []), g]);
      }
      await Promise.all(
        [...byNode].map(async ([nodeId, groups]) => {
          let answers: Map<string, CommittedOffsets | Error>;
          try {
            answers = await this.api.offsetFetch(
              nodeId,
              groups.map((g) => groupRequest(g, request.groups.get(g) ?? null, partitions)),
            );
          } catch (err) {
            for (const g of groups) fail(g, err);
            return;
          }
          for (const g of groups) {
            const a = answers.get(g) ?? new LocalError(`the coordinator returned no offsets for group ${q(g)}`);
            if (a instanceof Error) fail(g, a);
            else result.set(g, a);
          }
        }),
      );
      pending = again;
    }
    return result;
  }
}

/** The OffsetFetch entry of `group`: the topics asked (those with metadata) with their partitions, or null for every topic. */
function groupRequest(group: string, topics: Set<string> | null, partitions: Map<string, PartitionLeader[]>): GroupRequest {
  if (topics === null) return { groupId: group, topics: null };
  return {
    groupId: group,
    topics: [...topics].filter((t) => partitions.has(t)).map((name) => ({ name, partitions: (partitions.get(name) ?? []).map((p) => p.partition) })),
  };
}
