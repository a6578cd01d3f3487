/**
 * The kafka scaler against a real Apache Kafka 4.4 broker (KRaft, jars from Maven Central):
 * lag through inactive -> active -> capped -> uncapped -> consumed, SASL (PLAIN, SCRAM-256/512),
 * TLS, a wrong password, a broker that goes away and comes back, one shared client per cluster, and
 * the polls of one window answered by one batch of requests (counted in the broker's request log).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KAFKA_CONNECTIONS_PER_BROKER, type Scaler } from '@keda-ts/scaler-sdk';
import { kafkaClientCount, scalers, type ScalerContext } from '@keda-ts/scalers';
import { writeCertDir } from '../../src/certs';
import { ensureToolchain } from '../../src/toolchain';
import { KafkaTestClient, kafkaRequestCount, kafkaServer, startTestServer, unsecuredJwt, type KafkaPort, type RunningTestServer } from '../../src/servers';

jest.setTimeout(300_000);

const USER = 'keda';
const PASSWORD = 'k3da-Pa55word';
const TOPIC = 'orders';
const GROUP = 'workers';

const ctx: ScalerContext = {
  httpTimeoutMs: 3000,
  now: () => new Date(),
  kubernetes: { countPods: () => Promise.reject(new Error('not used')) },
};

function build(metadata: Record<string, string>, authParams: Record<string, string> = {}, triggerIndex = 0): Scaler {
  return scalers.build(
    {
      triggerIndex,
      triggerType: 'kafka',
      metadata,
      authParams,
      resolvedEnv: {},
      scalableObject: { kind: 'ScaledObject', namespace: 'default', name: 'worker' },
    },
    ctx,
  );
}

async function poll(scaler: Scaler): Promise<{ value: number; isActive: boolean }> {
  const name = scaler.getMetricSpecForScaling()[0].external?.metric.name ?? '';
  const r = await scaler.getMetricsAndActivity(name);
  return { value: r.metrics[0].value, isActive: r.isActive };
}

/** Established TCP connections from this process's side to 127.0.0.1:port (both directions listed by the kernel). */
function connectionsTo(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length > 3 && f[2].endsWith(`:${hex}`) && f[3] === '01').length;
}

