/**
 * `rabbitmq` (KEDA rabbitmq_scaler.go): the length or message rates of a queue, read over AMQP (a
 * passive queue declare: ready messages only) or the management HTTP API (ready + unacked, rates,
 * regex over queue names). One AMQP connection per broker and credentials, shared by every scaler
 * that points at it (see AmqpConnectionPool); HTTP requests share keep-alive agents per origin.
 */
import type * as amqp from 'amqplib';
import { createHash } from 'node:crypto';
import { type AgentLease, sharedAgentPool } from '../../http/agent-pool';
import { defaultEgressPolicy, egressOf, type EgressPolicy } from '../../net/egress-policy';
import { displayUrl, externalMetricSpec, externalMetricType, metricName, type MetricsAndActivity, metricTargetMilli, metricValue, q, type RabbitMqConfig, rabbitmqDescriptor, type RabbitMqMode, type Scaler, type ScalerInput, settleConfig } from '@keda-ts/scaler-sdk';
import { httpGet } from '../../http/get';
import type { ScalerContext } from '../../context';
import { LocalError, safeErrorText, upstreamError } from '../../upstream-errors';
import { implementScaler } from '../../implementation';
import { onFirstUse } from '../../lazy-module';

// The client library is loaded by the first RabbitMQ scaler, not at start-up (lazy-module.ts).
const amqplib = onFirstUse(() => require('amqplib') as typeof amqp);

/** Go's url.QueryEscape: unreserved characters stay, space becomes `+`, everything else `%XX`. */
export function goQueryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** KEDA's vhost split of a management URL path: the last segment is the vhost, the rest a prefix. */
export function vhostAndPrefix(pathname: string, vhostName?: string): { vhost: string; prefix: string } {
  const parts = pathname.split('/');
  let vhost = `/${parts[parts.length - 1]}`;
  const prefixParts = parts.slice(0, -1).filter((s) => s !== '');
  const prefix = prefixParts.length ? `/${prefixParts.join('/')}` : '';
  if (vhostName) vhost = `/${goQueryEscape(vhostName)}`;
  if (vhost === '' || vhost === '/' || vhost === '//') vhost = '/%2F';
  return { vhost, prefix };
}

/** The management API URL for a config (credentials are sent as a header, never in the URL). */
export function managementRequest(config: RabbitMqConfig): { url: URL; authorization?: string } {
  const host = new URL(config.host);
  const { vhost, prefix } = vhostAndPrefix(host.pathname, config.vhostName);
  const base = `${host.protocol}//${host.host}${prefix}`;
  const url = config.useRegex
    ? new URL(`${base}/api/queues${vhost}?page=1&use_regex=true&pagination=false&name=${goQueryEscape(config.queueName)}&page_size=${config.pageSize}`)
    : new URL(`${base}/api/queues${vhost}/${goQueryEscape(config.queueName)}`);
  const username = config.username ?? decodeURIComponent(host.username);
  const password = config.password ?? decodeURIComponent(host.password);
  const authorization = username || password ? `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` : undefined;
  return { url, authorization };
}

/** What one measurement reads from a queue (or the combination of the queues a regex matched). */
export interface QueueFigures {
  /** Messages counted (ready + unacked, or ready only). */
  count: number;
  publishRate: number;
  deliverGetRate: number;
}

interface ManagementQueue {
  name?: string;
  messages?: number;
  messages_ready?: number;
  message_stats?: { publish_details?: { rate?: number }; deliver_get_details?: { rate?: number } };
}

const figuresOf = (queue: ManagementQueue, excludeUnacknowledged: boolean): QueueFigures => ({
  count: (excludeUnacknowledged ? queue.messages_ready : queue.messages) ?? 0,
  publishRate: queue.message_stats?.publish_details?.rate ?? 0,
  deliverGetRate: queue.message_stats?.deliver_get_details?.rate ?? 0,
});

/** Combines the queues a regex matched (avg divides counts with integer division, as KEDA does). */
export function combineQueues(queues: QueueFigures[], operation: 'sum' | 'avg' | 'max'): QueueFigures {
  const sum = queues.reduce((a, b) => ({ count: a.count + b.count, publishRate: a.publishRate + b.publishRate, deliverGetRate: a.deliverGetRate + b.deliverGetRate }), {
    count: 0,
    publishRate: 0,
    deliverGetRate: 0,
  });
  if (operation === 'sum' || queues.length === 0) return sum;
  if (operation === 'avg') {
    return { count: Math.trunc(sum.count / queues.length), publishRate: sum.publishRate / queues.length, deliverGetRate: sum.deliverGetRate / queues.length };
  }
  return {
    count: Math.max(...queues.map((x) => x.count)),
    publishRate: Math.max(...queues.map((x) => x.publishRate)),
    deliverGetRate: Math.max(...queues.map((x) => x.deliverGetRate)),
  };
}

