import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import {
  ChannelCredentials,
  Metadata,
  credentials,
  loadPackageDefinition,
  makeGenericClientConstructor,
  status,
  type Client,
  type ServiceClientConstructor,
  type ServiceError,
} from '@grpc/grpc-js';
import { service as standardHealthService } from 'grpc-health-check';
import { createMetricsClient, type MetricsClient } from './client';
import { loadEmbeddedPackageDefinition } from '@keda-ts/proto';
import {
  MetricsServiceError,
  metricEncounteredError,
  noMatchingMetricsError,
  scaledObjectNotFoundError,
} from './errors';
import {
  MetricsServiceClient as GeneratedClient,
  type ExternalMetricValueList,
} from '@keda-ts/proto/metrics';
import { createMetricsServer, type MetricsServer } from './server';
import { createCa, createLeaf, writeCertDir, type Pem } from '../test/pki';
import { capturingLogger } from '../test/logger';
import type { ExternalMetricValue, MetricRef, MetricsProvider } from './types';

const NOW = new Date('2026-03-04T05:06:07.890Z');

/** Answers by metric name: `s0-ok` → 1.5, `s0-slow` → after 300 ms, `s0-hang` never, others fail. */
class FakeProvider implements MetricsProvider {
  aborted: string[] = [];
  async getMetrics(ref: MetricRef, signal?: AbortSignal): Promise<ExternalMetricValue[]> {
    if (ref.name === 'missing') throw scaledObjectNotFoundError(ref.name);
    switch (ref.metricName) {
      case 's0-ok':
        return [
          {
            metricName: ref.metricName,
            metricLabels: { scaledobject: ref.name },
            timestamp: NOW,
            value: 1.5,
          },
        ];
      case 's0-ten':
        return [{ metricName: ref.metricName, timestamp: NOW, value: 10 }];
      case 's0-broken':
        throw metricEncounteredError(ref.metricName, new Error('connection refused'));
      case 's0-none':
        throw noMatchingMetricsError(ref.metricName);
      case 's0-nan':
        return [{ metricName: ref.metricName, timestamp: NOW, value: Number.NaN }];
      case 's0-slow':
        await new Promise((r) => setTimeout(r, 300));
        return [{ metricName: ref.metricName, timestamp: NOW, value: 2 }];
      case 's0-hang':
        return new Promise((_resolve, reject) =>
          signal?.addEventListener('abort', () => {
            this.aborted.push(ref.metricName);
            reject(new Error('aborted'));
          }),
        );
      default:
        throw new Error(`boom for ${ref.metricName}`);
    }
  }
}

const ref = (metricName: string, name = 'so'): MetricRef => ({ name, namespace: 'ns', metricName });

let dir: string;
let ca: Pem;
let serverLeaf: Pem;
let clientLeaf: Pem;
let otherCa: Pem;
let otherClientLeaf: Pem;
const provider = new FakeProvider();
const logger = capturingLogger();
let server: MetricsServer;
let client: MetricsClient;
const extra: Array<{ close(): unknown }> = [];

function serverDir() {
  return join(dir, 'server-certs');
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'metrics-service-spec-'));
  ca = createCa(join(dir, 'pki'), 'KEDA');
  serverLeaf = createLeaf(join(dir, 'pki'), ca, 'keda-operator');
  clientLeaf = createLeaf(join(dir, 'pki'), ca, 'keda-metrics-adapter');
  otherCa = createCa(join(dir, 'pki'), 'OTHER');
  otherClientLeaf = createLeaf(join(dir, 'pki'), otherCa, 'intruder');
  writeCertDir(serverDir(), ca, serverLeaf);
  writeCertDir(join(dir, 'client-certs'), ca, clientLeaf);
  server = createMetricsServer({
    provider,
    tls: { certDir: serverDir(), pollIntervalMs: 0 },
    bindAddress: '127.0.0.1',
    port: 0,
    logger,
    drainTimeoutMs: 1000,
  });
  await server.start();
  // authority: the TLS server name and :authority (the certificate has localhost, not the IP as a DNS name).
  client = createMetricsClient({
    address: server.address,
    tls: { certDir: join(dir, 'client-certs') },
    authority: 'localhost',
    logger,
  });
});

