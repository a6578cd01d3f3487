/**
 * `postgresql` (KEDA postgresql_scaler.go): the number in the first column of the first row of
 * `query`. Every scaler pointing at the same server, database, user and password shares one
 * `pg.Pool` (at most POSTGRESQL_POOL_SIZE connections), closed with the last scaler using it.
 */
import { describeScaler, type ValidationIssue } from '../descriptor';
import { lookupParam, param, type ParsedParams } from '../params';
import type { ScalerInput } from '../types';
import { filePathsAllowed } from '../file-paths';
import { parsePostgresConnection, type PostgresTarget, SSL_MODES } from './postgresql-connection';
import { VETTING } from '../vetting';

/** Connections per server (database, user) shared by every postgresql scaler. */
export const POSTGRESQL_POOL_SIZE = 5;

const M = ['triggerMetadata'] as const;
const AM = ['authParams', 'triggerMetadata'] as const;
const AE = ['authParams', 'resolvedEnv'] as const;
const A = ['authParams'] as const;

const params = {
  query: param.string({ name: 'query', order: M, description: 'SQL query returning one row with one numeric column.' }),
  targetQueryValue: param.float({
    name: 'targetQueryValue',
    order: M,
    optional: true,
    description: 'Target value per replica; required (and non-zero) unless the trigger only feeds scaling modifiers.',
  }),
  activationTargetQueryValue: param.float({
    name: 'activationTargetQueryValue',
    order: M,
    default: '0',
    description: 'Active when the value is greater than this.',
  }),
  connection: param.string({ refersTo: 'connection-string', vetting: VETTING.postgresConnection,
    name: 'connection',
    order: AE,
    optional: true,
    secret: true,
    description:
      "libpq connection string (`host=db port=5432 user=keda password=… dbname=app sslmode=require`, or a `postgresql://` URI); replaces the separate host/port/userName/dbName/sslmode/password. Also `connect_timeout`, and `sslrootcert`, `sslcert`, `sslkey` (file paths: only from a ClusterTriggerAuthentication, under the operator's --filepath-auth-root-path; otherwise give `ca`, `cert`, `key` as PEM content).",
  }),
  host: param.string({ refersTo: 'endpoint', vetting: VETTING.sqlHost, name: 'host', order: AM, optional: true, description: 'Server host name or IP (without `connection`).' }),
  port: param.string({ name: 'port', order: AM, optional: true, description: 'Server port (without `connection`).' }),
  userName: param.string({ name: 'userName', order: AM, optional: true, description: 'User name (without `connection`).' }),
  dbName: param.string({ name: 'dbName', order: AM, optional: true, description: 'Database name (without `connection`).' }),
  sslmode: param.enum(SSL_MODES, {
    name: 'sslmode',
    order: AM,
    optional: true,
    description:
      'libpq SSL mode (without `connection`): `disable`, `allow`, `prefer` (TLS, plaintext if the server has none), `require` (TLS, certificate not checked), `verify-ca`, `verify-full` (against the system roots).',
  }),
  password: param.string({ name: 'password', order: AE, optional: true, secret: true, description: 'Password (without `connection`).' }),
  ca: param.string({ name: 'ca', order: A, optional: true, description: 'CA certificate(s) (PEM content) to verify the server with `sslmode` verify-ca or verify-full.' }),
  cert: param.string({ name: 'cert', order: A, optional: true, description: 'Client certificate (PEM content); needs `key`.' }),
  key: param.string({ name: 'key', order: A, optional: true, secret: true, description: 'Private key (PEM content) of `cert`.' }),
};

/** libpq options that name files on the controller. */
export const FILE_OPTIONS = ['sslrootcert', 'sslcert', 'sslkey'] as const;

export type PostgresqlConfig = ParsedParams<typeof params>;

/** The server settings of a config: the parsed `connection`, or the separate parameters. */
export function postgresTarget(config: PostgresqlConfig): PostgresTarget {
  const pem = { ...(config.ca ? { ca: config.ca } : {}), ...(config.cert ? { cert: config.cert } : {}), ...(config.key ? { key: config.key } : {}) };
  if (config.connection) return { ...parsePostgresConnection(config.connection), ...pem };
  return {
    ...pem,
    host: config.host ?? '',
    port: Number(config.port),
    user: config.userName ?? '',
    database: config.dbName ?? '',
    password: config.password,
    sslmode: config.sslmode ?? 'prefer',
  };
}

/** The file options a connection string names (sslcert, ...), or none. */
export function fileOptionsOf(connection: string | undefined): string[] {
  if (!connection) return [];
  try {
    const target = parsePostgresConnection(connection);
    return FILE_OPTIONS.filter((o) => target[o]);
  } catch {
    return [];
  }
}

function validate(config: PostgresqlConfig, input: ScalerInput): ValidationIssue[] {
  const problems: ValidationIssue[] = [];
  if ((config.targetQueryValue ?? 0) === 0 && !input.asMetricSource)
    problems.push({ parameter: 'targetQueryValue', message: 'no targetQueryValue given' });
  if (Boolean(config.cert) !== Boolean(config.key))
    problems.push({ parameter: config.cert ? 'key' : 'cert', message: 'parameters "cert" and "key" must be given together' });
  if (config.connection) {
    try {
      parsePostgresConnection(config.connection);
    } catch (err) {
      problems.push({ parameter: 'connection', message: `parameter "connection" is not a valid connection string: ${(err as Error).message}` });
    }
    // A file path from a tenant-writable place (container env, a namespaced TriggerAuthentication) is refused.
    const fromAuthParams = lookupParam(params.connection, input)?.source === 'authParams';
    const refusal = filePathsAllowed(input.authenticationKind, fromAuthParams, '(the root is checked when built)');
    for (const option of fileOptionsOf(config.connection))
      if (refusal) problems.push({ parameter: 'connection', message: `parameter "connection" option "${option}" names a file on the controller: ${refusal}` });
    return problems;
  }
  if (!config.host) problems.push({ parameter: 'host', message: 'no host given' });
  if (!config.port) problems.push({ parameter: 'port', message: 'no port given' });
  else if (!/^\d+$/.test(config.port) || Number(config.port) < 1 || Number(config.port) > 65535)
    problems.push({ parameter: 'port', message: `parameter "port" must be a TCP port number, got "${config.port}"` });
  if (!config.userName) problems.push({ parameter: 'userName', message: 'no username given' });
  if (!config.dbName) problems.push({ parameter: 'dbName', message: 'no dbName given' });
  if (!config.sslmode) problems.push({ parameter: 'sslmode', message: 'no sslmode given' });
  return problems;
}

export const postgresqlDescriptor = describeScaler({
  type: 'postgresql',
  description:
    'Scales on the number returned by a SQL query against PostgreSQL (first column of the first row). ' +
    'Connection: a libpq `connection` string, or host/port/userName/dbName/sslmode with `password`. ' +
    'Scalers pointing at the same server and credentials share one connection pool.',
  params,
  example: {
    host: 'postgres.db.svc',
    port: '5432',
    userName: 'keda',
    dbName: 'jobs',
    sslmode: 'require',
    query: "SELECT count(*) FROM tasks WHERE state = 'waiting'",
    targetQueryValue: '10',
  },
  exampleAuth: { password: 'replace-with-the-password' },
  validate,
});
