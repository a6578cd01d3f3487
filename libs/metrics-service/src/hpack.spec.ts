import { HpackDecoder, HpackError, RepeatedHeaderFields, encodeLiteralFields, huffmanDecode, tableSizeUpdate } from './hpack';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('HPACK decoder', () => {
  it('decodes the first request of RFC 7541 C.4.1 (static indexes, a Huffman-coded literal that is indexed)', () => {
    const d = new HpackDecoder();
    expect({ ...d.decode(hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff')) }).toEqual({
      ':method': 'GET',
      ':scheme': 'http',
      ':path': '/',
      ':authority': 'www.example.com',
    });
    // The authority went into the dynamic table: index 62 now names it.
    expect({ ...d.decode(hex('be')) }).toEqual({ ':authority': 'www.example.com' });
  });

  // Blocks from another implementation (python-hpack), decoded in order on one connection: Huffman
  // and plain literals, entries indexed by one block and referenced by the next, a table size update.
  const sequence: Array<[string, Record<string, string>]> = [
    ['885f8b1d75d0620d263d4c4d6564408e9acac8b0c842d6958b510f21aa9b903485a9264fafa90b2d03497ea6f66aff6196dd6d5f4a01c52f948a0802714102e001700053168dff', { ':status': '200', 'content-type': 'application/grpc', 'grpc-accept-encoding': 'identity,deflate,gzip', date: 'Sun, 06 Dec 2026 20:00:00 GMT' }],
    ['400b677270632d7374617475730130400c677270632d6d657373616765024f4b', { 'grpc-status': '0', 'grpc-message': 'OK' }],
    ['88c2c16196dd6d5f4a01c52f948a0802714102e001700153168dff', { ':status': '200', 'content-type': 'application/grpc', 'grpc-accept-encoding': 'identity,deflate,gzip', date: 'Sun, 06 Dec 2026 20:00:01 GMT' }],
    ['3f4540889acac8b21234da8f81074083a0f54dc6f5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7af5ebd7a', { 'grpc-status': '0', long: 'y'.repeat(80) }],
  ];
  it('decodes a sequence of blocks that share the dynamic table', () => {
    const d = new HpackDecoder();
    for (const [block, fields] of sequence) expect({ ...d.decode(hex(block)) }).toEqual(fields);
  });

  it('evicts the oldest entries when the table is full', () => {
    const d = new HpackDecoder(100);
    // Two literals with indexing of 32 + 1 + 40 = 73 octets each: the second evicts the first.
    const literal = (name: string) => Buffer.concat([Buffer.from([0x40, 1]), Buffer.from(name), Buffer.from([40]), Buffer.from('v'.repeat(40))]);
    d.decode(Buffer.concat([literal('a'), literal('b')]));
    expect({ ...d.decode(hex('be')) }).toEqual({ b: 'v'.repeat(40) });
    expect(() => d.decode(hex('bf'))).toThrow(/past the dynamic table/);
  });

  it('joins repeated fields', () => {
    const d = new HpackDecoder();
    expect({ ...d.decode(encodeLiteralFields([['x', 'a'], ['x', 'b']])) }).toEqual({ x: 'a, b' });
  });

  it.each([
    ['index 0', '80', /index 0/],
    ['an index past both tables', 'ff00', /past the dynamic table/],
    ['a truncated string', '0003616263', /truncated string/],
    ['a table size update above the advertised size', '3fe21f', /exceeds 4096/],
    ['a table size update after a field', '823f00', /after a header field/],
    ['an integer that does not end', '1fffffff', /truncated integer/],
  ])('refuses %s', (_name, block, message) => {
    expect(() => new HpackDecoder().decode(hex(block))).toThrow(HpackError);
    expect(() => new HpackDecoder().decode(hex(block))).toThrow(message);
  });

  it('refuses Huffman strings with EOS or bad padding', () => {
    const coded = hex('f1e3c2e5f23a6ba0ab90f4ff');
    expect(huffmanDecode(coded, 0, coded.length)).toBe('www.example.com');
    // 'a' is 00011: padded with ones it is 0x1f; padded with zeros, or with more than 7 bits, it is refused.
    expect(huffmanDecode(hex('1f'), 0, 1)).toBe('a');
    expect(() => huffmanDecode(hex('18'), 0, 1)).toThrow(/padding/);
    expect(() => huffmanDecode(hex('1fff'), 0, 2)).toThrow(/padding/);
    expect(() => huffmanDecode(hex('ffffffff'), 0, 4)).toThrow(/EOS/);
  });
});

describe('HPACK literal encoder', () => {
  it('writes literals without indexing that decode to the same fields and leave the table empty', () => {
    const fields: Array<[string, string]> = [
      [':method', 'POST'],
      [':path', '/api.MetricsService/GetMetrics'],
      ['content-type', 'application/grpc'],
      ['x-custom', 'a'.repeat(300)],
    ];
    const block = encodeLiteralFields(fields);
    // :method is static index 2: a 4-bit prefix literal naming index 2.
    expect(block[0]).toBe(0x02);
    const d = new HpackDecoder();
    expect({ ...d.decode(block) }).toEqual(Object.fromEntries(fields));
    expect(() => d.decode(hex('be'))).toThrow(/past the dynamic table/);
  });
});

describe('repeated header fields', () => {
  const fields: Array<[string, string]> = [
    [':method', 'POST'],
    [':path', '/api.MetricsService/GetMetrics'],
    ['content-type', 'application/grpc'],
    ['x-agent', 'test'],
  ];

  it('are inserted into the table once, then sent as indexes (a byte each)', () => {
    const repeated = new RepeatedHeaderFields(fields);
    const d = new HpackDecoder();
    expect({ ...d.decode(repeated.inserting) }).toEqual(Object.fromEntries(fields));
    expect(repeated.indexed).toHaveLength(fields.length);
    for (let i = 0; i < 3; i++) expect({ ...d.decode(repeated.indexed) }).toEqual(Object.fromEntries(fields));
    // :method POST is in the static table; the other three take name + value + 32 octets each.
    expect(repeated.tableBytes).toBe(5 + 30 + 32 + (12 + 16 + 32) + (7 + 4 + 32));
    expect({ ...d.decode(repeated.literal) }).toEqual(Object.fromEntries(fields));
  });

  it('follow a table size update that empties the table', () => {
    const repeated = new RepeatedHeaderFields(fields);
    const d = new HpackDecoder();
    d.decode(repeated.inserting);
    const reset = Buffer.concat([tableSizeUpdate(0), tableSizeUpdate(4096), repeated.indexed]);
    expect(() => d.decode(reset)).toThrow(/past the dynamic table/);
    const reinsert = Buffer.concat([tableSizeUpdate(0), tableSizeUpdate(4096), repeated.inserting]);
    expect({ ...new HpackDecoder().decode(reinsert) }).toEqual(Object.fromEntries(fields));
  });
});
