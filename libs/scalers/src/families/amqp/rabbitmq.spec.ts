
import { scalers } from '../../all';
import { context, input } from '../../../test/fixtures';
import { checkInput, type MetricTarget, type RabbitMqConfig, type ScalerInput, settleConfig } from '@keda-ts/scaler-sdk';
import { combineQueues, goQueryEscape, managementRequest, measure, rabbitmqScaler, vhostAndPrefix } from './rabbitmq';

const AMQP = 'amqp://user:s3cret@127.0.0.1:5672/';
const HTTP = 'http://user:s3cret@127.0.0.1:15672/';

type Case = {
  name: string;
  metadata: Record<string, string>;
  authParams?: Record<string, string>;
  resolvedEnv?: Record<string, string>;
  metricType?: ScalerInput['metricType'];
  errors?: string[];
  expect?: Partial<RabbitMqConfig>;
  metric?: string;
  target?: MetricTarget;
};

const cases: Case[] = [
  {
    name: 'defaults: QueueLength 20 over amqp (protocol auto from the scheme)',
    metadata: { queueName: 'orders', host: AMQP },
    expect: { mode: 'QueueLength', value: 20, protocol: 'amqp', activationValue: 0, useRegex: false, pageSize: 100, operation: 'sum' },
    metric: 's0-rabbitmq-orders',
    target: { type: 'AverageValue', averageValue: '20' },
  },
  {
    name: 'mode + value, http, milli target, Value metric type',
    metadata: { queueName: 'q', host: HTTP, mode: 'MessageRate', value: '2.5', activationValue: '1' },
    metricType: 'Value',
    expect: { mode: 'MessageRate', value: 2.5, protocol: 'http', activationValue: 1 },
    target: { type: 'Value', value: '2500m' },
  },
  {
    name: 'the deprecated queueLength sets QueueLength',
    metadata: { queueName: 'q', host: AMQP, queueLength: '7' },
    expect: { mode: 'QueueLength', value: 7 },
  },
  {
    name: 'queue name is query-escaped and normalised in the metric name',
    metadata: { queueName: 'a/b.c d', host: AMQP },
    metric: 's0-rabbitmq-a-2Fb-c+d',
  },
  {
    name: 'host from authParams, credentials from authParams',
    metadata: { queueName: 'q' },
    authParams: { host: 'amqp://127.0.0.1:5672/vh', username: 'u', password: 'p' },
    expect: { host: 'amqp://127.0.0.1:5672/vh', username: 'u', password: 'p', protocol: 'amqp' },
  },
  {
    name: 'hostFromEnv reads the target env',
    metadata: { queueName: 'q', hostFromEnv: 'RABBIT_URL', protocol: 'http' },
    resolvedEnv: { RABBIT_URL: HTTP },
    expect: { host: HTTP, protocol: 'http' },
  },
  {
    name: 'regex over http with operation and pageSize',
    metadata: { queueName: '^job-.*', host: HTTP, useRegex: 'true', operation: 'max', pageSize: '50', excludeUnacknowledged: 'true' },
    expect: { useRegex: true, operation: 'max', pageSize: 50, excludeUnacknowledged: true },
  },
  { name: 'queueName is required', metadata: { host: AMQP }, errors: ['missing required parameter "queueName" in [triggerMetadata]'] },
  { name: 'host is required', metadata: { queueName: 'q' }, errors: ['missing required parameter "host" in [triggerMetadata authParams resolvedEnv]'] },
  {
    name: 'unknown mode',
    metadata: { queueName: 'q', host: HTTP, mode: 'Bytes', value: '1' },
    errors: ['parameter "mode" value "Bytes" must be one of [QueueLength MessageRate DeliverGetRate PublishedToDeliveredRatio ExpectedQueueConsumptionTime]'],
  },
  { name: 'mode without value', metadata: { queueName: 'q', host: HTTP, mode: 'QueueLength' }, errors: ['value must be specified (and non-zero) with mode QueueLength'] },
  { name: 'value without mode', metadata: { queueName: 'q', host: HTTP, value: '3' }, errors: ['mode must be specified together with value'] },
  {
    name: 'queueLength together with mode',
    metadata: { queueName: 'q', host: HTTP, mode: 'QueueLength', value: '3', queueLength: '5' },
    errors: ['queueLength is deprecated; configure only mode and value, not queueLength together with them'],
  },
  {
    name: 'rate mode over amqp',
    metadata: { queueName: 'q', host: AMQP, mode: 'MessageRate', value: '3' },
    errors: ['protocol amqp does not support mode MessageRate; use protocol http'],
  },
  {
    name: 'regex, excludeUnacknowledged and timeout over amqp',
    metadata: { queueName: 'q', host: AMQP, useRegex: 'true', excludeUnacknowledged: 'true', timeout: '5s' },
    errors: [
      'the amqp protocol does not support a custom timeout; use protocol http',
      'useRegex needs protocol http',
      'excludeUnacknowledged needs protocol http',
    ],
  },
  {
    name: 'auto with an unknown scheme; the host (it may hold a password) is not echoed',
    metadata: { queueName: 'q', host: 'ftp://user:s3cret@h/' },
    errors: ['host must start with amqp://, amqps://, http:// or https:// when protocol is auto'],
  },
  {
    name: 'protocol http with an amqp host',
    metadata: { queueName: 'q', host: AMQP, protocol: 'http' },
    errors: ['host must be an http:// or https:// URL with protocol http, got scheme "amqp"'],
  },
  {
    name: 'username without password',
    metadata: { queueName: 'q', host: AMQP },
    authParams: { username: 'u' },
    errors: ['username and password must be given together'],
  },
  {
    name: 'cert without key, tls enable without material',
    metadata: { queueName: 'q', host: 'amqps://h:5671/' },
    authParams: { tls: 'enable', cert: 'C' },
    errors: ['cert and key must be given together for TLS client authentication'],
  },
  { name: 'tls enable without ca or cert', metadata: { queueName: 'q', host: 'amqps://h:5671/' }, authParams: { tls: 'enable' }, errors: ['tls enable requires ca, or cert and key'] },
  { name: 'bad pageSize', metadata: { queueName: 'q', host: HTTP, useRegex: 'true', pageSize: '0' }, errors: ['unable to set param "pageSize" value "0": must be >= 1'] },
  { name: 'bad operation', metadata: { queueName: 'q', host: HTTP, operation: 'median' }, errors: ['parameter "operation" value "median" must be one of [sum avg max]'] },
  {
    name: 'bad protocol value',
    metadata: { queueName: 'q', host: HTTP, protocol: 'stomp' },
    errors: ['parameter "protocol" value "stomp" must be one of [auto amqp http]'],
  },
];

