
import { scalers } from '../../all';
import { checkInput, type MetricTarget, parsePostgresConnection, type PostgresqlConfig, postgresTarget, type ScalerInput } from '@keda-ts/scaler-sdk';
import { context, input } from '../../../test/fixtures';
import { postgresqlScaler, postgresValue } from './postgresql';

const sep = { host: 'db', port: '5432', userName: 'keda', dbName: 'app', sslmode: 'disable' };
const base = { query: 'SELECT 1', targetQueryValue: '5' };

type ParseCase = {
  name: string;
  metadata: Record<string, string>;
  authParams?: Record<string, string>;
  resolvedEnv?: Record<string, string>;
  metricType?: ScalerInput['metricType'];
  asMetricSource?: boolean;
  errors?: string[];
  target?: MetricTarget;
  config?: Partial<PostgresqlConfig>;
};

const parseCases: ParseCase[] = [
  {
    name: 'separate parameters from metadata, password from authParams',
    metadata: { ...base, ...sep },
    authParams: { password: 'pw' },
    target: { type: 'AverageValue', averageValue: '5' },
    config: { activationTargetQueryValue: 0, host: 'db', port: '5432', userName: 'keda', dbName: 'app', sslmode: 'disable', password: 'pw' },
  },
  {
    name: 'authParams win over metadata for host/port/userName/dbName/sslmode',
    metadata: { ...base, ...sep },
    authParams: { host: 'auth-db', userName: 'auth-user', sslmode: 'require' },
    target: { type: 'AverageValue', averageValue: '5' },
    config: { host: 'auth-db', userName: 'auth-user', sslmode: 'require' },
  },
  {
    name: 'connection from authParams; milli Value target and activation',
    metadata: { query: 'SELECT 1', targetQueryValue: '0.5', activationTargetQueryValue: '2.5' },
    authParams: { connection: 'host=db user=keda password=x dbname=app' },
    metricType: 'Value',
    target: { type: 'Value', value: '500m' },
    config: { activationTargetQueryValue: 2.5 },
  },
  {
    name: 'connection and password from the environment (FromEnv)',
    metadata: { ...base, connectionFromEnv: 'PG_CONN' },
    resolvedEnv: { PG_CONN: 'postgresql://keda:pw@db:5433/app?sslmode=require' },
    target: { type: 'AverageValue', averageValue: '5' },
    config: { connection: 'postgresql://keda:pw@db:5433/app?sslmode=require' },
  },
  {
    name: 'password from the environment',
    metadata: { ...base, ...sep, passwordFromEnv: 'PG_PASSWORD' },
    resolvedEnv: { PG_PASSWORD: 'from-env' },
    target: { type: 'AverageValue', averageValue: '5' },
    config: { password: 'from-env' },
  },
  {
    name: 'zero target allowed for a scaling-modifiers source',
    metadata: { query: 'SELECT 1', ...sep },
    asMetricSource: true,
    target: { type: 'AverageValue', averageValue: '0' },
  },
  { name: 'query missing', metadata: { targetQueryValue: '1', ...sep }, errors: ['missing required parameter "query" in [triggerMetadata]'] },
  { name: 'no targetQueryValue', metadata: { query: 'SELECT 1', ...sep }, errors: ['no targetQueryValue given'] },
  { name: 'zero targetQueryValue', metadata: { ...base, ...sep, targetQueryValue: '0' }, errors: ['no targetQueryValue given'] },
  {
    name: 'nothing to connect to',
    metadata: base,
    errors: ['no host given', 'no port given', 'no username given', 'no dbName given', 'no sslmode given'],
  },
  {
    name: 'connection is not read from metadata',
    metadata: { ...base, connection: 'host=db user=u' },
    errors: ['no host given', 'no port given', 'no username given', 'no dbName given', 'no sslmode given'],
  },
  {
    name: 'bad port and sslmode',
    metadata: { ...base, ...sep, port: '54x', sslmode: 'sometimes' },
    errors: ['parameter "sslmode" value "sometimes" must be one of [disable allow prefer require verify-ca verify-full]', ],
  },
  { name: 'port not a number', metadata: { ...base, ...sep, port: '54x' }, errors: ['parameter "port" must be a TCP port number, got "54x"'] },
  {
    name: 'bad numbers',
    metadata: { ...sep, query: 'q', targetQueryValue: 'many', activationTargetQueryValue: 'x' },
    errors: [
      'unable to set param "targetQueryValue" value "many": must be a number',
      'unable to set param "activationTargetQueryValue" value "x": must be a number',
    ],
  },
  {
    name: 'a broken connection string is reported without its content',
    metadata: base,
    authParams: { connection: "host=db password='s3cret" },
    errors: ['parameter "connection" is not a valid connection string: unterminated quoted value of "password"'],
  },
  {
    name: 'an unknown connection option',
    metadata: base,
    authParams: { connection: 'host=db user=u passwd=s3cret' },
    errors: ['parameter "connection" is not a valid connection string: unsupported connection option "passwd"'],
  },
  {
    name: 'Utilization',
    metadata: { ...base, ...sep },
    metricType: 'Utilization',
    errors: ["'Utilization' metric type is unsupported for external metrics, allowed values are 'Value' or 'AverageValue'"],
  },
];

