
import { scalers } from '../../all';
import { checkInput, type MetricTarget, type MongodbConfig, mongodbSecrets, mongodbUri, parseMongodbFilter, type ScalerInput } from '@keda-ts/scaler-sdk';
import { context, input } from '../../../test/fixtures';
import { mongodbClientOptions, mongodbClients, mongodbHosts, MongodbScaler, mongodbScaler } from './mongodb';

const sep = { host: 'mongo.db', port: '27017', username: 'keda', dbName: 'app' };
const base = { collection: 'tasks', query: '{"state":"waiting"}', queryValue: '5' };
const pw = { password: 'pw' };

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
  config?: Partial<MongodbConfig>;
  uri?: string;
};

const avg5: MetricTarget = { type: 'AverageValue', averageValue: '5' };

const parseCases: ParseCase[] = [
  {
    name: 'separate parameters, password from authParams; defaults',
    metadata: { ...base, ...sep },
    authParams: pw,
    metric: 's0-mongodb-tasks',
    target: avg5,
    config: { scheme: 'mongodb', tls: 'disable', activationQueryValue: 0, queryValue: 5 },
    uri: 'mongodb://keda:pw@mongo.db:27017/app',
  },
  {
    name: 'authParams win over metadata for the connection parameters',
    metadata: { ...base, ...sep },
    authParams: { host: 'auth-host', port: '27018', username: 'auth-user', dbName: 'authdb', password: 'pw' },
    metric: 's0-mongodb-tasks',
    target: avg5,
    uri: 'mongodb://auth-user:pw@auth-host:27018/authdb',
  },
  {
    name: 'password in metadata and from the environment',
    metadata: { ...base, ...sep, password: 'meta-pw' },
    metric: 's0-mongodb-tasks',
    target: avg5,
    config: { password: 'meta-pw' },
  },
  {
    name: 'passwordFromEnv',
    metadata: { ...base, ...sep, passwordFromEnv: 'MONGO_PW' },
    resolvedEnv: { MONGO_PW: 'env-pw' },
    metric: 's0-mongodb-tasks',
    target: avg5,
    config: { password: 'env-pw' },
  },
  {
    name: 'credentials with URI delimiters are percent-encoded',
    metadata: { ...base, ...sep, username: 'us@r' },
    authParams: { password: 'p@ss:w/rd?#%' },
    metric: 's0-mongodb-tasks',
    target: avg5,
    uri: 'mongodb://us%40r:p%40ss%3Aw%2Frd%3F%23%25@mongo.db:27017/app',
  },
  {
    name: 'an IPv6 host is bracketed',
    metadata: { ...base, ...sep, host: '::1' },
    authParams: pw,
    metric: 's0-mongodb-tasks',
    target: avg5,
    uri: 'mongodb://keda:pw@[::1]:27017/app',
  },
  {
    name: 'mongodb+srv needs no port and ignores one',
    metadata: { ...base, ...sep, scheme: 'mongodb+srv' },
    authParams: pw,
    metric: 's0-mongodb-tasks',
    target: avg5,
    uri: 'mongodb+srv://keda:pw@mongo.db/app',
  },
  {
    name: 'connectionString from authParams; Value target in milli; activation',
    metadata: { collection: 'jobs.v2', query: '{"n":{"$gt":1}}', queryValue: '2.5', activationQueryValue: '3', dbName: 'app' },
    authParams: { connectionString: 'mongodb://u:secret@a:1,b:2/admin?replicaSet=rs' },
    metricType: 'Value',
    metric: 's0-mongodb-jobs-v2',
    target: { type: 'Value', value: '2500m' },
    config: { activationQueryValue: 3, dbName: 'app' },
    uri: 'mongodb://u:secret@a:1,b:2/admin?replicaSet=rs',
  },
  {
    name: 'connectionString from metadata',
    metadata: { ...base, dbName: 'app', connectionString: 'mongodb://db:27017' },
    metric: 's0-mongodb-tasks',
    target: avg5,
  },
  {
    name: 'connectionStringFromEnv; dbName from authParams',
    metadata: { ...base, connectionStringFromEnv: 'MONGO_URI' },
    resolvedEnv: { MONGO_URI: 'mongodb+srv://u:p@cluster.example.net/app' },
    authParams: { dbName: 'app' },
    metric: 's0-mongodb-tasks',
    target: avg5,
  },
  {
    name: 'authParams connectionString wins over metadata',
    metadata: { ...base, dbName: 'app', connectionString: 'mongodb://meta:1' },
    authParams: { connectionString: 'mongodb://auth:2' },
    metric: 's0-mongodb-tasks',
    target: avg5,
    uri: 'mongodb://auth:2',
  },
  {
    name: 'TLS parameters from authParams',
    metadata: { ...base, ...sep },
    authParams: { ...pw, tls: 'enable', ca: 'CA-PEM', cert: 'CERT-PEM', key: 'KEY-PEM', keyPassword: 'kp' },
    metric: 's0-mongodb-tasks',
    target: avg5,
    config: { tls: 'enable', ca: 'CA-PEM', cert: 'CERT-PEM', key: 'KEY-PEM', keyPassword: 'kp' },
  },
  {
    name: 'an Extended JSON filter',
    metadata: { ...base, ...sep, query: '{"createdAt":{"$lt":{"$date":"2026-01-01T00:00:00Z"}},"n":{"$numberLong":"5"}}' },
    authParams: pw,
    metric: 's0-mongodb-tasks',
    target: avg5,
  },
  {
    name: 'zero queryValue allowed for a scaling-modifiers source',
    metadata: { ...base, ...sep, queryValue: '0' },
    authParams: pw,
    asMetricSource: true,
    metric: 's0-mongodb-tasks',
    target: { type: 'AverageValue', averageValue: '0' },
  },
  {
    name: 'required parameters missing',
    metadata: { ...sep },
    authParams: pw,
    errors: [
      'missing required parameter "collection" in [triggerMetadata]',
      'missing required parameter "query" in [triggerMetadata]',
      'missing required parameter "queryValue" in [triggerMetadata]',
    ],
  },
  {
    name: 'dbName missing',
    metadata: { ...base, host: 'h', port: '1', username: 'u' },
    authParams: pw,
    errors: ['missing required parameter "dbName" in [authParams triggerMetadata]'],
  },
  {
    name: 'nothing to connect to',
    metadata: { ...base, dbName: 'app' },
    errors: ['no host given', 'no port given', 'no username given', 'no password given'],
  },
  {
    name: 'mongodb+srv without host',
    metadata: { ...base, dbName: 'app', scheme: 'mongodb+srv', username: 'u' },
    authParams: pw,
    errors: ['no host given'],
  },
  { name: 'port not a number', metadata: { ...base, ...sep, port: 'x' }, authParams: pw, errors: ['parameter "port" must be a TCP port number, got "x"'] },
  {
    name: 'query not JSON',
    metadata: { ...base, ...sep, query: "{state: 'waiting'" },
    authParams: pw,
    errors: [expect.stringMatching(/^parameter "query" must be a JSON filter document such as \{"state":"waiting"\}: /) as unknown as string],
  },
  {
    name: 'query not an object',
    metadata: { ...base, ...sep, query: '[{"state":"waiting"}]' },
    authParams: pw,
    errors: ['parameter "query" must be a JSON filter document (an object) such as {"state":"waiting"}'],
  },
  {
    name: 'query empty',
    metadata: { ...base, ...sep, query: '{}' },
    authParams: pw,
    errors: ['parameter "query" must not be an empty document: give at least one condition such as {"state":"waiting"}'],
  },
  { name: 'zero queryValue', metadata: { ...base, ...sep, queryValue: '0' }, authParams: pw, errors: ['parameter "queryValue" must not be 0'] },
  {
    name: 'bad numbers',
    metadata: { ...sep, collection: 'c', query: '{"a":1}', queryValue: 'lots', activationQueryValue: '1,5' },
    authParams: pw,
    errors: [
      'unable to set param "queryValue" value "lots": must be a number',
      'unable to set param "activationQueryValue" value "1,5": must be a number',
    ],
  },
  {
    name: 'unknown scheme',
    metadata: { ...base, ...sep, scheme: 'http' },
    authParams: pw,
    errors: ['parameter "scheme" value "http" must be one of [mongodb mongodb+srv]'],
  },
  {
    name: 'tls not enable/disable (value from authParams not echoed)',
    metadata: { ...base, ...sep },
    authParams: { ...pw, tls: 'true' },
    errors: ['parameter "tls" value "<redacted>" must be one of [enable disable]'],
  },
  {
    name: 'cert without key',
    metadata: { ...base, ...sep },
    authParams: { ...pw, tls: 'enable', cert: 'CERT-PEM' },
    errors: ['parameters "cert" and "key" must be given together'],
  },
  {
    name: 'tls is not read from metadata',
    metadata: { ...base, ...sep, tls: 'enable', cert: 'CERT-PEM' },
    authParams: pw,
    metric: 's0-mongodb-tasks',
    target: avg5,
    config: { tls: 'disable', cert: undefined },
  },
  {
    name: 'a connection string with an unknown scheme',
    metadata: { ...base, dbName: 'app' },
    authParams: { connectionString: 'http://u:pw-secret-1@db' },
    errors: [
      'parameter "connectionString" is not a valid MongoDB connection string: Invalid scheme, expected connection string to start with "mongodb://" or "mongodb+srv://"',
    ],
  },
  {
    name: 'a mongodb+srv connection string with a port',
    metadata: { ...base, dbName: 'app' },
    authParams: { connectionString: 'mongodb+srv://u:pw-secret-2@db:27017/app' },
    errors: ['parameter "connectionString" is not a valid MongoDB connection string: mongodb+srv URI cannot have port number'],
  },
  {
    name: 'Utilization',
    metadata: { ...base, ...sep },
    authParams: pw,
    metricType: 'Utilization',
    errors: ["'Utilization' metric type is unsupported for external metrics, allowed values are 'Value' or 'AverageValue'"],
  },
];

