/**
 * `mongodb` (KEDA mongo_scaler.go): the number of documents of `dbName`.`collection` matching the
 * JSON filter `query` (countDocuments), within MONGODB_TIMEOUT_MS. Every scaler pointing at the same
 * connection string (credentials included) and TLS material shares one MongoClient, closed with
 * the last scaler using it.
 */
// EJSON from bson itself (the driver's own dependency): the webhook checks `query` without the driver.
import { EJSON } from 'bson';
import { MongoClient, type Document, type MongoClientOptions } from 'mongodb';
import { defineScaler, type ValidationIssue } from '../descriptor';
import { EgressDeniedError, egressOf, type EgressPolicy } from '../net/egress-policy';
import { externalMetricSpec, externalMetricType, isActiveValue, metricName, metricTargetMilli, metricValue } from '../metrics';
import { param, type ParsedParams } from '../params';
import { credentialsHash, redact, SharedClients, withDeadline } from '../pools/shared-clients';
import type { MetricsAndActivity, Scaler, ScalerContext } from '../types';
import { LocalError, upstreamError } from '../upstream-errors';
import { MONGODB_HOST_FORBIDDEN, vetMongodbUri } from './mongodb-uri';
import { VETTING } from '../vetting';

/** KEDA bounds client creation and each count with a fixed 10 s. */
export const MONGODB_TIMEOUT_MS = 10_000;
/** How long past the timeout the driver may take to report why it failed before the poll is abandoned. */
const ABORT_GRACE_MS = 500;
/** Connections per client (server + credentials) shared by every mongodb scaler. */
export const MONGODB_POOL_SIZE = 5;

export const MONGODB_SCHEMES = ['mongodb', 'mongodb+srv'] as const;
export const MONGODB_TLS_MODES = ['enable', 'disable'] as const;

const M = ['triggerMetadata'] as const;
const AM = ['authParams', 'triggerMetadata'] as const;
const A = ['authParams'] as const;

const params = {
  connectionString: param.string({ refersTo: 'connection-string', vetting: VETTING.mongodbConnection,
    name: 'connectionString',
    order: ['authParams', 'triggerMetadata', 'resolvedEnv'],
    optional: true,
    secret: true,
    description:
      'MongoDB connection string (`mongodb://user:password@host:27017/db?…` or `mongodb+srv://…`); replaces scheme/host/port/username/password.',
  }),
  scheme: param.enum(MONGODB_SCHEMES, {
    name: 'scheme',
    order: AM,
    default: 'mongodb',
    description: 'URI scheme without `connectionString`: `mongodb`, or `mongodb+srv` (DNS seed list; then no port).',
  }),
  host: param.string({ refersTo: 'endpoint', vetting: VETTING.mongodbHost, name: 'host', order: AM, optional: true, description: 'Server host (without `connectionString`).' }),
  port: param.string({
    name: 'port',
    order: AM,
    optional: true,
    description: 'Server port (without `connectionString`; not used with `mongodb+srv`).',
  }),
  username: param.string({ name: 'username', order: AM, optional: true, description: 'User name (without `connectionString`).' }),
  password: param.string({
    name: 'password',
    order: ['authParams', 'triggerMetadata', 'resolvedEnv'],
    optional: true,
    secret: true,
    description: 'Password (without `connectionString`).',
  }),
  dbName: param.string({
    name: 'dbName',
    order: AM,
    description: 'Database of the collection; without `connectionString` also the database the user authenticates against.',
  }),
  collection: param.string({ name: 'collection', order: M, description: 'Collection whose documents are counted; part of the metric name.' }),
  query: param.string({
    name: 'query',
    order: M,
    description: 'Filter document as (Extended) JSON, e.g. `{"state":"waiting"}`; the value is the number of matching documents.',
  }),
  queryValue: param.float({ name: 'queryValue', order: M, description: 'Target number of documents per replica (milli precision).' }),
  activationQueryValue: param.float({
    name: 'activationQueryValue',
    order: M,
    default: '0',
    description: 'Active when the count is greater than this.',
  }),
  tls: param.enum(MONGODB_TLS_MODES, {
    name: 'tls',
    order: A,
    default: 'disable',
    description: '`enable`: TLS with the `ca`, `cert`, `key` below (a connection string may also ask for TLS itself).',
  }),
  cert: param.string({ name: 'cert', order: A, optional: true, description: 'Client certificate (PEM) with `tls: enable`; needs `key`.' }),
  key: param.string({ name: 'key', order: A, optional: true, secret: true, description: 'Private key (PEM) of `cert`.' }),
  keyPassword: param.string({
    name: 'keyPassword',
    order: A,
    optional: true,
    secret: true,
    description: 'Password of an encrypted `key`.',
  }),
  ca: param.string({ name: 'ca', order: A, optional: true, description: 'CA certificate(s) (PEM) to verify the server with `tls: enable`; the system roots otherwise.' }),
};

