
import { scalers } from '../../all';
import { context, input } from '../../../test/fixtures';
import { type MetricTarget, parsePartitionLimitation, type ScalerInput } from '@keda-ts/scaler-sdk';
import { computeLag, divisors, type LagOptions, type PartitionOffsets } from './kafka';

const BASE = { bootstrapServers: '127.0.0.1:9092', consumerGroup: 'g' };

type ParseCase = {
  name: string;
  metadata: Record<string, string>;
  authParams?: Record<string, string>;
  resolvedEnv?: Record<string, string>;
  metricType?: ScalerInput['metricType'];
  errors?: string[];
  metric?: string;
  target?: MetricTarget;
};

const parseCases: ParseCase[] = [
  { name: 'defaults, no topic', metadata: BASE, metric: 's0-kafka-g-topics', target: { type: 'AverageValue', averageValue: '10' } },
  {
    name: 'topic, normalised name, Value target',
    metadata: { ...BASE, topic: 'orders.v1', lagThreshold: '5' },
    metricType: 'Value',
    metric: 's0-kafka-orders-v1',
    target: { type: 'Value', value: '5' },
  },
  {
    name: 'FromEnv for servers, group and topic',
    metadata: { bootstrapServersFromEnv: 'BROKERS', consumerGroupFromEnv: 'GROUP', topicFromEnv: 'TOPIC' },
    resolvedEnv: { BROKERS: 'a:9092,b:9092', GROUP: 'workers', TOPIC: 'jobs' },
    metric: 's0-kafka-jobs',
    target: { type: 'AverageValue', averageValue: '10' },
  },
  {
    name: 'sasl and tls from authParams',
    metadata: { ...BASE, topic: 't' },
    authParams: { sasl: 'scram_sha512', username: 'u', password: 'p', tls: 'enable', ca: 'CA', cert: 'C', key: 'K' },
    metric: 's0-kafka-t',
    target: { type: 'AverageValue', averageValue: '10' },
  },
  {
    name: 'oauthbearer with its endpoint',
    metadata: { ...BASE, sasl: 'oauthbearer' },
    authParams: { username: 'client', password: 'secret', oauthTokenEndpointUri: 'http://idp/token', scopes: 'a,b', oauthExtensions: 'x=1' },
    metric: 's0-kafka-g-topics',
    target: { type: 'AverageValue', averageValue: '10' },
  },
  {
    name: 'missing required',
    metadata: {},
    errors: [
      'missing required parameter "bootstrapServers" in [triggerMetadata resolvedEnv]',
      'missing required parameter "consumerGroup" in [triggerMetadata resolvedEnv]',
    ],
  },
  {
    name: 'bad numbers and enums',
    metadata: { ...BASE, lagThreshold: 'ten', activationLagThreshold: '1.5', offsetResetPolicy: 'newest', allowIdleConsumers: 'maybe' },
    errors: [
      'unable to set param "lagThreshold" value "ten": must be an integer',
      'unable to set param "activationLagThreshold" value "1.5": must be an integer',
      'parameter "offsetResetPolicy" value "newest" must be one of [latest earliest]',
      'unable to set param "allowIdleConsumers" value "maybe": must be a boolean (true or false)',
    ],
  },
  {
    name: 'thresholds out of range',
    metadata: { ...BASE, lagThreshold: '0', activationLagThreshold: '-1' },
    errors: ['lagThreshold must be positive number', 'activationLagThreshold must be positive number'],
  },
  {
    name: 'flag combinations',
    metadata: { ...BASE, allowIdleConsumers: 'true', limitToPartitionsWithLag: 'true', ensureEvenDistributionOfPartitions: 'true', fullMetadata: 'false' },
    errors: [
      'allowIdleConsumers and limitToPartitionsWithLag cannot be set simultaneously',
      'limitToPartitionsWithLag and ensureEvenDistributionOfPartitions cannot be set simultaneously',
      'topic must be specified when using limitToPartitionsWithLag',
      'topic must be specified when using ensureEvenDistributionOfPartitions',
      'topic must be specified when using fullMetadata=false',
    ],
  },
  {
    name: 'partitionLimitation and version',
    metadata: { ...BASE, topic: 't', partitionLimitation: '1,x', version: 'latest' },
    errors: [
      'partitionLimitation: "x" is not a partition number or a range such as 10-12',
      'error parsing kafka version: invalid version "latest"',
    ],
  },
  {
    name: 'sasl without credentials, secrets not echoed',
    metadata: { ...BASE, sasl: 'plaintext' },
    errors: [
      'missing required parameter "username" in [authParams]: no username given',
      'missing required parameter "password" in [authParams]: no password given',
    ],
  },
  {
    name: 'unknown sasl mode',
    metadata: { ...BASE },
    authParams: { sasl: 'digest', password: 'hunter2' },
    errors: ['parameter "sasl" value "<redacted>" must be one of [none plaintext scram_sha256 scram_sha512 oauthbearer gssapi]'],
  },
  {
    name: 'gssapi and aws_msk_iam not supported',
    metadata: { ...BASE, sasl: 'gssapi' },
    errors: ['sasl mode "gssapi" is not supported yet, supported values are [none plaintext scram_sha256 scram_sha512 oauthbearer]'],
  },
  {
    name: 'aws_msk_iam not supported',
    metadata: { ...BASE, sasl: 'oauthbearer', saslTokenProvider: 'aws_msk_iam' },
    errors: ['saslTokenProvider "aws_msk_iam" is not supported yet, supported values are [bearer]'],
  },
  {
    name: 'oauthbearer without endpoint',
    metadata: { ...BASE, sasl: 'oauthbearer' },
    authParams: { username: 'c', password: 's' },
    errors: ['missing required parameter "oauthTokenEndpointUri" in [authParams]: no oauth token endpoint uri given'],
  },
  {
    name: 'tls: cert without key',
    metadata: { ...BASE, tls: 'enable' },
    authParams: { cert: 'C' },
    errors: ['cert and key must both be provided or both be empty'],
  },
  {
    name: 'tls: bad value',
    metadata: { ...BASE, tls: 'on' },
    errors: ['parameter "tls" value "on" must be one of [enable disable]'],
  },
  {
    name: 'Utilization is refused',
    metadata: BASE,
    metricType: 'Utilization',
    errors: ["metricType \"Utilization\" is not supported by the kafka scaler, allowed values are 'AverageValue' or 'Value'"],
  },
];

