/**
 * `mongodb` (KEDA mongo_scaler.go): the number of documents of `dbName`.`collection` matching the
 * JSON filter `query` (countDocuments), within MONGODB_TIMEOUT_MS. Every scaler pointing at the same
 * connection string (credentials included) and TLS material shares one MongoClient, closed with
 * the last scaler using it.
 */
// EJSON from bson itself (the driver's own dependency): the webhook checks `query` without the driver.
// Loaded by the first mongodb trigger checked, not at start-up: importing bson allocates its 17 MiB
// serialization buffer, which every controller and webhook would otherwise hold.
import type * as Bson from 'bson';
import { describeScaler, type ValidationIssue } from '../descriptor';
import { param, type ParsedParams } from '../params';
import { MONGODB_HOST_FORBIDDEN, vetMongodbUri } from './mongodb-uri';
import { VETTING } from '../vetting';

let bson: typeof Bson | undefined;
const ejson = () => (bson ??= require('bson') as typeof Bson).EJSON;

/** KEDA bounds client creation and each count with a fixed 10 s. */
export const MONGODB_TIMEOUT_MS = 10_000;
/** How long past the timeout the driver may take to report why it failed before the poll is abandoned. */
export const ABORT_GRACE_MS = 500;
/** Connections per client (server + credentials) shared by every mongodb scaler. */
export const MONGODB_POOL_SIZE = 5;

export const MONGODB_SCHEMES = ['mongodb', 'mongodb+srv'] as const;
export const MONGODB_TLS_MODES = ['enable', 'disable'] as const;

/** A MongoDB filter document (the driver's `Document`). */
type Document = Record<string, unknown>;

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
    parsed = ejson().parse(query);
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
  }
  return problems;
}

export const mongodbDescriptor = describeScaler({
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
});
