
import { scalers } from '../../all';
import { context, input } from '../../../test/fixtures';
import { consumerLag, jszUrl } from './nats-jetstream';

const OK = { account: '$G', stream: 'ORDERS', consumer: 'worker', natsServerMonitoringEndpoint: 'nats.svc:8222' };

const cases: { name: string; metadata: Record<string, string>; authParams?: Record<string, string>; errors?: string[]; target?: string }[] = [
  { name: 'defaults', metadata: OK, target: '10' },
  { name: 'lagThreshold', metadata: { ...OK, lagThreshold: '25', activationLagThreshold: '3', useHttps: 'true' }, target: '25' },
  {
    name: 'account and endpoint from authParams win over metadata',
    metadata: { stream: 'ORDERS', consumer: 'worker', account: 'meta', natsServerMonitoringEndpoint: 'meta:1' },
    authParams: { accountID: 'AUTH', natsServerMonitoringEndpoint: 'auth:8222' },
    target: '10',
  },
  {
    name: 'everything missing',
    metadata: {},
    errors: [
      'missing required parameter "account,accountID" in [authParams triggerMetadata]',
      'missing required parameter "stream" in [triggerMetadata]',
      'missing required parameter "consumer" in [triggerMetadata]',
      'missing required parameter "natsServerMonitoringEndpoint" in [authParams triggerMetadata]',
    ],
  },
  {
    name: 'endpoint with a scheme',
    metadata: { ...OK, natsServerMonitoringEndpoint: 'http://user:pw@nats:8222' },
    errors: ['parameter "natsServerMonitoringEndpoint" value "http://nats:8222/" must be host:port without a scheme or path (use useHttps for HTTPS)'],
  },
  {
    name: 'bad numbers and bool',
    metadata: { ...OK, lagThreshold: 'ten', activationLagThreshold: '0.5', useHttps: 'yes' },
    errors: [
      'unable to set param "useHttps" value "yes": must be a boolean (true or false)',
      'unable to set param "lagThreshold" value "ten": must be an integer',
      'unable to set param "activationLagThreshold" value "0.5": must be an integer',
    ],
  },
];

describe('nats-jetstream: parsing', () => {
  it.each(cases)('$name', ({ metadata, authParams = {}, errors, target }) => {
    const i = input({ triggerType: 'nats-jetstream', metadata, authParams });
    const problems = scalers.validate(i).map((p) => p.message);
    if (errors) {
      expect(problems.sort()).toEqual([...errors].sort());
      return;
    }
    expect(problems).toEqual([]);
    const scaler = scalers.build(i, context());
    expect(scaler.getMetricSpecForScaling()[0].external).toEqual({
      metric: { name: 's0-nats-jetstream-ORDERS' },
      target: { type: 'AverageValue', averageValue: target },
    });
    void scaler.close();
  });

  it('builds the /jsz URL with the account and the scheme', () => {
    expect(jszUrl({ natsServerMonitoringEndpoint: 'n:8222', useHttps: false, account: '$G' }).toString()).toBe(
      'http://n:8222/jsz?acc=%24G&consumers=true&config=true',
    );
    expect(jszUrl({ natsServerMonitoringEndpoint: 'n:8222', useHttps: true, account: 'A B' }).toString()).toBe(
      'https://n:8222/jsz?acc=A+B&consumers=true&config=true',
    );
  });
});

describe('nats-jetstream: consumerLag', () => {
  const doc = {
    account_details: [
      { name: 'other', id: 'X', stream_detail: [] },
      {
        name: 'acme',
        id: 'ACC1',
        stream_detail: [
          { name: 'ORDERS', consumer_detail: [{ name: 'worker', num_pending: 4, num_ack_pending: 3 }, { name: 'idle' }] },
        ],
      },
    ],
  };
  it('adds pending and ack-pending; finds the account by id or name', () => {
    expect(consumerLag(doc, 'ACC1', 'ORDERS', 'worker')).toBe(7);
    expect(consumerLag(doc, 'acme', 'ORDERS', 'worker')).toBe(7);
    expect(consumerLag(doc, 'acme', 'ORDERS', 'idle')).toBe(0);
  });
  it('names the missing part', () => {
    expect(() => consumerLag(doc, 'nope', 'ORDERS', 'worker')).toThrow('account "nope" not found');
    expect(() => consumerLag(doc, 'acme', 'X', 'worker')).toThrow('stream "X" not found in account "acme"');
    expect(() => consumerLag(doc, 'acme', 'ORDERS', 'w2')).toThrow('consumer "w2" not found on stream "ORDERS"');
    expect(() => consumerLag(null, 'acme', 'ORDERS', 'w2')).toThrow('account "acme" not found');
  });
});
