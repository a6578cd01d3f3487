import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { DecisionDebugClient, type ExplainRequest, type ExplainResponse } from '@keda-ts/proto/debug';
import { createMetricsServer, type DecisionDebugProvider, type MetricsServer } from './server';
import { capturingLogger } from '../test/logger';
import { createCa, createLeaf, writeCertDir, type Pem } from '../test/pki';

const traced: ExplainResponse = {
  kind: 'ScaledObject',
  namespace: 'ns',
  name: 'orders',
  polls: [
    {
      time: new Date('2026-11-28T00:00:00Z'),
      currentReplicas: 0,
      durationMs: 3.5,
      triggers: [
        {
          index: 0,
          name: '',
          type: 'rabbitmq',
          metricName: 's0-rabbitmq-orders',
          value: 3,
          activationParameter: 'activationValue',
          activationThreshold: 5,
          targetType: 'AverageValue',
          targetValue: 10,
          active: false,
          error: '',
          outcome: 'ok',
          latencyMs: 2,
        },
      ],
      decision: {
        action: 'none',
        rule: 'C-61e',
        outcome: 'held-inactive',
        reason: 'HeldByActivation',
        summary: 'held at 0 replicas',
        hints: ['s0-rabbitmq-orders activates when its value exceeds activationValue 5 (now 3)'],
      },
    },
  ],
};

const provider: DecisionDebugProvider = {
  explain: (req) => (req.kind === 'ScaledObject' && req.namespace === 'ns' && req.name === 'orders' ? traced : undefined),
  listTraced: () => ['ScaledObject/ns/orders'],
};

let dir: string;
let server: MetricsServer;
let client: DecisionDebugClient;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'decision-debug-spec-'));
  const ca: Pem = createCa(join(dir, 'pki'), 'KEDA');
  writeCertDir(join(dir, 'server'), ca, createLeaf(join(dir, 'pki'), ca, 'keda-operator'));
  const clientLeaf = createLeaf(join(dir, 'pki'), ca, 'keda-ts-cli', undefined, { organization: 'keda-operators', usages: 'clientAuth' });
  server = createMetricsServer({
    provider: { getMetrics: async () => [] },
    debug: provider,
    tls: { certDir: join(dir, 'server'), pollIntervalMs: 0 },
    bindAddress: '127.0.0.1',
    port: 0,
    logger: capturingLogger(),
  });
  await server.start();
  client = new DecisionDebugClient(
    server.address,
    credentials.createSsl(Buffer.from(ca.cert), Buffer.from(clientLeaf.key), Buffer.from(clientLeaf.cert)),
    { 'grpc.ssl_target_name_override': 'localhost' },
  );
});

afterAll(async () => {
  client?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const explain = (req: Partial<ExplainRequest>) =>
  new Promise<ExplainResponse>((resolve, reject) =>
    client.explain({ kind: '', namespace: '', name: '', limit: 0, ...req }, new Metadata(), { deadline: Date.now() + 3000 }, (err, res) =>
      err ? reject(err) : resolve(res),
    ),
  );

const failure = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('expected the call to fail');
};

describe('kedats.debug.v1.DecisionDebug', () => {
  it('serves the traces of an object (kind defaults to ScaledObject), optional fields intact', async () => {
    const res = await explain({ namespace: 'ns', name: 'orders' });
    expect(res).toEqual(traced);
  });

  it('says NOT_FOUND with the object named when nothing is traced', async () => {
    const err = await failure(explain({ kind: 'ScaledJob', namespace: 'ns', name: 'orders' }));
    expect(err.code).toBe(status.NOT_FOUND);
    expect(err.details).toBe('no decisions recorded for ScaledJob ns/orders (not found, not yet polled, or paused)');
  });

  it('rejects a bad kind and a missing name with INVALID_ARGUMENT', async () => {
    expect((await failure(explain({ kind: 'Deployment', namespace: 'ns', name: 'x' }))).details).toBe(
      'kind must be ScaledObject or ScaledJob, got "Deployment"',
    );
    expect((await failure(explain({ namespace: 'ns' }))).code).toBe(status.INVALID_ARGUMENT);
  });

  it('lists traced objects', async () => {
    const res = await new Promise((resolve, reject) =>
      client.listTraced({}, (err, r) => (err ? reject(err) : resolve(r))),
    );
    expect(res).toEqual({ objects: ['ScaledObject/ns/orders'] });
  });
});
