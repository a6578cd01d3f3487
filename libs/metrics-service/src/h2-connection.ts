import { EventEmitter } from 'node:events';
import * as tls from 'node:tls';
import { HpackDecoder, HpackError, RepeatedHeaderFields, tableSizeUpdate, type HeaderFields } from './hpack';

/*
 * The client end of one HTTP/2 connection (RFC 9113) over TLS, as small as unary gRPC calls need:
 * requests of one header block and one body, answers of headers, data and trailers, flow control,
 * PING, GOAWAY and stream resets. node:http2's client builds an event emitter, two streams, an
 * async resource and a handle per request; at hundreds of calls a second those outlive young
 * generation collections and V8's old generation fills with them (major GC pauses of 30-50 ms in
 * the metrics adapter). Here a call is a plain object with three callbacks.
 */

/** HTTP/2 error codes (RFC 9113 §7). */
export const H2_ERROR = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

const FRAME = { DATA: 0x0, HEADERS: 0x1, PRIORITY: 0x2, RST_STREAM: 0x3, SETTINGS: 0x4, PUSH_PROMISE: 0x5, PING: 0x6, GOAWAY: 0x7, WINDOW_UPDATE: 0x8, CONTINUATION: 0x9 } as const;
const FLAG = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;
const SETTING = { HEADER_TABLE_SIZE: 0x1, ENABLE_PUSH: 0x2, MAX_CONCURRENT_STREAMS: 0x3, INITIAL_WINDOW_SIZE: 0x4, MAX_FRAME_SIZE: 0x5 } as const;

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const FRAME_HEADER_BYTES = 9;
const DEFAULT_WINDOW = 65_535;
const DEFAULT_MAX_FRAME = 16_384;
const MAX_WINDOW = 2 ** 31 - 1;
/** Each answer may use this much of its stream's window; an answer never needs more (see maxReceiveBytes). */
const STREAM_WINDOW = 16 * 1024 * 1024;
/** The connection window is topped up once half of it is used. */
const CONNECTION_WINDOW = 2 ** 30;

/** What a call hears about its stream. */
export interface H2StreamListener {
  /** A header block: the response headers first, trailers after the data. */
  onHeaders(fields: HeaderFields, endStream: boolean): void;
  onData(chunk: Buffer): void;
  /**
   * The stream is over: `rstCode` is NO_ERROR when it ended normally, the peer's or our reset code
   * otherwise; `connectionGone` when the connection closed under it.
   */
  onClose(rstCode: number, connectionGone: boolean): void;
}

/**
 * A request's header block: already encoded, or fields repeated on every request (indexed in the
 * server's HPACK table after their first use) plus encoded fields of this request.
 */
export type H2RequestHeaders = Buffer | { repeated: RepeatedHeaderFields; other?: Buffer };

export interface H2ClientStream {
  readonly id: number;
  /** Resets the stream (RST_STREAM with `code`) and closes it with that code. */
  cancel(code?: number): void;
}

export interface H2ConnectOptions {
  host: string;
  port: number;
  ca?: string | Buffer | Array<string | Buffer>;
  cert?: string | Buffer;
  key?: string | Buffer;
  servername?: string;
  /** A stream whose answer exceeds this is reset (the gRPC receive limit plus framing). */
  maxReceiveBytes: number;
}

interface StreamState extends H2ClientStream {
  listener: H2StreamListener;
  /** Its HEADERS went out (a stream queued for MAX_CONCURRENT_STREAMS has sent nothing yet). */
  started: boolean;
  /** Body bytes not yet sent (flow control). */
  pending?: Buffer;
  sendWindow: number;
  received: number;
  closed: boolean;
}

/**
 * One HTTP/2 connection. Events: `connect` (TLS up, h2 negotiated, preface sent), `goaway`
 * (no new streams; streams the server accepted finish), `error` (the reason it is closing), and
 * `close` (once; every open stream has been closed with `connectionGone`).
 */