describe('mongodb: parsing', () => {
  it.each(parseCases)('$name', async (c) => {
    const i = input({
      triggerType: 'mongodb',
      metadata: c.metadata,
      authParams: c.authParams ?? {},
      resolvedEnv: c.resolvedEnv ?? {},
      metricType: c.metricType,
      asMetricSource: c.asMetricSource,
    });
    expect(scalers.validate(i).map((p) => p.message)).toEqual(c.errors ?? []);
    if (c.errors) return;
    const config = checkInput(mongodbScaler, i).config;
    if (c.config) expect(config).toMatchObject(c.config);
    if (c.uri) expect(config && mongodbUri(config)).toBe(c.uri);
    const s = scalers.build(i, context());
    expect(s.getMetricSpecForScaling()).toEqual([{ type: 'External', external: { metric: { name: c.metric }, target: c.target } }]);
    await s.close();
  });

  it('names the parameter of each problem', () => {
    const problems = scalers.validate(
      input({ triggerType: 'mongodb', metadata: { ...sep, collection: 'c', query: '[]', queryValue: '0', port: 'x' }, authParams: { tls: 'enable', key: 'K' } }),
    );
    expect(problems.map((p) => p.parameter)).toEqual(['query', 'queryValue', 'cert', 'port', 'password']);
  });

  it('never puts secrets in problems', () => {
    for (const connectionString of ['mongodb://u:pw-secret-9@db:port/app', 'mongodb://u:pw-secret-9@/app', 'mongodb://u:pw-secret-9%zz@db/app']) {
      const problems = scalers.validate(input({ triggerType: 'mongodb', metadata: { ...base, dbName: 'app' }, authParams: { connectionString } }));
      expect(problems.length).toBe(1);
      expect(problems[0].message).toMatch(/^parameter "connectionString" is not a valid MongoDB connection string: /);
      expect(JSON.stringify(problems)).not.toContain('pw-secret-9');
    }
  });
});

