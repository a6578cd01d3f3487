
import { scalers } from '../../all';
import { checkInput, type MetricTarget, type MysqlConfig, mysqlTarget, parseMysqlDsn, type ScalerInput } from '@keda-ts/scaler-sdk';
import { context, input } from '../../../test/fixtures';
import { mysqlScaler } from './mysql';

const sep = { host: 'db', port: '3306', username: 'keda', dbName: 'app' };
const base = { query: 'SELECT 1', queryValue: '5' };

type ParseCase = {
  name: string;
  metadata: Record<string, string>;
  authParams?: Record<string, string>;
  resolvedEnv?: Record<string, string>;
  metricType?: ScalerInput['metricType'];
  asMetricSource?: boolean;
  errors?: string[];
  metric?: string;
  target?: MetricTarget;
  config?: Partial<MysqlConfig>;
};

const parseCases: ParseCase[] = [
  {
    name: 'separate parameters, password from authParams',
    metadata: { ...base, ...sep },
    authParams: { password: 'pw' },
    metric: 's0-mysql-app',
    target: { type: 'AverageValue', averageValue: '5' },
    config: { activationQueryValue: 0, host: 'db', port: '3306', username: 'keda', dbName: 'app', password: 'pw' },
  },
  {
    name: 'metadata wins over authParams for host/port/dbName/username',
    metadata: { ...base, ...sep },
    authParams: { host: 'auth-db', username: 'auth-user', dbName: 'other' },
    metric: 's0-mysql-app',
    target: { type: 'AverageValue', averageValue: '5' },
    config: { host: 'db', username: 'keda', dbName: 'app' },
  },
  {
    name: 'everything from authParams',
    metadata: base,
    authParams: { ...sep, password: 'pw' },
    metric: 's0-mysql-app',
    target: { type: 'AverageValue', averageValue: '5' },
  },
  {
    name: 'connectionString from authParams: name from the DSN database, without its parameters; Value milli',
    metadata: { query: 'SELECT 1', queryValue: '2.5', activationQueryValue: '1.5' },
    authParams: { connectionString: 'keda:p@ss:w@tcp(db.example:3307)/stats.db?tls=skip-verify&timeout=5s' },
    metricType: 'Value',
    metric: 's0-mysql-stats-db',
    target: { type: 'Value', value: '2500m' },
    config: { activationQueryValue: 1.5 },
  },
  {
    name: 'connectionString and username/password from the environment',
    metadata: { ...base, connectionStringFromEnv: 'MYSQL_DSN' },
    resolvedEnv: { MYSQL_DSN: 'u:pw@tcp(db)/env_db' },
    metric: 's0-mysql-env_db',
    target: { type: 'AverageValue', averageValue: '5' },
  },
  {
    name: 'username and password FromEnv',
    metadata: { ...base, host: 'db', port: '3306', dbName: 'app', usernameFromEnv: 'U', passwordFromEnv: 'P' },
    resolvedEnv: { U: 'env-user', P: 'env-pass' },
    metric: 's0-mysql-app',
    target: { type: 'AverageValue', averageValue: '5' },
    config: { username: 'env-user', password: 'env-pass' },
  },
  {
    name: 'metricName is accepted and ignored',
    metadata: { ...base, ...sep, metricName: 'custom' },
    metric: 's0-mysql-app',
    target: { type: 'AverageValue', averageValue: '5' },
  },
  {
    name: 'zero queryValue allowed for a scaling-modifiers source',
    metadata: { ...base, ...sep, queryValue: '0' },
    asMetricSource: true,
    metric: 's0-mysql-app',
    target: { type: 'AverageValue', averageValue: '0' },
  },
  {
    name: 'query and queryValue missing',
    metadata: sep,
    errors: ['missing required parameter "query" in [triggerMetadata]', 'missing required parameter "queryValue" in [triggerMetadata]'],
  },
  { name: 'zero queryValue', metadata: { ...base, ...sep, queryValue: '0' }, errors: ['parameter "queryValue" must not be 0'] },
  { name: 'nothing to connect to', metadata: base, errors: ['no host given', 'no port given', 'no username given', 'no dbName given'] },
  {
    name: 'connectionString is not read from metadata',
    metadata: { ...base, connectionString: 'u:p@tcp(db)/x' },
    errors: ['no host given', 'no port given', 'no username given', 'no dbName given'],
  },
  { name: 'port not a number', metadata: { ...base, ...sep, port: 'x' }, errors: ['parameter "port" must be a TCP port number, got "x"'] },
  {
    name: 'bad numbers',
    metadata: { ...sep, query: 'q', queryValue: 'lots', activationQueryValue: '1,5' },
    errors: [
      'unable to set param "queryValue" value "lots": must be a number',
      'unable to set param "activationQueryValue" value "1,5": must be a number',
    ],
  },
  {
    name: 'a broken DSN is reported without its content',
    metadata: base,
    authParams: { connectionString: 'keda:pw-secret@db-without-slash' },
    errors: ['parameter "connectionString" is not a valid DSN: missing the slash separating the database name'],
  },
  {
    name: 'a unix socket DSN',
    metadata: base,
    authParams: { connectionString: 'keda:pw@unix(/run/mysqld.sock)/app' },
    errors: ['parameter "connectionString" is not a valid DSN: network "unix" is not supported, only tcp'],
  },
  {
    name: 'a named TLS config',
    metadata: base,
    authParams: { connectionString: 'keda:pw@tcp(db:3306)/app?tls=custom' },
    errors: ['parameter "connectionString" is not a valid DSN: "tls" must be one of [true false skip-verify preferred] (named TLS configs cannot be registered here)'],
  },
  {
    name: 'Utilization',
    metadata: { ...base, ...sep },
    metricType: 'Utilization',
    errors: ["'Utilization' metric type is unsupported for external metrics, allowed values are 'Value' or 'AverageValue'"],
  },
];

