import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { createMetricsClient, type MetricsClient } from './client';
import { metricEncounteredError, scaledObjectNotFoundError } from './errors';
import { GrpcServerMetrics, grpcCodeLabel, grpcMethodLabels } from './grpc-metrics';
import { createMetricsServer, type MetricsServer } from './server';
import { createCa, createLeaf, writeCertDir } from '../test/pki';
import { capturingLogger } from '../test/logger';
import type { MetricsProvider } from './types';

describe('grpc-prometheus labels', () => {
  it.each([
    [{ path: '/api.MetricsService/GetMetrics', requestStream: false, responseStream: false }, { grpc_type: 'unary', grpc_service: 'api.MetricsService', grpc_method: 'GetMetrics' }],
    [{ path: '/grpc.health.v1.Health/Watch', requestStream: false, responseStream: true }, { grpc_type: 'server_stream', grpc_service: 'grpc.health.v1.Health', grpc_method: 'Watch' }],
    [{ path: '/x.Up/Load', requestStream: true, responseStream: false }, { grpc_type: 'client_stream', grpc_service: 'x.Up', grpc_method: 'Load' }],
    [
      { path: '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', requestStream: true, responseStream: true },
      { grpc_type: 'bidi_stream', grpc_service: 'grpc.reflection.v1.ServerReflection', grpc_method: 'ServerReflectionInfo' },
    ],
  ])('%j → %j', (method, labels) => {
    expect(grpcMethodLabels(method)).toEqual(labels);
  });

  it.each([
    [status.OK, 'OK'],
    [status.CANCELLED, 'Canceled'],
    [status.NOT_FOUND, 'NotFound'],
    [status.PERMISSION_DENIED, 'PermissionDenied'],
    [status.DEADLINE_EXCEEDED, 'DeadlineExceeded'],
    [undefined, 'Unknown'],
  ])('grpc_code of %s is %s (Go spelling)', (code, label) => {
    expect(grpcCodeLabel(code)).toBe(label);
  });

  it('one instance per registry (names register once)', () => {
    const registry = new Registry();
    expect(GrpcServerMetrics.of(registry)).toBe(GrpcServerMetrics.of(registry));
  });
});

describe('keda_internal_metricsservice_grpc_server_* on a real server', () => {
  const provider: MetricsProvider = {
    async getMetrics(ref) {
      if (ref.name === 'missing') throw scaledObjectNotFoundError(ref.name);
      if (ref.metricName === 's0-broken') throw metricEncounteredError(ref.metricName);
      return [{ metricName: ref.metricName, timestamp: new Date(), value: 1 }];
    },
  };
  const registry = new Registry();
  let dir: string;
  let server: MetricsServer;
  let client: MetricsClient;
  const method = { grpc_type: 'unary', grpc_service: 'api.MetricsService', grpc_method: 'GetMetrics' };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'grpc-metrics-spec-'));
    const ca = createCa(join(dir, 'pki'), 'KEDA');
    writeCertDir(join(dir, 'server'), ca, createLeaf(join(dir, 'pki'), ca, 'keda-operator'));
    writeCertDir(join(dir, 'client'), ca, createLeaf(join(dir, 'pki'), ca, 'keda-metrics-adapter'));
    const logger = capturingLogger();
    server = createMetricsServer({ provider, tls: { certDir: join(dir, 'server'), pollIntervalMs: 0 }, bindAddress: '127.0.0.1', port: 0, logger, metricsRegistry: registry });
    await server.start();
    client = createMetricsClient({ address: server.address, tls: { certDir: join(dir, 'client') }, authority: 'localhost', logger });
  });

  afterAll(async () => {
    await client?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  // prom-client's type of a value omits the sample name its histograms set.
  const nameOf = (v: object) => (v as { metricName?: string }).metricName ?? '';

  /** The sample `name` with exactly `labels` (a histogram's `_count` is read from its histogram). */
  async function value(name: string, labels: Record<string, string>): Promise<number | undefined> {
    const metric = registry.getSingleMetric(name.replace(/_count$/, ''));
    const values = ((await metric?.get())?.values ?? []).filter((v) => !name.endsWith('_count') || nameOf(v) === name);
    const keys = Object.keys(labels);
    return values.find((v) => Object.keys(v.labels).length === keys.length && keys.every((k) => v.labels[k] === labels[k]))?.value;
  }

  it('GetMetrics series exist at 0 before any call', async () => {
    expect(await value('keda_internal_metricsservice_grpc_server_started_total', method)).toBe(0);
    expect(await value('keda_internal_metricsservice_grpc_server_msg_received_total', method)).toBe(0);
  });

  it.each([
    ['an answered call', 'OK', { name: 'so', metricName: 's0-ok' }, 1],
    ['an unknown ScaledObject', 'NotFound', { name: 'missing', metricName: 's0-ok' }, 0],
    ['a failing scaler', 'Unknown', { name: 'so', metricName: 's0-broken' }, 0],
  ])('%s: started, received, handled{grpc_code=%s}, sent and the histogram move', async (_name, code, ref, sentDelta) => {
    const before = {
      started: (await value('keda_internal_metricsservice_grpc_server_started_total', method)) ?? 0,
      received: (await value('keda_internal_metricsservice_grpc_server_msg_received_total', method)) ?? 0,
      sent: (await value('keda_internal_metricsservice_grpc_server_msg_sent_total', method)) ?? 0,
      handled: (await value('keda_internal_metricsservice_grpc_server_handled_total', { ...method, grpc_code: code })) ?? 0,
      count: (await value('keda_internal_metricsservice_grpc_server_handling_seconds_count', method)) ?? 0,
    };
    await client.getMetrics({ namespace: 'ns', ...ref }).catch(() => undefined);
    expect(await value('keda_internal_metricsservice_grpc_server_started_total', method)).toBe(before.started + 1);
    expect(await value('keda_internal_metricsservice_grpc_server_msg_received_total', method)).toBe(before.received + 1);
    expect(await value('keda_internal_metricsservice_grpc_server_msg_sent_total', method)).toBe(before.sent + sentDelta);
    expect(await value('keda_internal_metricsservice_grpc_server_handled_total', { ...method, grpc_code: code })).toBe(before.handled + 1);
    expect(await value('keda_internal_metricsservice_grpc_server_handling_seconds_count', method)).toBe(before.count + 1);
  });

  it("the histogram has KEDA's buckets", async () => {
    const buckets = ((await registry.getSingleMetric('keda_internal_metricsservice_grpc_server_handling_seconds')?.get())?.values ?? [])
      .filter((v) => nameOf(v).endsWith('_bucket') && v.labels['grpc_method'] === 'GetMetrics')
      .map((v) => v.labels['le']);
    expect(buckets).toEqual([0.001, 0.01, 0.1, 0.3, 0.6, 1, 3, 6, 9, 20, 30, 60, 90, 120, '+Inf']);
  });
});