export class H2ClientConnection extends EventEmitter {
  private readonly socket: tls.TLSSocket;
  private readonly decoder = new HpackDecoder();
  private readonly streams = new Map<number, StreamState>();
  /** Streams waiting for the peer's MAX_CONCURRENT_STREAMS to allow them. */
  private readonly queued: Array<{ stream: StreamState; headers: H2RequestHeaders }> = [];
  private readonly pings = new Map<bigint, (err?: Error) => void>();
  private nextStreamId = 1;
  private peerMaxConcurrent = Infinity;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrame = DEFAULT_MAX_FRAME;
  private connectionSendWindow = DEFAULT_WINDOW;
  private receivedSinceUpdate = 0;
  private inbound: Buffer | undefined;
  /** A header block spread over HEADERS and CONTINUATION frames. */
  private partial?: { streamId: number; endStream: boolean; chunks: Buffer[] };
  private outbound: Buffer[] = [];
  private outboundBytes = 0;
  private pingCounter = 0n;
  private goingAway = false;
  private closeRequested = false;
  private isDestroyed = false;
  private connected = false;
  private errorEmitted = false;
  private readonly maxReceiveBytes: number;
  /** The peer's HPACK table: its size (SETTINGS_HEADER_TABLE_SIZE) and the repeated fields in it. */
  private peerTableSize = 4096;
  private peerSettingsSeen = false;
  private tableReset = false;
  private indexedFields?: RepeatedHeaderFields;

  constructor(options: H2ConnectOptions) {
    super();
    this.maxReceiveBytes = options.maxReceiveBytes;
    this.socket = tls.connect({
      host: options.host,
      port: options.port,
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      ...(options.servername ? { servername: options.servername } : {}),
      ALPNProtocols: ['h2'],
    });
    this.socket.setNoDelay(true);
    this.socket.once('secureConnect', () => this.onSecureConnect());
    this.socket.on('data', (chunk: Buffer) => this.onSocketData(chunk));
    this.socket.on('error', (err) => this.destroy(err));
    this.socket.once('close', () => this.onSocketClose());
  }

  /** No new streams are accepted (GOAWAY received, close() or destroy() called). */
  get closed(): boolean {
    return this.goingAway || this.closeRequested || this.isDestroyed;
  }

  get destroyed(): boolean {
    return this.isDestroyed;
  }

  /**
   * Opens a stream: `headerBlock` (HPACK-encoded request headers) and `body`, which ends it (no
   * body: the headers end it, as for a GET). Throws when the connection no longer takes streams.
   */
  request(headers: H2RequestHeaders, body: Buffer | undefined, listener: H2StreamListener): H2ClientStream {
    if (this.closed) throw new Error(this.isDestroyed ? 'the connection is closed' : 'the connection is going away');
    if (!this.connected) throw new Error('the connection is not established yet');
    if (this.nextStreamId > MAX_WINDOW) throw new Error('the connection has no stream ids left');
    const stream: StreamState = {
      id: this.nextStreamId,
      listener,
      started: false,
      pending: body,
      sendWindow: this.peerInitialWindow,
      received: 0,
      closed: false,
      cancel: (code: number = H2_ERROR.CANCEL) => this.cancel(stream, code),
    };
    this.nextStreamId += 2;
    this.streams.set(stream.id, stream);
    if (this.streams.size - this.queued.length > this.peerMaxConcurrent) this.queued.push({ stream, headers });
    else this.start(stream, headers);
    return stream;
  }