describe('mysql: parsing', () => {
  it.each(parseCases)('$name', async (c) => {
    const i = input({
      triggerType: 'mysql',
      metadata: c.metadata,
      authParams: c.authParams ?? {},
      resolvedEnv: c.resolvedEnv ?? {},
      metricType: c.metricType,
      asMetricSource: c.asMetricSource,
    });
    expect(scalers.validate(i).map((p) => p.message)).toEqual(c.errors ?? []);
    if (c.errors) return;
    if (c.config) expect(checkInput(mysqlScaler, i).config).toMatchObject(c.config);
    const s = scalers.build(i, context());
    expect(s.getMetricSpecForScaling()).toEqual([{ type: 'External', external: { metric: { name: c.metric }, target: c.target } }]);
    await s.close();
  });

  it('never puts secrets in problems', () => {
    const problems = scalers.validate(input({ triggerType: 'mysql', metadata: base, authParams: { connectionString: 'u:pw-secret-9@tcp(db' } }));
    expect(problems.length).toBeGreaterThan(0);
    expect(JSON.stringify(problems)).not.toContain('pw-secret-9');
  });
});

describe('mysql: DSNs', () => {
  it.each([
    ['full', 'keda:pw@tcp(db:3307)/app?tls=true&timeout=2s&readTimeout=500ms', { user: 'keda', password: 'pw', host: 'db', port: 3307, database: 'app', tls: 'true', connectTimeoutMs: 2000, readTimeoutMs: 500 }],
    ['a password with @, : and /-free text', 'u:a@b:c@tcp(h:1)/d', { user: 'u', password: 'a@b:c', host: 'h', port: 1, database: 'd' }],
    ['defaults: tcp 127.0.0.1:3306, no TLS', 'u@/d', { user: 'u', password: undefined, host: '127.0.0.1', port: 3306, database: 'd', tls: 'false' }],
    ['tcp without a port', 'u:p@tcp(db)/d', { host: 'db', port: 3306 }],
    ['IPv6', 'u:p@tcp([::1]:3308)/d', { host: '::1', port: 3308 }],
    ['no database', 'u:p@tcp(db:3306)/', { database: '' }],
    ['other driver parameters are ignored', 'u:p@tcp(db)/d?charset=utf8mb4&parseTime=true', { database: 'd', tls: 'false' }],
  ])('%s', (_name, dsn, expected) => {
    expect(parseMysqlDsn(dsn)).toMatchObject(expected);
  });

  it.each([
    ['u:p@tcp(db:3306)', 'missing the slash separating the database name'],
    ['u:p@tcp(db:3306/d', 'the address must be written net(host:port)'],
    ['u:p@tcp(db:port)/d', 'the port must be a TCP port number'],
    ['u:p@tcp(db)/d?timeout=soon', '"timeout" must be a duration such as 5s'],
  ])('%s is rejected', (dsn, message) => {
    expect(() => parseMysqlDsn(dsn)).toThrow(message);
  });

  it('builds the target from the separate parameters', () => {
    const config = checkInput(mysqlScaler, input({ triggerType: 'mysql', metadata: { ...base, ...sep }, authParams: { password: 'pw' } })).config;
    expect(config && mysqlTarget(config)).toEqual({ host: 'db', port: 3306, user: 'keda', password: 'pw', database: 'app', tls: 'false' });
  });
});

describe('mysql: polling without a server', () => {
  it('fails within the timeout with the server named and no password', async () => {
    const s = scalers.build(
      input({ triggerType: 'mysql', metadata: { ...base, ...sep, host: '127.0.0.1', port: '1' }, authParams: { password: 'pw-never-shown' } }),
      context({ httpTimeoutMs: 1000 }),
    );
    const started = Date.now();
    const err = await s.getMetricsAndActivity('s0-mysql-app').then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/^error querying mysql at 127\.0\.0\.1:1\/app: .*ECONNREFUSED/);
    expect(err?.message).not.toContain('pw-never-shown');
    expect(Date.now() - started).toBeLessThan(3000);
    await s.close();
  });
});