describe('postgresql: parsing', () => {
  it.each(parseCases)('$name', async (c) => {
    const i = input({
      triggerType: 'postgresql',
      metadata: c.metadata,
      authParams: c.authParams ?? {},
      resolvedEnv: c.resolvedEnv ?? {},
      metricType: c.metricType,
      asMetricSource: c.asMetricSource,
    });
    expect(scalers.validate(i).map((p) => p.message)).toEqual(c.errors ?? []);
    if (c.errors) return;
    if (c.config) expect(checkInput(postgresqlScaler, i).config).toMatchObject(c.config);
    const s = scalers.build(i, context());
    expect(s.getMetricSpecForScaling()).toEqual([{ type: 'External', external: { metric: { name: 's0-postgresql' }, target: c.target } }]);
    await s.close();
  });

  it('never puts secrets in problems', () => {
    const problems = scalers.validate(
      input({ triggerType: 'postgresql', metadata: { query: 'q' }, authParams: { connection: "password='pw-secret-1 host=" } }),
    );
    expect(problems.length).toBeGreaterThan(0);
    expect(JSON.stringify(problems)).not.toContain('pw-secret-1');
  });
});

describe('postgresql: connection strings', () => {
  it.each([
    [
      'keyword/value with quoting and escapes',
      "host=db.example port=5433 user=keda password='it\\'s a \\\\ secret' dbname=app sslmode=verify-full sslrootcert=/ca.crt connect_timeout=1",
      { host: 'db.example', port: 5433, user: 'keda', password: "it's a \\ secret", database: 'app', sslmode: 'verify-full', sslrootcert: '/ca.crt', connectTimeoutMs: 2000 },
    ],
    ['defaults: port 5432, sslmode prefer, dbname = user', 'host=db user=keda', { host: 'db', port: 5432, user: 'keda', database: 'keda', sslmode: 'prefer' }],
    ['spaces around =', 'host = db  user =keda', { host: 'db', user: 'keda' }],
    [
      'URI with encoded password and parameters',
      'postgresql://keda:p%40ss%2Fw@db:5433/app?sslmode=require&application_name=x',
      { host: 'db', port: 5433, user: 'keda', password: 'p@ss/w', database: 'app', sslmode: 'require' },
    ],
    ['postgres:// scheme', 'postgres://u@h/d', { host: 'h', port: 5432, user: 'u', database: 'd' }],
  ])('%s', (_name, text, expected) => {
    expect(parsePostgresConnection(text)).toMatchObject(expected);
  });

  it.each([
    ['host=db user', 'missing "=" after "user"'],
    ["host=db user=u password='x", 'unterminated quoted value of "password"'],
    ['host=db user=u sslmode=maybe', '"sslmode" must be one of [disable allow prefer require verify-ca verify-full]'],
    ['host=db user=u port=99999', '"port" must be a TCP port number'],
    ['host=a,b user=u', 'several hosts are not supported'],
    ['host=/var/run/postgresql user=u', 'unix-domain socket hosts are not supported'],
    ['host=db', '"user" is required'],
    ['host=db user=u connect_timeout=soon', '"connect_timeout" must be a whole number of seconds'],
  ])('%s is rejected', (text, message) => {
    expect(() => parsePostgresConnection(text)).toThrow(message);
  });

  it('builds the target from the separate parameters', () => {
    const config = checkInput(postgresqlScaler, input({ triggerType: 'postgresql', metadata: { ...base, ...sep }, authParams: { password: 'pw' } })).config;
    expect(config && postgresTarget(config)).toEqual({ host: 'db', port: 5432, user: 'keda', database: 'app', password: 'pw', sslmode: 'disable' });
  });
});

describe('postgresql: values', () => {
  it.each([
    ['a number', { rows: [[3]], columns: 1 }, 3],
    ['a numeric string (count, numeric, bigint)', { rows: [['12.5']], columns: 1 }, 12.5],
    ['the first of several rows', { rows: [['7'], ['8']], columns: 1 }, 7],
    ['a negative', { rows: [[-2]], columns: 1 }, -2],
  ])('%s', (_name, result, expected) => {
    expect(postgresValue(result)).toBe(expected);
  });

  it.each([
    ['no rows', { rows: [], columns: 1 }, 'the query returned no rows'],
    ['two columns', { rows: [[1, 2]], columns: 2 }, 'the query must return one column, it returned 2'],
    ['NULL', { rows: [[null]], columns: 1 }, 'the query returned NULL'],
    ['text', { rows: [['waiting']], columns: 1 }, 'the query returned a string of 7 characters that is not a number'],
    ['a boolean', { rows: [[true]], columns: 1 }, 'the query returned boolean, not a number'],
  ])('%s is an error', (_name, result, message) => {
    expect(() => postgresValue(result)).toThrow(message);
  });
});

