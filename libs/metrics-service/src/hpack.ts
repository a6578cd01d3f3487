/** RFC 7541 Appendix A: the static table; index 1 is the first entry. */
export const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

/** RFC 7541 Appendix B: the Huffman code of each symbol 0-255 and EOS (256), and its length in bits. */
const HUFFMAN_CODES = [
  0x1ff8, 0x7fffd8, 0xfffffe2, 0xfffffe3, 0xfffffe4, 0xfffffe5, 0xfffffe6, 0xfffffe7, 0xfffffe8, 0xffffea,
  0x3ffffffc, 0xfffffe9, 0xfffffea, 0x3ffffffd, 0xfffffeb, 0xfffffec, 0xfffffed, 0xfffffee, 0xfffffef,
  0xffffff0, 0xffffff1, 0xffffff2, 0x3ffffffe, 0xffffff3, 0xffffff4, 0xffffff5, 0xffffff6, 0xffffff7, 0xffffff8,
  0xffffff9, 0xffffffa, 0xffffffb, 0x14, 0x3f8, 0x3f9, 0xffa, 0x1ff9, 0x15, 0xf8, 0x7fa, 0x3fa, 0x3fb, 0xf9,
  0x7fb, 0xfa, 0x16, 0x17, 0x18, 0x0, 0x1, 0x2, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x5c, 0xfb, 0x7ffc,
  0x20, 0xffb, 0x3fc, 0x1ffa, 0x21, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68,
  0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, 0xfc, 0x73, 0xfd, 0x1ffb, 0x7fff0, 0x1ffc, 0x3ffc,
  0x22, 0x7ffd, 0x3, 0x23, 0x4, 0x24, 0x5, 0x25, 0x26, 0x27, 0x6, 0x74, 0x75, 0x28, 0x29, 0x2a, 0x7, 0x2b, 0x76,
  0x2c, 0x8, 0x9, 0x2d, 0x77, 0x78, 0x79, 0x7a, 0x7b, 0x7ffe, 0x7fc, 0x3ffd, 0x1ffd, 0xffffffc, 0xfffe6,
  0x3fffd2, 0xfffe7, 0xfffe8, 0x3fffd3, 0x3fffd4, 0x3fffd5, 0x7fffd9, 0x3fffd6, 0x7fffda, 0x7fffdb, 0x7fffdc,
  0x7fffdd, 0x7fffde, 0xffffeb, 0x7fffdf, 0xffffec, 0xffffed, 0x3fffd7, 0x7fffe0, 0xffffee, 0x7fffe1, 0x7fffe2,
  0x7fffe3, 0x7fffe4, 0x1fffdc, 0x3fffd8, 0x7fffe5, 0x3fffd9, 0x7fffe6, 0x7fffe7, 0xffffef, 0x3fffda, 0x1fffdd,
  0xfffe9, 0x3fffdb, 0x3fffdc, 0x7fffe8, 0x7fffe9, 0x1fffde, 0x7fffea, 0x3fffdd, 0x3fffde, 0xfffff0, 0x1fffdf,
  0x3fffdf, 0x7fffeb, 0x7fffec, 0x1fffe0, 0x1fffe1, 0x3fffe0, 0x1fffe2, 0x7fffed, 0x3fffe1, 0x7fffee, 0x7fffef,
  0xfffea, 0x3fffe2, 0x3fffe3, 0x3fffe4, 0x7ffff0, 0x3fffe5, 0x3fffe6, 0x7ffff1, 0x3ffffe0, 0x3ffffe1, 0xfffeb,
  0x7fff1, 0x3fffe7, 0x7ffff2, 0x3fffe8, 0x1ffffec, 0x3ffffe2, 0x3ffffe3, 0x3ffffe4, 0x7ffffde, 0x7ffffdf,
  0x3ffffe5, 0xfffff1, 0x1ffffed, 0x7fff2, 0x1fffe3, 0x3ffffe6, 0x7ffffe0, 0x7ffffe1, 0x3ffffe7, 0x7ffffe2,
  0xfffff2, 0x1fffe4, 0x1fffe5, 0x3ffffe8, 0x3ffffe9, 0xffffffd, 0x7ffffe3, 0x7ffffe4, 0x7ffffe5, 0xfffec,
  0xfffff3, 0xfffed, 0x1fffe6, 0x3fffe9, 0x1fffe7, 0x1fffe8, 0x7ffff3, 0x3fffea, 0x3fffeb, 0x1ffffee, 0x1ffffef,
  0xfffff4, 0xfffff5, 0x3ffffea, 0x7ffff4, 0x3ffffeb, 0x7ffffe6, 0x3ffffec, 0x3ffffed, 0x7ffffe7, 0x7ffffe8,
  0x7ffffe9, 0x7ffffea, 0x7ffffeb, 0xffffffe, 0x7ffffec, 0x7ffffed, 0x7ffffee, 0x7ffffef, 0x7fffff0, 0x3ffffee,
  0x3fffffff
];
const HUFFMAN_BITS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28,
  28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7,
  8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19,
  13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13,
  28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21,
  22, 23, 22, 23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23,
  22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25,
  25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30
];

