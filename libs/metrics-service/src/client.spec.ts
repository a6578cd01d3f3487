import { mkdtempSync, rmSync } from 'node:fs';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { status } from '@grpc/grpc-js';
import { hostOf } from './channel';
import { createMetricsClient, type MetricsClient } from './client';
import { MetricsServiceError } from './errors';
import { ExternalMetricValueList, ScaledObjectRef } from './generated/metrics/metrics';
import {
  decodeGrpcMessage,
  errorForClosedStream,
  frameMessage,
  grpcCodeForHttpStatus,
  grpcTimeoutHeader,
  statusFromTrailers,
  unframeUnaryMessage,
} from './grpc-wire';
import { answerWholeRequests, type WholeRequestHandler } from './test-support/h2-server';
import { capturingLogger } from './test-support/logger';
import { createCa, createLeaf, type Pem } from './test-support/pki';

describe('gRPC wire helpers', () => {
  it('frames and unframes one message', () => {
    const framed = frameMessage(Buffer.from('abc'));
    expect([...framed]).toEqual([0, 0, 0, 0, 3, 97, 98, 99]);
    expect(unframeUnaryMessage(framed).toString()).toBe('abc');
    expect(unframeUnaryMessage(frameMessage(Buffer.alloc(0))).length).toBe(0);
  });

  it.each([
    ['nothing', Buffer.alloc(0), status.UNIMPLEMENTED, 'no message'],
    ['a short prefix', Buffer.from([0, 0, 0]), status.UNIMPLEMENTED, 'a truncated message'],
    ['a truncated body', Buffer.from([0, 0, 0, 0, 5, 1]), status.UNIMPLEMENTED, 'a truncated message'],
    ['two messages', Buffer.concat([frameMessage(Buffer.from('a')), frameMessage(Buffer.from('b'))]), status.UNIMPLEMENTED, 'more than one message'],
    ['a compressed message', Buffer.from([1, 0, 0, 0, 1, 7]), status.INTERNAL, 'compressed'],
    ['a message over the limit', Buffer.from([0, 0, 0x50, 0, 0]), status.RESOURCE_EXHAUSTED, 'larger than max (5242880 vs. 4194304)'],
  ])('refuses %s', (_what, body, code, message) => {
    let error: unknown;
    try {
      unframeUnaryMessage(body);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MetricsServiceError);
    expect((error as MetricsServiceError).code).toBe(code);
    expect((error as MetricsServiceError).message).toContain(message);
  });

  it.each([
    [3000, '3000m'],
    [0.2, '1m'],
    [99_999_999, '99999999m'],
    [100_000_000, '100000S'],
  ])('grpc-timeout for %d ms is %s', (ms, header) => expect(grpcTimeoutHeader(ms)).toBe(header));

  it.each([
    [400, status.INTERNAL],
    [401, status.UNAUTHENTICATED],
    [403, status.PERMISSION_DENIED],
    [404, status.UNIMPLEMENTED],
    [429, status.UNAVAILABLE],
    [502, status.UNAVAILABLE],
    [503, status.UNAVAILABLE],
    [504, status.UNAVAILABLE],
    [500, status.UNKNOWN],
  ])('HTTP %d maps to gRPC code %d', (http, code) => expect(grpcCodeForHttpStatus(http)).toBe(code));

  it('reads the status and its percent-encoded message from trailers', () => {
    expect(statusFromTrailers({ 'grpc-status': '5', 'grpc-message': 'scaledobjects.keda.sh%20%22x%22 not found' })).toEqual({
      code: status.NOT_FOUND,
      details: 'scaledobjects.keda.sh "x" not found',
    });
    expect(statusFromTrailers({ 'grpc-status': '0' })).toEqual({ code: status.OK, details: '' });
    expect(statusFromTrailers({})).toBeUndefined();
    expect(statusFromTrailers({ 'grpc-status': 'x' })?.code).toBe(status.UNKNOWN);
    expect(statusFromTrailers({ 'grpc-status': '17' })?.code).toBe(status.UNKNOWN);
    expect(decodeGrpcMessage('100%')).toBe('100%');
  });

  it.each([
    [undefined, false, status.UNAVAILABLE],
    [http2.constants.NGHTTP2_CANCEL, true, status.UNAVAILABLE],
    [http2.constants.NGHTTP2_REFUSED_STREAM, false, status.UNAVAILABLE],
    [http2.constants.NGHTTP2_CANCEL, false, status.CANCELLED],
    [http2.constants.NGHTTP2_NO_ERROR, false, status.INTERNAL],
    [http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, false, status.RESOURCE_EXHAUSTED],
    [http2.constants.NGHTTP2_INADEQUATE_SECURITY, false, status.PERMISSION_DENIED],
    [http2.constants.NGHTTP2_PROTOCOL_ERROR, false, status.INTERNAL],
  ])('a stream closed with reset code %s (connection gone: %s) is %d', (rst, gone, code) =>
    expect(errorForClosedStream(rst, gone).code).toBe(code),
  );

  it.each([
    ['keda-operator.keda.svc:9666', 'keda-operator.keda.svc'],
    ['127.0.0.1:9666', '127.0.0.1'],
    ['[::1]:9666', '::1'],
    ['localhost', 'localhost'],
  ])('the host of %s is %s', (hostPort, host) => expect(hostOf(hostPort)).toBe(host));
});