describe('postgresql: file paths in the connection string (tenant isolation)', () => {
  const CTA_ONLY =
    'file paths are accepted only from a ClusterTriggerAuthentication; give the certificate as PEM content in a TriggerAuthentication parameter instead';
  const refused = (option: string, reason = CTA_ONLY) => `parameter "connection" option "${option}" names a file on the controller: ${reason}`;
  const conn = (files: string) => `host=127.0.0.1 port=1 user=u password=pw dbname=app sslmode=verify-full ${files}`;

  it.each<[string, Partial<ScalerInput>, string[]]>([
    ['sslcert from a TriggerAuthentication', { authParams: { connection: conn('sslcert=/etc/keda/certs/tls.crt sslkey=/etc/keda/certs/tls.key') }, authenticationKind: 'TriggerAuthentication' }, [refused('sslcert'), refused('sslkey')]],
    ['sslrootcert=/dev/zero without authenticationRef', { authParams: { connection: conn('sslrootcert=/dev/zero') } }, [refused('sslrootcert')]],
    ['sslrootcert from the container env, even with a ClusterTriggerAuthentication', { metadata: { ...base, connectionFromEnv: 'PG' }, resolvedEnv: { PG: conn('sslrootcert=/var/run/secrets/kubernetes.io/serviceaccount/ca.crt') }, authenticationKind: 'ClusterTriggerAuthentication' }, [refused('sslrootcert')]],
  ])('refuses %s', (_, overrides, errors) => {
    const i = input({ triggerType: 'postgresql', metadata: base, ...overrides });
    expect(scalers.validate(i).map((p) => p.message)).toEqual(errors);
    expect(() => scalers.build(i, context({ filePathRoot: '/etc/keda' }))).toThrow(errors[0]);
  });

  it('accepts a path from a ClusterTriggerAuthentication only with the operator root', async () => {
    const i = input({ triggerType: 'postgresql', metadata: base, authParams: { connection: conn('sslrootcert=ca.crt') }, authenticationKind: 'ClusterTriggerAuthentication' });
    expect(scalers.validate(i)).toEqual([]);
    expect(() => scalers.build(i, context())).toThrow(refused('sslrootcert', 'file paths need the operator to set --filepath-auth-root-path'));
    const s = scalers.build(i, context({ filePathRoot: '/nonexistent-keda-root', httpTimeoutMs: 500 }));
    // The file is read (vetted) at the first poll, before any connection.
    await expect(s.getMetricsAndActivity('s0-postgresql')).rejects.toThrow(
      'error querying postgresql at 127.0.0.1:1/app: sslrootcert: cannot resolve the file (ENOENT)',
    );
    await s.close();
  });

  it('takes certificates as PEM content from a TriggerAuthentication', () => {
    const i = input({ triggerType: 'postgresql', metadata: { ...base, ...sep }, authParams: { ca: 'CA-PEM', cert: 'CERT-PEM', key: 'KEY-PEM' } });
    expect(scalers.validate(i)).toEqual([]);
    expect(postgresTarget(checkInput(postgresqlScaler, i).config as PostgresqlConfig)).toMatchObject({ ca: 'CA-PEM', cert: 'CERT-PEM', key: 'KEY-PEM' });
    expect(scalers.validate(input({ triggerType: 'postgresql', metadata: { ...base, ...sep }, authParams: { cert: 'CERT-PEM' } })).map((p) => p.message)).toEqual([
      'parameters "cert" and "key" must be given together',
    ]);
  });
});

describe('postgresql: polling without a server', () => {
  it('fails within the timeout with the server named and no password', async () => {
    const s = scalers.build(
      input({ triggerType: 'postgresql', metadata: { ...base, ...sep, host: '127.0.0.1', port: '1' }, authParams: { password: 'pw-never-shown' } }),
      context({ httpTimeoutMs: 1000 }),
    );
    const started = Date.now();
    const err = await s.getMetricsAndActivity('s0-postgresql').then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/^error querying postgresql at 127\.0\.0\.1:1\/app: .*ECONNREFUSED/);
    expect(err?.message).not.toContain('pw-never-shown');
    expect(Date.now() - started).toBeLessThan(3000);
    await s.close();
  });
});
