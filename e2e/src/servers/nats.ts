import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import type { TestServerDefinition } from './launcher';

/** A NATS server (Debian `nats-server`) with JetStream (`-js`) and the monitoring port (`-m`). */
export function natsServer(): TestServerDefinition<'client' | 'monitor'> {
  return {
    name: 'nats',
    ports: ['client', 'monitor'],
    command: ({ ports, dataDir }) => ({
      command: 'nats-server',
      args: ['-a', '127.0.0.1', '-p', String(ports.client), '-m', String(ports.monitor), '-js', '-sd', dataDir, '-n', 'keda-ts-test'],
    }),
    // /healthz answers 200 once JetStream is up.
    ready: async ({ ports }) => (await fetch(`http://127.0.0.1:${ports.monitor}/healthz`, { signal: AbortSignal.timeout(1000) })).ok,
    readyTimeoutMs: 20_000,
  };
}

export interface NatsMessage {
  subject: string;
  reply?: string;
  data: string;
}

/**
 * A minimal NATS client for tests, speaking the text protocol over one TCP socket: PUB, SUB and
 * request/reply through an inbox, which is all the JetStream API (`$JS.API.*`) needs.
 */
export class TestNatsClient {
  private buffer = Buffer.alloc(0);
  private nextSid = 1;
  private readonly handlers = new Map<string, (m: NatsMessage) => void>();
  private closed = false;
  /** The last `-ERR` line the server sent. */
  lastError?: string;

  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.drain();
    });
    socket.on('error', () => undefined);
  }

  static async connect(port: number): Promise<TestNatsClient> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', reject);
    });
    const client = new TestNatsClient(socket);
    socket.write(`CONNECT ${JSON.stringify({ verbose: false, pedantic: false, headers: false, name: 'keda-ts-test' })}\r\n`);
    await client.flush();
    return client;
  }

  private pongs: (() => void)[] = [];

  /** Resolves once the server has processed everything sent so far. */
  flush(): Promise<void> {
    return new Promise((resolve) => {
      this.pongs.push(resolve);
      this.socket.write('PING\r\n');
    });
  }

  private drain(): void {
    for (;;) {
      const end = this.buffer.indexOf('\r\n');
      if (end < 0) return;
      const line = this.buffer.subarray(0, end).toString();
      if (line.startsWith('MSG ')) {
        const [, subject, sid, ...rest] = line.split(' ');
        const size = Number(rest[rest.length - 1]);
        const reply = rest.length === 2 ? rest[0] : undefined;
        if (this.buffer.length < end + 2 + size + 2) return;
        const data = this.buffer.subarray(end + 2, end + 2 + size).toString();
        this.buffer = this.buffer.subarray(end + 2 + size + 2);
        this.handlers.get(sid)?.({ subject, reply, data });
        continue;
      }
      this.buffer = this.buffer.subarray(end + 2);
      if (line === 'PING') this.socket.write('PONG\r\n');
      else if (line === 'PONG') this.pongs.shift()?.();
      else if (line.startsWith('-ERR')) this.lastError = line;
    }
  }

  publish(subject: string, data = '', reply?: string): void {
    const size = Buffer.byteLength(data);
    this.socket.write(`PUB ${subject}${reply ? ` ${reply}` : ''} ${size}\r\n${data}\r\n`);
  }

  /** Subscribes; returns the unsubscribe function. */
  subscribe(subject: string, handler: (m: NatsMessage) => void): () => void {
    const sid = String(this.nextSid++);
    this.handlers.set(sid, handler);
    this.socket.write(`SUB ${subject} ${sid}\r\n`);
    return () => {
      this.handlers.delete(sid);
      if (!this.closed) this.socket.write(`UNSUB ${sid}\r\n`);
    };
  }

  /** Sends `data` and collects replies on a fresh inbox until `count` arrived or the timeout. */
  async request(subject: string, data: string, options: { count?: number; timeoutMs?: number } = {}): Promise<NatsMessage[]> {
    const count = options.count ?? 1;
    const inbox = `_INBOX.${randomBytes(8).toString('hex')}`;
    const replies: NatsMessage[] = [];
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const unsubscribe = this.subscribe(inbox, (m) => {
      replies.push(m);
      if (replies.length >= count) done();
    });
    await this.flush();
    this.publish(subject, data, inbox);
    const timer = setTimeout(done, options.timeoutMs ?? 5000);
    await finished;
    clearTimeout(timer);
    unsubscribe();
    if (replies.length === 0) throw new Error(`nats: no reply to ${subject} within ${options.timeoutMs ?? 5000} ms`);
    return replies;
  }

  /** A JetStream API call (`$JS.API.<api>`); fails with the API's error description. */
  async jsApi<T = Record<string, unknown>>(api: string, body: unknown = {}): Promise<T> {
    const [reply] = await this.request(`$JS.API.${api}`, JSON.stringify(body));
    const parsed = JSON.parse(reply.data) as T & { error?: { description?: string } };
    if (parsed.error) throw new Error(`nats: $JS.API.${api}: ${parsed.error.description ?? JSON.stringify(parsed.error)}`);
    return parsed;
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}
