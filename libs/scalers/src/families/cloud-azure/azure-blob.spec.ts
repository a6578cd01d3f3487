
import { scalers } from '../../all';
import { context, input } from '../../../test/fixtures';
import { compileBlobGlob, globMatch, type MetricTarget } from '@keda-ts/scaler-sdk';

const CONN = 'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=c2VjcmV0LWtleQ==;EndpointSuffix=core.windows.net';

type Case = {
  name: string;
  metadata: Record<string, string>;
  authParams?: Record<string, string>;
  resolvedEnv?: Record<string, string>;
  errors?: string[];
  metric?: string;
  target?: MetricTarget;
};

const cases: Case[] = [
  {
    name: 'defaults, connection from authParams',
    metadata: { blobContainerName: 'uploads' },
    authParams: { connection: CONN },
    metric: 's0-azure-blob-uploads',
    target: { type: 'AverageValue', averageValue: '5' },
  },
  {
    name: 'connectionFromEnv (alias), every option',
    metadata: { blobContainerName: 'c.1', connectionFromEnv: 'S', blobCount: '2', activationBlobCount: '1', blobPrefix: 'in', blobDelimiter: '|', recursive: 'true', globPattern: '/in/*.csv' },
    resolvedEnv: { S: CONN },
    metric: 's0-azure-blob-c-1',
    target: { type: 'AverageValue', averageValue: '2' },
  },
  { name: 'missing container', metadata: { connection: CONN }, errors: ['missing required parameter "blobContainerName" in [triggerMetadata]'] },
  { name: 'no connection', metadata: { blobContainerName: 'c' }, errors: ['missing required parameter "connection,connectionFromEnv" in [authParams resolvedEnv triggerMetadata]: connection string is required when not using pod identity'] },
  {
    name: 'bad glob and numbers',
    metadata: { blobContainerName: 'c', connection: CONN, globPattern: 'a[bc', blobCount: '1.5' },
    errors: ['unable to set param "blobCount" value "1.5": must be an integer'],
  },
  { name: 'bad glob', metadata: { blobContainerName: 'c', connection: CONN, globPattern: 'a{b,c' }, errors: ['invalid glob pattern "a{b,c": unclosed {'] },
  {
    name: 'glob over the length cap',
    metadata: { blobContainerName: 'c', connection: CONN, globPattern: `${'*a'.repeat(150)}` },
    errors: ['parameter "globPattern" is 300 characters long, at most 256 are allowed'],
  },
];

describe('azure-blob: parsing', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    const i = input({ triggerType: 'azure-blob', metadata: c.metadata, authParams: c.authParams ?? {}, resolvedEnv: c.resolvedEnv ?? {} });
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
});

describe('azure-blob: glob patterns', () => {
  it.each<[string, string, boolean]>([
    ['*.csv', 'a.csv', true],
    ['*.csv', 'dir/a.csv', true],
    ['in/*.csv', 'in/x/y.csv', true],
    ['in/*.csv', 'out/y.csv', false],
    ['report-?.txt', 'report-1.txt', true],
    ['report-?.txt', 'report-10.txt', false],
    ['[ab]*', 'b-file', true],
    ['[!ab]*', 'b-file', false],
    ['{jpg,png}/*', 'png/x', true],
    ['{jpg,png}/*', 'gif/x', false],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'axb', false],
    ['data.(1)', 'data.(1)', true],
  ])('%s ~ %s = %s', (glob, name, expected) => {
    const g = compileBlobGlob(glob);
    if ('error' in g) throw new Error(g.error);
    expect(globMatch(g, name)).toBe(expected);
  });
});