afterAll(async () => {
  for (const c of extra) c.close();
  await client?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A raw generated client with fixed credentials (no retries, no wait-for-ready). */
function rawClient(creds: ChannelCredentials, address = server.address): GeneratedClient {
  const c = new GeneratedClient(address, creds);
  extra.push(c);
  return c;
}

function rawGetMetrics(c: GeneratedClient, metricName: string): Promise<ExternalMetricValueList> {
  return new Promise((resolve, reject) =>
    c.getMetrics(
      { name: 'so', namespace: 'ns', metricName },
      new Metadata(),
      { deadline: Date.now() + 3000 },
      (err, res) => (err ? reject(err) : resolve(res)),
    ),
  );
}

async function expectRejected(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('expected the call to fail');
}

describe('GetMetrics over mutual TLS', () => {
  it('round-trips values: milli quantity, whole-second timestamp, labels', async () => {
    await expect(client.getMetrics(ref('s0-ok'))).resolves.toEqual([
      {
        metricName: 's0-ok',
        metricLabels: { scaledobject: 'so' },
        timestamp: new Date('2026-03-04T05:06:07Z'),
        value: 1.5,
      },
    ]);
    expect(client.connectivityState()).toBe('READY');
    expect(client.isReady()).toBe(true);
  });

  it('puts KEDA wire values on the wire ("1500m", "10", nanos 0)', async () => {
    const c = rawClient(
      credentials.createSsl(Buffer.from(ca.cert), Buffer.from(clientLeaf.key), Buffer.from(clientLeaf.cert)),
    );
    const ok = await rawGetMetrics(c, 's0-ok');
    expect(ok.items[0].value).toEqual({ string: '1500m' });
    expect(ok.items[0].timestamp).toEqual({ seconds: Math.floor(NOW.getTime() / 1000), nanos: 0 });
    expect((await rawGetMetrics(c, 's0-ten')).items[0].value).toEqual({ string: '10' });
  });

  it.each([
    [ref('s0-x', 'missing'), status.NOT_FOUND, 'scaledobjects.keda.sh "missing" not found'],
    [ref('s0-broken'), status.UNKNOWN, 'metric:s0-broken encountered error'],
    [ref('s0-none'), status.NOT_FOUND, 'no matching metrics found for s0-none'],
    [ref('s0-other'), status.UNKNOWN, 'boom for s0-other'],
    [ref('s0-nan'), status.INTERNAL, 'metric:s0-nan encountered error'],
  ])('maps provider errors to gRPC status (%#)', async (r, code, message) => {
    const err = await expectRejected(client.getMetrics(r));
    expect(err).toBeInstanceOf(MetricsServiceError);
    expect({ code: (err as unknown as MetricsServiceError).code, message: err.message }).toEqual({
      code,
      message,
    });
  });

  it('aborts the provider when the caller gives up', async () => {
    const err = await expectRejected(client.getMetrics(ref('s0-hang'), { timeoutMs: 200 }));
    expect((err as unknown as MetricsServiceError).code).toBe(status.DEADLINE_EXCEEDED);
    await new Promise((r) => setTimeout(r, 100));
    expect(provider.aborted).toContain('s0-hang');
  });
});

describe('client authentication', () => {
  it('refuses a client without a certificate', async () => {
    const err = await expectRejected(
      rawGetMetrics(rawClient(credentials.createSsl(Buffer.from(ca.cert))), 's0-ok'),
    );
    expect(err.code).toBe(status.UNAVAILABLE);
  });

  it('refuses a client whose certificate comes from another CA', async () => {
    const creds = credentials.createSsl(
      Buffer.from(ca.cert),
      Buffer.from(otherClientLeaf.key),
      Buffer.from(otherClientLeaf.cert),
    );
    const err = await expectRejected(rawGetMetrics(rawClient(creds), 's0-ok'));
    expect(err.code).toBe(status.UNAVAILABLE);
  });

  it('refuses TLS 1.2 (minimum TLS 1.3 by default)', async () => {
    const [host, port] = [server.address.split(':')[0], server.port];
    const outcome = await new Promise<string>((resolve) => {
      const s = tlsConnect(
        {
          host,
          port,
          ca: ca.cert,
          cert: clientLeaf.cert,
          key: clientLeaf.key,
          maxVersion: 'TLSv1.2',
          ALPNProtocols: ['h2'],
          servername: 'localhost',
        },
        () => {
          resolve(`connected with ${s.getProtocol()}`);
          s.destroy();
        },
      );
      s.on('error', (e) => resolve(`error: ${e.message}`));
    });
    expect(outcome).toMatch(/^error: .*(protocol version|alert)/i);
  });
});

describe('health and reflection', () => {
  it('answers grpc.health.v1.Health/Check with SERVING (checked with grpc-health-check’s definition)', async () => {
    const Health = makeGenericClientConstructor(
      standardHealthService,
      'Health',
    ) as unknown as ServiceClientConstructor;
    const c = new Health(
      server.address,
      credentials.createSsl(Buffer.from(ca.cert), Buffer.from(clientLeaf.key), Buffer.from(clientLeaf.cert)),
    ) as unknown as Client & {
      Check(req: object, cb: (err: ServiceError | null, res: { status: string }) => void): void;
    };
    extra.push(c);
    const check = (service: string) =>
      new Promise<string>((resolve, reject) =>
        c.Check({ service }, (err, res) => (err ? reject(err) : resolve(res.status))),
      );
    expect(await check('')).toBe('SERVING');
    expect(await check('api.MetricsService')).toBe('SERVING');
    await expect(check('nope')).rejects.toMatchObject({ code: status.NOT_FOUND });
  });

  it('reports NOT_SERVING per service to Check and Watch, and stop() ends the Watch streams instead of draining them', async () => {
    const own = createMetricsServer({
      provider,
      tls: { certDir: serverDir(), pollIntervalMs: 0 },
      bindAddress: '127.0.0.1',
      port: 0,
      logger,
      drainTimeoutMs: 5000,
    });
    await own.start();
    const Health = makeGenericClientConstructor(standardHealthService, 'Health') as unknown as ServiceClientConstructor;
    const c = new Health(
      own.address,
      credentials.createSsl(Buffer.from(ca.cert), Buffer.from(clientLeaf.key), Buffer.from(clientLeaf.cert)),
    ) as unknown as Client & {
      Check(req: object, cb: (err: ServiceError | null, res: { status: string }) => void): void;
      Watch(req: object): NodeJS.ReadableStream;
    };
    extra.push(c);
    const check = (service: string) =>
      new Promise<string>((resolve, reject) =>
        c.Check({ service }, (err, res) => (err ? reject(err) : resolve(res.status))),
      );
    const seen: string[] = [];
    const watch = c.Watch({ service: 'api.MetricsService' });
    const ended = new Promise<void>((resolve) => {
      watch.on('end', () => resolve());
      watch.on('error', () => resolve());
    });
    const next = () => new Promise<void>((resolve) => watch.once('data', () => resolve()));
    watch.on('data', (res: { status: string }) => seen.push(res.status));
    await next();
    own.health.setStatus('api.MetricsService', 'NOT_SERVING');
    await next();
    expect(await check('api.MetricsService')).toBe('NOT_SERVING');
    expect(await check('')).toBe('SERVING');
    const started = Date.now();
    await own.stop();
    await ended;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(seen.slice(0, 2)).toEqual(['SERVING', 'NOT_SERVING']);
  });

  it('lists (without the unimplemented RawMetricsService) and describes api.MetricsService through server reflection v1', async () => {
    const pkg = loadPackageDefinition(
      loadEmbeddedPackageDefinition(['reflection'], {
        longs: String,
        enums: String,
        bytes: Array,
        defaults: true,
        oneofs: true,
      }),
    ) as unknown as {
      grpc: { reflection: { v1: { ServerReflection: ServiceClientConstructor } } };
    };
    const c = new pkg.grpc.reflection.v1.ServerReflection(
      server.address,
      credentials.createSsl(Buffer.from(ca.cert), Buffer.from(clientLeaf.key), Buffer.from(clientLeaf.cert)),
    ) as unknown as Client & {
      ServerReflectionInfo(): NodeJS.ReadWriteStream & { write(m: object): boolean; end(): void };
    };
    extra.push(c);
    const ask = (req: object) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const stream = c.ServerReflectionInfo();
        stream.on('data', (res: Record<string, unknown>) => {
          resolve(res);
          stream.end();
        });
        stream.on('error', reject);
        stream.write(req);
      });
    // Loaded from the FileDescriptorSet, so the client's messages use the proto (snake_case) names.
    const listed = (await ask({ list_services: '*' })) as {
      list_services_response: { service: Array<{ name: string }> };
    };
    const names = listed.list_services_response.service.map((s) => s.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'api.MetricsService',
        'grpc.health.v1.Health',
        'grpc.reflection.v1.ServerReflection',
      ]),
    );
    expect(names).not.toContain('api.RawMetricsService');
    const described = (await ask({ file_containing_symbol: 'api.MetricsService' })) as {
      file_descriptor_response: { file_descriptor_proto: number[][] };
    };
    const text = described.file_descriptor_response.file_descriptor_proto
      .map((b) => Buffer.from(b).toString('latin1'))
      .join('\n');
    expect(text).toContain('GetMetrics');
    // The file of the service declares its import, so clients such as grpcurl can resolve Timestamp.
    const files = described.file_descriptor_response.file_descriptor_proto.map((b) =>
      Buffer.from(b).toString('latin1'),
    );
    expect(files.find((f) => f.includes('metrics/metrics.proto'))).toContain(
      'google/protobuf/timestamp.proto',
    );
    expect(text).toContain('ScaledObjectRef');
  });
});

