/**
 * `mysql` (KEDA mysql_scaler.go): the number in the first column of the first row of `query`,
 * against MySQL or MariaDB. Every scaler pointing at the same server, database, user and
 * password shares one mysql2 pool (at most MYSQL_POOL_SIZE connections), closed with the last
 * scaler using it.
 */
import { describeScaler, type ValidationIssue } from '../descriptor';
import { param, type ParsedParams, parseGoDuration } from '../params';
import { VETTING } from '../vetting';

/** Connections per server (database, user) shared by every mysql scaler. */
export const MYSQL_POOL_SIZE = 5;

export const MYSQL_TLS_MODES = ['true', 'false', 'skip-verify', 'preferred'] as const;
export type MysqlTlsMode = (typeof MYSQL_TLS_MODES)[number];

export interface MysqlTarget {
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
  tls: MysqlTlsMode;
  /** DSN `timeout` (connect) in ms. */
  connectTimeoutMs?: number;
  /** DSN `readTimeout` in ms. */
  readTimeoutMs?: number;
}

/**
 * A Go MySQL driver DSN, `[user[:password]@][tcp[(host:port)]]/dbname[?tls=…&timeout=…]`. The
 * password may contain `@` and `:` (the last `@` before the last `/` ends it). Errors name the part,
 * never a value.
 */
export function parseMysqlDsn(dsn: string): MysqlTarget {
  const slash = dsn.lastIndexOf('/');
  if (slash < 0) throw new Error('missing the slash separating the database name');
  const left = dsn.slice(0, slash);
  const [database, query = ''] = splitOnce(dsn.slice(slash + 1), '?');
  const at = left.lastIndexOf('@');
  const credentials = at >= 0 ? left.slice(0, at) : '';
  const address = at >= 0 ? left.slice(at + 1) : left;
  const [user, password] = splitOnce(credentials, ':');
  let net = 'tcp';
  let addr = '127.0.0.1:3306';
  if (address) {
    const open = address.indexOf('(');
    if (open >= 0) {
      if (!address.endsWith(')')) throw new Error('the address must be written net(host:port)');
      net = address.slice(0, open);
      addr = address.slice(open + 1, -1) || addr;
    } else {
      net = address;
    }
  }
  if (net !== 'tcp') throw new Error(`network "${net}" is not supported, only tcp`);
  const portSep = addr.lastIndexOf(':');
  const host = (portSep >= 0 && !addr.endsWith(']') ? addr.slice(0, portSep) : addr).replace(/^\[|\]$/g, '');
  const portText = portSep >= 0 && !addr.endsWith(']') ? addr.slice(portSep + 1) : '3306';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw new Error('the port must be a TCP port number');
  const target: MysqlTarget = { host, port, user, password: password === undefined ? undefined : password, database, tls: 'false' };
  for (const pair of query ? query.split('&') : []) {
    const [rawKey, rawValue = ''] = splitOnce(pair, '=');
    const key = decodeURIComponent(rawKey);
    const value = decodeURIComponent(rawValue);
    if (key === 'tls') {
      if (!(MYSQL_TLS_MODES as readonly string[]).includes(value))
        throw new Error(`"tls" must be one of [${MYSQL_TLS_MODES.join(' ')}] (named TLS configs cannot be registered here)`);
      target.tls = value as MysqlTlsMode;
    } else if (key === 'timeout' || key === 'readTimeout') {
      const ms = parseGoDuration(value);
      if (ms === undefined || ms < 0) throw new Error(`"${key}" must be a duration such as 5s`);
      if (key === 'timeout') target.connectTimeoutMs = ms || undefined;
      else target.readTimeoutMs = ms || undefined;
    }
    // Other driver parameters (charset, parseTime, …) do not change what a query returns here.
  }
  return target;
}

function splitOnce(s: string, sep: string): [string, string | undefined] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
}

const M = ['triggerMetadata'] as const;
const MA = ['triggerMetadata', 'authParams'] as const;

