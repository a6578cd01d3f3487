
import { scalers } from '../../all';
import { context, input } from '../../../test/fixtures';
import { type MetricTarget, streamsMode } from '@keda-ts/scaler-sdk';
import { redisPoolKey, redisSettings } from './redis-connection';
import { parseXinfoGroups, redisMajorVersion } from './redis-streams';

type Case = {
  name: string;
  type?: string;
  metadata: Record<string, string>;
  authParams?: Record<string, string>;
  resolvedEnv?: Record<string, string>;
  errors?: string[];
  metric?: string;
  target?: MetricTarget;
};

const cases: Case[] = [
  {
    name: 'redis: address and defaults',
    metadata: { address: '10.0.0.1:6379', listName: 'jobs' },
    metric: 's0-redis-jobs',
    target: { type: 'AverageValue', averageValue: '5' },
  },
  {
    name: 'redis: host/port, listLength, normalised name',
    metadata: { host: 'redis.svc', port: '6380', listName: 'q:jobs/1', listLength: '12', activationListLength: '3' },
    metric: 's0-redis-q-jobs-1',
    target: { type: 'AverageValue', averageValue: '12' },
  },
  {
    name: 'redis: address from env, password from authParams',
    metadata: { addressFromEnv: 'REDIS_ADDR', listName: 'l' },
    resolvedEnv: { REDIS_ADDR: 'r:6379' },
    authParams: { password: 'pw', tls: 'enable', ca: 'CA' },
    metric: 's0-redis-l',
  },
  {
    name: 'redis-cluster: addresses list',
    type: 'redis-cluster',
    metadata: { addresses: 'a:7000, b:7001 ,c:7002', listName: 'l' },
    metric: 's0-redis-l',
  },
  {
    name: 'redis-sentinel: hosts/ports and master from authParams',
    type: 'redis-sentinel',
    metadata: { hosts: 'a,b', ports: '26379,26380', listName: 'l' },
    authParams: { sentinelMaster: 'mymaster', sentinelPassword: 's' },
    metric: 's0-redis-l',
  },
  {
    name: 'redis-streams: length mode',
    type: 'redis-streams',
    metadata: { address: 'r:6379', stream: 'orders' },
    metric: 's0-redis-streams-orders',
    target: { type: 'AverageValue', averageValue: '5' },
  },
  {
    name: 'redis-streams: pending mode',
    type: 'redis-streams',
    metadata: { address: 'r:6379', stream: 'orders', consumerGroup: 'g', pendingEntriesCount: '9', streamLength: '100' },
    target: { type: 'AverageValue', averageValue: '9' },
  },
  {
    name: 'redis-streams: lag mode',
    type: 'redis-cluster-streams',
    metadata: { addresses: 'a:1,b:2', stream: 'orders', consumerGroup: 'g', lagCount: '7' },
    target: { type: 'AverageValue', averageValue: '7' },
  },
  {
    name: 'missing everything',
    metadata: {},
    errors: ['missing required parameter "listName" in [triggerMetadata]'],
  },
  {
    name: 'no address nor host',
    metadata: { listName: 'l' },
    errors: ['no address or host given: set "address" (host:port) or "host" and "port"'],
  },
  {
    name: 'streams: stream missing',
    type: 'redis-sentinel-streams',
    metadata: { address: 'a:1' },
    errors: [
      'missing required parameter "stream" in [triggerMetadata]',
    ],
  },
  {
    name: 'address and host together',
    metadata: { address: 'a:1', host: 'b', port: '2', listName: 'l' },
    errors: ['set either "address" or "host" and "port", not both'],
  },
  {
    name: 'address without port',
    metadata: { address: 'redis', listName: 'l' },
    errors: ['parameter "address" value "redis" must be host:port'],
  },
  {
    name: 'hosts and ports counts differ',
    type: 'redis-cluster',
    metadata: { hosts: 'a,b,c', ports: '1,2', listName: 'l' },
    errors: ['not enough hosts or ports given: the number of hosts (3) must equal the number of ports (2)'],
  },
  {
    name: 'bad port',
    metadata: { host: 'a', port: '70000', listName: 'l' },
    errors: ['parameter "port" value "70000" must be a port number (1-65535)'],
  },
  {
    name: 'standalone with two addresses',
    metadata: { address: 'a:1,b:2', listName: 'l' },
    errors: ['the standalone form takes one server, got 2; use redis-cluster or redis-sentinel'],
  },
  {
    name: 'enableTLS and tls together',
    metadata: { address: 'a:1', listName: 'l', enableTLS: 'true' },
    authParams: { tls: 'enable' },
    errors: ['unable to set `tls` in both ScaledObject and TriggerAuthentication together'],
  },
  {
    name: 'bad tls value',
    metadata: { address: 'a:1', listName: 'l' },
    authParams: { tls: 'yes' },
    // A value from a TriggerAuthentication is never echoed.
    errors: ['parameter "tls" value "<redacted>" must be one of [enable disable]'],
  },
  {
    name: 'cert without key, and TLS material without TLS',
    metadata: { address: 'a:1', listName: 'l' },
    authParams: { cert: 'C' },
    errors: [
      'both "cert" and "key" must be given for a TLS client certificate',
      'TLS material (ca, cert, key) is given but TLS is not enabled: set enableTLS "true" or tls "enable"',
    ],
  },
  {
    name: 'sentinel without master',
    type: 'redis-sentinel',
    metadata: { addresses: 'a:1', listName: 'l' },
    errors: ['missing required parameter "sentinelMaster" in [triggerMetadata authParams resolvedEnv]: the sentinel form needs the master name'],
  },
  {
    name: 'bad numbers',
    metadata: { address: 'a:1', listName: 'l', listLength: 'five', activationListLength: '1.5', databaseIndex: '-1', enableTLS: 'maybe' },
    errors: [
      'unable to set param "listLength" value "five": must be an integer',
      'unable to set param "activationListLength" value "1.5": must be an integer',
      'unable to set param "enableTLS" value "maybe": must be a boolean (true or false)',
      'unable to set param "databaseIndex" value "-1": must be >= 0',
    ],
  },
  {
    name: 'streams: bad counts',
    type: 'redis-streams',
    metadata: { address: 'a:1', stream: 's', lagCount: 'x', pendingEntriesCount: '', activationLagCount: 'y' },
    errors: ['unable to set param "lagCount" value "x": must be an integer', 'unable to set param "activationLagCount" value "y": must be an integer'],
  },
];