export type MongodbConfig = ParsedParams<typeof params>;

/** The connection string of a config: `connectionString`, or one built from the separate parameters. */
export function mongodbUri(config: MongodbConfig): string {
  if (config.connectionString) return config.connectionString;
  const host = config.host ?? '';
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  const authority = config.scheme === 'mongodb+srv' ? bracketed : `${bracketed}:${config.port ?? ''}`;
  const user = `${encodeURIComponent(config.username ?? '')}:${encodeURIComponent(config.password ?? '')}`;
  return `${config.scheme}://${user}@${authority}/${encodeURIComponent(config.dbName)}`;
}

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

/** Secret values that must never appear in a message: the password, wherever it came from, and the URI. */
export function mongodbSecrets(config: MongodbConfig): string[] {
  const secrets = [config.connectionString, config.password, config.key, config.keyPassword];
  if (config.password) secrets.push(encodeURIComponent(config.password));
  const userinfo = config.connectionString ? /^[^:]*:\/\/([^/?#]*)@/.exec(config.connectionString)?.[1] : undefined;
  if (userinfo) {
    secrets.push(userinfo);
    const colon = userinfo.indexOf(':');
    if (colon >= 0) {
      const pw = userinfo.slice(colon + 1);
      secrets.push(pw);
      try {
        secrets.push(decodeURIComponent(pw));
      } catch {
        /* not percent-encoded correctly: the raw form is already listed */
      }
    }
  }
  // Longest first, so a password inside the URI does not leave the rest of the URI behind.
  return secrets.filter((s): s is string => Boolean(s)).sort((a, b) => b.length - a.length);
}

/** The filter document of `query` (Extended JSON), or the reason it is not one. */
export function parseMongodbFilter(query: string): { filter: Document } | { error: string } {
  let parsed: unknown;
  try {
    parsed = EJSON.parse(query);
  } catch (err) {
    return { error: `parameter "query" must be a JSON filter document such as {"state":"waiting"}: ${(err as Error).message}` };
  }
  if (typeof parsed !== 'object' || parsed === null || Object.getPrototypeOf(parsed) !== Object.prototype) {
    return { error: 'parameter "query" must be a JSON filter document (an object) such as {"state":"waiting"}' };
  }
  if (Object.keys(parsed).length === 0) {
    return { error: 'parameter "query" must not be an empty document: give at least one condition such as {"state":"waiting"}' };
  }
  return { filter: parsed as Document };
}

/** Parses the URI and options as the driver will (no I/O); the message never holds a secret. */
function clientProblem(config: MongodbConfig): string | undefined {
  try {
    new MongoClient(mongodbUri(config), mongodbClientOptions(config));
    return undefined;
  } catch (err) {
    return redact((err as Error).message, mongodbSecrets(config));
  }
}

function validate(config: MongodbConfig, asMetricSource: boolean): ValidationIssue[] {
  const problems: ValidationIssue[] = [];
  const filter = parseMongodbFilter(config.query);
  if ('error' in filter) problems.push({ parameter: 'query', message: filter.error });
  if (config.queryValue === 0 && !asMetricSource) problems.push({ parameter: 'queryValue', message: 'parameter "queryValue" must not be 0' });
  if (config.tls === 'enable' && Boolean(config.cert) !== Boolean(config.key)) {
    problems.push({ parameter: config.cert ? 'key' : 'cert', message: 'parameters "cert" and "key" must be given together' });
  }
  if (config.connectionString) {
    // Refused before any client exists: the webhook at admission, build() for TriggerAuthentication values.
    const vetted = vetMongodbUri(config.connectionString, 'connectionString');
    if ('error' in vetted) {
      problems.push({ parameter: 'connectionString', message: vetted.error });
      return problems;
    }
    const problem = clientProblem(config);
    if (problem) problems.push({ parameter: 'connectionString', message: `parameter "connectionString" is not a valid MongoDB connection string: ${problem}` });
    return problems;
  }
  const before = problems.length;
  if (!config.host) problems.push({ parameter: 'host', message: 'no host given' });
  // The host goes into a URI as is: `/`, `?` or `@` in it would add options or credentials.
  else if (MONGODB_HOST_FORBIDDEN.test(config.host))
    problems.push({ parameter: 'host', message: 'parameter "host" must be a host name or address (no "/", "?", "#", "@", "," or spaces)' });
  if (config.scheme !== 'mongodb+srv') {
    if (!config.port) problems.push({ parameter: 'port', message: 'no port given' });
    else if (!/^\d+$/.test(config.port) || Number(config.port) < 1 || Number(config.port) > 65535)
      problems.push({ parameter: 'port', message: `parameter "port" must be a TCP port number, got "${config.port}"` });
  }
  if (!config.username) problems.push({ parameter: 'username', message: 'no username given' });
  if (!config.password) problems.push({ parameter: 'password', message: 'no password given' });
  if (problems.length === before) {
    const vetted = vetMongodbUri(mongodbUri(config), 'host');
    if ('error' in vetted) {
      problems.push({ parameter: 'host', message: vetted.error });
      return problems;
    }
    const problem = clientProblem(config);
    if (problem) problems.push({ parameter: 'host', message: `the connection parameters do not make a valid MongoDB connection string: ${problem}` });
  }
  return problems;
}

/** The process-wide MongoClients, one per connection string (with credentials) and TLS material. */
export const mongodbClients = new SharedClients<MongoClient>((client) => client.close());

/** `host:port,…` of a connection string, for messages (never the credentials). */
export function mongodbHosts(config: MongodbConfig): string {
  try {
    return new MongoClient(mongodbUri(config), mongodbClientOptions(config)).options.hosts.map(String).join(',');
  } catch {
    return '(invalid connection string)';
  }
}

/** The egress refusal of the first seed host that the policy refuses before DNS (IP literal, metadata name, socket path). */
function mongodbSeedRefusal(uri: string, options: MongoClientOptions, egress: EgressPolicy): Error | undefined {
  let hosts: { host?: string; socketPath?: string }[];
  try {
    hosts = new MongoClient(uri, options).options.hosts;
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
    this.lease = mongodbClients.acquire(key, () => new MongoClient(uri, options));
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

export const mongodbScaler = defineScaler({
  type: 'mongodb',
  description:
    'Scales on the number of documents in a MongoDB collection that match a JSON filter (countDocuments, 10 s timeout). ' +
    'Connection: a `connectionString`, or scheme/host/port/username/password; TLS with `tls: enable` and PEM `ca`/`cert`/`key`. ' +
    'Scalers pointing at the same server with the same credentials share one client.',
  params,
  example: {
    host: 'mongodb.db.svc',
    port: '27017',
    username: 'keda',
    dbName: 'jobs',
    collection: 'tasks',
    query: '{"state":"waiting"}',
    queryValue: '10',
  },
  exampleAuth: { password: 'replace-with-the-password' },
  validate: (config, input) => validate(config, Boolean(input.asMetricSource)),
  create(config, input, ctx) {
    return new MongodbScaler(
      config,
      metricName(input.triggerIndex, `mongodb-${config.collection}`),
      externalMetricType(input.metricType),
      ctx,
    );
  },
});