/** The metric value and activity for a mode (spec §4.4; A = activationValue). */
export function measure(mode: RabbitMqMode, f: QueueFigures, activation: number): { value: number; isActive: boolean } {
  const { count: n, publishRate: p, deliverGetRate: d } = f;
  switch (mode) {
    case 'QueueLength':
      return { value: n, isActive: n > activation };
    case 'MessageRate':
      return { value: p, isActive: p > activation || n > activation };
    case 'DeliverGetRate':
      return { value: d, isActive: d > activation };
    case 'PublishedToDeliveredRatio': {
      const ratio = p === 0 ? 0 : d === 0 ? activation : p / d;
      return { value: ratio, isActive: ratio > activation || (p > 0 && d === 0) };
    }
    case 'ExpectedQueueConsumptionTime': {
      const eta = n === 0 ? 0 : d === 0 ? activation : (p - d) / d + n / d;
      return { value: eta, isActive: eta > activation || (d === 0 && n > 0) };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// AMQP connections, one per broker + vhost + credentials + TLS settings, reference-counted.
// ---------------------------------------------------------------------------------------------

export interface AmqpTarget {
  url: URL;
  vhost: string;
  username: string;
  password: string;
  tls: { ca?: string; cert?: string; key?: string; passphrase?: string; unsafeSsl: boolean };
  /** SASL EXTERNAL (client certificate, no username/password). */
  external: boolean;
  connectionName: string;
  connectTimeoutMs: number;
  /** The egress policy of the connection (default: the default policy). */
  egress?: EgressPolicy;
}

interface PoolEntry {
  refs: number;
  connection?: Promise<amqp.ChannelModel>;
}

export interface AmqpLease {
  /** The open connection (opened or re-opened on demand). */
  connection(): Promise<amqp.ChannelModel>;
  /** Idempotent; the last release closes the connection. */
  release(): Promise<void>;
}

/** No server text (amqplib quotes the broker's reply text): codes only, then secrets redacted. */
const safeError = (err: unknown, secrets: string[]): string => {
  let text = safeErrorText(err);
  for (const s of secrets) if (s) text = text.split(s).join('<redacted>');
  return text;
};

export class AmqpConnectionPool {
  private readonly entries = new Map<string, PoolEntry>();

  static keyOf(t: AmqpTarget): string {
    const secret = createHash('sha256')
      .update(JSON.stringify([t.username, t.password, t.tls.ca ?? '', t.tls.cert ?? '', t.tls.key ?? '', t.tls.passphrase ?? '', t.tls.unsafeSsl, t.external]))
      .digest('hex');
    return `${t.url.protocol}//${t.url.host}/${t.vhost}|${secret}|egress:${(t.egress ?? defaultEgressPolicy).id}`;
  }

  acquire(target: AmqpTarget): AmqpLease {
    const key = AmqpConnectionPool.keyOf(target);
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { refs: 0 };
      this.entries.set(key, entry);
    }
    entry.refs += 1;
    const owned = entry;
    let released = false;
    return {
      connection: () => {
        owned.connection ??= this.open(target, owned);
        return owned.connection;
      },
      release: async () => {
        if (released) return;
        released = true;
        owned.refs -= 1;
        if (owned.refs > 0) return;
        if (this.entries.get(key) === owned) this.entries.delete(key);
        const open = owned.connection;
        owned.connection = undefined;
        const conn = await open?.catch(() => undefined);
        await conn?.close().catch(() => undefined);
      },
    };
  }

  private open(t: AmqpTarget, entry: PoolEntry): Promise<amqp.ChannelModel> {
    const opening = (async () => {
      const options: amqp.Options.Connect = {
        protocol: t.url.protocol.replace(/:$/, ''),
        hostname: t.url.hostname.replace(/^\[|\]$/g, ''),
        port: t.url.port ? Number(t.url.port) : undefined,
        vhost: encodeURIComponent(t.vhost),
        username: t.username,
        password: t.password,
        heartbeat: 30,
        ...(t.external ? { credentials: amqplib().credentials.external() } : {}),
      };
      const egress = t.egress ?? defaultEgressPolicy;
      // amqplib hands the socket options to net.connect / tls.connect: `lookup` checks the resolved
      // addresses, and an IP-literal host (no lookup) is checked here.
      egress.assertHost(options.hostname ?? '');
      const socketOptions = {
        lookup: egress.lookup,
        timeout: t.connectTimeoutMs,
        clientProperties: { connection_name: t.connectionName },
        ...(t.url.protocol === 'amqps:'
          ? { ca: t.tls.ca ? [t.tls.ca] : undefined, cert: t.tls.cert, key: t.tls.key, passphrase: t.tls.passphrase, rejectUnauthorized: !t.tls.unsafeSsl }
          : {}),
      };
      let conn: amqp.ChannelModel;
      try {
        conn = (await amqplib().connect(options, socketOptions as never)) as unknown as amqp.ChannelModel;
      } catch (err) {
        throw new LocalError(`error connecting to RabbitMQ at ${t.url.protocol}//${t.url.host}: ${safeError(err, [t.password, t.tls.key ?? '', t.tls.passphrase ?? ''])}`);
      }
      // A dropped connection is forgotten, so the next poll connects again.
      const forget = () => {
        if (entry.connection === opening) entry.connection = undefined;
      };
      conn.on('close', forget);
      conn.on('error', forget);
      return conn;
    })();
    opening.catch(() => {
      if (entry.connection === opening) entry.connection = undefined;
    });
    return opening;
  }

  /** Number of brokers with at least one lease (for tests). */
  get size(): number {
    return this.entries.size;
  }
}

/** The process-wide AMQP pool of the rabbitmq scalers. */
export const sharedAmqpPool = new AmqpConnectionPool();

function withTimeout<T>(work: Promise<T>, timeoutMs: number, what: string, signal?: AbortSignal): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const bounded = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new LocalError(`${what} timed out after ${timeoutMs}ms`)), timeoutMs);
    onAbort = () => reject(new LocalError(`${what} aborted`));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, bounded]).finally(() => {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  });
}

