import type * as http2 from 'node:http2';

export type WholeRequestHandler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, body: Buffer) => void;

/**
 * Hands each stream of a scripted test server to `handler` once its request body has arrived
 * whole. Stream errors (resets by the client) are left for the tests to observe through the stream.
 */
export function answerWholeRequests(server: http2.Http2SecureServer, handler: WholeRequestHandler): void {
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => handler(stream, headers, Buffer.concat(chunks)));
    stream.on('error', () => undefined);
  });
}
