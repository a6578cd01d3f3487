/**
 * The egress policy applied by every scaler client, tested with sockets on loopback only: a
 * listener on 127.0.0.2 (or on 127.0.0.1 reached as `localhost`) whose address the policy denies
 * must see no connection at all, and the poll's error must name the policy. Nothing here connects
 * outside 127.0.0.0/8 and ::1.
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import { request } from 'node:http';
import { scalers } from '../all';
import { context, input } from '../../test/fixtures';
import type { Scaler } from '@keda-ts/scaler-sdk';
import { EgressHttpAgent, EgressSocket } from './egress-connect';
import { EgressPolicy } from './egress-policy';

const REFUSED = "refused by the controller's egress policy";

interface Listener {
  server: Server;
  port: number;
  connections: number;
}

/** A TCP listener that counts connections and closes them without a byte. */
async function listen(host: string): Promise<Listener> {
  const l = { connections: 0 } as Listener;
  l.server = createServer((socket) => {
    l.connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    l.server.once('error', reject);
    l.server.listen(0, host, () => resolve());
  });
  l.port = (l.server.address() as AddressInfo).port;
  return l;
}

const close = (l: Listener) => new Promise<void>((resolve) => l.server.close(() => resolve()));

/** Trigger metadata and auth per scaler type, pointed at `host:port`. */
function trigger(type: string, host: string, port: number): { metadata: Record<string, string>; authParams: Record<string, string> } {
  const hp = `${host}:${port}`;
  const descriptor = scalers.descriptor(type === 'rabbitmq-http' ? 'rabbitmq' : type)!;
  const example = { ...(descriptor.example ?? {}) } as Record<string, string>;
  const azureKey = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
  switch (type) {
    case 'metrics-api':
      return { metadata: { url: `http://${hp}/value`, valueLocation: 'v', targetValue: '1' }, authParams: {} };
    case 'prometheus':
      return { metadata: { serverAddress: `http://${hp}`, query: 'up', threshold: '1' }, authParams: {} };
    case 'nats-jetstream':
      return { metadata: { ...example, natsServerMonitoringEndpoint: hp }, authParams: {} };
    case 'postgresql':
      return { metadata: { ...example, host, port: String(port), sslmode: 'disable' }, authParams: { password: 'pw' } };
    case 'mysql':
      return { metadata: { ...example, host, port: String(port) }, authParams: { password: 'pw' } };
    case 'mongodb':
      return { metadata: { ...example, host, port: String(port) }, authParams: { password: 'pw' } };
    case 'redis':
      return { metadata: { ...example, address: hp }, authParams: {} };
    case 'redis-cluster':
      return { metadata: { ...example, addresses: hp }, authParams: {} };
    case 'redis-sentinel':
      return { metadata: { ...example, addresses: hp }, authParams: {} };
    case 'kafka':
      return { metadata: { ...example, bootstrapServers: hp }, authParams: {} };
    case 'rabbitmq':
      return { metadata: { ...example }, authParams: { host: `amqp://user:s3cret-pw@${hp}/` } };
    case 'rabbitmq-http':
      return { metadata: { ...example, protocol: 'http' }, authParams: { host: `http://user:s3cret-pw@${hp}/` } };
    case 'external':
      return { metadata: { scalerAddress: hp }, authParams: {} };
    case 'aws-sqs-queue':
      return {
        metadata: { ...example, queueURL: `http://${hp}/000000000000/orders`, awsEndpoint: `http://${hp}`, awsRegion: 'us-east-1' },
        authParams: { awsAccessKeyID: 'AKIAEXAMPLE', awsSecretAccessKey: 'secret' },
      };
    case 'azure-queue':
      return {
        metadata: { ...example },
        authParams: { connection: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${azureKey};QueueEndpoint=http://${hp}/devstoreaccount1;` },
      };
    case 'azure-blob':
      return {
        metadata: { ...example },
        authParams: { connection: `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${azureKey};BlobEndpoint=http://${hp}/devstoreaccount1;` },
      };
    default:
      throw new Error(`no trigger for ${type}`);
  }
}

/** Builds the scaler, runs prepare (external) and one poll; returns the error message. */
async function pollError(type: string, host: string, port: number, egress: EgressPolicy): Promise<string> {
  const triggerType = type === 'rabbitmq-http' ? 'rabbitmq' : type;
  const { metadata, authParams } = trigger(type, host, port);
  let scaler: Scaler | undefined;
  try {
    scaler = scalers.build(input({ triggerType, metadata, authParams }), context({ httpTimeoutMs: 1500, egress }));
    await scaler.prepare?.();
    const name = scaler.getMetricSpecForScaling()[0].external!.metric.name;
    await scaler.getMetricsAndActivity(name);
    return '(no error)';
  } catch (err) {
    return (err as Error).message;
  } finally {
    await scaler?.close();
  }
}

const TYPES = [
  'metrics-api',
  'prometheus',
  'nats-jetstream',
  'postgresql',
  'mysql',
  'mongodb',
  'redis',
  'redis-cluster',
  'redis-sentinel',
  'kafka',
  'rabbitmq',
  'rabbitmq-http',
  'external',
  'aws-sqs-queue',
  'azure-queue',
  'azure-blob',
];

describe('an IP-literal host the policy denies (127.0.0.2/32)', () => {
  const egress = EgressPolicy.fromSettings({ denyCidrs: '127.0.0.2/32' });
  let listener: Listener;
  beforeAll(async () => {
    listener = await listen('127.0.0.2');
  });
  afterAll(() => close(listener));

  it.each(TYPES)('%s: the poll fails naming the policy and the listener sees no connection', async (type) => {
    const message = await pollError(type, '127.0.0.2', listener.port, egress);
    expect(message).toContain(REFUSED);
    expect(message).toContain('127.0.0.2 is in the deny list (--scaler-egress-deny-cidrs / KEDA_TS_SCALER_EGRESS_DENY_CIDRS)');
    expect(listener.connections).toBe(0);
  });
});

describe('a host name that resolves to denied addresses (localhost, 127.0.0.1 and ::1 denied)', () => {
  const egress = EgressPolicy.fromSettings({ denyCidrs: '127.0.0.1/32,::1/128' });
  let listener: Listener;
  beforeAll(async () => {
    listener = await listen('127.0.0.1');
  });
  afterAll(() => close(listener));

  // Through the policy's lookup; external and the redis sentinels are resolved and checked before use.
  it.each(TYPES)('%s: refused after DNS, no connection', async (type) => {
    const message = await pollError(type, 'localhost', listener.port, egress);
    expect(message).toContain(REFUSED);
    expect(message).toMatch(/connection to localhost \((127\.0\.0\.1|::1)\)/);
    expect(listener.connections).toBe(0);
  }, 20_000);
});

describe('an allowed address', () => {
  it('metrics-api reaches a listener the policy allows (the tests above are not vacuous)', async () => {
    const egress = EgressPolicy.fromSettings({ denyCidrs: '127.0.0.2/32' });
    const listener = await listen('127.0.0.1');
    try {
      const message = await pollError('metrics-api', '127.0.0.1', listener.port, egress);
      expect(message).not.toContain(REFUSED);
      expect(listener.connections).toBeGreaterThan(0);
    } finally {
      await close(listener);
    }
  });

  it('kafka reaches a listener the policy allows (its connection hook lets allowed brokers through)', async () => {
    const egress = EgressPolicy.fromSettings({ denyCidrs: '127.0.0.2/32' });
    const listener = await listen('127.0.0.1');
    try {
      const message = await pollError('kafka', 'localhost', listener.port, egress);
      expect(message).not.toContain(REFUSED);
      expect(listener.connections).toBeGreaterThan(0);
    } finally {
      await close(listener);
    }
  });

  it('postgresql reaches a listener the policy allows', async () => {
    const egress = EgressPolicy.fromSettings({ denyCidrs: '127.0.0.2/32' });
    const listener = await listen('127.0.0.1');
    try {
      const message = await pollError('postgresql', '127.0.0.1', listener.port, egress);
      expect(message).not.toContain(REFUSED);
      expect(listener.connections).toBeGreaterThan(0);
    } finally {
      await close(listener);
    }
  });
});

describe('building blocks', () => {
  it('EgressHttpAgent refuses a denied IP literal before connecting', async () => {
    const listener = await listen('127.0.0.2');
    const agent = new EgressHttpAgent(EgressPolicy.fromSettings({ denyCidrs: '127.0.0.2' }));
    try {
      const err = await new Promise<Error>((resolve) => {
        const req = request({ host: '127.0.0.2', port: listener.port, agent }, () => resolve(new Error('answered')));
        req.on('error', resolve);
        req.end();
      });
      expect(err.message).toContain(REFUSED);
      expect(listener.connections).toBe(0);
    } finally {
      agent.destroy();
      await close(listener);
    }
  });

  it('EgressSocket refuses Unix socket paths', async () => {
    const socket = new EgressSocket(new EgressPolicy());
    const err = await new Promise<Error>((resolve) => {
      socket.on('error', resolve);
      socket.connect('/var/run/postgresql/.s.PGSQL.5432');
    });
    expect(err.message).toBe("connection to a Unix domain socket refused by the controller's egress policy: scalers connect over TCP only");
  });

  it('the default policy refuses metadata names without resolving them', async () => {
    const policy = new EgressPolicy();
    const err = await new Promise<Error | null>((resolve) => policy.lookup('metadata.google.internal', {}, (e) => resolve(e)));
    expect(err?.message).toBe(
      "connection to metadata.google.internal refused by the controller's egress policy: metadata.google.internal is a cloud metadata host name, always refused (no setting lifts this)",
    );
    await expect(policy.resolve('169.254.169.254')).rejects.toThrow(REFUSED);
  });
});
