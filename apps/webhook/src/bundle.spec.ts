import { join } from 'node:path';
import { build } from 'esbuild';

// The options of `nx run webhook:build` (project.json + esbuild.config.cjs), bundled in memory.
const config = require('../esbuild.config.cjs') as Record<string, unknown>;

/** Packages the webhook must never bundle: event-source clients and the controller-side scalers. */
const FORBIDDEN = [
  '@platformatic/kafka',
  'kafkajs',
  'ioredis',
  'mongodb',
  'pg',
  'mysql2',
  'amqplib',
  '@aws-sdk/',
  '@azure/',
  '@grpc/grpc-js',
  'libs/scalers/',
];

/** The package (or workspace lib) an esbuild input path belongs to. */
function owner(input: string): string {
  const nm = input.lastIndexOf('node_modules/');
  if (nm < 0) return input;
  const rest = input.slice(nm + 'node_modules/'.length).split('/');
  return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
}

const bundle = (entry: string) =>
  build({ ...config, entryPoints: [entry], bundle: true, platform: 'node', format: 'cjs', target: 'node24', write: false, metafile: true, logLevel: 'silent' });

const forbiddenIn = (inputs: string[]) =>
  inputs.filter((i) => FORBIDDEN.some((f) => (f.startsWith('libs/') ? i.includes(f) : f.endsWith('/') ? owner(i).startsWith(f) : owner(i) === f)));

describe('the webhook bundle', () => {
  it('the check sees the clients where they are: in the scaler implementations', async () => {
    const result = await bundle(join(__dirname, '..', '..', '..', 'libs', 'scalers', 'src', 'index.ts'));
    const owners = new Set(forbiddenIn(Object.keys(result.metafile.inputs)).map(owner));
    for (const p of ['ioredis', 'mongodb', 'pg', 'mysql2', 'amqplib', '@platformatic/kafka', '@aws-sdk/client-sqs', '@azure/storage-blob', '@grpc/grpc-js']) expect(owners).toContain(p);
  }, 60_000);

  it('holds no event-source client and no scaler implementation', async () => {
    const result = await bundle(join(__dirname, 'main.ts'));
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.length).toBeGreaterThan(100);
    // Sanity: the descriptors are in (so the check below looks at the right bundle).
    expect(inputs.some((i) => i.includes('libs/scaler-sdk/src/descriptors/'))).toBe(true);
    expect([...new Set(forbiddenIn(inputs).map(owner))]).toEqual([]);
    // And the output text does not name them either.
    const text = result.outputFiles[0].text;
    for (const name of ['ioredis', '@platformatic/kafka', '@aws-sdk', '@azure/storage', 'mysql2', 'amqplib', 'require("pg")', 'require("mongodb")']) {
      expect({ name, found: text.includes(name) }).toEqual({ name, found: false });
    }
  }, 60_000);
});
