import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Admin, Producer, stringSerializers } from '@platformatic/kafka';
import type { TestServerDefinition } from './launcher';

export type KafkaPort = 'plain' | 'controller' | 'sasl' | 'ssl';

export interface KafkaServerOptions {
  /** Directory of the broker's jars (`ensureToolchain('extras')).kafkaLibsDir`). */
  libsDir: string;
  /**
   * Users for the SASL_PLAINTEXT listener (PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 all accept them);
   * the listener also takes OAUTHBEARER with unsigned JWTs (see `unsecuredJwt`).
   */
  users?: Record<string, string>;
  /** PEM material for the SSL listener; the certificate must name 127.0.0.1. */
  tls?: { certPem: string; keyPem: string };
  /** JVM heap; 512m by default. */
  heap?: string;
  /** Log every completed request (Kafka's request logger at debug) so kafkaRequestCount can count them. */
  logRequests?: boolean;
}

/** A Kafka cluster id: 16 random bytes, unpadded base64url (Kafka's Uuid), not starting with '-'. */
export function kafkaClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

const jaasValue = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');

function serverProperties(ports: Record<KafkaPort, number>, dataDir: string, options: KafkaServerOptions): string {
  const listeners = [`PLAINTEXT://127.0.0.1:${ports.plain}`, `CONTROLLER://127.0.0.1:${ports.controller}`];
  const advertised = [`PLAINTEXT://127.0.0.1:${ports.plain}`];
  const protocols = ['PLAINTEXT:PLAINTEXT', 'CONTROLLER:PLAINTEXT'];
  const extra: string[] = [];
  if (options.users) {
    listeners.push(`SASL_PLAINTEXT://127.0.0.1:${ports.sasl}`);
    advertised.push(`SASL_PLAINTEXT://127.0.0.1:${ports.sasl}`);
    protocols.push('SASL_PLAINTEXT:SASL_PLAINTEXT');
    const plainUsers = Object.entries(options.users)
      .map(([u, p]) => `user_${u}="${jaasValue(p)}"`)
      .join(' ');
    extra.push(
      'sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER',
      `listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required ${plainUsers};`,
      'listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
      'listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
      // OAUTHBEARER with Kafka's unsecured validator: any unsigned JWT with a `sub` claim is accepted.
      'listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;',
    );
  }
  if (options.tls) {
    listeners.push(`SSL://127.0.0.1:${ports.ssl}`);
    advertised.push(`SSL://127.0.0.1:${ports.ssl}`);
    protocols.push('SSL:SSL');
    // PEM values inline: newlines become `\n` continuations that Java's Properties reader joins.
    const pem = (s: string) => s.trim().split('\n').join(' \\\n  ');
    extra.push(
      'listener.name.ssl.ssl.keystore.type=PEM',
      `listener.name.ssl.ssl.keystore.certificate.chain=${pem(options.tls.certPem)}`,
      `listener.name.ssl.ssl.keystore.key=${pem(options.tls.keyPem)}`,
    );
  }
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `listeners=${listeners.join(',')}`,
    `advertised.listeners=${advertised.join(',')}`,
    'inter.broker.listener.name=PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    `listener.security.protocol.map=${protocols.join(',')}`,
    `controller.quorum.bootstrap.servers=127.0.0.1:${ports.controller}`,
    `log.dirs=${path.join(dataDir, 'log')}`,
    'num.partitions=1',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=false',
    ...extra,
    '',
  ].join('\n');
}

function jvm(options: KafkaServerOptions, mainClass: string, args: string[]): { command: string; args: string[] } {
  return {
    command: 'java',
    args: [
      `-Xmx${options.heap ?? '512m'}`, '-Xms64m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Djava.awt.headless=true',
      ...(options.logRequests ? ['-Dorg.slf4j.simpleLogger.log.kafka.request.logger=debug'] : []),
      '-cp', `${options.libsDir}/*`, mainClass, ...args,
    ],
  };
}

/**
 * Apache Kafka (Maven Central jars, see e2e/toolchain/build.sh) in KRaft combined mode: one
 * broker+controller with a PLAINTEXT listener, plus SASL_PLAINTEXT (PLAIN and SCRAM users) and SSL
 * listeners when asked. Ready once a client can reach the group coordinator (the offsets topic exists).
 */