describe('rabbitmq parsing', () => {
  it.each(cases)('$name', (c) => {
    const trigger = input({ triggerType: 'rabbitmq', metadata: c.metadata, authParams: c.authParams ?? {}, resolvedEnv: c.resolvedEnv ?? {}, metricType: c.metricType });
    const problems = scalers.validate(trigger).map((p) => p.message);
    if (c.errors) {
      expect(problems).toEqual(c.errors);
      for (const p of problems) expect(p).not.toContain('s3cret');
      return;
    }
    expect(problems).toEqual([]);
    const checked = checkInput(rabbitmqScaler, trigger);
    const settled = settleConfig(checked.config as never);
    if (c.expect) expect(settled.config).toMatchObject(c.expect);
    const scaler = scalers.build(trigger, context());
    try {
      const [spec] = scaler.getMetricSpecForScaling();
      if (c.metric) expect(spec.external?.metric.name).toBe(c.metric);
      if (c.target) expect(spec.external?.target).toEqual(c.target);
    } finally {
      void scaler.close();
    }
  });
});

describe('management API URLs', () => {
  const cfg = (over: Partial<RabbitMqConfig>): RabbitMqConfig =>
    ({ queueName: 'q', host: HTTP, protocol: 'http', mode: 'QueueLength', value: 5, useRegex: false, pageSize: 100, operation: 'sum', ...over }) as RabbitMqConfig;
  it.each([
    ['http://h:15672', undefined, '/%2F', ''],
    ['http://h:15672/', undefined, '/%2F', ''],
    ['http://h:15672/vh', undefined, '/vh', ''],
    ['http://h:15672/prefix/rabbit/vh', undefined, '/vh', '/prefix/rabbit'],
    ['http://h:15672/vh', 'other/vh', '/other%2Fvh', ''],
  ])('%s with vhostName %s -> vhost %s, prefix %s', (host, vhostName, vhost, prefix) => {
    expect(vhostAndPrefix(new URL(host).pathname, vhostName)).toEqual({ vhost, prefix });
  });
  it('builds the queue URL and basic auth without credentials in the URL', () => {
    const r = managementRequest(cfg({ queueName: 'a b', host: 'http://user:s3cret@h:15672/prefix/vh' }));
    expect(r.url.toString()).toBe('http://h:15672/prefix/api/queues/vh/a+b');
    expect(r.authorization).toBe(`Basic ${Buffer.from('user:s3cret').toString('base64')}`);
  });
  it('username/password from auth replace the URL userinfo', () => {
    const r = managementRequest(cfg({ host: 'http://x:y@h:15672/', username: 'u', password: 'p' }));
    expect(r.authorization).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
  });
  it('builds the regex listing URL', () => {
    const r = managementRequest(cfg({ queueName: '^job-.*$', useRegex: true, pageSize: 7 }));
    expect(r.url.toString()).toBe('http://127.0.0.1:15672/api/queues/%2F?page=1&use_regex=true&pagination=false&name=%5Ejob-.%2A%24&page_size=7');
  });
  it('escapes like Go url.QueryEscape', () => {
    expect(goQueryEscape("a b/c!'()*~._-")).toBe('a+b%2Fc%21%27%28%29%2A~._-');
  });
});

