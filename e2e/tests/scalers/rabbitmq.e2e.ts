/** The rabbitmq scaler against a real RabbitMQ 3.10 broker (Debian rabbitmq-server, management plugin). */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as amqp from 'amqplib';
import { settleConfig as settleRabbitMqConfig, type Scaler, type ScalerInput } from '@keda-ts/scaler-sdk';
import { AmqpConnectionPool, createRabbitMqScaler, scalers, type ScalerContext } from '@keda-ts/scalers';
import { createServingCertificate, issueCert } from '../../src/pki';
import { rabbitMqServer, rabbitMqUrls, startTestServer, RABBITMQ_DEFAULT_PASSWORD, type RunningTestServer, type RabbitMqPorts } from '../../src/servers';

const ctx: ScalerContext = {
  httpTimeoutMs: 3000,
  now: () => new Date(),
  kubernetes: { countPods: () => Promise.reject(new Error('unused')) },
};

const trigger = (metadata: Record<string, string>, authParams: Record<string, string> = {}, name = 'rabbit'): ScalerInput => ({
  triggerIndex: 0,
  triggerType: 'rabbitmq',
  metadata,
  authParams,
  resolvedEnv: {},
  scalableObject: { kind: 'ScaledJob', namespace: 'e2e', name },
});

async function poll(scaler: Scaler): Promise<{ value: number; isActive: boolean }> {
  const [spec] = scaler.getMetricSpecForScaling();
  const r = await scaler.getMetricsAndActivity(spec.external?.metric.name ?? '');
  return { value: r.metrics[0].value, isActive: r.isActive };
}