  /**
   * The header block for `headers`. Repeated fields are inserted into the server's table once its
   * size is known (its SETTINGS arrived) and large enough, and referenced by index afterwards; a
   * change of that size is signalled at the start of the next block and the fields inserted again.
   */
  private encode(headers: H2RequestHeaders): Buffer {
    if (Buffer.isBuffer(headers)) return headers;
    const { repeated, other } = headers;
    const parts: Buffer[] = [];
    if (this.tableReset) {
      // Empty the table, then allow the new size (RFC 7541 §4.2).
      parts.push(tableSizeUpdate(0), tableSizeUpdate(this.peerTableSize));
      this.tableReset = false;
      this.indexedFields = undefined;
    }
    if (this.indexedFields === repeated) parts.push(repeated.indexed);
    else if (this.peerSettingsSeen && !this.indexedFields && repeated.tableBytes <= this.peerTableSize) {
      parts.push(repeated.inserting);
      this.indexedFields = repeated;
    } else parts.push(repeated.literal);
    if (other) parts.push(other);
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  /** Sends a PING; `callback` runs when its ACK arrives, or with an error when the connection closes first. */
  ping(callback: (err?: Error) => void): void {
    if (this.isDestroyed) throw new Error('the connection is closed');
    const payload = Buffer.allocUnsafe(8);
    const id = ++this.pingCounter;
    payload.writeBigUInt64BE(id);
    this.pings.set(id, callback);
    this.writeFrame(FRAME.PING, 0, 0, payload);
  }

  /** Graceful close: no new streams; the connection ends once its streams have. */
  close(): void {
    this.closeRequested = true;
    this.endIfIdle();
  }

  /** Closes the connection now; open streams close with `connectionGone`. */
  destroy(err?: Error): void {
    if (this.isDestroyed) return;
    this.isDestroyed = true;
    if (err) this.emitError(err);
    this.socket.destroy();
  }

  private onSecureConnect(): void {
    if (this.socket.alpnProtocol !== 'h2') {
      this.destroy(new Error(`the server did not negotiate HTTP/2 (ALPN ${JSON.stringify(this.socket.alpnProtocol || 'none')})`));
      return;
    }
    this.connected = true;
    const settings = Buffer.alloc(12);
    settings.writeUInt16BE(SETTING.ENABLE_PUSH, 0);
    settings.writeUInt32BE(0, 2);
    settings.writeUInt16BE(SETTING.INITIAL_WINDOW_SIZE, 6);
    settings.writeUInt32BE(STREAM_WINDOW, 8);
    this.write(PREFACE);
    this.writeFrame(FRAME.SETTINGS, 0, 0, settings);
    this.writeWindowUpdate(0, CONNECTION_WINDOW - DEFAULT_WINDOW);
    this.emit('connect');
  }

  private onSocketClose(): void {
    this.isDestroyed = true;
    this.queued.length = 0;
    for (const stream of [...this.streams.values()]) this.finish(stream, H2_ERROR.NO_ERROR, true);
    const closedError = new Error('the connection closed');
    for (const callback of this.pings.values()) callback(closedError);
    this.pings.clear();
    if (!this.connected) this.emitError(new Error('the connection closed before it was established'));
    this.emit('close');
  }

  /** The first error only: it is the reason the connection closes. */
  private emitError(err: Error): void {
    if (this.errorEmitted) return;
    this.errorEmitted = true;
    this.emit('error', err);
  }

  /** Fails the connection: GOAWAY with `code`, then closed. */
  private connectionError(code: number, message: string): void {
    if (this.isDestroyed) return;
    this.writeGoaway(code);
    this.isDestroyed = true;
    this.emitError(new Error(`HTTP/2 connection error: ${message}`));
    this.endSocket();
  }

  // --- sending ---

  /** Sends the stream's headers (encoded here: HPACK state follows the order blocks are sent) and its body. */
  private start(stream: StreamState, headers: H2RequestHeaders): void {
    const block = this.encode(headers);
    stream.started = true;
    // The header block in HEADERS (and CONTINUATION frames if it is larger than a frame); without
    // a body, HEADERS ends the stream.
    const max = this.peerMaxFrame;
    const endStream = stream.pending === undefined ? FLAG.END_STREAM : 0;
    for (let offset = 0, first = true; first || offset < block.length; first = false) {
      const part = block.subarray(offset, offset + max);
      offset += part.length;
      const last = offset >= block.length;
      this.writeFrame(first ? FRAME.HEADERS : FRAME.CONTINUATION, (first ? endStream : 0) | (last ? FLAG.END_HEADERS : 0), stream.id, part);
    }
    this.flushData(stream);
  }

  /** Sends what flow control allows of the stream's body; the last frame ends the stream. */
  private flushData(stream: StreamState): void {
    const body = stream.pending;
    if (!body || !stream.started || stream.closed) return;
    let offset = 0;
    do {
      const allowed = Math.min(body.length - offset, this.peerMaxFrame, stream.sendWindow, this.connectionSendWindow);
      if (allowed <= 0 && body.length > offset) break;
      const end = offset + allowed >= body.length;
      this.writeFrame(FRAME.DATA, end ? FLAG.END_STREAM : 0, stream.id, body.subarray(offset, offset + allowed));
      stream.sendWindow -= allowed;
      this.connectionSendWindow -= allowed;
      offset += allowed;
    } while (offset < body.length);
    stream.pending = offset < body.length ? body.subarray(offset) : undefined;
  }

  /** GOAWAY naming the last server-initiated stream processed: none, as push is off. */
  private writeGoaway(code: number): void {
    const payload = Buffer.alloc(8);
    payload.writeUInt32BE(code, 4);
    this.writeFrame(FRAME.GOAWAY, 0, 0, payload);
  }

  private writeWindowUpdate(streamId: number, increment: number): void {
    const payload = Buffer.allocUnsafe(4);
    payload.writeUInt32BE(increment, 0);
    this.writeFrame(FRAME.WINDOW_UPDATE, 0, streamId, payload);
  }

  private writeFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    header.writeUIntBE(payload.length, 0, 3);
    header[3] = type;
    header[4] = flags;
    header.writeUInt32BE(streamId, 5);
    this.write(header);
    if (payload.length > 0) this.write(payload);
  }