describe('redis scalers: parsing', () => {
  it.each(cases)('$name', ({ type = 'redis', metadata, authParams = {}, resolvedEnv = {}, errors, metric, target }) => {
    const i = input({ triggerType: type, metadata, authParams, resolvedEnv });
    const problems = scalers.validate(i).map((p) => p.message);
    if (errors) {
      expect(problems.sort()).toEqual([...errors].sort());
      expect(() => scalers.build(i, context())).toThrow(errors[0]);
      return;
    }
    expect(problems).toEqual([]);
    const scaler = scalers.build(i, context());
    try {
      const [spec] = scaler.getMetricSpecForScaling();
      if (metric) expect(spec.external?.metric.name).toBe(metric);
      if (target) expect(spec.external?.target).toEqual(target);
    } finally {
      void scaler.close();
    }
  });

  it('metricType Value gives a Value target', () => {
    const scaler = scalers.build(input({ triggerType: 'redis', metricType: 'Value', metadata: { address: 'a:1', listName: 'l', listLength: '4' } }), context());
    expect(scaler.getMetricSpecForScaling()[0].external?.target).toEqual({ type: 'Value', value: '4' });
    void scaler.close();
  });

  it('cluster forms have no databaseIndex; sentinel forms have the sentinel parameters', () => {
    expect(Object.keys(scalers.descriptor('redis-cluster')?.params ?? {})).not.toContain('databaseIndex');
    expect(Object.keys(scalers.descriptor('redis-cluster-streams')?.params ?? {})).not.toContain('databaseIndex');
    expect(Object.keys(scalers.descriptor('redis')?.params ?? {})).not.toContain('sentinelMaster');
    expect(Object.keys(scalers.descriptor('redis-sentinel-streams')?.params ?? {})).toEqual(
      expect.arrayContaining(['sentinelMaster', 'sentinelPassword', 'sentinelUsername', 'databaseIndex']),
    );
  });

  it('never echoes secrets in problems', () => {
    const problems = scalers.validate(
      input({ triggerType: 'redis', metadata: { address: 'a:1', listName: 'l' }, authParams: { password: 'hunter2', keyPassword: 'hunter3', key: 'hunter4' } }),
    );
    expect(problems.length).toBeGreaterThan(0);
    expect(JSON.stringify(problems)).not.toMatch(/hunter/);
  });
});

describe('redis scalers: helpers', () => {
  it('streamsMode picks lag, pending or length and its target', () => {
    expect(streamsMode({ consumerGroup: 'g', lagCount: 3, pendingEntriesCount: 5, streamLength: 6 })).toEqual({ mode: 'lag', target: 3 });
    expect(streamsMode({ consumerGroup: 'g', lagCount: 0, pendingEntriesCount: 5, streamLength: 6 })).toEqual({ mode: 'pending', target: 5 });
    expect(streamsMode({ consumerGroup: 'g', pendingEntriesCount: 5, streamLength: 6 })).toEqual({ mode: 'pending', target: 5 });
    expect(streamsMode({ lagCount: 3, pendingEntriesCount: 5, streamLength: 6 })).toEqual({ mode: 'length', target: 6 });
  });

  it('parses XINFO GROUPS replies and INFO versions', () => {
    expect(parseXinfoGroups([['name', 'g1', 'consumers', 1, 'lag', 4], ['name', 'g2', 'lag', null]])).toEqual([
      { name: 'g1', consumers: 1, lag: 4 },
      { name: 'g2', lag: null },
    ]);
    expect(parseXinfoGroups('nope')).toEqual([]);
    expect(redisMajorVersion('# Server\r\nredis_version:7.0.15\r\n')).toBe(7);
    expect(redisMajorVersion('redis_version:6.2.1')).toBe(6);
    expect(redisMajorVersion('')).toBeUndefined();
  });

  it('pool keys differ by credentials and TLS, and hide them', () => {
    const base = { address: ['a:1'], unsafeSsl: false };
    const k1 = redisPoolKey(redisSettings({ ...base, password: 'pw-alpha' }, 'standalone', 3000));
    const k2 = redisPoolKey(redisSettings({ ...base, password: 'pw-bravo' }, 'standalone', 3000));
    const k3 = redisPoolKey(redisSettings({ ...base, password: 'pw-alpha', enableTLS: true }, 'standalone', 3000));
    const k1again = redisPoolKey(redisSettings({ ...base, password: 'pw-alpha' }, 'standalone', 3000));
    expect(new Set([k1, k2, k3]).size).toBe(3);
    expect(k1again).toBe(k1);
    expect(k1).not.toContain('pw-alpha');
  });
});
