
import { scalers } from '../../all';
import { context, input } from '../../../test/fixtures';
import { connectionEndpoint, connectionStringSecrets, type MetricTarget, type ScalerInput } from '@keda-ts/scaler-sdk';

const CONN = 'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0LWtleQ==;EndpointSuffix=core.windows.net';

type Case = {
  name: string;
  metadata: Record<string, string>;
  authParams?: Record<string, string>;
  resolvedEnv?: Record<string, string>;
  metricType?: ScalerInput['metricType'];
  errors?: string[];
  metric?: string;
  target?: MetricTarget;
};

const cases: Case[] = [
  {
    name: 'defaults, connection from authParams',
    metadata: { queueName: 'orders' },
    authParams: { connection: CONN },
    metric: 's0-azure-queue-orders',
    target: { type: 'AverageValue', averageValue: '5' },
  },
  {
    name: 'connectionFromEnv, visibleonly, Value',
    metadata: { queueName: 'a.b', connectionFromEnv: 'STORAGE', queueLengthStrategy: 'visibleonly', queueLength: '3' },
    resolvedEnv: { STORAGE: CONN },
    metricType: 'Value',
    metric: 's0-azure-queue-a-b',
    target: { type: 'Value', value: '3' },
  },
  { name: 'Private cloud with suffix', metadata: { queueName: 'q', connection: CONN, cloud: 'Private', endpointSuffix: 'x.net' }, metric: 's0-azure-queue-q', target: { type: 'AverageValue', averageValue: '5' } },
  { name: 'missing queueName and connection', metadata: {}, errors: ['missing required parameter "queueName" in [triggerMetadata]'] },
  { name: 'no connection', metadata: { queueName: 'q', accountName: 'acct' }, errors: ['missing required parameter "connection" in [authParams triggerMetadata resolvedEnv]: no connection setting given'] },
  {
    name: 'bad strategy and numbers',
    metadata: { queueName: 'q', connection: CONN, queueLengthStrategy: 'visible', activationQueueLength: 'a' },
    errors: [
      'unable to set param "activationQueueLength" value "a": must be an integer',
      'parameter "queueLengthStrategy" value "visible" must be one of [all visibleonly]',
    ],
  },
  {
    name: 'unknown cloud, Private without suffix',
    metadata: { queueName: 'q', connection: CONN, cloud: 'Mars' },
    errors: ['unknown cloud "Mars", allowed values are [AzurePublicCloud AzureChinaCloud AzureGermanCloud AzureUSGovernmentCloud Private]'],
  },
  { name: 'Private without suffix', metadata: { queueName: 'q', connection: CONN, cloud: 'private' }, errors: ['endpointSuffix must be provided for Private cloud'] },
];

describe('azure-queue: parsing', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const i = input({ triggerType: 'azure-queue', metadata: c.metadata, authParams: c.authParams ?? {}, resolvedEnv: c.resolvedEnv ?? {}, metricType: c.metricType });
    const problems = scalers.validate(i).map((p) => p.message);
    if (c.errors) {
      expect(problems).toEqual(c.errors);
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

  it('never echoes a connection string in a parse error', () => {
    const problems = scalers.validate(input({ triggerType: 'azure-queue', metadata: { queueName: 'q', connection: CONN, queueLength: 'x' } }));
    expect(JSON.stringify(problems)).not.toContain('c2VjcmV0');
  });

  it('connection string helpers: endpoint for messages, secrets for redaction', () => {
    expect(connectionEndpoint(CONN, 'queue')).toBe('https://acct.queue.core.windows.net');
    expect(connectionEndpoint('AccountName=a;AccountKey=k;QueueEndpoint=http://127.0.0.1:1/a?sig=x', 'queue')).toBe('http://127.0.0.1:1/a');
    expect(connectionEndpoint('UseDevelopmentStorage=true', 'blob')).toBe('http://127.0.0.1:10000/devstoreaccount1');
    expect(connectionStringSecrets('AccountName=a;AccountKey=k1;SharedAccessSignature=sv=1&sig=2')).toEqual([
      'AccountName=a;AccountKey=k1;SharedAccessSignature=sv=1&sig=2',
      'k1',
      'sv=1&sig=2',
    ]);
  });
});
