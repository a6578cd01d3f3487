import { groupAnswer, isConnectionError, isCoordinatorError } from './kafka-client';
import { decodeOffsetFetchV8, encodeOffsetFetchV8 } from './kafka-protocol';

const hex = (s: string) => Buffer.from(s.replace(/\s+|\|/g, ''), 'hex');
const str = (s: string) => Buffer.from(s, 'utf8').toString('hex');

describe('OffsetFetch v8 request', () => {
  it.each<[string, Parameters<typeof encodeOffsetFetchV8>[0], string]>([
    [
      'a group with a topic and partitions, a group with every topic (null)',
      [
        { groupId: 'g1', topics: [{ name: 'orders', partitions: [0, 2] }] },
        { groupId: 'g2', topics: null },
      ],
      // header tags | 2 groups | "g1" | 1 topic | "orders" | 2 partitions: 0, 2 | topic tags | group tags
      // | "g2" | null topics | group tags | require_stable false | tags
      `00 | 03 | 03${str('g1')} | 02 | 07${str('orders')} | 03 00000000 00000002 | 00 | 00` +
        ` | 03${str('g2')} | 00 | 00 | 00 | 00`,
    ],
    ['no group', [], '00 | 01 | 00 | 00'],
    [
      'an empty topic list is not null',
      [{ groupId: 'g', topics: [] }],
      `00 | 02 | 02${str('g')} | 01 | 00 | 00 | 00`,
    ],
  ])('%s', (_name, groups, expected) => {
    expect(encodeOffsetFetchV8(groups).buffer.toString('hex')).toBe(hex(expected).toString('hex'));
  });
});

describe('OffsetFetch v8 response', () => {
  const response =
    // header tags | throttle 7 | 2 groups
    `00 | 00000007 | 03` +
    // "g1", 1 topic "orders", 2 partitions
    ` | 03${str('g1')} | 02 | 07${str('orders')} | 03` +
    // partition 0: offset 5, leader epoch -1, metadata null, no error, no tags
    ` | 00000000 0000000000000005 ffffffff 00 0000 00` +
    // partition 2: offset -1, epoch 3, metadata "", error 88 (UNSTABLE_OFFSET_COMMIT), one tagged field (tag 5, 2 bytes)
    ` | 00000002 ffffffffffffffff 00000003 01 0058 01 05 02 aabb` +
    // topic tags | group error 0 | group tags
    ` | 00 | 0000 | 00` +
    // "g2": no topic, error 16 (NOT_COORDINATOR), one tagged field (tag 0, 1 byte)
    ` | 03${str('g2')} | 01 | 0010 | 01 00 01 ff` +
    // top-level tags
    ` | 00`;

  it('decodes groups, topics, partitions and error codes, skipping tagged fields', () => {
    expect(decodeOffsetFetchV8(hex(response))).toEqual({
      throttleTimeMs: 7,
      groups: [
        {
          groupId: 'g1',
          errorCode: 0,
          topics: [
            {
              name: 'orders',
              partitions: [
                { partition: 0, offset: '5', errorCode: 0 },
                { partition: 2, offset: '-1', errorCode: 88 },
              ],
            },
          ],
        },
        { groupId: 'g2', errorCode: 16, topics: [] },
      ],
    });
  });

  it('a response header with tagged fields', () => {
    const withHeaderTags = `01 03 01 00 | 00000000 | 01 | 00`;
    expect(decodeOffsetFetchV8(hex(withHeaderTags))).toEqual({ throttleTimeMs: 0, groups: [] });
  });

  it('a truncated response is an error, not a partial answer', () => {
    const bytes = hex(response);
    expect(() => decodeOffsetFetchV8(bytes.subarray(0, 40))).toThrow(/truncated/);
  });

  it('per-group and per-partition errors', () => {
    const { groups } = decodeOffsetFetchV8(hex(response));
    const g1 = groupAnswer(groups[0]);
    expect(g1).toBeInstanceOf(Map);
    // A partition error fails that topic only (here the group's only topic).
    const orders = (g1 as Map<string, unknown>).get('orders') as Error & { type: string };
    expect(orders).toBeInstanceOf(Error);
    expect(orders.type).toBe('UNSTABLE_OFFSET_COMMIT');
    const g2 = groupAnswer(groups[1]) as Error;
    expect(g2).toBeInstanceOf(Error);
    expect(g2.message).toBe('This is not the correct coordinator for this group');
    expect(isCoordinatorError(g2)).toBe(true);
    expect(isCoordinatorError(orders)).toBe(false);
  });

  it('offsets per partition when nothing failed; a coordinator error on a partition fails the group', () => {
    const ok = groupAnswer({
      groupId: 'g',
      errorCode: 0,
      topics: [{ name: 't', partitions: [{ partition: 1, offset: '42', errorCode: 0 }] }],
    });
    expect(ok).toEqual(new Map([['t', new Map([[1, 42]])]]));
    const moved = groupAnswer({
      groupId: 'g',
      errorCode: 0,
      topics: [{ name: 't', partitions: [{ partition: 1, offset: '-1', errorCode: 14 }] }],
    });
    expect(isCoordinatorError(moved)).toBe(true);
  });

  it.each<[string, Error & { code?: string }, boolean]>([
    [
      'connection refused',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      true,
    ],
    [
      'kafkajs connection error',
      Object.assign(new Error('Connection error'), { name: 'KafkaJSConnectionError' }),
      true,
    ],
    [
      'wrapped by the retrier',
      Object.assign(new Error('retries'), {
        cause: Object.assign(new Error('x'), { name: 'KafkaJSRequestTimeoutError' }),
      }),
      true,
    ],
    [
      'a protocol error',
      Object.assign(new Error('unstable'), { name: 'KafkaJSProtocolError', code: undefined }),
      false,
    ],
  ])('connection error? %s', (_name, err, expected) => {
    expect(isConnectionError(err)).toBe(expected);
  });
});