async function eventually<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await read();
      if (ok(last)) return last;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms; last ${JSON.stringify(last)} ${lastError ? String(lastError) : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('rabbitmq scaler against a real broker', () => {
  let broker: RunningTestServer<RabbitMqPorts>;
  let urls: { amqp: string; http: string };
  let publisher: amqp.ChannelModel;
  let channel: amqp.Channel;
  const built: Scaler[] = [];
  const build = (metadata: Record<string, string>, authParams: Record<string, string> = {}) => {
    const s = scalers.build(trigger(metadata, authParams), ctx);
    built.push(s);
    return s;
  };
  const publish = (queue: string, n: number) => {
    for (let i = 0; i < n; i++) channel.sendToQueue(queue, Buffer.from(`m${i}`));
  };

  beforeAll(async () => {
    broker = await startTestServer(rabbitMqServer({ vhosts: ['team-a'] }));
    urls = rabbitMqUrls(broker.ports);
    publisher = await amqp.connect(urls.amqp);
    channel = await publisher.createChannel();
    for (const q of ['orders', 'rates', 'job-1', 'job-2', 'other']) await channel.assertQueue(q);
    const vhostConn = await amqp.connect(rabbitMqUrls(broker.ports, { vhost: 'team-a' }).amqp);
    const vch = await vhostConn.createConfirmChannel();
    await vch.assertQueue('scoped');
    for (let i = 0; i < 3; i++) vch.sendToQueue('scoped', Buffer.from('x'));
    await vch.waitForConfirms();
    await vhostConn.close();
  }, 180_000);

  afterAll(async () => {
    await Promise.allSettled(built.map((s) => s.close()));
    await publisher?.close().catch(() => undefined);
    await broker?.stop();
  });

  it.each(['amqp', 'http'] as const)('QueueLength over %s: inactive -> active -> N', async (protocol) => {
    const queue = `len-${protocol}`;
    await channel.assertQueue(queue);
    const scaler = build({ queueName: queue, mode: 'QueueLength', value: '5', activationValue: '2' }, { host: urls[protocol] });
    expect(await poll(scaler)).toEqual({ value: 0, isActive: false });
    publish(queue, 2);
    // 2 messages: counted, but not above the activation value.
    expect(await eventually(() => poll(scaler), (r) => r.value === 2)).toEqual({ value: 2, isActive: false });
    publish(queue, 9);
    expect(await eventually(() => poll(scaler), (r) => r.value === 11)).toEqual({ value: 11, isActive: true });
    expect(scaler.getMetricSpecForScaling()[0].external?.metric.name).toBe(`s0-rabbitmq-${queue}`);
  });

  it('counts unacknowledged messages over http unless excludeUnacknowledged, and AMQP counts ready only', async () => {
    const queue = 'unacked';
    await channel.assertQueue(queue);
    publish(queue, 4);
    const consumerConn = await amqp.connect(urls.amqp);
    const consumer = await consumerConn.createChannel();
    await consumer.prefetch(1);
    await consumer.consume(queue, () => undefined, { noAck: false });
    const all = build({ queueName: queue, mode: 'QueueLength', value: '1' }, { host: urls.http });
    const ready = build({ queueName: queue, mode: 'QueueLength', value: '1', excludeUnacknowledged: 'true' }, { host: urls.http });
    const overAmqp = build({ queueName: queue, mode: 'QueueLength', value: '1' }, { host: urls.amqp });
    await eventually(() => poll(all), (r) => r.value === 4);
    await eventually(() => poll(ready), (r) => r.value === 3);
    expect((await poll(overAmqp)).value).toBe(3);
    await consumerConn.close();
  });

  it('MessageRate over http reflects the publish rate', async () => {
    const scaler = build({ queueName: 'rates', mode: 'MessageRate', value: '1', protocol: 'http' }, { host: urls.http });
    expect((await poll(scaler)).isActive).toBe(false);
    const publishing = setInterval(() => publish('rates', 5), 100);
    try {
      const r = await eventually(() => poll(scaler), (x) => x.value > 1, 30_000);
      expect(r.isActive).toBe(true);
    } finally {
      clearInterval(publishing);
    }
  });

  it('useRegex combines matching queues by operation', async () => {
    publish('job-1', 2);
    publish('job-2', 6);
    publish('other', 50);
    const sum = build({ queueName: '^job-.*$', useRegex: 'true', mode: 'QueueLength', value: '1' }, { host: urls.http });
    const max = build({ queueName: '^job-.*$', useRegex: 'true', operation: 'max', mode: 'QueueLength', value: '1' }, { host: urls.http });
    const avg = build({ queueName: '^job-.*$', useRegex: 'true', operation: 'avg', mode: 'QueueLength', value: '1' }, { host: urls.http });
    await eventually(() => poll(sum), (r) => r.value === 8);
    expect((await poll(max)).value).toBe(6);
    expect((await poll(avg)).value).toBe(4);
  });

  it('reads the vhost from the URL path or vhostName, over both protocols', async () => {
    const fromPath = build({ queueName: 'scoped' }, { host: rabbitMqUrls(broker.ports, { vhost: 'team-a' }).http });
    const fromName = build({ queueName: 'scoped', vhostName: 'team-a' }, { host: urls.http });
    const overAmqp = build({ queueName: 'scoped', vhostName: 'team-a' }, { host: urls.amqp });
    await eventually(() => poll(fromPath), (r) => r.value === 3);
    expect((await poll(fromName)).value).toBe(3);
    expect((await poll(overAmqp)).value).toBe(3);
  });

  it('credentials from authParams replace the URL userinfo', async () => {
    const host = `amqp://127.0.0.1:${broker.ports.amqp}`;
    const scaler = build({ queueName: 'orders' }, { host, username: 'keda', password: RABBITMQ_DEFAULT_PASSWORD });
    expect((await poll(scaler)).value).toBe(0);
  });

  it.each(['amqp', 'http'] as const)('a wrong password over %s is a clear error without the password', async (protocol) => {
    const wrong = 'Wr0ng-Passw0rd';
    const host = protocol === 'amqp' ? `amqp://keda:${wrong}@127.0.0.1:${broker.ports.amqp}/` : `http://keda:${wrong}@127.0.0.1:${broker.ports.http}/`;
    const scaler = build({ queueName: 'orders' }, { host });
    const err = await poll(scaler).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err?.message).toMatch(protocol === 'amqp' ? /error inspecting rabbitMQ queue "orders": error connecting to RabbitMQ at amqp:\/\/127\.0\.0\.1:\d+: .*ACCESS_REFUSED/ : /401 \(unauthorized/);
    expect(err?.message).not.toContain(wrong);
  });

  it('a missing queue is an error naming it, and the scaler recovers when the queue appears', async () => {
    const scaler = build({ queueName: 'late' }, { host: urls.amqp });
    await expect(poll(scaler)).rejects.toThrow(/error inspecting rabbitMQ queue "late": .*NOT_FOUND/);
    await channel.assertQueue('late');
    publish('late', 1);
    await eventually(() => poll(scaler), (r) => r.value === 1);
  });

  it('scalers pointing at one broker share one AMQP connection, closed with the last scaler', async () => {
    const pool = new AmqpConnectionPool();
    const make = (queue: string) => {
      const config = settleRabbitMqConfig({ ...baseParams, queueName: queue, host: urls.amqp } as never).config;
      if (!config) throw new Error('bad config');
      return createRabbitMqScaler(config, trigger({}, {}, 'pool-test'), ctx, pool);
    };
    const a = make('orders');
    const b = make('rates');
    await Promise.all([poll(a), poll(b)]);
    expect(pool.size).toBe(1);
    const connections = async () => {
      const res = await fetch(`http://127.0.0.1:${broker.ports.http}/api/connections`, {
        headers: { authorization: `Basic ${Buffer.from(`keda:${RABBITMQ_DEFAULT_PASSWORD}`).toString('base64')}` },
      });
      return ((await res.json()) as { client_properties?: { connection_name?: string } }[]).filter((c) => c.client_properties?.connection_name === 'keda-e2e-pool-test').length;
    };
    // The broker sees exactly one connection for both scalers.
    await eventually(connections, (n) => n === 1, 20_000);
    await a.close();
    expect(pool.size).toBe(1);
    await poll(b); // still served after the other scaler closed
    await b.close();
    expect(pool.size).toBe(0);
    await eventually(connections, (n) => n === 0, 20_000);
  });

  it('broker down: a poll fails within the timeout, and recovers when the broker is back', async () => {
    const scaler = build({ queueName: 'orders' }, { host: urls.amqp });
    const overHttp = build({ queueName: 'orders' }, { host: urls.http });
    await poll(scaler);
    await broker.pause();
    try {
      for (const s of [scaler, overHttp]) {
        const started = Date.now();
        await expect(poll(s)).rejects.toThrow(/error inspecting rabbitMQ/);
        expect(Date.now() - started).toBeLessThan(ctx.httpTimeoutMs + 2000);
      }
    } finally {
      await broker.resume();
    }
    await eventually(() => poll(scaler), () => true, 60_000);
    await eventually(() => poll(overHttp), () => true, 60_000);
  }, 240_000);
});

describe('rabbitmq scaler over TLS (amqps and https)', () => {
  let broker: RunningTestServer<RabbitMqPorts>;
  let urls: { amqps?: string; https?: string; amqp: string };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keda-ts-rabbit-tls-'));
  let ca = '';
  const built: Scaler[] = [];
  const build = (metadata: Record<string, string>, authParams: Record<string, string>) => {
    const s = scalers.build(trigger(metadata, authParams), ctx);
    built.push(s);
    return s;
  };

  beforeAll(async () => {
    const certs = await createServingCertificate(dir, ['127.0.0.1', 'localhost']);
    ca = certs.caPem;
    await issueCert(dir, 'serving-ca', 'client', '/CN=keda', 'client');
    broker = await startTestServer(
      rabbitMqServer({ tls: { caFile: path.join(dir, 'serving-ca.crt'), certFile: path.join(dir, 'serving.crt'), keyFile: path.join(dir, 'serving.key') } }),
    );
    urls = rabbitMqUrls(broker.ports);
    const conn = await amqp.connect(urls.amqp);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue('secure');
    for (let i = 0; i < 4; i++) ch.sendToQueue('secure', Buffer.from('x'));
    await ch.waitForConfirms();
    await conn.close();
  }, 180_000);

  afterAll(async () => {
    await Promise.allSettled(built.map((s) => s.close()));
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(['amqps', 'https'] as const)('reads the queue over %s with the CA from authParams', async (scheme) => {
    const scaler = build({ queueName: 'secure' }, { host: urls[scheme] ?? '', tls: 'enable', ca });
    await eventually(() => poll(scaler), (r) => r.value === 4);
  });

  it('presents a client certificate over amqps', async () => {
    const cert = readFileSync(path.join(dir, 'client.crt'), 'utf8');
    const key = readFileSync(path.join(dir, 'client.key'), 'utf8');
    const scaler = build({ queueName: 'secure' }, { host: urls.amqps ?? '', tls: 'enable', ca, cert, key });
    expect((await poll(scaler)).value).toBe(4);
  });

  it.each(['amqps', 'https'] as const)('rejects an untrusted server over %s, and accepts it with unsafeSsl', async (scheme) => {
    const strict = build({ queueName: 'secure' }, { host: urls[scheme] ?? '' });
    await expect(poll(strict)).rejects.toThrow(/error inspecting rabbitMQ.*(self-signed|unable to verify|certificate)/i);
    const lax = build({ queueName: 'secure', unsafeSsl: 'true' }, { host: urls[scheme] ?? '' });
    expect((await poll(lax)).value).toBe(4);
  });
});

const baseParams = {
  activationValue: 0,
  protocol: 'auto',
  useRegex: false,
  excludeUnacknowledged: false,
  pageSize: 100,
  operation: 'sum',
  unsafeSsl: false,
  tls: 'disable',
};
