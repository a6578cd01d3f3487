/** `nats-jetstream` against a real nats-server 2.9 with JetStream and its monitoring endpoint. */
import type { Scaler } from '@keda-ts/scaler-sdk';
import { scalers, sharedAgentPool, type ScalerContext } from '@keda-ts/scalers';
import { natsServer, startTestServer, TestNatsClient, type RunningTestServer } from '../../src/servers';

const TIMEOUT_MS = 2000;
const ctx: ScalerContext = {
  httpTimeoutMs: TIMEOUT_MS,
  now: () => new Date(),
  kubernetes: { countPods: () => Promise.reject(new Error('not used')) },
};

const opened: Scaler[] = [];
function build(metadata: Record<string, string>, authParams: Record<string, string> = {}): Scaler {
  const scaler = scalers.build(
    { triggerIndex: 0, triggerType: 'nats-jetstream', metadata, resolvedEnv: {}, authParams, scalableObject: { kind: 'ScaledObject', namespace: 'ns', name: 'so' } },
    ctx,
  );
  opened.push(scaler);
  return scaler;
}
afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

async function read(scaler: Scaler): Promise<{ value: number; isActive: boolean; name: string }> {
  const name = scaler.getMetricSpecForScaling()[0].external?.metric.name ?? '';
  const r = await scaler.getMetricsAndActivity(name);
  return { value: r.metrics[0].value, isActive: r.isActive, name: r.metrics[0].metricName };
}

describe('nats-jetstream', () => {
  let server: RunningTestServer<'client' | 'monitor'>;
  let nats: TestNatsClient;
  let endpoint: string;
  beforeAll(async () => {
    server = await startTestServer(natsServer());
    endpoint = `127.0.0.1:${server.ports.monitor}`;
    nats = await TestNatsClient.connect(server.ports.client);
    await nats.jsApi('STREAM.CREATE.ORDERS', { name: 'ORDERS', subjects: ['orders.>'], storage: 'memory' });
    await nats.jsApi('CONSUMER.DURABLE.CREATE.ORDERS.worker', {
      stream_name: 'ORDERS',
      config: { durable_name: 'worker', ack_policy: 'explicit', deliver_policy: 'all', ack_wait: 60_000_000_000 },
    });
  });
  afterAll(async () => {
    nats?.close();
    await server?.stop();
  });

  const publish = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const [ack] = await nats.request(`orders.new`, JSON.stringify({ i }));
      expect(JSON.parse(ack.data)).toMatchObject({ stream: 'ORDERS' });
    }
  };

  it('lag = pending + unacknowledged: inactive -> active -> N', async () => {
    const scaler = build({ account: '$G', stream: 'ORDERS', consumer: 'worker', natsServerMonitoringEndpoint: endpoint, lagThreshold: '4', activationLagThreshold: '1' });
    expect(scaler.getMetricSpecForScaling()).toEqual([
      { type: 'External', external: { metric: { name: 's0-nats-jetstream-ORDERS' }, target: { type: 'AverageValue', averageValue: '4' } } },
    ]);
    expect(await read(scaler)).toEqual({ value: 0, isActive: false, name: 's0-nats-jetstream-ORDERS' });
    await publish(1);
    expect(await read(scaler)).toMatchObject({ value: 1, isActive: false });
    await publish(2);
    expect(await read(scaler)).toMatchObject({ value: 3, isActive: true });
    // Two delivered but not acknowledged still count; acknowledging one removes it.
    const delivered = await nats.request('$JS.API.CONSUMER.MSG.NEXT.ORDERS.worker', JSON.stringify({ batch: 2 }), { count: 2 });
    expect(delivered).toHaveLength(2);
    expect(await read(scaler)).toMatchObject({ value: 3, isActive: true });
    nats.publish(delivered[0].reply ?? '', '+ACK');
    await nats.flush();
    expect(await read(scaler)).toMatchObject({ value: 2 });
    await publish(10);
    expect(await read(scaler)).toMatchObject({ value: 12, isActive: true });
  });

  it('account and endpoint from authParams, accountID alias', async () => {
    const scaler = build({ accountID: '$G', stream: 'ORDERS', consumer: 'worker' }, { natsServerMonitoringEndpoint: endpoint });
    expect((await read(scaler)).value).toBe(12);
  });

  it('names what is missing: account, stream or consumer', async () => {
    const base = { account: '$G', stream: 'ORDERS', consumer: 'worker', natsServerMonitoringEndpoint: endpoint };
    await expect(read(build({ ...base, consumer: 'nobody' }))).rejects.toThrow(/GET http:\/\/127\.0\.0\.1:\d+\/jsz: consumer "nobody" not found on stream "ORDERS"/);
    await expect(read(build({ ...base, stream: 'NOPE' }))).rejects.toThrow(/stream "NOPE" not found in account "\$G"/);
    await expect(read(build({ ...base, account: 'ACME' }))).rejects.toThrow(/account "ACME" not found/);
  });

  it('shares one keep-alive agent per endpoint', async () => {
    const before = sharedAgentPool.size;
    const a = build({ account: '$G', stream: 'ORDERS', consumer: 'worker', natsServerMonitoringEndpoint: endpoint });
    const b = build({ account: '$G', stream: 'ORDERS', consumer: 'worker', natsServerMonitoringEndpoint: endpoint, lagThreshold: '1' });
    await Promise.all([read(a), read(b)]);
    expect(sharedAgentPool.size).toBe(before + 1);
  });

  it('fails within the timeout while the server is down, and reads again after', async () => {
    const scaler = build({ account: '$G', stream: 'ORDERS', consumer: 'worker', natsServerMonitoringEndpoint: endpoint });
    await server.pause();
    try {
      const started = Date.now();
      await expect(read(scaler)).rejects.toThrow(/error requesting the NATS monitoring endpoint: GET http:\/\/127\.0\.0\.1:\d+\/jsz: /);
      expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 1000);
    } finally {
      await server.resume();
    }
    // Memory storage: the stream is gone after the restart, which the scaler names.
    await expect(read(scaler)).rejects.toThrow(/not found/);
  });
});