describe('mongodb: connection string vetting (tenant isolation)', () => {
  const OPTIONS =
    '[appName authMechanism authSource compressors connectTimeoutMS directConnection heartbeatFrequencyMS journal loadBalanced localThresholdMS maxConnecting maxIdleTimeMS maxPoolSize maxStalenessSeconds minPoolSize readConcernLevel readPreference readPreferenceTags replicaSet retryReads retryWrites serverSelectionTimeoutMS socketTimeoutMS srvMaxHosts srvServiceName ssl timeoutMS tls tlsAllowInvalidCertificates tlsAllowInvalidHostnames tlsInsecure w waitQueueTimeoutMS wtimeoutMS zlibCompressionLevel]';
  const MECHANISMS = '[SCRAM-SHA-1 SCRAM-SHA-256 MONGODB-X509]';
  const FILE = 'it makes the controller read a file (give certificates as the "ca", "cert" and "key" parameters of a TriggerAuthentication)';
  const refusedOption = (option: string, reason: string) => `parameter "connectionString" option "${option}" is not allowed: ${reason}; allowed options are ${OPTIONS}`;
  const refusedMechanism = (m: string, reason: string) => `parameter "connectionString" authMechanism "${m}" is not allowed: ${reason}; allowed mechanisms are ${MECHANISMS}`;

  it.each<[string, string, string]>([
    ['MONGODB-OIDC', 'authMechanism=MONGODB-OIDC', refusedMechanism('MONGODB-OIDC', "it authenticates with the controller's own Kubernetes or cloud identity")],
    ['mongodb-oidc in lower case', 'authMechanism=mongodb-oidc', refusedMechanism('MONGODB-OIDC', "it authenticates with the controller's own Kubernetes or cloud identity")],
    ['MONGODB-AWS', 'authMechanism=MONGODB-AWS', refusedMechanism('MONGODB-AWS', "it authenticates with the controller's own AWS credentials")],
    ['GSSAPI', 'authMechanism=GSSAPI', refusedMechanism('GSSAPI', "it authenticates with the controller's Kerberos credentials")],
    ['PLAIN', 'authMechanism=PLAIN', refusedMechanism('PLAIN', 'LDAP proxy authentication (PLAIN) is not supported')],
    ['an unknown mechanism', 'authMechanism=FOO', 'parameter "connectionString" authMechanism value is not allowed: it is not supported; allowed mechanisms are [SCRAM-SHA-1 SCRAM-SHA-256 MONGODB-X509]'],
    ['authMechanismProperties', 'authMechanism=SCRAM-SHA-256&authMechanismProperties=ENVIRONMENT:k8s', refusedOption('authMechanismProperties', "it can make the driver authenticate with the controller's own cloud or Kubernetes identity")],
    ['tlsCAFile', 'tls=true&tlsCAFile=/var/run/secrets/kubernetes.io/serviceaccount/ca.crt', refusedOption('tlsCAFile', FILE)],
    ['tlsCertificateKeyFile', 'tls=true&tlsCertificateKeyFile=/etc/keda/certs/tls.key', refusedOption('tlsCertificateKeyFile', FILE)],
    ['tlsCertificateKeyFilePassword', 'tlsCertificateKeyFilePassword=x', refusedOption('tlsCertificateKeyFilePassword', FILE)],
    ['tlsCRLFile', 'tlsCRLFile=/dev/zero', refusedOption('tlsCRLFile', FILE)],
    ['proxyHost', 'proxyHost=169.254.169.254', refusedOption('proxyHost', 'it sends the connection through a proxy')],
    ['proxyPort', 'proxyPort=1080', refusedOption('proxyPort', 'it sends the connection through a proxy')],
    ['proxyUsername', 'proxyUsername=u', refusedOption('proxyUsername', 'it sends the connection through a proxy')],
    ['proxyPassword', 'proxyPassword=p', refusedOption('proxyPassword', 'it sends the connection through a proxy')],
    ['an unknown option', 'autoEncryptionKeyVault=x', refusedOption('autoEncryptionKeyVault', 'it is not a supported option')],
    ['an option in another case', 'TLSCAFILE=/etc/passwd', refusedOption('TLSCAFILE', FILE)],
  ])('refuses %s, from metadata and from a TriggerAuthentication, without a secret in the message', (_, options, message) => {
    const connectionString = `mongodb://u:pw-secret-5@db.example:27017/app?${options}`;
    for (const i of [
      input({ triggerType: 'mongodb', metadata: { ...base, dbName: 'app', connectionString } }),
      input({ triggerType: 'mongodb', metadata: { ...base, dbName: 'app' }, authParams: { connectionString } }),
    ]) {
      expect(scalers.validate(i)).toEqual([{ parameter: 'connectionString', message }]);
      expect(() => scalers.build(i, context())).toThrow(message);
      expect(message).not.toContain('pw-secret-5');
    }
  });

  it('refuses options smuggled in through host', () => {
    const problems = scalers.validate(
      input({ triggerType: 'mongodb', metadata: { ...base, ...sep, host: 'db:1/?authMechanism=MONGODB-AWS&x=' }, authParams: pw }),
    );
    expect(problems).toEqual([{ parameter: 'host', message: 'parameter "host" must be a host name or address (no "/", "?", "#", "@", "," or spaces)' }]);
  });

  it('accepts the documented options and passes the mechanism explicitly', async () => {
    const connectionString =
      'mongodb://u:pw@a:1,b:2/app?authSource=admin&authMechanism=SCRAM-SHA-256&replicaSet=rs&readPreference=secondaryPreferred&retryReads=true&appName=x&directConnection=false&tls=true&tlsAllowInvalidCertificates=true&connectTimeoutMS=100&socketTimeoutMS=100&serverSelectionTimeoutMS=100';
    const i = input({ triggerType: 'mongodb', metadata: { ...base, dbName: 'app' }, authParams: { connectionString } });
    expect(scalers.validate(i)).toEqual([]);
    const config = checkInput(mongodbScaler, i).config as MongodbConfig;
    expect(mongodbClientOptions(config).authMechanism).toBe('SCRAM-SHA-256');
    const x509 = checkInput(mongodbScaler, input({ triggerType: 'mongodb', metadata: { ...base, dbName: 'app' }, authParams: { connectionString: 'mongodb://a:1/?authMechanism=MONGODB-X509&tls=true' } })).config as MongodbConfig;
    expect(mongodbClientOptions(x509).authMechanism).toBe('MONGODB-X509');
    const s = scalers.build(i, context());
    await s.close();
  });
});