  /**
   * Frames written in one tick go out in one socket write, as nghttp2 batches them: a call's
   * HEADERS and DATA (and those of the other calls of the tick) in one TLS record, which the
   * server then reads at once.
   */
  private write(bytes: Buffer): void {
    if (this.socket.destroyed) return;
    this.outbound.push(bytes);
    this.outboundBytes += bytes.length;
    if (this.outbound.length === 1) process.nextTick(() => this.flush());
  }

  private flush(): void {
    if (this.outbound.length === 0) return;
    const chunk = this.outbound.length === 1 ? this.outbound[0] : Buffer.concat(this.outbound, this.outboundBytes);
    this.outbound = [];
    this.outboundBytes = 0;
    if (!this.socket.destroyed) this.socket.write(chunk);
  }

  /** Flushes what is written (the GOAWAY), then closes the socket without waiting for the peer's end. */
  private endSocket(): void {
    this.flush();
    this.socket.end(() => this.socket.destroy());
  }

  private cancel(stream: StreamState, code: number): void {
    if (stream.closed) return;
    if (!this.isDestroyed) {
      const payload = Buffer.allocUnsafe(4);
      payload.writeUInt32BE(code, 0);
      this.writeFrame(FRAME.RST_STREAM, 0, stream.id, payload);
    }
    this.finish(stream, code, false);
  }

  private finish(stream: StreamState, rstCode: number, connectionGone: boolean): void {
    if (stream.closed) return;
    stream.closed = true;
    this.streams.delete(stream.id);
    const queuedAt = this.queued.findIndex((q) => q.stream === stream);
    if (queuedAt >= 0) this.queued.splice(queuedAt, 1);
    else this.startQueued();
    stream.listener.onClose(rstCode, connectionGone);
    this.endIfIdle();
  }

  private startQueued(): void {
    while (this.queued.length > 0 && this.streams.size - this.queued.length < this.peerMaxConcurrent) {
      const next = this.queued.shift() as { stream: StreamState; headers: H2RequestHeaders };
      if (!this.isDestroyed) this.start(next.stream, next.headers);
    }
  }

  private endIfIdle(): void {
    if (!this.closed || this.streams.size > 0 || this.isDestroyed) return;
    if (this.closeRequested || this.goingAway) {
      if (this.connected) this.writeGoaway(H2_ERROR.NO_ERROR);
      this.endSocket();
      this.isDestroyed = true;
    }
  }

  // --- receiving ---

  private onSocketData(chunk: Buffer): void {
    const data = this.inbound ? Buffer.concat([this.inbound, chunk]) : chunk;
    this.inbound = undefined;
    let offset = 0;
    while (data.length - offset >= FRAME_HEADER_BYTES && !this.isDestroyed) {
      const length = data.readUIntBE(offset, 3);
      if (length > DEFAULT_MAX_FRAME) return this.connectionError(H2_ERROR.FRAME_SIZE_ERROR, `a frame of ${length} bytes exceeds ${DEFAULT_MAX_FRAME}`);
      if (data.length - offset < FRAME_HEADER_BYTES + length) break;
      const type = data[offset + 3];
      const flags = data[offset + 4];
      const streamId = data.readUInt32BE(offset + 5) & MAX_WINDOW;
      const payload = data.subarray(offset + FRAME_HEADER_BYTES, offset + FRAME_HEADER_BYTES + length);
      offset += FRAME_HEADER_BYTES + length;
      try {
        this.onFrame(type, flags, streamId, payload);
      } catch (err) {
        if (err instanceof HpackError) return this.connectionError(H2_ERROR.COMPRESSION_ERROR, `header block: ${err.message}`);
        throw err;
      }
    }
    if (offset < data.length && !this.isDestroyed) this.inbound = Buffer.from(data.subarray(offset));
  }