class RabbitMqScaler implements Scaler {
  readonly type = 'rabbitmq';
  private closed = false;
  private readonly amqpLease?: AmqpLease;
  private channel?: Promise<amqp.Channel>;
  private readonly httpLease?: AgentLease;
  private readonly request?: { url: URL; authorization?: string };
  private readonly secrets: string[];

  constructor(
    private readonly config: RabbitMqConfig,
    private readonly name: string,
    private readonly metricType: 'AverageValue' | 'Value',
    private readonly ctx: ScalerContext,
    input: ScalerInput,
    pool: AmqpConnectionPool,
  ) {
    const host = new URL(config.host);
    this.secrets = [config.password ?? '', decodeURIComponent(host.password), host.password, config.key ?? '', config.keyPassword ?? ''].filter(Boolean);
    const tlsEnabled = config.tls === 'enable';
    if (config.protocol === 'amqp') {
      const vhost = config.vhostName || (host.pathname.length > 1 ? decodeURIComponent(host.pathname.slice(1)) : '/');
      const username = config.username ?? decodeURIComponent(host.username);
      const password = config.password ?? decodeURIComponent(host.password);
      this.amqpLease = pool.acquire({
        url: host,
        vhost,
        username,
        password,
        tls: {
          ca: tlsEnabled ? config.ca : undefined,
          cert: tlsEnabled ? config.cert : undefined,
          key: tlsEnabled ? config.key : undefined,
          passphrase: tlsEnabled ? config.keyPassword : undefined,
          unsafeSsl: config.unsafeSsl,
        },
        external: tlsEnabled && Boolean(config.cert) && !config.username && !config.password && !host.username,
        connectionName: `keda-${input.scalableObject.namespace}-${input.scalableObject.name}`,
        connectTimeoutMs: ctx.httpTimeoutMs,
        egress: egressOf(ctx),
      });
    } else {
      this.request = managementRequest(config);
      this.httpLease = sharedAgentPool.acquire(
        this.request.url,
        { unsafeSsl: config.unsafeSsl, ...(tlsEnabled ? { ca: config.ca, cert: config.cert, key: config.key } : {}) },
        egressOf(ctx),
      );
    }
  }

  getMetricSpecForScaling() {
    return [externalMetricSpec(this.name, metricTargetMilli(this.metricType, this.config.value))];
  }

  async getMetricsAndActivity(requested: string, options?: { signal?: AbortSignal }): Promise<MetricsAndActivity> {
    if (this.closed) throw new Error('error inspecting rabbitMQ: the scaler is closed');
    const figures = this.config.protocol === 'amqp' ? await this.readAmqp(options?.signal) : await this.readHttp(options?.signal);
    const { value, isActive } = measure(this.config.mode, figures, this.config.activationValue);
    return { metrics: [metricValue(requested, value, this.ctx.now())], isActive };
  }

