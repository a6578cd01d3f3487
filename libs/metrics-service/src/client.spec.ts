import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { createMetricsClient, type MetricsClient } from './client';
import {
  CONNECTION_TIMEOUT_MESSAGE,
  MetricsServiceError,
  metricEncounteredError,
  noMatchingMetricsError,
  scaledObjectNotFoundError,
} from './errors';
import { createMetricsServer, type MetricsServer } from './server';
import { capturingLogger } from '../test/logger';
import { createCa, createLeaf, writeCertDir, type Pem } from '../test/pki';
import type { ExternalMetricValue, MetricRef, MetricsProvider } from './types';

const NOW = new Date('2026-03-04T05:06:07Z');

/** Answers by metric name: `ok` → 1.5, `slow` after 400 ms, `hang` never; others pick an error. */
const provider: MetricsProvider = {
  async getMetrics(ref: MetricRef, signal?: AbortSignal): Promise<ExternalMetricValue[]> {
    switch (ref.metricName) {
      case 'ok':
        return [{ metricName: 'ok', metricLabels: { so: ref.name }, timestamp: NOW, value: 1.5 }];
      case 'slow':
        await new Promise((r) => setTimeout(r, 400));
        return [{ metricName: 'slow', timestamp: NOW, value: 2 }];
      case 'hang':
        return new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted'))));
      case 'missing-so':
        throw scaledObjectNotFoundError(ref.name);
      case 'none':
        throw noMatchingMetricsError(ref.metricName);
      case 'broken':
        throw metricEncounteredError(ref.metricName, new Error('connection refused'));
      case 'nan':
        return [{ metricName: 'nan', timestamp: NOW, value: Number.NaN }];
      default:
        throw new Error(`boom for ${ref.metricName}`);
    }
  },
};

const ref = (metricName: string): MetricRef => ({ name: 'so', namespace: 'ns', metricName });