describe('kafka: parsing', () => {
  it.each(parseCases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const i = input({
      triggerType: 'kafka',
      metadata: c.metadata,
      authParams: c.authParams ?? {},
      resolvedEnv: c.resolvedEnv ?? {},
      metricType: c.metricType,
    });
    const problems = scalers.validate(i);
    if (c.errors) {
      const messages = problems.map((p) => p.message);
      // Utilization may be phrased by the api lib; compare loosely there.
      if (c.metricType === 'Utilization') expect(messages.join('\n')).toMatch(/Utilization/);
      else expect(messages).toEqual(c.errors);
      for (const m of messages) expect(m).not.toMatch(/hunter2|secret/);
      return;
    }
    expect(problems).toEqual([]);
    const scaler = scalers.build(i, context());
    try {
      const [spec] = scaler.getMetricSpecForScaling();
      expect(spec.external?.metric.name).toBe(c.metric);
      expect(spec.external?.target).toEqual(c.target);
    } finally {
      await scaler.close();
    }
  });
});

describe('kafka: partitionLimitation', () => {
  it.each([
    [['1', '2', '10-12'], { ids: [1, 2, 10, 11, 12] }],
    [['3', '1', '3'], { ids: [1, 3] }],
    [['5-3'], { error: 'range "5-3" is reversed' }],
    [['a-b'], { error: '"a-b" is not a partition number or a range such as 10-12' }],
  ])('%j', (items, expected) => {
    expect(parsePartitionLimitation(items)).toEqual(expected);
  });
});