  private async readAmqp(signal?: AbortSignal): Promise<QueueFigures> {
    const lease = this.amqpLease as AmqpLease;
    const what = `error inspecting rabbitMQ queue ${q(this.config.queueName)}`;
    let settled = false;
    try {
      const read = (async () => {
        const channel = await this.openChannel(lease);
        const ok = await channel.checkQueue(this.config.queueName);
        return ok.messageCount;
      })();
      read.then(() => (settled = true), () => (settled = true));
      const count = await withTimeout(read, this.ctx.httpTimeoutMs, 'AMQP queue check', signal);
      return { count, publishRate: 0, deliverGetRate: 0 };
    } catch (err) {
      // Timed out or aborted: a channel answers its calls in order, so the next check would wait
      // behind the one still pending. This scaler's channel goes; the shared connection stays.
      if (!settled) this.dropChannel();
      throw upstreamError(what, err, this.secrets);
    }
  }

  private dropChannel(): void {
    const channel = this.channel;
    this.channel = undefined;
    void channel?.then((c) => c.close()).catch(() => undefined);
  }

  /** This scaler's channel on the shared connection; a channel the broker closed is opened again. */
  private openChannel(lease: AmqpLease): Promise<amqp.Channel> {
    if (!this.channel) {
      const opening = (async () => {
        const conn = await lease.connection();
        const channel = await conn.createChannel();
        const forget = () => {
          if (this.channel === opening) this.channel = undefined;
        };
        channel.on('close', forget);
        // A failed passive declare closes the channel with an error; the next poll opens a new one.
        channel.on('error', forget);
        return channel;
      })();
      opening.catch(() => {
        if (this.channel === opening) this.channel = undefined;
      });
      this.channel = opening;
    }
    return this.channel;
  }

  private async readHttp(signal?: AbortSignal): Promise<QueueFigures> {
    const { url, authorization } = this.request as { url: URL; authorization?: string };
    const where = `GET ${displayUrl(url)}`;
    const prefix = 'error inspecting rabbitMQ';
    let response;
    try {
      response = await httpGet(url, {
        agent: (this.httpLease as AgentLease).agent,
        headers: authorization ? { authorization, accept: 'application/json' } : { accept: 'application/json' },
        timeoutMs: this.config.timeout ?? this.ctx.httpTimeoutMs,
        signal,
        telemetry: this.ctx.telemetry,
      });
    } catch (err) {
      throw upstreamError(prefix, err, this.secrets);
    }
    if (response.status !== 200) {
      const reason = response.status === 401 ? ' (unauthorized: check username and password)' : response.status === 404 ? ' (no such vhost or queue)' : '';
      throw new Error(`${prefix}: ${where}: management API returned ${response.status}${reason}`);
    }
    let body: unknown;
    try {
      body = JSON.parse(response.body.toString('utf8'));
    } catch {
      throw new Error(`${prefix}: ${where}: the response is not JSON`);
    }
    if (!this.config.useRegex) return figuresOf(body as ManagementQueue, this.config.excludeUnacknowledged);
    const page = body as { items?: ManagementQueue[]; page_count?: number };
    if ((page.page_count ?? 1) > 1) {
      throw new Error(`${prefix}: ${where}: pagination is not supported; the regex matched more than pageSize=${this.config.pageSize} queues, raise pageSize`);
    }
    return combineQueues(
      (page.items ?? []).map((item) => figuresOf(item, this.config.excludeUnacknowledged)),
      this.config.operation,
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const channel = await this.channel?.catch(() => undefined);
    this.channel = undefined;
    await channel?.close().catch(() => undefined);
    await this.amqpLease?.release();
    this.httpLease?.release();
  }
}

/** Builds the rabbitmq scaler on a given pool (tests use their own pool to count connections). */
export function createRabbitMqScaler(config: RabbitMqConfig, input: ScalerInput, ctx: ScalerContext, pool: AmqpConnectionPool = sharedAmqpPool): Scaler {
  const name = metricName(input.triggerIndex, `rabbitmq-${goQueryEscape(config.queueName)}`);
  return new RabbitMqScaler(config, name, externalMetricType(input.metricType), ctx, input, pool);
}

export const rabbitmqScaler = implementScaler(rabbitmqDescriptor, (p, input, ctx) => {
  const { config, problems } = settleConfig(p);
  if (!config) throw new Error(problems.map((x) => (typeof x === 'string' ? x : x.message)).join('; '));
  return createRabbitMqScaler(config, input, ctx);
});