async function failure(p: Promise<unknown>): Promise<MetricsServiceError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(MetricsServiceError);
    return err as MetricsServiceError;
  }
  throw new Error('expected a failure');
}

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The client (grpc-js) against the controller's grpc-js server on 127.0.0.1, with real mutual TLS. */
describe('metrics client', () => {
  let dir: string;
  let ca: Pem;
  let serverLeaf: Pem;
  let clientLeaf: Pem;
  const logger = capturingLogger();
  const servers: MetricsServer[] = [];
  const clients: MetricsClient[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'metrics-client-spec-'));
    ca = createCa(join(dir, 'pki'), 'KEDA');
    serverLeaf = createLeaf(join(dir, 'pki'), ca, 'keda-operator');
    clientLeaf = createLeaf(join(dir, 'pki'), ca, 'keda-metrics-adapter');
    writeCertDir(join(dir, 'client-certs'), ca, clientLeaf);
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function startServer(port = 0, material: { ca: Pem; leaf: Pem } = { ca, leaf: serverLeaf }): Promise<MetricsServer> {
    const server = createMetricsServer({
      provider,
      tls: { ca: material.ca.cert, cert: material.leaf.cert, key: material.leaf.key },
      bindAddress: '127.0.0.1',
      port,
      logger,
      drainTimeoutMs: 500,
      reflection: false,
    });
    await server.start();
    servers.push(server);
    return server;
  }

  async function stopServer(server: MetricsServer): Promise<void> {
    servers.splice(servers.indexOf(server), 1);
    await server.stop();
  }

  function client(address: string, extra: { timeoutMs?: number; certDir?: string; authority?: string | null } = {}): MetricsClient {
    const c = createMetricsClient({
      address,
      tls: { certDir: extra.certDir ?? join(dir, 'client-certs'), pollIntervalMs: 100 },
      // The certificates name localhost and 127.0.0.1; the override is the TLS server name and :authority.
      authority: extra.authority === null ? undefined : (extra.authority ?? 'localhost'),
      timeoutMs: extra.timeoutMs,
      logger,
    });
    clients.push(c);
    return c;
  }

  it('gets metrics over mutual TLS, and reports READY', async () => {
    const server = await startServer();
    const c = client(server.address);
    expect(c.connectivityState()).toBe('IDLE');
    await expect(c.getMetrics(ref('ok'))).resolves.toEqual([
      { metricName: 'ok', metricLabels: { so: 'so' }, timestamp: NOW, value: 1.5 },
    ]);
    expect(c.isReady()).toBe(true);
    expect(c.connectivityState()).toBe('READY');
    expect(logger.lines.some((l) => (l.obj as { state?: string }).state === 'READY')).toBe(true);
  });

  it('verifies the server by its IP address without an authority override', async () => {
    const server = await startServer();
    const c = client(server.address, { authority: null });
    await expect(c.getMetrics(ref('ok'))).resolves.toHaveLength(1);
  });

  it.each([
    ['missing-so', status.NOT_FOUND, 'scaledobjects.keda.sh "so" not found'],
    ['none', status.NOT_FOUND, 'no matching metrics found for none'],
    ['broken', status.UNKNOWN, 'metric:broken encountered error'],
    ['other', status.UNKNOWN, 'boom for other'],
    ['nan', status.INTERNAL, ''],
  ])('maps the server status of %s to a MetricsServiceError', async (metric, code, message) => {
    const server = await startServer();
    const err = await failure(client(server.address).getMetrics(ref(metric)));
    expect(err.code).toBe(code);
    expect(err.message).toContain(message);
  });

  it('ends a call at its deadline with DEADLINE_EXCEEDED', async () => {
    const server = await startServer();
    const c = client(server.address, { timeoutMs: 300 });
    const started = Date.now();
    const err = await failure(c.getMetrics(ref('hang')));
    expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(2000);
    // a per-call deadline overrides the client's
    expect((await failure(c.getMetrics(ref('slow'), { timeoutMs: 100 }))).code).toBe(status.DEADLINE_EXCEEDED);
  });

  it('cancels a call when the caller aborts', async () => {
    const server = await startServer();
    const c = client(server.address);
    const controller = new AbortController();
    const call = c.getMetrics(ref('hang'), { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    expect((await failure(call)).code).toBe(status.CANCELLED);
    controller.abort();
    expect((await failure(c.getMetrics(ref('ok'), { signal: controller.signal }))).code).toBe(status.CANCELLED);
  });

  it('waitForReady rejects with KEDA message when no server answers, and a call waits until its deadline', async () => {
    const server = await startServer();
    const address = server.address;
    await stopServer(server);
    const c = client(address, { timeoutMs: 500 });
    await expect(c.waitForReady(Date.now() + 300)).rejects.toThrow(CONNECTION_TIMEOUT_MESSAGE);
    expect((await failure(c.getMetrics(ref('ok')))).code).toBe(status.DEADLINE_EXCEEDED);
  });

  it('reconnects when the server goes away and comes back on the same address', async () => {
    const first = await startServer();
    const port = first.port;
    const c = client(first.address, { timeoutMs: 5000 });
    await expect(c.getMetrics(ref('ok'))).resolves.toHaveLength(1);
    await stopServer(first);
    await until(() => !c.isReady());
    // A call made while the server is down waits for it (wait for ready), within its deadline.
    const pending = c.getMetrics(ref('ok'));
    await new Promise((r) => setTimeout(r, 300));
    await startServer(port);
    await expect(pending).resolves.toHaveLength(1);
    expect(c.isReady()).toBe(true);
  }, 15_000);

  it('uses rotated certificates for new calls; calls in flight finish on the old connection', async () => {
    const certDir = join(dir, 'rotating-certs');
    writeCertDir(certDir, ca, clientLeaf);
    const oldServer = await startServer();
    const port = oldServer.address.slice(oldServer.address.lastIndexOf(':') + 1);
    const c = client(oldServer.address, { certDir, timeoutMs: 5000 });
    await expect(c.getMetrics(ref('ok'))).resolves.toHaveLength(1);

    const slow = c.getMetrics(ref('slow'));
    const newCa = createCa(join(dir, 'pki'), 'KEDA-NEW');
    const newServerLeaf = createLeaf(join(dir, 'pki'), newCa, 'keda-operator');
    const newClientLeaf = createLeaf(join(dir, 'pki'), newCa, 'keda-metrics-adapter');
    const changes = () => logger.lines.filter((l) => l.msg?.includes('certificates changed')).length;
    const before = changes();
    writeCertDir(certDir, newCa, newClientLeaf);
    await until(() => changes() > before);
    await expect(slow).resolves.toEqual([{ metricName: 'slow', timestamp: NOW, value: 2 }]);

    // Only the new CA is accepted now, on the same address.
    await stopServer(oldServer);
    await startServer(Number(port), { ca: newCa, leaf: newServerLeaf });
    await expect(c.getMetrics(ref('ok'))).resolves.toHaveLength(1);
    expect(c.isReady()).toBe(true);
  }, 20_000);

  it('fails calls once closed', async () => {
    const server = await startServer();
    const c = client(server.address);
    await c.getMetrics(ref('ok'));
    await c.close();
    expect(c.connectivityState()).toBe('SHUTDOWN');
    expect(c.isReady()).toBe(false);
    expect((await failure(c.getMetrics(ref('ok')))).code).toBe(status.UNAVAILABLE);
    await c.close();
  });
});
