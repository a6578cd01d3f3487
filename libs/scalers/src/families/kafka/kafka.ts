/**
 * `kafka` (KEDA kafka_scaler.go): the consumer group's lag, summed over the topic's partitions
 * (or every topic the group has committed offsets for), capped so replicas never exceed the
 * partitions. Talks to the brokers through a @platformatic/kafka Admin (kafka-client.ts, public API
 * only): one client per cluster + credentials, shared by every scaler that points at it, answers
 * the polls of a short window with one batch of requests (kafka-batch.ts).
 */
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import type { AdminOptions, SASLOptions } from '@platformatic/kafka';
import { externalMetricSpec, externalMetricType, KAFKA_BATCH_WINDOW_MS, KAFKA_METADATA_MAX_AGE_MS, type KafkaConfigParams, kafkaDescriptor, metricName, type MetricsAndActivity, metricTargetInt, metricValue, parsePartitionLimitation, q, type Scaler } from '@keda-ts/scaler-sdk';
import { credentialsHash, SharedClients, withDeadline } from '../../pools/shared-clients';
import type { ScalerContext, ScalerLogger } from '../../context';
import { adminBrokerApi, KafkaOffsetsClient, platformaticKafka } from './kafka-client';
import { kafkaEgressContext } from './kafka-egress';
import { sharedAgentPool } from '../../http/agent-pool';
import { httpGet } from '../../http/get';
import { egressOf, type EgressPolicy } from '../../net/egress-policy';
import { LocalError, upstreamError } from '../../upstream-errors';
import { implementScaler } from '../../implementation';

// ---------------------------------------------------------------------------------------------
// The lag computation (pure).

export interface PartitionOffsets {
  topic: string;
  partition: number;
  /** Committed offset of the group; -1 when nothing is committed. */
  committed: number;
  /** Newest offset (high watermark) of the partition. */
  latest: number;
}

export type LagOptions = Pick<
  KafkaConfigParams,
  | 'lagThreshold'
  | 'offsetResetPolicy'
  | 'allowIdleConsumers'
  | 'excludePersistentLag'
  | 'scaleToZeroOnInvalidOffset'
  | 'limitToPartitionsWithLag'
  | 'ensureEvenDistributionOfPartitions'
>;

export interface LagResult {
  /** The lag reported to the HPA (capped, persistent lag excluded when asked). */
  lag: number;
  /** The uncapped lag with persistent lag: decides activation. */
  lagWithPersistent: number;
}

/** Divisors of n in ascending order. */
export function divisors(n: number): number[] {
  const small: number[] = [];
  const large: number[] = [];
  for (let i = 1; i * i <= n; i++) {
    if (n % i === 0) {
      small.push(i);
      if (i !== n / i) large.unshift(n / i);
    }
  }
  return [...small, ...large];
}

/**
 * The lag of one poll. `previous` holds each partition's committed offset as of the previous poll
 * (`topic/partition` keys) and is updated in place (only used with excludePersistentLag).
 */
export function computeLag(partitions: readonly PartitionOffsets[], o: LagOptions, previous: Map<string, number>): LagResult {
  let lag = 0;
  let lagWithPersistent = 0;
  let partitionsWithLag = 0;
  for (const p of partitions) {
    const [scaling, real] = partitionLag(p, o, previous);
    lag += scaling;
    lagWithPersistent += real;
    if (scaling > 0) partitionsWithLag += 1;
  }
  const totalPartitions = partitions.length;
  if (!o.allowIdleConsumers || o.limitToPartitionsWithLag || o.ensureEvenDistributionOfPartitions) {
    let upperBound = totalPartitions;
    if (o.ensureEvenDistributionOfPartitions) {
      const factor = divisors(totalPartitions).find((f) => f * o.lagThreshold >= lag) ?? totalPartitions;
      lag = factor * o.lagThreshold;
    }
    if (o.limitToPartitionsWithLag) upperBound = partitionsWithLag;
    if (Math.trunc(lag / o.lagThreshold) > upperBound) lag = upperBound * o.lagThreshold;
  }
  return { lag, lagWithPersistent };
}

function partitionLag(p: PartitionOffsets, o: LagOptions, previous: Map<string, number>): [number, number] {
  if (p.committed < 0) {
    if (o.scaleToZeroOnInvalidOffset) return [0, 0];
    return o.offsetResetPolicy === 'latest' ? [1, 1] : [p.latest, p.latest];
  }
  const real = p.latest - p.committed;
  if (o.excludePersistentLag) {
    const key = `${p.topic}/${p.partition}`;
    const before = previous.get(key);
    if (before === p.committed) return [0, real];
    previous.set(key, p.committed);
  }
  return [real, real];
}