describe('kafka: lag', () => {
  const base: LagOptions = {
    lagThreshold: 10,
    offsetResetPolicy: 'latest',
    allowIdleConsumers: false,
    excludePersistentLag: false,
    scaleToZeroOnInvalidOffset: false,
    limitToPartitionsWithLag: false,
    ensureEvenDistributionOfPartitions: false,
  };
  const parts = (...rows: [number, number][]): PartitionOffsets[] =>
    rows.map(([committed, latest], i) => ({ topic: 't', partition: i, committed, latest }));

  it.each<[string, PartitionOffsets[], Partial<LagOptions>, number, number]>([
    ['sum of newest - committed', parts([0, 5], [3, 10]), {}, 12, 12],
    ['no commit + latest = 1 per partition', parts([-1, 50], [-1, 0]), {}, 2, 2],
    ['no commit + earliest = partition size (then capped)', parts([-1, 50], [-1, 0]), { offsetResetPolicy: 'earliest' }, 20, 50],
    ['no commit + earliest, idle consumers allowed', parts([-1, 50], [-1, 0]), { offsetResetPolicy: 'earliest', allowIdleConsumers: true }, 50, 50],
    ['no commit + scaleToZeroOnInvalidOffset (latest)', parts([-1, 50]), { scaleToZeroOnInvalidOffset: true }, 0, 0],
    ['no commit + scaleToZeroOnInvalidOffset (earliest)', parts([-1, 50]), { scaleToZeroOnInvalidOffset: true, offsetResetPolicy: 'earliest' }, 0, 0],
    ['capped at partitions x threshold', parts([0, 100], [0, 100]), {}, 20, 200],
    ['not capped with allowIdleConsumers', parts([0, 100], [0, 100]), { allowIdleConsumers: true }, 200, 200],
    ['cap only when lag/threshold > partitions (integer division)', parts([0, 29]), { lagThreshold: 10 }, 10, 29],
    ['limitToPartitionsWithLag caps at partitions with lag', parts([0, 100], [5, 5], [5, 5]), { limitToPartitionsWithLag: true }, 10, 100],
    ['ensureEven: lag 25 over 6 partitions -> factor 3', parts([0, 25], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0]), { ensureEvenDistributionOfPartitions: true }, 30, 25],
    ['ensureEven: lag 45 over 6 partitions -> factor 6', parts([0, 45], [0, 0], [0, 0], [0, 0], [0, 0], [0, 0]), { ensureEvenDistributionOfPartitions: true }, 60, 45],
    ['ensureEven: huge lag capped at partitions', parts([0, 1000], [0, 0]), { ensureEvenDistributionOfPartitions: true, allowIdleConsumers: true }, 20, 1000],
  ])('%s', (_name, partitions, options, lag, lagWithPersistent) => {
    expect(computeLag(partitions, { ...base, ...options }, new Map())).toEqual({ lag, lagWithPersistent });
  });

  it('excludePersistentLag: a partition whose commit did not move adds nothing for scaling but still activates', () => {
    const previous = new Map<string, number>();
    const o = { ...base, excludePersistentLag: true, allowIdleConsumers: true };
    expect(computeLag(parts([5, 20], [0, 4]), o, previous)).toEqual({ lag: 19, lagWithPersistent: 19 });
    // Partition 0 did not move (stuck), partition 1 moved.
    expect(computeLag(parts([5, 25], [2, 6]), o, previous)).toEqual({ lag: 4, lagWithPersistent: 24 });
    // Partition 0 moves again.
    expect(computeLag(parts([6, 25], [2, 6]), o, previous)).toEqual({ lag: 19, lagWithPersistent: 23 });
  });

  it('divisors', () => {
    expect(divisors(12)).toEqual([1, 2, 3, 4, 6, 12]);
    expect(divisors(1)).toEqual([1]);
    expect(divisors(7)).toEqual([1, 7]);
  });
});

describe('kafka: a poll that cannot reach the brokers', () => {
  it('rejects within the timeout naming the group and brokers, and closes the shared client', async () => {
    const scaler = scalers.build(
      input({ triggerType: 'kafka', metadata: { bootstrapServers: '127.0.0.1:1', consumerGroup: 'g', topic: 't' } }),
      context({ httpTimeoutMs: 1500 }),
    );
    const started = Date.now();
    await expect(scaler.getMetricsAndActivity('s0-kafka-t')).rejects.toThrow(/^error getting lag of kafka group "g" topic "t" at 127\.0\.0\.1:1: /);
    expect(Date.now() - started).toBeLessThan(4000);
    await scaler.close();
    await scaler.close();
  });
});
