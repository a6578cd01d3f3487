/**
 * The broker side of the kafka scaler: one kafkajs Cluster (kafkajs' internal client, below its
 * Admin) per cluster + credentials, and a batch fetch that answers every poll of a collection
 * window (kafka-batch.ts) with as few requests as the cluster allows:
 *
 * - newest offsets: one ListOffsets (latest only) per partition leader, covering every topic of
 *   the batch (`Cluster#fetchTopicsOffset` groups partitions by leader);
 * - committed offsets: per group coordinator, one OffsetFetch v8 for every group of the batch
 *   (KIP-709) when the broker supports it, else kafkajs' OffsetFetch per group;
 * - group coordinators are cached per group and looked up again only after an error that says
 *   the coordinator moved or is unavailable, or a connection error;
 * - metadata is refreshed only when it is older than KAFKA_METADATA_MAX_AGE_MS, when a topic is
 *   new to the client, or after an error that says it is stale.
 *
 * Connections: kafkajs keeps one connection per broker it talks to (the bootstrap connection is
 * the broker's own when the bootstrap address is one the brokers advertise).
 */
import Cluster from 'kafkajs/src/cluster';
import { createErrorFromCode } from 'kafkajs/src/protocol/error';
import { OffsetsBatcher, type BatchAnswer, type BatchRequest, type CommittedOffsets, type GroupOffsets, type LatestOffsets } from './kafka-batch';
import {
  decodeOffsetFetchV8,
  encodeOffsetFetchV8,
  OFFSET_FETCH_API_KEY,
  OFFSET_FETCH_MULTI_GROUP_VERSION,
  type OffsetFetchGroupRequest,
  type OffsetFetchGroupResponse,
  type OffsetFetchV8Response,
} from './kafka-protocol';
import { LocalError } from '../upstream-errors';

/** Error codes that say a group's coordinator moved or is not ready: look it up again. */
const COORDINATOR_ERROR_CODES = new Set([
  14, // COORDINATOR_LOAD_IN_PROGRESS
  15, // COORDINATOR_NOT_AVAILABLE
  16, // NOT_COORDINATOR
]);
const COORDINATOR_ERROR_TYPES = new Set(['GROUP_LOAD_IN_PROGRESS', 'GROUP_COORDINATOR_NOT_AVAILABLE', 'NOT_COORDINATOR_FOR_GROUP']);
const CONNECTION_ERROR_NAMES = new Set(['KafkaJSConnectionError', 'KafkaJSConnectionClosedError', 'KafkaJSRequestTimeoutError', 'KafkaJSBrokerNotFound']);
const TOPIC_ERROR_TYPES = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'INVALID_TOPIC_EXCEPTION', 'TOPIC_AUTHORIZATION_FAILED']);
const STALE_METADATA_TYPES = new Set(['UNKNOWN_TOPIC_OR_PARTITION', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_FOR_PARTITION']);

type KafkaError = Error & { type?: string; code?: number | string; cause?: unknown; originalError?: unknown };

/** The error and the errors it wraps (kafkajs' retrier wraps the last error in KafkaJSNumberOfRetriesExceeded). */
function* chain(err: unknown): Generator<KafkaError> {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 5; depth++) {
    yield e as KafkaError;
    const k = e as KafkaError;
    e = k.cause ?? k.originalError;
  }
}

export const isCoordinatorError = (err: unknown): boolean =>
  [...chain(err)].some((e) => (typeof e.code === 'number' && COORDINATOR_ERROR_CODES.has(e.code)) || COORDINATOR_ERROR_TYPES.has(e.type ?? ''));
export const isConnectionError = (err: unknown): boolean =>
  [...chain(err)].some((e) => CONNECTION_ERROR_NAMES.has(e.name) || (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)));
const isTopicError = (err: unknown): boolean => [...chain(err)].some((e) => TOPIC_ERROR_TYPES.has(e.type ?? ''));
const isStaleMetadata = (err: unknown): boolean =>
  [...chain(err)].some((e) => STALE_METADATA_TYPES.has(e.type ?? '') || e.name === 'KafkaJSBrokerNotFound' || e.message === 'Invalid partition metadata');

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/** The committed offsets of one group in an OffsetFetch v8 response; a group-level error fails the whole group. */
export function groupAnswer(g: OffsetFetchGroupResponse): CommittedOffsets | Error {
  if (g.errorCode !== 0) return createErrorFromCode(g.errorCode);
  const out: CommittedOffsets = new Map();
  for (const t of g.topics) {
    const partitions = new Map<number, number>();
    let failed: Error | undefined;
    for (const p of t.partitions) {
      if (p.errorCode !== 0) {
        // Coordinator errors are the group's (older brokers report them per partition).
        if (COORDINATOR_ERROR_CODES.has(p.errorCode)) return createErrorFromCode(p.errorCode);
        failed ??= createErrorFromCode(p.errorCode);
      } else partitions.set(p.partition, Number(p.offset));
    }
    out.set(t.name, failed ?? partitions);
  }
  return out;
}