// ---------------------------------------------------------------------------------------------
// Shared clients.

const sharedClients = new SharedClients<KafkaOffsetsClient>((client) => client.close());

/** Number of live Kafka clients (one per cluster + credentials). */
export function kafkaClientCount(): number {
  return sharedClients.size;
}

/**
 * The client-credentials token, POSTed through an agent under the egress policy (not the global
 * fetch, which would follow redirects and has no address check). Redirects are not followed.
 */
async function fetchOAuthToken(
  c: KafkaConfigParams,
  timeoutMs: number,
  egress: EgressPolicy,
): Promise<{ value: string; extensions?: Record<string, string> }> {
  const body = new URLSearchParams({ grant_type: 'client_credentials' });
  if (c.scopes?.length) body.set('scope', c.scopes.join(' '));
  let url: URL;
  try {
    url = new URL(c.oauthTokenEndpointUri ?? '');
  } catch {
    throw new LocalError('oauth token endpoint is not a valid URL');
  }
  const lease = sharedAgentPool.acquire(url, {}, egress);
  let response;
  try {
    response = await httpGet(url, {
      method: 'POST',
      agent: lease.agent,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${encodeURIComponent(c.username ?? '')}:${encodeURIComponent(c.password ?? '')}`).toString('base64')}`,
      },
      body: body.toString(),
      timeoutMs,
      maxBytes: 1024 * 1024,
    });
  } finally {
    lease.release();
  }
  if (response.status < 200 || response.status > 299) throw new LocalError(`oauth token endpoint returned ${response.status}`);
  let token: { access_token?: unknown };
  try {
    token = JSON.parse(response.body.toString('utf8')) as { access_token?: unknown };
  } catch {
    throw new LocalError('oauth token endpoint returned no JSON');
  }
  if (typeof token.access_token !== 'string') throw new LocalError('oauth token endpoint returned no access_token');
  return { value: token.access_token, extensions: c.oauthExtensions };
}

function saslOptions(c: KafkaConfigParams, timeoutMs: number, egress: EgressPolicy): SASLOptions | undefined {
  const username = c.username ?? '';
  const password = c.password ?? '';
  switch (c.sasl ?? 'none') {
    case 'plaintext':
      return { mechanism: 'PLAIN', username, password };
    case 'scram_sha256':
      return { mechanism: 'SCRAM-SHA-256', username, password };
    case 'scram_sha512':
      return { mechanism: 'SCRAM-SHA-512', username, password };
    case 'oauthbearer':
      // A token per authentication (the client asks for one); the extensions are the trigger's own.
      return {
        mechanism: 'OAUTHBEARER',
        token: async () => (await fetchOAuthToken(c, timeoutMs, egress)).value,
        ...(c.oauthExtensions && Object.keys(c.oauthExtensions).length > 0 ? { oauthBearerExtensions: { ...c.oauthExtensions } } : {}),
      };
    default:
      return undefined;
  }
}

function connectionKey(c: KafkaConfigParams, timeoutMs: number): string {
  return [
    [...c.bootstrapServers].join(','),
    c.sasl ?? 'none',
    c.tls ?? 'disable',
    String(c.unsafeSsl),
    timeoutMs,
    credentialsHash(c.username, c.password, c.ca, c.cert, c.key, c.keyPassword, c.oauthTokenEndpointUri, c.scopes?.join(','), JSON.stringify(c.oauthExtensions ?? {})),
  ].join('|');
}