describe('kafka scaler against Apache Kafka', () => {
  let server: RunningTestServer<KafkaPort>;
  let certDir: string;
  let caPem: string;
  let client: KafkaTestClient;
  let plain: string;

  beforeAll(async () => {
    const tools = await ensureToolchain('extras');
    certDir = mkdtempSync(join(tmpdir(), 'keda-ts-kafka-certs-'));
    const certs = await writeCertDir(certDir);
    caPem = certs.caPem;
    server = await startTestServer(
      kafkaServer({
        libsDir: tools.kafkaLibsDir,
        users: { [USER]: PASSWORD },
        tls: { certPem: readFileSync(certs.tlsCert, 'utf8'), keyPem: readFileSync(certs.tlsKey, 'utf8') },
        logRequests: true,
      }),
    );
    plain = `127.0.0.1:${server.ports.plain}`;
    client = new KafkaTestClient(server.ports.plain);
    await client.createTopics([
      { topic: TOPIC, partitions: 3 },
      { topic: 'audit', partitions: 1 },
    ]);
  });

  afterAll(async () => {
    await client?.close();
    await server?.stop();
    if (certDir) rmSync(certDir, { recursive: true, force: true });
  });

  const send = (count: number, partition: number, topic = TOPIC) => client.send(topic, count, partition);
  const commit = (partitions: { partition: number; offset: number | string }[], topic = TOPIC, groupId = GROUP) => client.commit(groupId, topic, partitions);

  it('follows the lag: no commit -> 1 per partition, committed -> inactive, then N, capped, uncapped, consumed', async () => {
    const scaler = build({ bootstrapServers: plain, consumerGroup: GROUP, topic: TOPIC, lagThreshold: '5' });
    const idle = build({ bootstrapServers: plain, consumerGroup: GROUP, topic: TOPIC, lagThreshold: '5', allowIdleConsumers: 'true' });
    try {
      expect(scaler.getMetricSpecForScaling()[0].external).toEqual({
        metric: { name: 's0-kafka-orders' },
        target: { type: 'AverageValue', averageValue: '5' },
      });
      // Nothing committed yet: offsetResetPolicy latest counts 1 per partition.
      expect(await poll(scaler)).toEqual({ value: 3, isActive: true });

      await commit([0, 1, 2].map((partition) => ({ partition, offset: '0' })));
      expect(await poll(scaler)).toEqual({ value: 0, isActive: false });

      await send(4, 0);
      await send(3, 1);
      expect(await poll(scaler)).toEqual({ value: 7, isActive: true });

      await send(40, 2);
      // 47 / 5 > 3 partitions: capped at 3 x 5.
      expect(await poll(scaler)).toEqual({ value: 15, isActive: true });
      expect(await poll(idle)).toEqual({ value: 47, isActive: true });

      await commit([{ partition: 0, offset: '4' }, { partition: 1, offset: '3' }, { partition: 2, offset: '38' }]);
      expect(await poll(scaler)).toEqual({ value: 2, isActive: true });
      await commit([{ partition: 2, offset: '40' }]);
      expect(await poll(scaler)).toEqual({ value: 0, isActive: false });
    } finally {
      await scaler.close();
      await idle.close();
    }
  });

  it('without topic sums every topic the group committed to; partitionLimitation and activation threshold apply', async () => {
    await send(6, 0, 'audit');
    await commit([{ partition: 0, offset: '1' }], 'audit', 'auditors');
    const all = build({ bootstrapServers: plain, consumerGroup: 'auditors', allowIdleConsumers: 'true' }, {}, 1);
    const limited = build({ bootstrapServers: plain, consumerGroup: GROUP, topic: TOPIC, partitionLimitation: '0-1', activationLagThreshold: '3' });
    try {
      expect(all.getMetricSpecForScaling()[0].external?.metric.name).toBe('s1-kafka-auditors-topics');
      expect(await poll(all)).toEqual({ value: 5, isActive: true });
      await send(2, 0);
      await send(9, 2); // partition 2 is not counted
      expect(await poll(limited)).toEqual({ value: 2, isActive: false });
      await send(2, 1);
      expect(await poll(limited)).toEqual({ value: 4, isActive: true });
    } finally {
      await all.close();
      await limited.close();
    }
  });

  it.each(['plaintext', 'scram_sha256', 'scram_sha512'])('SASL %s from authParams', async (mode) => {
    const scaler = build(
      { bootstrapServers: `127.0.0.1:${server.ports.sasl}`, consumerGroup: 'nobody', topic: TOPIC, scaleToZeroOnInvalidOffset: 'true' },
      { sasl: mode, username: USER, password: PASSWORD },
    );
    try {
      expect(await poll(scaler)).toEqual({ value: 0, isActive: false });
    } finally {
      await scaler.close();
    }
  });

  it('SASL oauthbearer: a client-credentials token from oauthTokenEndpointUri, with scopes', async () => {
    const seen: { authorization?: string; body: string }[] = [];
    const idp: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ authorization: req.headers.authorization, body });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ access_token: unsecuredJwt('keda'), token_type: 'bearer', expires_in: 3600 }));
      });
    });
    await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
    const scaler = build(
      { bootstrapServers: `127.0.0.1:${server.ports.sasl}`, consumerGroup: 'nobody', topic: TOPIC, sasl: 'oauthbearer', scaleToZeroOnInvalidOffset: 'true' },
      {
        username: 'client-id',
        password: 'client-secret',
        oauthTokenEndpointUri: `http://127.0.0.1:${(idp.address() as AddressInfo).port}/token`,
        scopes: 'kafka,read',
      },
    );
    try {
      expect(await poll(scaler)).toEqual({ value: 0, isActive: false });
      expect(seen[0].authorization).toBe(`Basic ${Buffer.from('client-id:client-secret').toString('base64')}`);
      expect(new URLSearchParams(seen[0].body).get('grant_type')).toBe('client_credentials');
      expect(new URLSearchParams(seen[0].body).get('scope')).toBe('kafka read');
    } finally {
      await scaler.close();
      idp.closeAllConnections();
      await new Promise((r) => idp.close(r));
    }
  });

  it('a wrong password fails with a clear error that does not contain the password', async () => {
    const wrong = 'not-the-Pa55word';
    const scaler = build(
      { bootstrapServers: `127.0.0.1:${server.ports.sasl}`, consumerGroup: GROUP, topic: TOPIC },
      { sasl: 'scram_sha256', username: USER, password: wrong },
    );
    try {
      const err = (await poll(scaler).catch((e: Error) => e)) as Error;
      expect(err).toBeInstanceOf(Error);
      expect(err.message).toMatch(/^error getting lag of kafka group "workers" topic "orders" at 127\.0\.0\.1:\d+: .*(SASL|[Aa]uthentication)/);
      expect(err.message).not.toContain(wrong);
    } finally {
      await scaler.close();
    }
  });

  it('TLS with the CA from authParams; without the CA the certificate is refused; unsafeSsl skips the check', async () => {
    const brokers = `127.0.0.1:${server.ports.ssl}`;
    const trusted = build({ bootstrapServers: brokers, consumerGroup: 'nobody', topic: TOPIC, scaleToZeroOnInvalidOffset: 'true' }, { tls: 'enable', ca: caPem });
    const untrusted = build({ bootstrapServers: brokers, consumerGroup: 'nobody', topic: TOPIC, tls: 'enable' });
    const unsafe = build({ bootstrapServers: brokers, consumerGroup: 'nobody', topic: TOPIC, tls: 'enable', unsafeSsl: 'true', scaleToZeroOnInvalidOffset: 'true' });
    try {
      expect(await poll(trusted)).toEqual({ value: 0, isActive: false });
      await expect(poll(untrusted)).rejects.toThrow(/certificate|self.signed|issuer/i);
      expect(await poll(unsafe)).toEqual({ value: 0, isActive: false });
    } finally {
      await Promise.all([trusted.close(), untrusted.close(), unsafe.close()]);
    }
  });

  it('scalers on one cluster share one bounded client pool; the last close disconnects it', async () => {
    const before = kafkaClientCount();
    // The test's own admin and producer.
    const baseline = connectionsTo(server.ports.plain);
    const many = Array.from({ length: 12 }, (_, i) =>
      i % 2 === 0 ? build({ bootstrapServers: plain, consumerGroup: GROUP, topic: TOPIC }) : build({ bootstrapServers: plain, consumerGroup: 'auditors' }, {}, 1),
    );
    try {
      for (let round = 0; round < 3; round++) await Promise.all(many.map((s) => poll(s)));
      expect(kafkaClientCount()).toBe(before + 1);
      // One connection to the one broker, not one per scaler.
      expect(connectionsTo(server.ports.plain) - baseline).toBeLessThanOrEqual(KAFKA_CONNECTIONS_PER_BROKER);
      await Promise.all(many.slice(1).map((s) => s.close()));
      expect(kafkaClientCount()).toBe(before + 1);
    } finally {
      await many[0].close();
    }
    expect(kafkaClientCount()).toBe(before);
  });

  it('many triggers on several groups polled at once: correct lag per group from one batch of requests', async () => {
    const groups = ['batch-0', 'batch-1', 'batch-2', 'batch-3'];
    for (const p of [0, 1, 2]) await send(10, p);
    const newest = await client.topicOffsets(TOPIC);
    // Group g is g + 1 messages behind on every partition; batch-3 has committed nothing.
    for (const [g, group] of groups.slice(0, 3).entries()) {
      await commit(newest.map((p) => ({ partition: p.partition, offset: p.offset - (g + 1) })), TOPIC, group);
    }
    await send(5, 0, 'audit');
    await commit([{ partition: 0, offset: '0' }], 'audit', 'batch-all');
    const auditEnd = (await client.topicOffsets('audit'))[0].offset;
    const triggers = [
      ...Array.from({ length: 24 }, (_, i) => ({ group: groups[i % groups.length], topic: TOPIC as string | undefined })),
      ...Array.from({ length: 4 }, () => ({ group: 'batch-all', topic: undefined })),
    ];
    const many = triggers.map(({ group, topic }) =>
      build({ bootstrapServers: plain, consumerGroup: group, ...(topic ? { topic } : {}), lagThreshold: '1', allowIdleConsumers: 'true' }),
    );
    const expected = triggers.map(({ group }) => (group === 'batch-all' ? auditEnd : group === 'batch-3' ? 3 : 3 * (groups.indexOf(group) + 1)));
    const settle = () => new Promise((r) => setTimeout(r, 1000));
    try {
      // First round: coordinators looked up and metadata loaded.
      expect((await Promise.all(many.map((s) => poll(s)))).map((r) => r.value)).toEqual(expected);
      await settle();
      const before = kafkaRequestCount(server.logFile);
      expect((await Promise.all(many.map((s) => poll(s)))).map((r) => r.value)).toEqual(expected);
      await settle();
      const requests = kafkaRequestCount(server.logFile) - before;
      // 28 polls, 5 groups, 2 topics: one OffsetFetch for every group, one ListOffsets for the named
      // topic, one for the topic found through batch-all's commits (a metadata refresh at most).
      expect(requests).toBeGreaterThanOrEqual(2);
      expect(requests).toBeLessThanOrEqual(4);

      // Freshness: a commit made before the next poll is seen by it.
      await commit(newest.map((p) => ({ partition: p.partition, offset: p.offset })), TOPIC, 'batch-0');
      expect(await poll(many[0])).toEqual({ value: 0, isActive: false });
    } finally {
      await Promise.all(many.map((s) => s.close()));
    }
  });

  it('a broker that is down fails within the timeout; the same scaler recovers when it is back', async () => {
    const scaler = build({ bootstrapServers: plain, consumerGroup: GROUP, topic: TOPIC });
    try {
      await poll(scaler);
      await server.pause();
      const started = Date.now();
      await expect(poll(scaler)).rejects.toThrow(/^error getting lag of kafka group "workers"/);
      expect(Date.now() - started).toBeLessThan(ctx.httpTimeoutMs + 1500);
      await server.resume();
      // The client reconnects by itself on a later poll.
      let last: unknown;
      for (let i = 0; i < 30; i++) {
        try {
          last = await poll(scaler);
          break;
        } catch (err) {
          last = err;
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
      expect(last).toEqual({ value: expect.any(Number), isActive: expect.any(Boolean) });
    } finally {
      await scaler.close();
    }
  });
});