export class KafkaOffsetsClient {
  private readonly batcher: OffsetsBatcher;
  /** Group -> node id of its coordinator. */
  private readonly coordinators = new Map<string, number>();
  private readonly lookups = new Map<string, Promise<number>>();

  constructor(
    private readonly cluster: Cluster,
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
    this.coordinators.clear();
    await this.cluster.disconnect();
  }

  /** One batch: every request is sent after the batch's window closed. */
  private async fetch(request: BatchRequest): Promise<BatchAnswer> {
    await this.cluster.connect();
    const latest = new Map<string, LatestOffsets | Error>();
    const named = [...request.topics];
    for (const [topic, err] of await this.ensureMetadata(named)) latest.set(topic, err);
    const known = named.filter((t) => !latest.has(t));
    const [committed] = await Promise.all([this.fetchCommitted(request, latest), this.fetchLatest(known, latest)]);
    // Topics found through groups asked for every topic they committed to.
    const found = new Set<string>();
    for (const [group, topics] of request.groups) {
      const c = committed.get(group);
      if (topics === null && c && !(c instanceof Error)) for (const t of c.keys()) if (!latest.has(t)) found.add(t);
    }
    if (found.size > 0) {
      const more = [...found];
      for (const [topic, err] of await this.ensureMetadata(more)) latest.set(topic, err);
      await this.fetchLatest(
        more.filter((t) => !latest.has(t)),
        latest,
      );
    }
    return { committed, latest };
  }

  /**
   * Metadata that covers `topics`, refreshed only when a topic is new or the metadata is older
   * than its max age. A topic that does not exist fails only its own callers: the errors by topic.
   */
  private async ensureMetadata(topics: string[]): Promise<Map<string, Error>> {
    const errors = new Map<string, Error>();
    try {
      await this.cluster.addMultipleTargetTopics(topics);
      await this.cluster.refreshMetadataIfNecessary();
    } catch (err) {
      if (!isTopicError(err)) throw err;
      // A topic asked for now or earlier does not exist (any more): start the topics kept in the
      // metadata over from those of this batch, one at a time, so that only a missing one fails.
      this.cluster.targetTopics.clear();
      for (const topic of topics) {
        try {
          await this.cluster.addMultipleTargetTopics([topic]);
        } catch (e) {
          if (!isTopicError(e)) throw e;
          errors.set(topic, asError(e));
        }
      }
      if (topics.length === 0) await this.cluster.refreshMetadata();
    }
    return errors;
  }