describe('mongodb: connection settings', () => {
  const configOf = (metadata: Record<string, string>, authParams: Record<string, string> = {}): MongodbConfig => {
    const checked = checkInput(mongodbScaler, input({ triggerType: 'mongodb', metadata, authParams }));
    if (!checked.config) throw new Error(JSON.stringify(checked.problems));
    return checked.config;
  };

  it('bounds server selection, connecting and the pool wait by the timeout; no TLS by default', () => {
    expect(mongodbClientOptions(configOf({ ...base, ...sep }, pw))).toEqual({
      appName: 'keda-ts',
      maxPoolSize: 5,
      serverSelectionTimeoutMS: 10_000,
      connectTimeoutMS: 10_000,
      waitQueueTimeoutMS: 10_000,
    });
  });

  it('passes the TLS material as PEM', () => {
    const config = configOf({ ...base, ...sep }, { ...pw, tls: 'enable', ca: 'CA', cert: 'CERT', key: 'KEY', keyPassword: 'KP' });
    expect(mongodbClientOptions(config, 2000)).toMatchObject({ tls: true, ca: 'CA', cert: 'CERT', key: 'KEY', passphrase: 'KP', serverSelectionTimeoutMS: 2000 });
    expect(mongodbClientOptions(configOf({ ...base, ...sep }, { ...pw, tls: 'enable' }))).toMatchObject({ tls: true });
    expect(mongodbClientOptions(configOf({ ...base, ...sep }, { ...pw, tls: 'enable' })).ca).toBeUndefined();
  });

  it('lists the hosts of a connection string without credentials', () => {
    expect(mongodbHosts(configOf({ ...base, dbName: 'app' }, { connectionString: 'mongodb://u:pw@a:1,b:2/x' }))).toBe('a:1,b:2');
    expect(mongodbHosts(configOf({ ...base, ...sep }, pw))).toBe('mongo.db:27017');
  });

  it('knows every form of the password to redact', () => {
    const fromUri = mongodbSecrets(configOf({ ...base, dbName: 'app' }, { connectionString: 'mongodb://u:p%40ss@h/app' }));
    expect(fromUri).toEqual(expect.arrayContaining(['mongodb://u:p%40ss@h/app', 'u:p%40ss', 'p%40ss', 'p@ss']));
    const separate = mongodbSecrets(configOf({ ...base, ...sep }, { password: 'p@ss', tls: 'enable', cert: 'C', key: 'KEY', keyPassword: 'KP' }));
    expect(separate).toEqual(expect.arrayContaining(['p@ss', 'p%40ss', 'KEY', 'KP']));
    // Longest first.
    expect(fromUri[0]).toBe('mongodb://u:p%40ss@h/app');
  });

  it.each([
    ['{"a":1}', { a: 1 }],
    ['{"a":{"$in":["x","y"]}}', { a: { $in: ['x', 'y'] } }],
    ['{"d":{"$date":"2026-01-01T00:00:00Z"}}', { d: new Date('2026-01-01T00:00:00Z') }],
  ])('parses the filter %s', (query, filter) => {
    expect(parseMongodbFilter(query)).toEqual({ filter });
  });

  it.each(['5', 'null', '"x"', '{"$date":"2026-01-01T00:00:00Z"}', '{"a":'])('rejects the filter %s', (query) => {
    expect(parseMongodbFilter(query)).toEqual({ error: expect.stringMatching(/^parameter "query" must be a JSON filter document/) });
  });
});

