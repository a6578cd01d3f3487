
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { scalers } from '../../all';
import { context, input } from '../../../test/fixtures';
import { type MetricTarget, type ScalerInput, sqsQueueName } from '@keda-ts/scaler-sdk';
import { sqsClientCount } from './aws-sqs-queue';

const URL_OK = 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders';
const KEYS = { awsAccessKeyID: 'AKIDEXAMPLE', awsSecretAccessKey: 'wJalrXUtnFEMI-secret' };

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
    name: 'defaults with keys from authParams',
    metadata: { queueURL: URL_OK, awsRegion: 'eu-west-1' },
    authParams: KEYS,
    metric: 's0-aws-sqs-orders',
    target: { type: 'AverageValue', averageValue: '5' },
  },
  {
    name: 'queue name only, region from authParams, alias awsAccessKeyId, Value',
    metadata: { queueURL: 'jobs.fifo', queueLength: '7' },
    authParams: { awsRegion: 'us-east-1', awsAccessKeyId: 'AK', awsSecretAccessKey: 'S' },
    metricType: 'Value',
    metric: 's0-aws-sqs-jobs-fifo',
    target: { type: 'Value', value: '7' },
  },
  {
    name: 'legacy metadata key id + secret from env, queueURL from env',
    metadata: { queueURLFromEnv: 'Q', awsRegion: 'eu-west-1', awsAccessKeyID: 'AK', awsSecretAccessKeyFromEnv: 'SECRET' },
    resolvedEnv: { Q: URL_OK, SECRET: 's' },
    metric: 's0-aws-sqs-orders',
    target: { type: 'AverageValue', averageValue: '5' },
  },
  {
    name: 'identityOwner operator needs no keys',
    metadata: { queueURL: URL_OK, awsRegion: 'eu-west-1', identityOwner: 'operator' },
    metric: 's0-aws-sqs-orders',
    target: { type: 'AverageValue', averageValue: '5' },
  },
  {
    name: "identityOwner operator with a tenant's awsEndpoint (the operator's credentials would sign requests to it)",
    metadata: { queueURL: URL_OK, awsRegion: 'eu-west-1', identityOwner: 'operator', awsEndpoint: 'http://127.0.0.1:4566' },
    errors: [
      "awsEndpoint cannot be used with identityOwner: operator (the operator's own AWS credentials are only sent to AWS's endpoints); give awsAccessKeyID and awsSecretAccessKey instead",
    ],
  },
  {
    name: 'missing required',
    metadata: {},
    authParams: KEYS,
    errors: [
      'missing required parameter "queueURL" in [triggerMetadata resolvedEnv]',
      'missing required parameter "awsRegion" in [triggerMetadata authParams]',
    ],
  },
  { name: 'no access key', metadata: { queueURL: URL_OK, awsRegion: 'r' }, errors: ['missing required parameter "awsAccessKeyID,awsAccessKeyId" in [authParams triggerMetadata resolvedEnv]: awsAccessKeyID not found'] },
  {
    name: 'no secret key',
    metadata: { queueURL: URL_OK, awsRegion: 'r' },
    authParams: { awsAccessKeyID: 'AK' },
    errors: ['missing required parameter "awsSecretAccessKey" in [authParams resolvedEnv]: awsSecretAccessKey not found'],
  },
  {
    name: 'role arn not supported',
    metadata: { queueURL: URL_OK, awsRegion: 'r' },
    authParams: { awsRoleArn: 'arn:aws:iam::1:role/x' },
    errors: ['awsRoleArn is not supported yet: give awsAccessKeyID and awsSecretAccessKey'],
  },
  {
    name: 'bad URL path, bad endpoint, bad numbers and enums',
    metadata: { queueURL: 'https://sqs.x/orders', awsRegion: 'r', awsEndpoint: 'localhost:4566', queueLength: 'x', scaleOnDelayed: 'yes', identityOwner: 'node' },
    authParams: KEYS,
    errors: [
      'unable to set param "queueLength" value "x": must be an integer',
      'unable to set param "scaleOnDelayed" value "yes": must be a boolean (true or false)',
      'parameter "identityOwner" value "node" must be one of [pod operator]',
    ],
  },
  {
    name: 'bad URL path and endpoint',
    metadata: { queueURL: 'https://sqs.x/orders', awsRegion: 'r', awsEndpoint: 'localhost:4566' },
    authParams: KEYS,
    errors: ['cannot get queueName from queueURL', 'awsEndpoint must be an absolute http:// or https:// URL'],
  },
];