async function peerCertificate(certDir: Pem, clientPem: Pem): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect(
      {
        host: '127.0.0.1',
        port: server.port,
        ca: certDir.cert,
        cert: clientPem.cert,
        key: clientPem.key,
        ALPNProtocols: ['h2'],
        servername: 'localhost',
      },
      () => {
        const cert = s.getPeerCertificate();
        s.destroy();
        resolve(cert);
      },
    );
    s.on('error', reject);
  });
}

describe('certificate reload (M-25)', () => {
  it('serves a swapped ..data without a restart: new connections use the new CA and key pair', async () => {
    expect((await peerCertificate(ca, clientLeaf)).subject.CN).toBe('keda-operator');
    const rotatedCa = createCa(join(dir, 'pki'), 'KEDA-ROTATED');
    const rotatedServer = createLeaf(join(dir, 'pki'), rotatedCa, 'keda-operator-rotated');
    const rotatedClient = createLeaf(join(dir, 'pki'), rotatedCa, 'keda-metrics-adapter');
    writeCertDir(serverDir(), rotatedCa, rotatedServer);

    // The directory watch (debounced) applies it; no call to reloadCertificates().
    const deadline = Date.now() + 5000;
    let cn = '';
    while (Date.now() < deadline) {
      cn = await peerCertificate(rotatedCa, rotatedClient).then(
        (c) => String(c.subject.CN ?? ''),
        () => '',
      );
      if (cn === 'keda-operator-rotated') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(cn).toBe('keda-operator-rotated');
    expect(logger.lines.some((l) => l.msg === 'certificates reloaded')).toBe(true);

    // A client of the old CA is refused on a new connection; a client of the new CA gets metrics.
    const oldCreds = credentials.createSsl(
      Buffer.from(ca.cert),
      Buffer.from(clientLeaf.key),
      Buffer.from(clientLeaf.cert),
    );
    expect((await expectRejected(rawGetMetrics(rawClient(oldCreds), 's0-ok'))).code).toBe(status.UNAVAILABLE);
    const newCreds = credentials.createSsl(
      Buffer.from(rotatedCa.cert),
      Buffer.from(rotatedClient.key),
      Buffer.from(rotatedClient.cert),
    );
    expect((await rawGetMetrics(rawClient(newCreds), 's0-ok')).items).toHaveLength(1);

    // The metrics client follows its own cert dir as well.
    writeCertDir(join(dir, 'client-certs'), rotatedCa, rotatedClient);
    await new Promise((r) => setTimeout(r, 500));
    const fresh = createMetricsClient({
      address: server.address,
      tls: { certDir: join(dir, 'client-certs') },
      logger,
    });
    extra.push({ close: () => fresh.close() });
    await expect(fresh.getMetrics(ref('s0-ten'))).resolves.toHaveLength(1);

    // Back to the original material for the other tests.
    writeCertDir(serverDir(), ca, serverLeaf);
    writeCertDir(join(dir, 'client-certs'), ca, clientLeaf);
    await server.reloadCertificates();
  });

  it('keeps the last good material when the directory holds a mismatched key', async () => {
    const stray = createLeaf(join(dir, 'pki'), ca, 'stray');
    writeCertDir(serverDir(), ca, { cert: serverLeaf.cert, key: stray.key });
    await server.reloadCertificates();
    expect(
      logger.lines.some((l) => l.msg === 'could not reload the certificates; keeping the current ones'),
    ).toBe(true);
    expect((await peerCertificate(ca, clientLeaf)).subject.CN).toBe('keda-operator');
    writeCertDir(serverDir(), ca, serverLeaf);
    await server.reloadCertificates();
  });
});

describe('lifecycle', () => {
  it('waitForReady fails with KEDA’s message when nothing listens', async () => {
    const c = createMetricsClient({
      address: '127.0.0.1:1',
      tls: { certDir: join(dir, 'client-certs') },
      logger,
    });
    try {
      await expect(c.waitForReady(Date.now() + 300)).rejects.toThrow(
        'timeout while waiting to establish gRPC connection to KEDA Metrics Service server',
      );
      expect(c.isReady()).toBe(false);
    } finally {
      await c.close();
    }
    expect(c.connectivityState()).toBe('SHUTDOWN');
  });

  it('drains an in-flight call on stop, and the client reconnects to a restarted server', async () => {
    const port = server.port;
    await client.waitForReady(Date.now() + 3000);
    const inFlight = client.getMetrics(ref('s0-slow'));
    await new Promise((r) => setTimeout(r, 50));
    await server.stop();
    await expect(inFlight).resolves.toEqual([
      { metricName: 's0-slow', timestamp: new Date('2026-03-04T05:06:07Z'), value: 2 },
    ]);

    server = createMetricsServer({
      provider,
      tls: { certDir: serverDir(), pollIntervalMs: 0 },
      bindAddress: '127.0.0.1',
      port,
      logger,
    });
    await server.start();
    await expect(client.getMetrics(ref('s0-ok'), { timeoutMs: 10_000 })).resolves.toHaveLength(1);
  });

  it('cancels calls that outlive the drain timeout', async () => {
    const port = server.port;
    await server.stop();
    server = createMetricsServer({
      provider,
      tls: { certDir: serverDir(), pollIntervalMs: 0 },
      bindAddress: '127.0.0.1',
      port,
      logger,
      drainTimeoutMs: 200,
    });
    await server.start();
    provider.aborted = [];
    const hanging = expectRejected(client.getMetrics(ref('s0-hang'), { timeoutMs: 10_000 }));
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    await server.stop();
    expect(Date.now() - started).toBeLessThan(2000);
    expect((await hanging).code).not.toBe(status.OK);
    expect(provider.aborted).toContain('s0-hang');
  });
});