describe('rabbitmq measurement', () => {
  const f = (count: number, publishRate: number, deliverGetRate: number) => ({ count, publishRate, deliverGetRate });
  it.each([
    ['QueueLength', f(5, 0, 0), 0, 5, true],
    ['QueueLength', f(5, 0, 0), 5, 5, false],
    ['MessageRate', f(0, 3, 0), 0, 3, true],
    ['MessageRate', f(2, 0, 0), 1, 0, true],
    ['MessageRate', f(0, 0, 0), 0, 0, false],
    ['DeliverGetRate', f(9, 0, 4), 0, 4, true],
    ['PublishedToDeliveredRatio', f(0, 0, 0), 0, 0, false],
    ['PublishedToDeliveredRatio', f(0, 4, 0), 0.5, 0.5, true],
    ['PublishedToDeliveredRatio', f(0, 4, 2), 0, 2, true],
    ['ExpectedQueueConsumptionTime', f(0, 4, 2), 0, 0, false],
    ['ExpectedQueueConsumptionTime', f(10, 4, 0), 3, 3, true],
    ['ExpectedQueueConsumptionTime', f(10, 4, 2), 0, 6, true],
  ] as const)('%s %j activation %d -> %d active %s', (mode, figures, activation, value, isActive) => {
    expect(measure(mode, figures, activation)).toEqual({ value, isActive });
  });
  it('combines regex matches by operation', () => {
    const qs = [f(3, 1, 2), f(4, 3, 0)];
    expect(combineQueues(qs, 'sum')).toEqual(f(7, 4, 2));
    expect(combineQueues(qs, 'avg')).toEqual(f(3, 2, 1));
    expect(combineQueues(qs, 'max')).toEqual(f(4, 3, 2));
    expect(combineQueues([], 'max')).toEqual(f(0, 0, 0));
  });
});