/*
 * HPACK (RFC 7541) as the metrics client needs it: a full decoder (static and dynamic tables,
 * Huffman-coded strings, table size updates) for what the server sends, and an encoder that writes
 * each field as a literal without indexing. The client sends the same few fields on every call, so
 * it encodes them once per connection and keeps no encoder table the server's settings could shrink.
 */

/** A decoding error: the connection must end with COMPRESSION_ERROR. */
export class HpackError extends Error {}

/** Huffman decoding tree, flattened: node n's children are at 2n and 2n+1; a leaf holds ~symbol. */
const huffmanTree: Int32Array = (() => {
  const tree = new Int32Array(2 * 600).fill(0);
  let nodes = 1;
  for (let symbol = 0; symbol < HUFFMAN_CODES.length; symbol++) {
    const code = HUFFMAN_CODES[symbol];
    let node = 0;
    for (let bit = HUFFMAN_BITS[symbol] - 1; bit >= 0; bit--) {
      const slot = 2 * node + ((code >>> bit) & 1);
      if (bit === 0) tree[slot] = ~symbol;
      else {
        if (tree[slot] === 0) tree[slot] = nodes++;
        node = tree[slot];
      }
    }
  }
  return tree;
})();

const EOS = 256;

/** The Huffman-coded string in `bytes[start, end)`, as latin1. */
export function huffmanDecode(bytes: Uint8Array, start: number, end: number): string {
  let out = '';
  let node = 0;
  // Bits read since the last whole symbol, all ones so far: what may be padding (at most 7).
  let pendingBits = 0;
  let pendingOnes = true;
  for (let i = start; i < end; i++) {
    const byte = bytes[i];
    for (let bit = 7; bit >= 0; bit--) {
      const b = (byte >>> bit) & 1;
      const next = huffmanTree[2 * node + b];
      pendingBits++;
      pendingOnes &&= b === 1;
      if (next < 0) {
        const symbol = ~next;
        if (symbol === EOS) throw new HpackError('Huffman-coded string contains EOS');
        out += String.fromCharCode(symbol);
        node = 0;
        pendingBits = 0;
        pendingOnes = true;
      } else if (next === 0) {
        throw new HpackError('invalid Huffman code');
      } else node = next;
    }
  }
  if (pendingBits > 7 || !pendingOnes) throw new HpackError('invalid Huffman padding');
  return out;
}

/** A decoded header block: field names (lowercase) to values; a repeated field's values are joined with ", ". */
export type HeaderFields = Record<string, string>;

const ENTRY_OVERHEAD = 32;

/** The decoder of one connection: its dynamic table lives as long as the connection. */
export class HpackDecoder {
  /** Newest first, as HPACK indexes it. */
  private readonly dynamic: Array<readonly [string, string]> = [];
  private size = 0;
  private maxSize: number;

  /** `settingsMaxSize`: the SETTINGS_HEADER_TABLE_SIZE this side advertised (4096 by default). */
  constructor(private readonly settingsMaxSize = 4096) {
    this.maxSize = settingsMaxSize;
  }

  decode(block: Uint8Array): HeaderFields {
    const fields: HeaderFields = Object.create(null) as HeaderFields;
    let pos = 0;
    let fieldSeen = false;
    const add = (name: string, value: string) => {
      fieldSeen = true;
      const had = fields[name];
      fields[name] = had === undefined ? value : `${had}, ${value}`;
    };
    const integer = (prefixBits: number): number => {
      const limit = (1 << prefixBits) - 1;
      let value = block[pos++] & limit;
      if (value < limit) return value;
      for (let shift = 0; ; shift += 7) {
        if (pos >= block.length) throw new HpackError('truncated integer');
        if (shift > 21) throw new HpackError('integer too large');
        const byte = block[pos++];
        value += (byte & 0x7f) * 2 ** shift;
        if ((byte & 0x80) === 0) return value;
      }
    };
    const string = (): string => {
      if (pos >= block.length) throw new HpackError('truncated string');
      const huffman = (block[pos] & 0x80) !== 0;
      const length = integer(7);
      const end = pos + length;
      if (end > block.length) throw new HpackError('truncated string');
      const text = huffman ? huffmanDecode(block, pos, end) : Buffer.from(block.buffer, block.byteOffset + pos, length).toString('latin1');
      pos = end;
      return text;
    };
    while (pos < block.length) {
      const first = block[pos];
      if (first & 0x80) {
        const [name, value] = this.entry(integer(7));
        add(name, value);
      } else if (first & 0x40) {
        const index = integer(6);
        const name = index === 0 ? string() : this.entry(index)[0];
        const value = string();
        add(name, value);
        this.insert(name, value);
      } else if (first & 0x20) {
        // A size update is allowed only before the block's first field.
        if (fieldSeen) throw new HpackError('dynamic table size update after a header field');
        const size = integer(5);
        if (size > this.settingsMaxSize) throw new HpackError(`dynamic table size update to ${size} exceeds ${this.settingsMaxSize}`);
        this.maxSize = size;
        this.evict(0);
      } else {
        // Literal without indexing (0000) or never indexed (0001): a 4-bit prefix.
        const index = integer(4);
        const name = index === 0 ? string() : this.entry(index)[0];
        add(name, string());
      }
    }
    return fields;
  }