/**
 * The client against scripted HTTP/2 servers (node:http2 with mutual TLS): each test says how the
 * server answers. The client is checked against grpc-js's server in metrics-service.spec.ts.
 */
describe('metrics client against a scripted server', () => {
  let dir: string;
  let ca: Pem;
  let serverLeaf: Pem;
  let clientLeaf: Pem;
  const servers: { close(): void }[] = [];
  const clients: MetricsClient[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'metrics-client-spec-'));
    ca = createCa(join(dir, 'pki'), 'KEDA');
    serverLeaf = createLeaf(join(dir, 'pki'), ca, 'keda-operator');
    clientLeaf = createLeaf(join(dir, 'pki'), ca, 'keda-metrics-apiserver');
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    for (const s of servers.splice(0)) s.close();
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function scriptedServer(handler: WholeRequestHandler): Promise<{ port: number; server: http2.Http2SecureServer; sessions: number }> {
    const server = http2.createSecureServer({ ca: ca.cert, cert: serverLeaf.cert, key: serverLeaf.key, requestCert: true, rejectUnauthorized: true });
    const state = { port: 0, server, sessions: 0 };
    server.on('session', () => state.sessions++);
    answerWholeRequests(server, handler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    state.port = (server.address() as AddressInfo).port;
    servers.push({ close: () => server.close() });
    return state;
  }

  function answer(stream: http2.ServerHttp2Stream, value: string): void {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    const list = ExternalMetricValueList.encode({ items: [{ metricName: 's0-x', metricLabels: {}, timestamp: { seconds: 1_700_000_000, nanos: 0 }, value: { string: value } }] }).finish();
    stream.end(frameMessage(list));
  }

  function failWith(stream: http2.ServerHttp2Stream, code: status, message: string): void {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(code), 'grpc-message': encodeURIComponent(message) }, { endStream: true });
  }

  function clientFor(port: number, extra: { keepaliveTimeMs?: number; keepaliveTimeoutMs?: number; timeoutMs?: number } = {}, logger = capturingLogger()): MetricsClient {
    const c = createMetricsClient({ address: `127.0.0.1:${port}`, authority: 'localhost', tls: { ca: ca.cert, cert: clientLeaf.cert, key: clientLeaf.key }, logger, ...extra });
    clients.push(c);
    return c;
  }

  const ref = { name: 'so', namespace: 'ns', metricName: 's0-x' };

  it('sends the request and the headers a gRPC server expects, and decodes the answer', async () => {
    let seen: { headers: http2.IncomingHttpHeaders; request: ScaledObjectRef } | undefined;
    const { port } = await scriptedServer((stream, headers, request) => {
      seen = { headers, request: ScaledObjectRef.decode(unframeUnaryMessage(request)) };
      answer(stream, '1500m');
    });
    await expect(clientFor(port).getMetrics(ref)).resolves.toEqual([{ metricName: 's0-x', timestamp: new Date(1_700_000_000_000), value: 1.5 }]);
    expect(seen?.request).toEqual({ name: 'so', namespace: 'ns', metricName: 's0-x' });
    expect(seen?.headers).toMatchObject({
      ':method': 'POST',
      ':path': '/api.MetricsService/GetMetrics',
      ':authority': 'localhost',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    expect(Number(/^(\d+)m$/.exec(String(seen?.headers['grpc-timeout']))?.[1])).toBeGreaterThan(2900);
  });

  it('passes a trailers-only error status through, without retrying it', async () => {
    let calls = 0;
    const { port } = await scriptedServer((stream) => {
      calls++;
      failWith(stream, status.NOT_FOUND, 'scaledobjects.keda.sh "so" not found');
    });
    const err = (await clientFor(port).getMetrics(ref).catch((e: unknown) => e)) as MetricsServiceError;
    expect({ code: err.code, message: err.message }).toEqual({ code: status.NOT_FOUND, message: 'scaledobjects.keda.sh "so" not found' });
    expect(calls).toBe(1);
  });

  it('retries UNAVAILABLE with backoff, and succeeds when the server recovers', async () => {
    let calls = 0;
    const { port } = await scriptedServer((stream) => {
      if (++calls < 3) failWith(stream, status.UNAVAILABLE, 'warming up');
      else answer(stream, '7');
    });
    await expect(clientFor(port).getMetrics(ref)).resolves.toMatchObject([{ value: 7 }]);
    expect(calls).toBe(3);
  });

  it('gives up on UNAVAILABLE after 5 attempts, or when the next wait would pass the deadline', async () => {
    let calls = 0;
    const { port } = await scriptedServer((stream) => {
      calls++;
      stream.respond({ ':status': 503 }, { endStream: true });
    });
    const err = (await clientFor(port, { timeoutMs: 20_000 }).getMetrics(ref).catch((e: unknown) => e)) as MetricsServiceError;
    expect(err.code).toBe(status.UNAVAILABLE);
    expect(err.message).toBe('the metrics service answered HTTP 503');
    expect(calls).toBe(5);

    calls = 0;
    await clientFor(port).getMetrics(ref, { timeoutMs: 1 }).catch(() => undefined);
    expect(calls).toBeLessThanOrEqual(1);
  });

  it('ends a call at its deadline and resets the stream', async () => {
    let reset: Promise<number> | undefined;
    const { port } = await scriptedServer((stream) => {
      reset = new Promise((r) => stream.on('close', () => r(stream.rstCode)));
    });
    const started = Date.now();
    const err = (await clientFor(port).getMetrics(ref, { timeoutMs: 300 }).catch((e: unknown) => e)) as MetricsServiceError;
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(await reset).toBe(http2.constants.NGHTTP2_CANCEL);
  });

  it('cancels a call when the caller aborts', async () => {
    const { port } = await scriptedServer(() => undefined);
    const abort = new AbortController();
    const call = clientFor(port).getMetrics(ref, { signal: abort.signal }).catch((e: unknown) => e);
    setTimeout(() => abort.abort(), 50);
    expect(((await call) as MetricsServiceError).code).toBe(status.CANCELLED);
  });

  it('refuses a malformed answer with INTERNAL', async () => {
    const { port } = await scriptedServer((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.from([1, 0, 0, 0, 1, 0]));
    });
    expect(((await clientFor(port).getMetrics(ref).catch((e: unknown) => e)) as MetricsServiceError).code).toBe(status.INTERNAL);
  });

  it('stops reading an answer larger than the message limit, with RESOURCE_EXHAUSTED', async () => {
    const { port } = await scriptedServer((stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.end(Buffer.alloc(4 * 1024 * 1024 + 100));
    });
    const err = (await clientFor(port).getMetrics(ref).catch((e: unknown) => e)) as MetricsServiceError;
    expect([err.code, err.message]).toEqual([status.RESOURCE_EXHAUSTED, expect.stringMatching(/larger than max \(\d+ vs\. 4194304\)/)]);
  });

  it('waits for a server that starts within the deadline', async () => {
    const placeholder = await scriptedServer(() => undefined);
    const port = placeholder.port;
    placeholder.server.close();
    await new Promise((r) => setTimeout(r, 50));
    const client = clientFor(port);
    const call = client.getMetrics(ref, { timeoutMs: 5000 });
    await new Promise((r) => setTimeout(r, 200));
    expect(client.connectivityState()).toBe('TRANSIENT_FAILURE');
    const server = http2.createSecureServer({ ca: ca.cert, cert: serverLeaf.cert, key: serverLeaf.key, requestCert: true, rejectUnauthorized: true });
    server.on('stream', (stream) => {
      stream.on('data', () => undefined);
      stream.on('end', () => answer(stream, '3'));
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    servers.push({ close: () => server.close() });
    // The first reconnect attempt comes after gRPC's 1 s (±20 %) connection backoff.
    await expect(call).resolves.toMatchObject([{ value: 3 }]);
    expect(client.connectivityState()).toBe('READY');
  });

  it('moves new calls to a new connection after GOAWAY; the call in flight finishes', async () => {
    let first: http2.Http2Session | undefined;
    const scripted = await scriptedServer((stream) => {
      if (!first) {
        first = stream.session;
        // Answer late, after telling the client to go away.
        stream.session?.goaway(http2.constants.NGHTTP2_NO_ERROR, 1);
        setTimeout(() => answer(stream, '1'), 100);
      } else answer(stream, '2');
    });
    const client = clientFor(scripted.port);
    const inFlight = client.getMetrics(ref);
    await new Promise((r) => setTimeout(r, 50));
    await expect(client.getMetrics(ref)).resolves.toMatchObject([{ value: 2 }]);
    await expect(inFlight).resolves.toMatchObject([{ value: 1 }]);
    expect(scripted.sessions).toBe(2);
  });

  it('replaces a connection whose peer stops answering keepalive pings', async () => {
    // A TLS server that completes the handshake and then never speaks HTTP/2.
    let accepted = 0;
    const silent = tls.createServer({ ca: ca.cert, cert: serverLeaf.cert, key: serverLeaf.key, requestCert: true, ALPNProtocols: ['h2'] }, () => accepted++);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    servers.push({ close: () => silent.close() });
    const logger = capturingLogger();
    const client = clientFor((silent.address() as AddressInfo).port, { keepaliveTimeMs: 100, keepaliveTimeoutMs: 100 }, logger);
    client.connectivityState(true);
    const deadline = Date.now() + 5000;
    while (!logger.lines.some((l) => l.msg === 'metrics service did not answer a keepalive ping; reconnecting') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(logger.lines.map((l) => l.msg)).toContain('metrics service did not answer a keepalive ping; reconnecting');
    expect(accepted).toBeGreaterThanOrEqual(1);
  });

  it('fails calls and waits at once when closed', async () => {
    const { port } = await scriptedServer(() => undefined);
    const client = clientFor(port);
    const pending = client.waitForReady(Date.now() + 200).catch((e: unknown) => e);
    await client.close();
    await pending;
    expect(client.connectivityState()).toBe('SHUTDOWN');
    expect(((await client.getMetrics(ref).catch((e: unknown) => e)) as MetricsServiceError).code).toBe(status.UNAVAILABLE);
  });
});