  private partitionsOf(topic: string): number[] {
    return this.cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId);
  }

  /** Newest offsets of `topics` into `into`: one ListOffsets per leader; a failing topic fails only its callers. */
  private async fetchLatest(topics: string[], into: Map<string, LatestOffsets | Error>): Promise<void> {
    if (topics.length === 0) return;
    const query = () =>
      this.cluster.fetchTopicsOffset(topics.map((topic) => ({ topic, fromBeginning: false, partitions: this.partitionsOf(topic).map((partition) => ({ partition })) })));
    let rows: Awaited<ReturnType<typeof query>>;
    try {
      rows = await query();
    } catch (err) {
      if (!isStaleMetadata(err)) {
        for (const t of topics) into.set(t, asError(err));
        return;
      }
      try {
        await this.cluster.refreshMetadata();
        rows = await query();
      } catch (again) {
        if (topics.length === 1 || !isStaleMetadata(again)) {
          for (const t of topics) into.set(t, asError(again));
          return;
        }
        // Find the topic that fails: each on its own.
        await Promise.all(topics.map((t) => this.fetchLatest([t], into)));
        return;
      }
    }
    const byTopic = new Map(rows.map((r) => [r.topic, r.partitions]));
    // A topic without partitions has no row: the scaler reports "no active partitions".
    for (const t of topics) into.set(t, (byTopic.get(t) ?? []).map((p) => ({ partition: p.partition, offset: Number(p.offset) })));
  }

  /** The node id of `group`'s coordinator: cached, or looked up (once for concurrent askers). */
  private coordinator(group: string): Promise<number> {
    const known = this.coordinators.get(group);
    if (known !== undefined) return Promise.resolve(known);
    let lookup = this.lookups.get(group);
    if (!lookup) {
      lookup = this.cluster
        .findGroupCoordinatorMetadata({ groupId: group })
        .then(({ coordinator }) => {
          this.coordinators.set(group, coordinator.nodeId);
          return coordinator.nodeId;
        })
        .finally(() => this.lookups.delete(group));
      this.lookups.set(group, lookup);
    }
    return lookup;
  }

  /** The OffsetFetch entry of `group`: the topics asked with their partitions, or null for every topic. */
  private groupRequest(group: string, topics: Set<string> | null, latest: Map<string, LatestOffsets | Error>): OffsetFetchGroupRequest {
    if (topics === null) return { groupId: group, topics: null };
    return {
      groupId: group,
      topics: [...topics].filter((t) => !(latest.get(t) instanceof Error)).map((name) => ({ name, partitions: this.partitionsOf(name) })),
    };
  }

  /**
   * Committed offsets of every group of the batch, grouped by coordinator. A group whose
   * coordinator moved is looked up again and asked once more within the batch.
   */
  private async fetchCommitted(request: BatchRequest, latest: Map<string, LatestOffsets | Error>): Promise<Map<string, CommittedOffsets | Error>> {
    const result = new Map<string, CommittedOffsets | Error>();
    let pending = [...request.groups.keys()];
    for (let attempt = 0; attempt < 2 && pending.length > 0; attempt++) {
      const again: string[] = [];
      const fail = (group: string, err: unknown) => {
        if (isCoordinatorError(err) || isConnectionError(err)) this.coordinators.delete(group);
        if (attempt === 0 && isCoordinatorError(err)) again.push(group);
        else result.set(group, asError(err));
      };
      const byNode = new Map<number, string[]>();
      await Promise.all(
        pending.map(async (group) => {
          try {
            const node = await this.coordinator(group);
            const onNode = byNode.get(node);
            if (onNode) onNode.push(group);
            else byNode.set(node, [group]);
          } catch (err) {
            fail(group, err);
          }
        }),
      );
      await Promise.all(
        [...byNode].map(async ([nodeId, groups]) => {
          let answers: Map<string, CommittedOffsets | Error>;
          try {
            const broker = await this.cluster.findBroker({ nodeId });
            answers = await this.offsetFetch(
              broker,
              groups.map((g) => this.groupRequest(g, request.groups.get(g) ?? null, latest)),
            );
          } catch (err) {
            for (const g of groups) fail(g, err);
            return;
          }
          for (const g of groups) {
            const a = answers.get(g) ?? new LocalError(`the coordinator returned no offsets for group ${g}`);
            if (a instanceof Error) fail(g, a);
            else result.set(g, a);
          }
        }),
      );
      pending = again;
    }
    return result;
  }

  /** Committed offsets of `groups` from their coordinator `broker`: one v8 request, or one request per group. */
  private async offsetFetch(broker: Cluster.Broker, groups: OffsetFetchGroupRequest[]): Promise<Map<string, CommittedOffsets | Error>> {
    const out = new Map<string, CommittedOffsets | Error>();
    const range = broker.versions?.[OFFSET_FETCH_API_KEY];
    if (range && range.minVersion <= OFFSET_FETCH_MULTI_GROUP_VERSION && OFFSET_FETCH_MULTI_GROUP_VERSION <= range.maxVersion) {
      const response = await send<OffsetFetchV8Response>(broker, {
        request: { apiKey: OFFSET_FETCH_API_KEY, apiVersion: OFFSET_FETCH_MULTI_GROUP_VERSION, apiName: 'OffsetFetch', encode: async () => encodeOffsetFetchV8(groups) },
        response: { decode: async (payload) => decodeOffsetFetchV8(payload), parse: async (decoded) => decoded },
      });
      for (const g of response.groups) out.set(g.groupId, groupAnswer(g));
      return out;
    }
    await Promise.all(
      groups.map(async (g) => {
        try {
          const { responses } = await broker.offsetFetch({
            groupId: g.groupId,
            // kafkajs sends an empty list as null: every topic of the group.
            topics: (g.topics ?? []).map((t) => ({ topic: t.name, partitions: t.partitions.map((partition) => ({ partition })) })),
          });
          out.set(g.groupId, new Map(responses.map((t) => [t.topic, new Map(t.partitions.map((p) => [p.partition, Number(p.offset)]))])));
        } catch (err) {
          out.set(g.groupId, asError(err));
        }
      }),
    );
    return out;
  }
}

/** A request on the broker's connection (as kafkajs' Broker sends its own: a closed connection disconnects the broker). */
async function send<T>(broker: Cluster.Broker, request: Cluster.ProtocolRequest<T>): Promise<T> {
  try {
    return await broker.connectionPool.send(request);
  } catch (err) {
    if ((err as Error).name === 'KafkaJSConnectionClosedError') await broker.disconnect();
    throw err;
  }
}
