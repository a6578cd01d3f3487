/**
 * `mongodb` (KEDA mongo_scaler.go): the number of documents of `dbName`.`collection` matching the
 * JSON filter `query` (countDocuments), within MONGODB_TIMEOUT_MS. Every scaler pointing at the same
 * connection string (credentials included) and TLS material shares one MongoClient, closed with
 * the last scaler using it.
 */
// EJSON from bson itself (the driver's own dependency): the webhook checks `query` without the driver.
import type { Document, MongoClient, MongoClientOptions } from 'mongodb';
import type * as Mongo from 'mongodb';
import { ABORT_GRACE_MS, externalMetricSpec, externalMetricType, isActiveValue, metricName, type MetricsAndActivity, metricTargetMilli, metricValue, MONGODB_POOL_SIZE, MONGODB_TIMEOUT_MS, type MongodbConfig, mongodbDescriptor, mongodbSecrets, mongodbUri, parseMongodbFilter, type Scaler, type ValidationIssue, vetMongodbUri } from '@keda-ts/scaler-sdk';
import { EgressDeniedError, egressOf, type EgressPolicy } from '../../net/egress-policy';
import { credentialsHash, redact, SharedClients, withDeadline } from '../../pools/shared-clients';
import type { ScalerContext } from '../../context';
import { LocalError, upstreamError } from '../../upstream-errors';
import { implementScaler } from '../../implementation';
import { onFirstUse } from '../../lazy-module';

// The driver is loaded by the first MongoDB scaler (or its first validation, which parses the URI with it).
const mongodb = onFirstUse(() => require('mongodb') as typeof Mongo);

/** Client options besides the URI: the timeouts, the pool size and the TLS parameters. */
export function mongodbClientOptions(config: MongodbConfig, timeoutMs = MONGODB_TIMEOUT_MS): MongoClientOptions {
  const options: MongoClientOptions = {
    appName: 'keda-ts',
    maxPoolSize: MONGODB_POOL_SIZE,
    serverSelectionTimeoutMS: timeoutMs,
    connectTimeoutMS: timeoutMs,
    waitQueueTimeoutMS: timeoutMs,
  };
  // Given explicitly (the options object wins over the URI): only a vetted mechanism, never one
  // the driver would pick up from elsewhere. No mechanism means SCRAM negotiation.
  const vetted = vetMongodbUri(mongodbUri(config), 'connectionString');
  if (!('error' in vetted) && vetted.mechanism) options.authMechanism = vetted.mechanism;
  if (config.tls === 'enable') {
    options.tls = true;
    if (config.ca) options.ca = config.ca;
    if (config.cert) options.cert = config.cert;
    if (config.key) options.key = config.key;
    if (config.keyPassword) options.passphrase = config.keyPassword;
  }
  return options;
}
/** Parses the URI and options as the driver will (no I/O); the message never holds a secret. */
function clientProblem(config: MongodbConfig): string | undefined {
  try {
    new (mongodb().MongoClient)(mongodbUri(config), mongodbClientOptions(config));
    return undefined;
  } catch (err) {
    return redact((err as Error).message, mongodbSecrets(config));
  }
}
/** The process-wide MongoClients, one per connection string (with credentials) and TLS material. */
export const mongodbClients = new SharedClients<MongoClient>((client) => client.close());

/** `host:port,…` of a connection string, for messages (never the credentials). */
export function mongodbHosts(config: MongodbConfig): string {
  try {
    return new (mongodb().MongoClient)(mongodbUri(config), mongodbClientOptions(config)).options.hosts.map(String).join(',');
  } catch {
    return '(invalid connection string)';
  }
}

/** The egress refusal of the first seed host that the policy refuses before DNS (IP literal, metadata name, socket path). */
function mongodbSeedRefusal(uri: string, options: MongoClientOptions, egress: EgressPolicy): Error | undefined {
  let hosts: { host?: string; socketPath?: string }[];
  try {
    hosts = new (mongodb().MongoClient)(uri, options).options.hosts;
  } catch {
    return undefined; // an invalid string fails on its own at the first poll
  }
  for (const h of hosts) {
    if (h.socketPath) return new EgressDeniedError('a Unix domain socket', undefined, 'scalers connect over TCP only');
    const refusal = egress.hostError(h.host ?? '');
    if (refusal) return refusal;
  }
  return undefined;
}

export class MongodbScaler implements Scaler {
  readonly type = 'mongodb';
  private readonly lease;
  private readonly filter: Document;
  private readonly where: string;
  private readonly secrets: string[];
  /** Set when a seed host is refused by the egress policy: every poll fails with it, nothing connects. */
  private readonly egressRefusal?: Error;
  private closed = false;