const params = {
  query: param.string({ name: 'query', order: M, description: 'SQL query returning one row with one numeric column.' }),
  queryValue: param.float({ name: 'queryValue', order: M, description: 'Target value per replica (milli precision).' }),
  activationQueryValue: param.float({
    name: 'activationQueryValue',
    order: M,
    default: '0',
    description: 'Active when the value is greater than this.',
  }),
  connectionString: param.string({ refersTo: 'connection-string', vetting: VETTING.mysqlConnection,
    name: 'connectionString',
    order: ['authParams', 'resolvedEnv'],
    optional: true,
    secret: true,
    description:
      'Go MySQL DSN `user:password@tcp(host:3306)/db` (parameters `tls` = `true`/`false`/`skip-verify`/`preferred`, `timeout`, `readTimeout`); replaces the separate username/password/host/port/dbName.',
  }),
  username: param.string({
    name: 'username',
    order: ['triggerMetadata', 'authParams', 'resolvedEnv'],
    optional: true,
    description: 'User name (without `connectionString`).',
  }),
  password: param.string({
    name: 'password',
    order: ['authParams', 'resolvedEnv'],
    optional: true,
    secret: true,
    description: 'Password (without `connectionString`).',
  }),
  host: param.string({ refersTo: 'endpoint', vetting: VETTING.sqlHost, name: 'host', order: MA, optional: true, description: 'Server host (without `connectionString`).' }),
  port: param.string({ name: 'port', order: MA, optional: true, description: 'Server port (without `connectionString`).' }),
  dbName: param.string({ name: 'dbName', order: MA, optional: true, description: 'Database name (without `connectionString`); part of the metric name.' }),
  metricName: param.string({
    name: 'metricName',
    order: M,
    optional: true,
    description: 'Ignored: the metric name is always `s<index>-mysql-<dbName>`.',
  }),
};

export type MysqlConfig = ParsedParams<typeof params>;

/** The server settings of a config: the parsed DSN, or the separate parameters. */
export function mysqlTarget(config: MysqlConfig): MysqlTarget {
  if (config.connectionString) return parseMysqlDsn(config.connectionString);
  return {
    host: config.host ?? '',
    port: Number(config.port),
    user: config.username ?? '',
    password: config.password,
    database: config.dbName ?? '',
    tls: 'false',
  };
}

function validate(config: MysqlConfig, asMetricSource: boolean): ValidationIssue[] {
  const problems: ValidationIssue[] = [];
  if (config.queryValue === 0 && !asMetricSource) problems.push({ parameter: 'queryValue', message: 'parameter "queryValue" must not be 0' });
  if (config.connectionString) {
    try {
      parseMysqlDsn(config.connectionString);
    } catch (err) {
      problems.push({ parameter: 'connectionString', message: `parameter "connectionString" is not a valid DSN: ${(err as Error).message}` });
    }
    return problems;
  }
  if (!config.host) problems.push({ parameter: 'host', message: 'no host given' });
  if (!config.port) problems.push({ parameter: 'port', message: 'no port given' });
  else if (!/^\d+$/.test(config.port) || Number(config.port) < 1 || Number(config.port) > 65535)
    problems.push({ parameter: 'port', message: `parameter "port" must be a TCP port number, got "${config.port}"` });
  if (!config.username) problems.push({ parameter: 'username', message: 'no username given' });
  if (!config.dbName) problems.push({ parameter: 'dbName', message: 'no dbName given' });
  return problems;
}

export const mysqlDescriptor = describeScaler({
  type: 'mysql',
  description:
    'Scales on the number returned by a SQL query against MySQL or MariaDB (first column of the first row). ' +
    'Connection: a Go MySQL DSN `connectionString`, or username/password/host/port/dbName. ' +
    'Scalers pointing at the same server and credentials share one connection pool.',
  params,
  example: {
    host: 'mysql.db.svc',
    port: '3306',
    username: 'keda',
    dbName: 'jobs',
    query: "SELECT COUNT(*) FROM tasks WHERE state = 'waiting'",
    queryValue: '10',
  },
  exampleAuth: { password: 'replace-with-the-password' },
  validate: (config, input) => validate(config, Boolean(input.asMetricSource)),
});