describe('aws-sqs-queue: parsing', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const i = input({ triggerType: 'aws-sqs-queue', metadata: c.metadata, authParams: c.authParams ?? {}, resolvedEnv: c.resolvedEnv ?? {}, metricType: c.metricType });
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

  it.each([
    ['https://sqs.eu-west-1.amazonaws.com/1234/q1', { name: 'q1' }],
    ['http://127.0.0.1:4566/000000000000/q2', { name: 'q2' }],
    ['plain-name', { name: 'plain-name' }],
    ['/1234/q3', { name: 'q3' }],
    ['https://sqs/1234/', { error: 'cannot get queueName from queueURL' }],
  ])('queue name of %s', (url, expected) => {
    expect(sqsQueueName(url)).toEqual(expected);
  });
});

describe('aws-sqs-queue: client behaviour against a local HTTP server', () => {
  let server: Server;
  let endpoint: string;
  let reply: (body: string) => { status: number; body: string } = () => ({ status: 200, body: '{}' });
  let hang = false;
  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        if (hang) return;
        const r = reply(body);
        res.writeHead(r.status, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(r.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const build = (extra: Record<string, string> = {}, timeoutMs = 3000) =>
    scalers.build(
      input({ triggerType: 'aws-sqs-queue', metadata: { queueURL: `${endpoint}/000000000000/orders`, awsRegion: 'us-east-1', awsEndpoint: endpoint, ...extra }, authParams: KEYS }),
      context({ httpTimeoutMs: timeoutMs }),
    );

  it('sums the attributes asked for and shares one client', async () => {
    let asked: string[] = [];
    reply = (body) => {
      asked = (JSON.parse(body) as { AttributeNames: string[] }).AttributeNames;
      return {
        status: 200,
        body: JSON.stringify({ Attributes: { ApproximateNumberOfMessages: '3', ApproximateNumberOfMessagesNotVisible: '2', ApproximateNumberOfMessagesDelayed: '4' } }),
      };
    };
    const a = build({ scaleOnDelayed: 'true', activationQueueLength: '9' });
    const b = build({ scaleOnInFlight: 'false' });
    try {
      expect(sqsClientCount()).toBe(1);
      expect(await a.getMetricsAndActivity('s0-aws-sqs-orders')).toMatchObject({ metrics: [{ value: 9 }], isActive: false });
      expect(asked).toEqual(['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed']);
      expect(await b.getMetricsAndActivity('s0-aws-sqs-orders')).toMatchObject({ metrics: [{ value: 3 }], isActive: true });
      expect(asked).toEqual(['ApproximateNumberOfMessages']);
    } finally {
      await a.close();
      await b.close();
    }
    expect(sqsClientCount()).toBe(0);
  });

  it('a missing attribute is an error naming it', async () => {
    reply = () => ({ status: 200, body: JSON.stringify({ Attributes: { ApproximateNumberOfMessages: '3' } }) });
    const s = build();
    await expect(s.getMetricsAndActivity('m')).rejects.toThrow(
      /^error getting length of SQS queue ".*\/orders" at http:\/\/127\.0\.0\.1:\d+: metric ApproximateNumberOfMessagesNotVisible not found in SQS queue attributes$/,
    );
    await s.close();
  });

  it('a server that does not answer fails within the timeout', async () => {
    hang = true;
    const s = build({}, 800);
    const started = Date.now();
    await expect(s.getMetricsAndActivity('m')).rejects.toThrow(/error getting length of SQS queue/);
    expect(Date.now() - started).toBeLessThan(2500);
    hang = false;
    await s.close();
  });
});