describe('mongodb: shared clients', () => {
  const build = (authParams: Record<string, string>, metadata: Record<string, string> = {}) =>
    scalers.build(input({ triggerType: 'mongodb', metadata: { ...base, ...sep, ...metadata }, authParams }), context());

  it('shares one client per connection string and credentials, closed with the last scaler', async () => {
    const before = mongodbClients.size;
    const a = build(pw);
    const b = build(pw, { collection: 'other', query: '{"x":1}' });
    expect(mongodbClients.size).toBe(before + 1);
    const c = build({ password: 'other-pw' });
    const d = build(pw, { host: 'elsewhere' });
    expect(mongodbClients.size).toBe(before + 3);
    await a.close();
    await a.close();
    expect(mongodbClients.size).toBe(before + 3);
    await b.close();
    expect(mongodbClients.size).toBe(before + 2);
    await Promise.all([c.close(), d.close()]);
    expect(mongodbClients.size).toBe(before);
  });

  it('a closed scaler refuses to poll', async () => {
    const s = build(pw);
    await s.close();
    await expect(s.getMetricsAndActivity('s0-mongodb-tasks')).rejects.toThrow(
      'error counting documents in mongodb mongo.db:27017/app.tasks: the scaler is closed',
    );
  });
});

describe('mongodb: polling without a server', () => {
  it('fails within the timeout with the server named and no password', async () => {
    const config = checkInput(
      mongodbScaler,
      input({ triggerType: 'mongodb', metadata: { ...base, ...sep, host: '127.0.0.1', port: '1' }, authParams: { password: 'pw-never-shown' } }),
    ).config as MongodbConfig;
    const s = new MongodbScaler(config, 's0-mongodb-tasks', 'AverageValue', context(), 1000);
    const started = Date.now();
    const err = await s.getMetricsAndActivity('s0-mongodb-tasks').then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/^error counting documents in mongodb 127\.0\.0\.1:1\/app\.tasks: .*ECONNREFUSED/);
    expect(err?.message).not.toContain('pw-never-shown');
    expect(Date.now() - started).toBeLessThan(4000);
    await s.close();
  });

  it('stops waiting when the caller aborts', async () => {
    const config = checkInput(
      mongodbScaler,
      input({ triggerType: 'mongodb', metadata: { ...base, ...sep, host: '127.0.0.1', port: '1' }, authParams: pw }),
    ).config as MongodbConfig;
    const s = new MongodbScaler(config, 's0-mongodb-tasks', 'AverageValue', context(), 30_000);
    const started = Date.now();
    await expect(s.getMetricsAndActivity('s0-mongodb-tasks', { signal: AbortSignal.timeout(300) })).rejects.toThrow(
      /^error counting documents in mongodb 127\.0\.0\.1:1\/app\.tasks: /,
    );
    expect(Date.now() - started).toBeLessThan(5000);
    await s.close();
  });
});