  private onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (this.partial && type !== FRAME.CONTINUATION) {
      return this.connectionError(H2_ERROR.PROTOCOL_ERROR, 'a header block was interrupted by another frame');
    }
    switch (type) {
      case FRAME.DATA:
        return this.onDataFrame(flags, streamId, payload);
      case FRAME.HEADERS: {
        if (streamId === 0) return this.connectionError(H2_ERROR.PROTOCOL_ERROR, 'HEADERS on stream 0');
        let body = unpad(flags, payload);
        if (!body) return this.connectionError(H2_ERROR.PROTOCOL_ERROR, 'bad padding in HEADERS');
        if (flags & FLAG.PRIORITY) body = body.subarray(5);
        const endStream = (flags & FLAG.END_STREAM) !== 0;
        if (flags & FLAG.END_HEADERS) return this.onHeaderBlock(streamId, endStream, body);
        this.partial = { streamId, endStream, chunks: [Buffer.from(body)] };
        return;
      }
      case FRAME.CONTINUATION: {
        const partial = this.partial;
        if (!partial || partial.streamId !== streamId) return this.connectionError(H2_ERROR.PROTOCOL_ERROR, 'unexpected CONTINUATION');
        partial.chunks.push(Buffer.from(payload));
        if (flags & FLAG.END_HEADERS) {
          this.partial = undefined;
          this.onHeaderBlock(streamId, partial.endStream, Buffer.concat(partial.chunks));
        }
        return;
      }
      case FRAME.RST_STREAM: {
        if (payload.length !== 4) return this.connectionError(H2_ERROR.FRAME_SIZE_ERROR, 'RST_STREAM of the wrong size');
        const stream = this.streams.get(streamId);
        if (stream) this.finish(stream, payload.readUInt32BE(0), false);
        return;
      }
      case FRAME.SETTINGS:
        return this.onSettings(flags, streamId, payload);
      case FRAME.PUSH_PROMISE:
        return this.connectionError(H2_ERROR.PROTOCOL_ERROR, 'PUSH_PROMISE although push is disabled');
      case FRAME.PING: {
        if (payload.length !== 8 || streamId !== 0) return this.connectionError(H2_ERROR.PROTOCOL_ERROR, 'malformed PING');
        if (flags & FLAG.ACK) {
          const id = payload.readBigUInt64BE(0);
          const callback = this.pings.get(id);
          this.pings.delete(id);
          callback?.();
        } else this.writeFrame(FRAME.PING, FLAG.ACK, 0, Buffer.from(payload));
        return;
      }
      case FRAME.GOAWAY:
        return this.onGoaway(payload);
      case FRAME.WINDOW_UPDATE:
        return this.onWindowUpdate(streamId, payload);
      default:
        // PRIORITY and unknown frame types are ignored (RFC 9113 §4.1, §5.3.2).
        return;
    }
  }

  private onDataFrame(flags: number, streamId: number, payload: Buffer): void {
    // Flow control counts the whole frame, padding included, whatever becomes of the stream.
    this.receivedSinceUpdate += payload.length;
    if (this.receivedSinceUpdate >= CONNECTION_WINDOW / 2) {
      this.writeWindowUpdate(0, this.receivedSinceUpdate);
      this.receivedSinceUpdate = 0;
    }
    const data = unpad(flags, payload);
    if (!data) return this.connectionError(H2_ERROR.PROTOCOL_ERROR, 'bad padding in DATA');
    const stream = this.streams.get(streamId);
    if (!stream) return;
    stream.received += data.length;
    // The listener may end the stream on its own terms first (e.g. with a message-size error).
    if (data.length > 0) stream.listener.onData(Buffer.from(data));
    if (stream.closed) return;
    if (stream.received > this.maxReceiveBytes) return this.cancel(stream, H2_ERROR.CANCEL);
    if (flags & FLAG.END_STREAM) this.finish(stream, H2_ERROR.NO_ERROR, false);
  }

  private onHeaderBlock(streamId: number, endStream: boolean, block: Buffer): void {
    // Decoded even for a stream already gone: the block updates the connection's HPACK table.
    const fields = this.decoder.decode(block);
    const stream = this.streams.get(streamId);
    if (!stream) return;
    stream.listener.onHeaders(fields, endStream);
    if (endStream) this.finish(stream, H2_ERROR.NO_ERROR, false);
  }

  private onSettings(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0 || payload.length % 6 !== 0) return this.connectionError(H2_ERROR.PROTOCOL_ERROR, 'malformed SETTINGS');
    if (flags & FLAG.ACK) return;
    for (let i = 0; i < payload.length; i += 6) {
      const id = payload.readUInt16BE(i);
      const value = payload.readUInt32BE(i + 2);
      if (id === SETTING.MAX_CONCURRENT_STREAMS) this.peerMaxConcurrent = value;
      else if (id === SETTING.MAX_FRAME_SIZE) {
        if (value < DEFAULT_MAX_FRAME || value > 2 ** 24 - 1) return this.connectionError(H2_ERROR.PROTOCOL_ERROR, `SETTINGS_MAX_FRAME_SIZE ${value}`);
        this.peerMaxFrame = value;
      } else if (id === SETTING.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) return this.connectionError(H2_ERROR.FLOW_CONTROL_ERROR, `SETTINGS_INITIAL_WINDOW_SIZE ${value}`);
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const stream of this.streams.values()) stream.sendWindow += delta;
      }
      else if (id === SETTING.HEADER_TABLE_SIZE && value !== this.peerTableSize) {
        this.peerTableSize = value;
        this.tableReset = true;
      }
    }
    this.peerSettingsSeen = true;
    this.writeFrame(FRAME.SETTINGS, FLAG.ACK, 0, Buffer.alloc(0));
    this.startQueued();
    for (const stream of this.streams.values()) this.flushData(stream);
  }

  private onGoaway(payload: Buffer): void {
    if (payload.length < 8) return this.connectionError(H2_ERROR.FRAME_SIZE_ERROR, 'GOAWAY too short');
    const lastStreamId = payload.readUInt32BE(0) & MAX_WINDOW;
    const code = payload.readUInt32BE(4);
    const wasGoingAway = this.goingAway;
    this.goingAway = true;
    // Streams the server never processed may be retried elsewhere.
    for (const stream of [...this.streams.values()]) if (stream.id > lastStreamId) this.finish(stream, H2_ERROR.REFUSED_STREAM, false);
    if (!wasGoingAway) this.emit('goaway', code, lastStreamId);
    if (code !== H2_ERROR.NO_ERROR) this.destroy(new Error(`the server closed the connection (GOAWAY with HTTP/2 error code ${code})`));
    else this.endIfIdle();
  }

  private onWindowUpdate(streamId: number, payload: Buffer): void {
    if (payload.length !== 4) return this.connectionError(H2_ERROR.FRAME_SIZE_ERROR, 'WINDOW_UPDATE of the wrong size');
    const increment = payload.readUInt32BE(0) & MAX_WINDOW;
    if (streamId === 0) {
      this.connectionSendWindow += increment;
      if (this.connectionSendWindow > MAX_WINDOW) return this.connectionError(H2_ERROR.FLOW_CONTROL_ERROR, 'connection window overflow');
      for (const stream of this.streams.values()) if (stream.pending) this.flushData(stream);
      return;
    }
    const stream = this.streams.get(streamId);
    if (!stream) return;
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW) return this.cancel(stream, H2_ERROR.FLOW_CONTROL_ERROR);
    this.flushData(stream);
  }
}

/** The payload without its padding (PADDED flag), or undefined when the padding is malformed. */
function unpad(flags: number, payload: Buffer): Buffer | undefined {
  if (!(flags & FLAG.PADDED)) return payload;
  if (payload.length < 1) return undefined;
  const padding = payload[0];
  if (padding >= payload.length) return undefined;
  return payload.subarray(1, payload.length - padding);
}