  constructor(
    private readonly config: MongodbConfig,
    private readonly name: string,
    private readonly metricType: 'AverageValue' | 'Value',
    private readonly ctx: ScalerContext,
    private readonly timeoutMs = MONGODB_TIMEOUT_MS,
  ) {
    const parsed = parseMongodbFilter(config.query);
    if ('error' in parsed) throw new Error(parsed.error);
    // validate() refused it already on the registry's path; a direct construction is checked too.
    const vetted = vetMongodbUri(mongodbUri(config), config.connectionString ? 'connectionString' : 'host');
    if ('error' in vetted) throw new Error(vetted.error);
    this.filter = parsed.filter;
    this.where = `${mongodbHosts(config)}/${config.dbName}.${config.collection}`;
    this.secrets = mongodbSecrets(config);
    const uri = mongodbUri(config);
    const egress = egressOf(ctx);
    // The driver passes `lookup` (a public socket option) to net.connect for every host name it
    // connects to. IP-literal hosts skip lookup, so the seed list is checked here; replica-set
    // members the server announces as IP literals are not (the driver has no socket hook).
    const options: MongoClientOptions = { ...mongodbClientOptions(config, timeoutMs), lookup: egress.lookup };
    this.egressRefusal = mongodbSeedRefusal(uri, options, egress);
    const key = credentialsHash(uri, config.tls, config.ca, config.cert, config.key, config.keyPassword, String(timeoutMs), `egress:${egress.id}`);
    this.lease = mongodbClients.acquire(key, () => new (mongodb().MongoClient)(uri, options));
  }

  getMetricSpecForScaling() {
    return [externalMetricSpec(this.name, metricTargetMilli(this.metricType, this.config.queryValue))];
  }

  async getMetricsAndActivity(requested: string, options?: { signal?: AbortSignal }): Promise<MetricsAndActivity> {
    const prefix = `error counting documents in mongodb ${this.where}`;
    if (this.closed) throw new Error(`${prefix}: the scaler is closed`);
    if (this.egressRefusal) throw new Error(`${prefix}: ${this.egressRefusal.message}`);
    options?.signal?.throwIfAborted();
    // Server selection and the server's maxTimeMS end at the timeout with the driver's reason
    // (ECONNREFUSED, ...); the signal then cancels whatever is left, and the deadline bounds the
    // wait even if the driver ignores it.
    const timeout = AbortSignal.timeout(this.timeoutMs + ABORT_GRACE_MS);
    const signal = options?.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    let count: number;
    try {
      const collection = this.lease.client.db(this.config.dbName).collection(this.config.collection);
      count = await withDeadline(
        collection.countDocuments(this.filter, { signal, maxTimeMS: this.timeoutMs }),
        this.timeoutMs + 2 * ABORT_GRACE_MS,
        'request',
        options?.signal,
      );
    } catch (err) {
      if (timeout.aborted) throw new LocalError(`${prefix}: timed out after ${this.timeoutMs} ms`);
      // The server's errmsg is the tenant's server's text: its code and codeName are shown instead.
      throw upstreamError(prefix, err, this.secrets);
    }
    return {
      metrics: [metricValue(requested, count, this.ctx.now())],
      isActive: isActiveValue(count, this.config.activationQueryValue),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.lease.release();
  }
}

/** The connection parameters: the driver's parse runs only when the descriptor found none of them wrong. */
const CONNECTION_PARAMS = ['connectionString', 'host', 'port', 'username', 'password'];

/** The driver's own parse of the URI and options (no I/O), after the descriptor's checks. */
function driverProblems(config: MongodbConfig, earlier: readonly ValidationIssue[]): ValidationIssue[] {
  if (earlier.some((p) => typeof p !== 'string' && p.parameter !== undefined && CONNECTION_PARAMS.includes(p.parameter))) return [];
  const problem = clientProblem(config);
  if (!problem) return [];
  return config.connectionString
    ? [{ parameter: 'connectionString', message: `parameter "connectionString" is not a valid MongoDB connection string: ${problem}` }]
    : [{ parameter: 'host', message: `the connection parameters do not make a valid MongoDB connection string: ${problem}` }];
}

export const mongodbScaler = implementScaler(mongodbDescriptor, (config, input, ctx) => {
  return new MongodbScaler(
    config,
    metricName(input.triggerIndex, `mongodb-${config.collection}`),
    externalMetricType(input.metricType),
    ctx,
  );
}, (config, _input, earlier) => driverProblems(config, earlier));
