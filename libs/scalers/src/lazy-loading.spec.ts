/**
 * The event-source client libraries load on first use (lazy-module.ts): a process that loads the
 * scaler registry pays for none of them, and a scaler loads only its own family's library. Checked
 * in a fresh node process (Jest's module registry would hide what Node itself loads), from the
 * sources as the controller's dev runs do. require.cache holds the ES modules loaded with
 * require(esm) too (@platformatic/kafka), so one check covers both kinds.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const CLIENT_PACKAGES = ['amqplib', '@aws-sdk/client-sqs', '@azure/storage-blob', '@azure/storage-queue', '@platformatic/kafka', 'mongodb', 'ioredis', 'mysql2', 'pg'];

/** A trigger of each family; `poll`: its client is made at the first poll (127.0.0.1:1 refuses it at once). */
const TRIGGERS: Record<string, { metadata: Record<string, string>; authParams?: Record<string, string>; poll?: boolean; loads: string[] }> = {
  mongodb: {
    metadata: { host: 'mongo.db', port: '27017', username: 'keda', dbName: 'app', collection: 'tasks', query: '{"state":"waiting"}', queryValue: '5' },
    authParams: { password: 'pw' },
    loads: ['mongodb'],
  },
  kafka: { metadata: { bootstrapServers: 'kafka.local:9092', consumerGroup: 'g', topic: 't', lagThreshold: '10' }, loads: ['@platformatic/kafka'] },
  redis: { metadata: { address: 'redis.local:6379', listName: 'l', listLength: '4' }, loads: ['ioredis'] },
  'aws-sqs-queue': {
    metadata: { queueURL: 'https://sqs.us-east-1.amazonaws.com/000000000000/orders', awsRegion: 'us-east-1' },
    authParams: { awsAccessKeyID: 'AKIDEXAMPLE', awsSecretAccessKey: 'secret' },
    loads: ['@aws-sdk/client-sqs'],
  },
  'azure-queue': { metadata: { queueName: 'q' }, authParams: { connection: 'UseDevelopmentStorage=true' }, loads: ['@azure/storage-queue'] },
  'azure-blob': { metadata: { blobContainerName: 'c' }, authParams: { connection: 'UseDevelopmentStorage=true' }, loads: ['@azure/storage-blob'] },
  rabbitmq: { metadata: { host: 'amqp://u:p@127.0.0.1:1/vh', queueName: 'q', mode: 'QueueLength', value: '5' }, poll: true, loads: ['amqplib'] },
  mysql: { metadata: { host: '127.0.0.1', port: '1', username: 'keda', dbName: 'app', query: 'SELECT 1', queryValue: '5' }, authParams: { password: 'pw' }, poll: true, loads: ['mysql2'] },
  postgresql: {
    metadata: { host: '127.0.0.1', port: '1', userName: 'keda', dbName: 'app', sslmode: 'disable', query: 'SELECT 1', targetQueryValue: '5' },
    authParams: { password: 'pw' },
    poll: true,
    loads: ['pg'],
  },
};

/** Runs in the child: loads the registry, then builds (and polls) one scaler per family, reporting the packages each step loaded. */
const CHILD = `
const packages = ${JSON.stringify(CLIENT_PACKAGES)};
const triggers = ${JSON.stringify(TRIGGERS)};
const loaded = () => packages.filter((p) => Object.keys(require.cache).some((file) => file.includes('/node_modules/' + p + '/')));
(async () => {
  const report = {};
  const { scalers } = require('@keda-ts/scalers');
  const { context, input } = require('./libs/scalers/test/fixtures');
  report.registry = loaded();
  for (const [triggerType, t] of Object.entries(triggers)) {
    const before = loaded();
    const scaler = scalers.build(input({ triggerType, metadata: t.metadata, authParams: t.authParams ?? {} }), context());
    if (t.poll) await scaler.getMetricsAndActivity('m').then(() => { throw new Error(triggerType + ': the poll did not fail'); }, () => undefined);
    report[triggerType] = loaded().filter((p) => !before.includes(p));
    await scaler.close?.();
  }
  process.stdout.write(JSON.stringify(report));
})().catch((err) => { console.error(err); process.exit(1); });
`;

describe('client libraries load on first use', () => {
  it('loads none with the registry, and only its own with a scaler of a family', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--conditions=@keda-ts/source', '-e', CHILD], {
      cwd: resolve(__dirname, '../../..'),
      timeout: 60_000,
    });
    const report = JSON.parse(stdout) as Record<string, string[]>;
    expect(report['registry']).toEqual([]);
    for (const [triggerType, t] of Object.entries(TRIGGERS)) expect({ triggerType, loaded: report[triggerType] }).toEqual({ triggerType, loaded: t.loads });
  }, 90_000);
});