  private entry(index: number): readonly [string, string] {
    if (index === 0) throw new HpackError('index 0');
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1];
    const entry = this.dynamic[index - STATIC_TABLE.length - 1];
    if (!entry) throw new HpackError(`index ${index} is past the dynamic table`);
    return entry;
  }

  private insert(name: string, value: string): void {
    const entrySize = name.length + value.length + ENTRY_OVERHEAD;
    this.evict(entrySize);
    // An entry larger than the table empties it and is not added (RFC 7541 §4.4).
    if (entrySize > this.maxSize) return;
    this.dynamic.unshift([name, value]);
    this.size += entrySize;
  }

  /** Evicts the oldest entries until `room` more octets fit. */
  private evict(room: number): void {
    while (this.size + room > this.maxSize && this.dynamic.length > 0) {
      const [name, value] = this.dynamic.pop() as readonly [string, string];
      this.size -= name.length + value.length + ENTRY_OVERHEAD;
    }
  }
}

/** For the encoder: where each static-table name, and each name and value, first appears (its index). */
const staticNameIndex = new Map<string, number>();
const staticFieldIndex = new Map<string, number>();
STATIC_TABLE.forEach(([name, value], i) => {
  if (!staticNameIndex.has(name)) staticNameIndex.set(name, i + 1);
  const field = `${name}\0${value}`;
  if (!staticFieldIndex.has(field)) staticFieldIndex.set(field, i + 1);
});

function encodeInteger(out: number[], value: number, prefixBits: number, firstByteFlags: number): void {
  const limit = (1 << prefixBits) - 1;
  if (value < limit) {
    out.push(firstByteFlags | value);
    return;
  }
  out.push(firstByteFlags | limit);
  let rest = value - limit;
  while (rest >= 0x80) {
    out.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
}

function encodeString(out: number[], text: string): void {
  const bytes = Buffer.from(text, 'latin1');
  encodeInteger(out, bytes.length, 7, 0);
  for (const b of bytes) out.push(b);
}

/**
 * One literal field: the name by its static-table index when it has one, else spelled out; no
 * Huffman coding. `prefixBits` and `flags` say which kind (without indexing: 4 and 0x00; with
 * incremental indexing: 6 and 0x40).
 */
function encodeLiteralField(out: number[], name: string, value: string, prefixBits: number, flags: number): void {
  const index = staticNameIndex.get(name);
  if (index !== undefined) encodeInteger(out, index, prefixBits, flags);
  else {
    out.push(flags);
    encodeString(out, name);
  }
  encodeString(out, value);
}

/** `fields` as literals without indexing: any decoder reads them and none of its table state changes. */
export function encodeLiteralFields(fields: ReadonlyArray<readonly [string, string]>): Buffer {
  const out: number[] = [];
  for (const [name, value] of fields) encodeLiteralField(out, name, value, 4, 0x00);
  return Buffer.from(out);
}

/**
 * Header fields a connection sends on every request, encoded three ways: as literals without
 * indexing (before the peer's settings are known, or when its table is too small), as literals that
 * the peer adds to its dynamic table (the first time), and as references to those entries (after).
 */
export class RepeatedHeaderFields {
  readonly literal: Buffer;
  readonly inserting: Buffer;
  readonly indexed: Buffer;
  /** The dynamic table octets the inserted entries take (RFC 7541 §4.1). */
  readonly tableBytes: number;

  constructor(readonly fields: ReadonlyArray<readonly [string, string]>) {
    this.literal = encodeLiteralFields(fields);
    const inserting: number[] = [];
    let insertedCount = 0;
    // Per field: a static index, or the position of its dynamic entry in insertion order.
    const refs: Array<{ staticIndex: number } | { insertedAt: number }> = [];
    let tableBytes = 0;
    for (const [name, value] of fields) {
      const staticIndex = staticFieldIndex.get(`${name}\0${value}`);
      if (staticIndex !== undefined) {
        encodeInteger(inserting, staticIndex, 7, 0x80);
        refs.push({ staticIndex });
        continue;
      }
      encodeLiteralField(inserting, name, value, 6, 0x40);
      refs.push({ insertedAt: insertedCount++ });
      tableBytes += Buffer.byteLength(name, 'latin1') + Buffer.byteLength(value, 'latin1') + ENTRY_OVERHEAD;
    }
    const indexed: number[] = [];
    for (const ref of refs) {
      // The newest entry is index 62; the first inserted is the oldest.
      const index = 'staticIndex' in ref ? ref.staticIndex : STATIC_TABLE.length + insertedCount - ref.insertedAt;
      encodeInteger(indexed, index, 7, 0x80);
    }
    this.inserting = Buffer.from(inserting);
    this.indexed = Buffer.from(indexed);
    this.tableBytes = tableBytes;
  }
}

/** A dynamic table size update (RFC 7541 §6.3). */
export function tableSizeUpdate(size: number): Buffer {
  const out: number[] = [];
  encodeInteger(out, size, 5, 0x20);
  return Buffer.from(out);
}
