import { mkdtempSync, rmSync } from 'node:fs';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { H2ClientConnection, H2_ERROR } from './h2-connection';
import { RepeatedHeaderFields, encodeLiteralFields, type HeaderFields } from './hpack';
import { answerWholeRequests, type WholeRequestHandler } from './test-support/h2-server';
import { createCa, createLeaf, type Pem } from './test-support/pki';

/** The HTTP/2 client connection against node:http2's server (nghttp2): framing, HPACK, flow control, limits. */
describe('HTTP/2 client connection', () => {
  let dir: string;
  let ca: Pem;
  let serverLeaf: Pem;
  const cleanups: Array<() => void> = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'h2-connection-spec-'));
    ca = createCa(join(dir, 'pki'), 'test');
    serverLeaf = createLeaf(join(dir, 'pki'), ca, 'localhost');
  });
  afterEach(() => cleanups.splice(0).forEach((c) => c()));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function serve(onStream: WholeRequestHandler, settings: http2.Settings = {}) {
    const server = http2.createSecureServer({ cert: serverLeaf.cert, key: serverLeaf.key, settings });
    answerWholeRequests(server, onStream);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => server.close());
    return server;
  }

  async function connect(server: http2.Http2SecureServer, maxReceiveBytes = 1 << 20): Promise<H2ClientConnection> {
    const connection = new H2ClientConnection({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, ca: ca.cert, servername: 'localhost', maxReceiveBytes });
    cleanups.push(() => connection.destroy());
    await new Promise<void>((resolve, reject) => {
      connection.once('connect', resolve);
      connection.once('error', reject);
    });
    return connection;
  }

  interface Outcome {
    headers: HeaderFields[];
    body: Buffer;
    rstCode: number;
    connectionGone: boolean;
  }

  function call(connection: H2ClientConnection, fields: Array<[string, string]>, body: Buffer | null = Buffer.from('ping')): { done: Promise<Outcome>; cancel: (code?: number) => void } {
    const headers: HeaderFields[] = [];
    const chunks: Buffer[] = [];
    let stream: ReturnType<H2ClientConnection['request']> | undefined;
    const done = new Promise<Outcome>((resolve) => {
      stream = connection.request(encodeLiteralFields([[':method', 'POST'], [':scheme', 'https'], [':path', '/echo'], [':authority', 'localhost'], ...fields]), body ?? undefined, {
        onHeaders: (f) => headers.push(f),
        onData: (c) => chunks.push(c),
        onClose: (rstCode, connectionGone) => resolve({ headers, body: Buffer.concat(chunks), rstCode, connectionGone }),
      });
    });
    return { done, cancel: (code) => stream?.cancel(code) };
  }

  it('sends headers and body, and reads headers, data and trailers', async () => {
    const server = await serve((stream, headers, body) => {
      stream.respond({ ':status': 200, 'x-path': String(headers[':path']), 'x-custom': String(headers['x-custom']) }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'x-done': 'yes' }));
      stream.end(Buffer.concat([body, Buffer.from(' pong')]));
    });
    const connection = await connect(server);
    for (let i = 0; i < 3; i++) {
      // Repeated calls: the server's encoder indexes its fields, and later answers refer to them.
      const outcome = await call(connection, [['x-custom', `value ${i}`]]).done;
      expect(outcome.headers[0]).toMatchObject({ ':status': '200', 'x-path': '/echo', 'x-custom': `value ${i}` });
      expect(outcome.headers[1]).toMatchObject({ 'x-done': 'yes' });
      expect(outcome.body.toString()).toBe('ping pong');
      expect(outcome).toMatchObject({ rstCode: H2_ERROR.NO_ERROR, connectionGone: false });
    }
  });

  it('reads a header block split over CONTINUATION frames and a body larger than the default window', async () => {
    const big = 'h'.repeat(40_000);
    const payload = Buffer.alloc(300_000, 7);
    const server = await serve((stream) => {
      stream.respond({ ':status': 200, 'x-big': big });
      stream.end(payload);
    });
    const connection = await connect(server);
    const outcome = await call(connection, []).done;
    expect(outcome.headers[0]['x-big']).toBe(big);
    expect(outcome.body.equals(payload)).toBe(true);
  });

  it('sends a request body larger than a frame and than the server stream window', async () => {
    const body = Buffer.alloc(200_000, 3);
    const server = await serve((stream, _headers, received) => {
      stream.respond({ ':status': 200 });
      stream.end(String(received.length));
    }, { initialWindowSize: 10_000 });
    const connection = await connect(server);
    const outcome = await call(connection, [], body).done;
    expect(outcome.body.toString()).toBe('200000');
  });

  it.each([
    ['the default table', {}],
    ['a larger table (a size update, then the fields inserted)', { headerTableSize: 8192 }],
    ['a table too small for them (literals)', { headerTableSize: 64 }],
    ['no table (literals)', { headerTableSize: 0 }],
  ])('sends repeated header fields correctly to a server with %s', async (_name, settings: http2.Settings) => {
    const seen: string[] = [];
    const server = await serve((stream, headers) => {
      seen.push(`${headers[':path']} ${headers['x-agent']} ${headers['x-call']}`);
      stream.respond({ ':status': 200 });
      stream.end('ok');
    }, settings);
    const connection = await connect(server);
    const repeated = new RepeatedHeaderFields([[':method', 'POST'], [':scheme', 'https'], [':path', '/echo'], [':authority', 'localhost'], ['x-agent', 'spec']]);
    const send = (i: number) =>
      new Promise<number>((resolve) =>
        connection.request({ repeated, other: encodeLiteralFields([['x-call', String(i)]]) }, Buffer.from('x'), {
          onHeaders: () => undefined,
          onData: () => undefined,
          onClose: (rstCode) => resolve(rstCode),
        }),
      );
    // The first call goes out before the server's SETTINGS are known; the next ones after.
    expect(await send(0)).toBe(H2_ERROR.NO_ERROR);
    expect(await Promise.all([1, 2, 3].map(send))).toEqual([0, 0, 0]);
    expect(await send(4)).toBe(H2_ERROR.NO_ERROR);
    expect(seen.sort()).toEqual([0, 1, 2, 3, 4].map((i) => `/echo spec ${i}`));
    expect(connection.destroyed).toBe(false);
  });

  it('ends a stream with its headers when there is no body', async () => {
    const server = await serve((stream, headers, body) => {
      stream.respond({ ':status': 200 });
      stream.end(`${headers[':method']} ${body.length}`);
    });
    const connection = await connect(server);
    const outcome = await call(connection, [], null).done;
    expect(outcome.body.toString()).toBe('POST 0');
  });

  it('queues streams beyond the server maximum of concurrent streams', async () => {
    let open = 0;
    let most = 0;
    const server = await serve((stream) => {
      most = Math.max(most, ++open);
      setTimeout(() => {
        open--;
        stream.respond({ ':status': 200 });
        stream.end('ok');
      }, 20);
    }, { maxConcurrentStreams: 2 });
    const connection = await connect(server);
    // Let the server's SETTINGS arrive first.
    await new Promise<void>((r) => connection.ping(() => r()));
    const outcomes = await Promise.all(Array.from({ length: 6 }, () => call(connection, []).done));
    expect(outcomes.map((o) => o.body.toString())).toEqual(Array(6).fill('ok'));
    expect(most).toBe(2);
  });

  it('sends the body of a queued stream only after its headers, while window updates arrive for the others', async () => {
    const server = await serve((stream, _headers, received) => {
      stream.respond({ ':status': 200 });
      stream.end(String(received.length));
    }, { maxConcurrentStreams: 1, initialWindowSize: 10_000 });
    const connection = await connect(server);
    await new Promise<void>((r) => connection.ping(() => r()));
    const body = Buffer.alloc(100_000, 5);
    const outcomes = await Promise.all([0, 1, 2].map(() => call(connection, [], body).done));
    expect(outcomes.map((o) => o.body.toString())).toEqual(['100000', '100000', '100000']);
    expect(connection.destroyed).toBe(false);
  });

  it('resets a stream on cancel and when its answer exceeds the receive limit', async () => {
    const resets: number[] = [];
    const server = await serve((stream, headers) => {
      stream.on('close', () => resets.push(stream.rstCode));
      if (headers['x-mode'] === 'big') {
        stream.respond({ ':status': 200 });
        stream.end(Buffer.alloc(5_000));
      }
    });
    const connection = await connect(server, 1_000);
    const slow = call(connection, [['x-mode', 'slow']]);
    await new Promise((r) => setTimeout(r, 20));
    slow.cancel();
    expect(await slow.done).toMatchObject({ rstCode: H2_ERROR.CANCEL, connectionGone: false });
    expect(await call(connection, [['x-mode', 'big']]).done).toMatchObject({ rstCode: H2_ERROR.CANCEL });
    // The server saw the cancel; the oversized answer was already sent in full when the reset came.
    expect(resets[0]).toBe(H2_ERROR.CANCEL);
  });

  it('answers the server PING, and has its own PING answered', async () => {
    let serverSession: http2.ServerHttp2Session | undefined;
    const server = await serve(() => undefined);
    server.on('session', (s) => (serverSession = s));
    const connection = await connect(server);
    await new Promise<void>((resolve, reject) => connection.ping((err) => (err ? reject(err) : resolve())));
    const rtt = await new Promise<number>((resolve, reject) => serverSession?.ping((err, ms) => (err ? reject(err) : resolve(ms))));
    expect(rtt).toBeGreaterThanOrEqual(0);
  });

  it('after GOAWAY takes no new streams, finishes the accepted ones, then closes', async () => {
    let serverSession: http2.ServerHttp2Session | undefined;
    const server = await serve((stream) => {
      serverSession?.goaway(http2.constants.NGHTTP2_NO_ERROR, stream.id);
      setTimeout(() => {
        stream.respond({ ':status': 200 });
        stream.end('finished');
      }, 30);
    });
    server.on('session', (s) => (serverSession = s));
    const connection = await connect(server);
    const goaway = new Promise<void>((r) => connection.once('goaway', () => r()));
    const closed = new Promise<void>((r) => connection.once('close', () => r()));
    const first = call(connection, []);
    await goaway;
    await expect(call(connection, []).done).rejects.toThrow(/going away/);
    expect((await first.done).body.toString()).toBe('finished');
    await closed;
  });

  it('closes open streams with connectionGone when the connection drops', async () => {
    const sockets: import('node:tls').TLSSocket[] = [];
    const server = await serve(() => sockets.forEach((s) => s.destroy()));
    server.on('secureConnection', (s) => sockets.push(s));
    const connection = await connect(server);
    expect(await call(connection, []).done).toMatchObject({ connectionGone: true });
    expect(connection.destroyed).toBe(true);
  });

  it('ends the connection with GOAWAY on a protocol violation, and closes its streams', async () => {
    const tls = await import('node:tls');
    let received = Buffer.alloc(0);
    const server = tls.createServer({ cert: serverLeaf.cert, key: serverLeaf.key, ALPNProtocols: ['h2'] }, (socket) => {
      socket.on('data', (d: Buffer) => {
        received = Buffer.concat([received, d]);
        // Once the request is in, a frame larger than the client allows.
        if (received.includes(Buffer.from('/echo'))) socket.write(Buffer.from([0x00, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01]));
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => server.close());
    const connection = new H2ClientConnection({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, ca: ca.cert, servername: 'localhost', maxReceiveBytes: 1000 });
    const error = new Promise<Error>((resolve) => connection.once('error', resolve));
    await new Promise<void>((r) => connection.once('connect', () => r()));
    expect(await call(connection, []).done).toMatchObject({ connectionGone: true });
    expect((await error).message).toMatch(/FRAME_SIZE|exceeds 16384/);
    // GOAWAY (type 7) with FRAME_SIZE_ERROR (6) was the last frame sent.
    await new Promise((r) => setTimeout(r, 20));
    expect(received.subarray(-17).subarray(3, 4)[0]).toBe(0x07);
    expect(received.readUInt32BE(received.length - 4)).toBe(H2_ERROR.FRAME_SIZE_ERROR);
  });

  it('refuses a server that does not speak HTTP/2', async () => {
    const https = await import('node:https');
    const server = https.createServer({ cert: serverLeaf.cert, key: serverLeaf.key }, (_req, res) => res.end('http/1.1'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => server.close());
    const connection = new H2ClientConnection({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, ca: ca.cert, servername: 'localhost', maxReceiveBytes: 1000 });
    await expect(new Promise((_resolve, reject) => connection.once('error', reject))).rejects.toThrow(/no application protocol|did not negotiate HTTP\/2/);
  });
});
