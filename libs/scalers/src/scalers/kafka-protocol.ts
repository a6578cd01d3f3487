/**
 * OffsetFetch v8 (KIP-709: the committed offsets of several groups in one request), which kafkajs
 * 2.2.4 does not speak. v8 is a "flexible" version: request header v2 (a tagged-fields section
 * after the client id), compact strings and arrays (length + 1 as an unsigned varint, 0 = null)
 * and a tagged-fields section at the end of every struct; the response header v1 has a
 * tagged-fields section after the correlation id.
 *
 * kafkajs' Connection writes header v1 (api key, version, correlation id, client id) and then the
 * payload, so the payload starts with the header's empty tagged fields; it strips the
 * correlation id from the response and hands over the rest, so the decoder starts with the
 * response header's tagged fields.
 *
 *   OffsetFetch Request (Version: 8) => [groups] require_stable TAG_BUFFER
 *     groups => group_id [topics] TAG_BUFFER          (topics: null = every topic of the group)
 *       topics => name [partition_indexes] TAG_BUFFER
 *   OffsetFetch Response (Version: 8) => throttle_time_ms [groups] TAG_BUFFER
 *     groups => group_id [topics] error_code TAG_BUFFER
 *       topics => name [partitions] TAG_BUFFER
 *         partitions => partition_index committed_offset committed_leader_epoch metadata error_code TAG_BUFFER
 */
import Decoder from 'kafkajs/src/protocol/decoder';
import Encoder from 'kafkajs/src/protocol/encoder';
import { LocalError } from '../upstream-errors';

export const OFFSET_FETCH_API_KEY = 9;
export const OFFSET_FETCH_MULTI_GROUP_VERSION = 8;

export interface OffsetFetchGroupRequest {
  groupId: string;
  /** null: every topic the group has committed offsets for. */
  topics: { name: string; partitions: number[] }[] | null;
}

export interface OffsetFetchPartition {
  partition: number;
  /** The committed offset (a decimal string, as kafkajs gives it); -1 when nothing is committed. */
  offset: string;
  errorCode: number;
}

export interface OffsetFetchGroupResponse {
  groupId: string;
  errorCode: number;
  topics: { name: string; partitions: OffsetFetchPartition[] }[];
}

export interface OffsetFetchV8Response {
  throttleTimeMs: number;
  groups: OffsetFetchGroupResponse[];
}

function compactArray<T>(e: Encoder, items: readonly T[] | null, write: (item: T) => void): void {
  if (items === null) {
    e.writeUVarInt(0);
    return;
  }
  e.writeUVarInt(items.length + 1);
  for (const item of items) write(item);
}

/** The payload of an OffsetFetch v8 request, starting with the request header's (empty) tagged fields. */
export function encodeOffsetFetchV8(groups: readonly OffsetFetchGroupRequest[]): Encoder {
  const e = new Encoder();
  e.writeUVarInt(0); // request header v2: no tagged fields
  compactArray(e, groups, (g) => {
    e.writeUVarIntString(g.groupId);
    compactArray(e, g.topics, (t) => {
      e.writeUVarIntString(t.name);
      compactArray(e, t.partitions, (p) => e.writeInt32(p));
      e.writeUVarInt(0);
    });
    e.writeUVarInt(0);
  });
  e.writeInt8(0); // require_stable: false (as kafkajs' OffsetFetch v1-v4)
  e.writeUVarInt(0);
  return e;
}

class Truncated extends Error {
  constructor() {
    super('OffsetFetch v8 response: truncated');
  }
}

function need(d: Decoder, bytes: number): void {
  if (!d.canReadBytes(bytes)) throw new Truncated();
}

/** An unsigned varint (kafkajs' reader does not notice the end of the buffer). */
function uvarint(d: Decoder): number {
  let result = 0;
  for (let shift = 0; shift <= 28; shift += 7) {
    need(d, 1);
    const byte = d.readInt8() & 0xff;
    result |= (byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return result >>> 0;
  }
  throw new LocalError('OffsetFetch v8 response: invalid varint');
}

function compactString(d: Decoder): string | null {
  const n = uvarint(d);
  if (n === 0) return null;
  need(d, n - 1);
  const value = d.buffer.toString('utf8', d.offset, d.offset + n - 1);
  d.forward(n - 1);
  return value;
}

function skipTaggedFields(d: Decoder): void {
  const count = uvarint(d);
  for (let i = 0; i < count; i++) {
    uvarint(d); // tag
    const size = uvarint(d);
    need(d, size);
    d.forward(size);
  }
}

function readCompactArray<T>(d: Decoder, read: () => T): T[] {
  const n = uvarint(d);
  const out: T[] = [];
  for (let i = 0; i < n - 1; i++) out.push(read());
  return out;
}

/** An OffsetFetch v8 response, from the response header's tagged fields on. */
export function decodeOffsetFetchV8(payload: Buffer): OffsetFetchV8Response {
  const d = new Decoder(payload);
  skipTaggedFields(d); // response header v1
  need(d, 4);
  const throttleTimeMs = d.readInt32();
  const groups = readCompactArray(d, () => {
    const groupId = compactString(d) ?? '';
    const topics = readCompactArray(d, () => {
      const name = compactString(d) ?? '';
      const partitions = readCompactArray(d, () => {
        need(d, 16);
        const partition = d.readInt32();
        const offset = d.readInt64().toString();
        d.readInt32(); // committed_leader_epoch
        compactString(d); // metadata
        need(d, 2);
        const errorCode = d.readInt16();
        skipTaggedFields(d);
        return { partition, offset, errorCode };
      });
      skipTaggedFields(d);
      return { name, partitions };
    });
    need(d, 2);
    const errorCode = d.readInt16();
    skipTaggedFields(d);
    return { groupId, errorCode, topics };
  });
  skipTaggedFields(d);
  return { throttleTimeMs, groups };
}