export function kafkaServer(options: KafkaServerOptions): TestServerDefinition<KafkaPort> {
  const config = (dataDir: string) => path.join(dataDir, 'server.properties');
  return {
    name: 'kafka',
    ports: ['plain', 'controller', 'sasl', 'ssl'],
    async prepare({ ports, dataDir, run }) {
      writeFileSync(config(dataDir), serverProperties(ports, dataDir, options));
      const scram = Object.entries(options.users ?? {}).flatMap(([u, p]) =>
        ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((m) => ['--add-scram', `${m}=[name=${u},password=${p}]`]),
      );
      const format = jvm(options, 'kafka.tools.StorageTool', [
        'format', '--standalone', '--cluster-id', kafkaClusterId(), '--config', config(dataDir), ...scram,
      ]);
      await run(format.command, format.args, { timeoutMs: 120_000 });
    },
    command: ({ dataDir }) => jvm(options, 'kafka.Kafka', [config(dataDir)]),
    ready: async ({ ports }) => {
      const admin = new Admin({
        bootstrapBrokers: [`127.0.0.1:${ports.plain}`],
        clientId: 'keda-ts-readiness',
        connectTimeout: 1000,
        retries: 1,
        retryDelay: 100,
      });
      try {
        // Asking for a group's offsets creates the offsets topic: later group calls then work at once.
        await admin.listConsumerGroupOffsets({ groups: ['keda-ts-readiness'] });
        return true;
      } finally {
        await admin.close().catch(() => undefined);
      }
    },
    readyTimeoutMs: 120_000,
  };
}

/** An unsigned JWT (`alg: none`) that Kafka's default OAUTHBEARER validator accepts, for tests. */
export function unsecuredJwt(subject: string, lifetimeSeconds = 3600): string {
  const now = Math.floor(Date.now() / 1000);
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'none' })}.${part({ sub: subject, iat: now, exp: now + lifetimeSeconds })}.`;
}

/** The tests' own admin and producer on a broker's PLAINTEXT listener (client id `e2e` unless told). */
export class KafkaTestClient {
  readonly admin: Admin;
  readonly producer: Producer<string, string, string, string>;

  constructor(plainPort: number, clientId = 'e2e') {
    const bootstrapBrokers = [`127.0.0.1:${plainPort}`];
    this.admin = new Admin({ bootstrapBrokers, clientId });
    this.producer = new Producer({ bootstrapBrokers, clientId, serializers: stringSerializers, autocreateTopics: false });
  }

  /** Creates the topics and waits until every partition has a leader. */
  async createTopics(topics: readonly { topic: string; partitions: number }[]): Promise<void> {
    await this.admin.createTopics({ topics: topics.map(({ topic, partitions }) => ({ topic, partitions, replicas: 1 })) });
    const names = topics.map((t) => t.topic);
    for (let attempt = 0; ; attempt++) {
      try {
        const metadata = await this.admin.metadata({ topics: names, forceUpdate: true });
        const ready = topics.every(({ topic, partitions }) => {
          const parts = metadata.topics.get(topic)?.partitions ?? [];
          return parts.length === partitions && parts.every((p) => p && p.leader >= 0);
        });
        if (ready) return;
      } catch (err) {
        if (attempt >= 50) throw err;
      }
      if (attempt >= 50) throw new Error(`topics ${names.join(', ')} have no leaders`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Produces `count` messages to one partition. */
  async send(topic: string, count: number, partition: number, value: (i: number) => string = (i) => `m${i}`): Promise<void> {
    await this.producer.send({ messages: Array.from({ length: count }, (_, i) => ({ topic, partition, value: value(i) })) });
  }

  /** Commits offsets for `groupId` (a group without members). */
  async commit(groupId: string, topic: string, partitions: readonly { partition: number; offset: number | string | bigint }[]): Promise<void> {
    await this.admin.alterConsumerGroupOffsets({
      groupId,
      topics: [{ name: topic, partitionOffsets: partitions.map((p) => ({ partition: p.partition, offset: BigInt(p.offset) })) }],
    });
  }

  /** The newest offset (high watermark) of each partition of `topic`. */
  async topicOffsets(topic: string): Promise<{ partition: number; offset: number }[]> {
    const metadata = await this.admin.metadata({ topics: [topic] });
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
    const [listed] = await this.admin.listOffsets({
      topics: [{ name: topic, partitions: Array.from({ length: count }, (_, partitionIndex) => ({ partitionIndex, timestamp: -1n })) }],
    });
    return (listed?.partitions ?? []).map((p) => ({ partition: p.partitionIndex, offset: Number(p.offset) })).sort((a, b) => a.partition - b.partition);
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.producer.close(), this.admin.close()]);
  }
}

/** Creates `topic` and commits each of `caughtUpGroups` at its end (lag 0), through the PLAINTEXT listener. */
export async function prepareKafkaTopic(
  plainPort: number,
  options: { topic: string; partitions: number; caughtUpGroups?: readonly string[] },
): Promise<void> {
  const client = new KafkaTestClient(plainPort, 'keda-ts-setup');
  try {
    await client.createTopics([{ topic: options.topic, partitions: options.partitions }]);
    const newest = await client.topicOffsets(options.topic);
    for (const groupId of options.caughtUpGroups ?? []) await client.commit(groupId, options.topic, newest);
  } finally {
    await client.close();
  }
}

/**
 * Requests the broker completed for clients named `clientId` (the scalers use `keda-ts`), counted
 * in its request log: start the server with `logRequests: true`.
 */
export function kafkaRequestCount(logFile: string, clientId = 'keda-ts'): number {
  const marker = `"clientId":"${clientId}"`;
  let n = 0;
  for (const line of readFileSync(logFile, 'utf8').split('\n')) if (line.includes('Completed request:') && line.includes(marker)) n++;
  return n;
}