function createClient(c: KafkaConfigParams, timeoutMs: number, logger: ScalerLogger | undefined, egress: EgressPolicy): KafkaOffsetsClient {
  let tls: ConnectionOptions | undefined;
  if (c.tls === 'enable') {
    tls = {
      rejectUnauthorized: !c.unsafeSsl,
      ...(c.ca ? { ca: [c.ca] } : {}),
      ...(c.cert && c.key ? { cert: c.cert, key: c.key, passphrase: c.keyPassword } : {}),
    };
  }
  const sasl = saslOptions(c, timeoutMs, egress);
  const hosts = c.bootstrapServers.map((s) => s.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1'));
  const options: AdminOptions = {
    clientId: 'keda-ts',
    bootstrapBrokers: [...c.bootstrapServers],
    // Every connection goes through the egress policy (kafka-egress.ts).
    context: kafkaEgressContext(egress),
    ...(tls ? { tls } : {}),
    // SNI with the broker's host name (not with IP addresses, which SNI does not carry).
    ...(tls && !hosts.some((h) => isIP(h)) ? { tlsServerName: true } : {}),
    ...(sasl ? { sasl } : {}),
    connectTimeout: Math.min(timeoutMs, 3000),
    requestTimeout: timeoutMs,
    timeout: timeoutMs,
    metadataMaxAge: KAFKA_METADATA_MAX_AGE_MS,
    retries: 1,
    retryDelay: Math.min(100, Math.max(10, Math.trunc(timeoutMs / 10))),
    autocreateTopics: false,
  };
  const admin = new (platformaticKafka().Admin)(options);
  // The client's own retries are noisy; poll errors are reported by the caller.
  admin.on('client:broker:failed', ({ broker }) => logger?.debug({ scaler: 'kafka', broker: `${broker.host}:${broker.port}` }, 'kafka broker connection failed'));
  return new KafkaOffsetsClient(adminBrokerApi(admin), KAFKA_BATCH_WINDOW_MS);
}

// ---------------------------------------------------------------------------------------------
// The scaler.

class KafkaScaler implements Scaler {
  readonly type = 'kafka';
  private readonly lease;
  private readonly previous = new Map<string, number>();
  private readonly partitionFilter?: Set<number>;
  private readonly secrets: (string | undefined)[];
  private closed = false;

  constructor(
    private readonly config: KafkaConfigParams,
    private readonly name: string,
    private readonly metricType: 'AverageValue' | 'Value',
    private readonly timeoutMs: number,
    private readonly ctx: ScalerContext,
  ) {
    const egress = egressOf(ctx);
    this.lease = sharedClients.acquire(`${connectionKey(config, timeoutMs)}|egress:${egress.id}`, () =>
      createClient(config, timeoutMs, ctx.logger, egress),
    );
    if (config.topic && config.partitionLimitation) {
      const parsed = parsePartitionLimitation(config.partitionLimitation);
      if ('ids' in parsed) this.partitionFilter = new Set(parsed.ids);
    }
    this.secrets = [config.password, config.key, config.keyPassword];
  }

  getMetricSpecForScaling() {
    return [externalMetricSpec(this.name, metricTargetInt(this.metricType, this.config.lagThreshold))];
  }

  async getMetricsAndActivity(requested: string, options?: { signal?: AbortSignal }): Promise<MetricsAndActivity> {
    const where = `kafka group ${q(this.config.consumerGroup)}${this.config.topic ? ` topic ${q(this.config.topic)}` : ''} at ${this.config.bootstrapServers.join(',')}`;
    if (this.closed) throw new Error(`error getting lag of ${where}: the scaler is closed`);
    let offsets: PartitionOffsets[];
    try {
      offsets = await withDeadline(this.readOffsets(), this.timeoutMs, 'request', options?.signal);
    } catch (err) {
      throw upstreamError(`error getting lag of ${where}`, err, this.secrets);
    }
    const { lag, lagWithPersistent } = computeLag(offsets, this.config, this.previous);
    return {
      metrics: [metricValue(requested, lag, this.ctx.now())],
      isActive: lagWithPersistent > this.config.activationLagThreshold,
    };
  }

  /** Committed and newest offsets of every partition considered, from the client's next batch. */
  private async readOffsets(): Promise<PartitionOffsets[]> {
    const { committed, latest } = await this.lease.client.offsets(this.config.consumerGroup, this.config.topic);
    const out: PartitionOffsets[] = [];
    for (const [topic, partitions] of latest) {
      const considered = partitions.filter((p) => !this.partitionFilter || this.partitionFilter.has(p.partition));
      if (considered.length === 0) throw new LocalError(`no active partitions in topic ${topic}`);
      const committedOf = committed.get(topic);
      for (const p of considered) out.push({ topic, partition: p.partition, committed: committedOf?.get(p.partition) ?? -1, latest: p.offset });
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.lease.release();
  }
}

export const kafkaScaler = implementScaler(kafkaDescriptor, (config, input, ctx) => {
  const name = metricName(input.triggerIndex, config.topic ? `kafka-${config.topic}` : `kafka-${config.consumerGroup}-topics`);
  return new KafkaScaler(config, name, externalMetricType(input.metricType), ctx.httpTimeoutMs, ctx);
});
