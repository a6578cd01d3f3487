import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentials, status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { RawMetricsServiceClient, type RawMetricsResponse, type SubscriptionAck, type SubscriptionRequest } from '@keda-ts/proto/metrics';
import type { RawMetricsBatch, RawMetricsSource, RawMetricsStream, RawMetricsTarget } from './raw-metrics';
import { createMetricsServer, type MetricsServer } from './server';
import { capturingLogger } from '../test/logger';
import { createCa, createLeaf, writeCertDir, type Pem } from '../test/pki';

/** A minimal source: one buffer per subscriber, the stream ends when the last subscription goes. */
class FakeSource implements RawMetricsSource {
  readonly subs = new Map<string, Set<string>>();
  readonly buffers = new Map<string, RawMetricsBatch[]>();
  readonly streams = new Map<string, { wake: () => void; ended: boolean; closed: boolean }>();
  private key = (t: RawMetricsTarget) => `${t.namespace}/${t.name}/${t.triggerName}`;

  subscribe(subscriber: string, target: RawMetricsTarget) {
    if (target.name === 'too-many') return { ok: false as const, code: 'resource-exhausted' as const, reason: 'too many' };
    const set = this.subs.get(subscriber) ?? new Set<string>();
    this.subs.set(subscriber, set);
    const was = set.has(this.key(target));
    set.add(this.key(target));
    return { ok: true as const, wasSubscribed: was };
  }
  unsubscribe(subscriber: string, target: RawMetricsTarget) {
    const set = this.subs.get(subscriber);
    const was = set?.delete(this.key(target)) ?? false;
    if (set && set.size === 0) {
      this.subs.delete(subscriber);
      const s = this.streams.get(subscriber);
      if (s) {
        s.ended = true;
        s.wake();
      }
    }
    return { wasSubscribed: was };
  }
  attach(subscriber: string, wake: () => void): RawMetricsStream | { refused: string; code: 'invalid-argument' } {
    if (!subscriber) return { refused: 'subscriber must be specified', code: 'invalid-argument' };
    const state = { wake, ended: false, closed: false };
    this.streams.set(subscriber, state);
    const buffer = this.buffers.get(subscriber) ?? [];
    this.buffers.set(subscriber, buffer);
    return {
      next: () => buffer.shift(),
      get ended() {
        return state.ended;
      },
      endReason: undefined,
      close: () => {
        state.closed = true;
      },
    };
  }
  publish(subscriber: string, batch: RawMetricsBatch) {
    const buffer = this.buffers.get(subscriber) ?? [];
    this.buffers.set(subscriber, buffer);
    buffer.push(batch);
    this.streams.get(subscriber)?.wake();
  }
}

const AT = new Date('2026-12-07T10:00:00.000Z');
let dir: string;
let source: FakeSource;
let server: MetricsServer;
let ca: Pem;
let operator: RawMetricsServiceClient;
let adapter: RawMetricsServiceClient;

function client(leaf: Pem): RawMetricsServiceClient {
  return new RawMetricsServiceClient(
    server.address,
    credentials.createSsl(Buffer.from(ca.cert), Buffer.from(leaf.key), Buffer.from(leaf.cert)),
    { 'grpc.ssl_target_name_override': 'localhost' },
  );
}

const unary = (c: RawMetricsServiceClient, method: 'subscribeMetric' | 'unsubscribeMetric', req: SubscriptionRequest) =>
  new Promise<SubscriptionAck>((resolve, reject) =>
    c[method](req, (err: ServiceError | null, res?: SubscriptionAck) => (err ? reject(err) : resolve(res!))),
  );

/** Collects the stream's messages; resolves with them and the final status. */
function collect(stream: ClientReadableStream<RawMetricsResponse>) {
  const messages: RawMetricsResponse[] = [];
  stream.on('data', (m: RawMetricsResponse) => messages.push(m));
  const done = new Promise<{ code: number; details: string }>((resolve) => {
    stream.on('error', (err: ServiceError) => resolve({ code: err.code, details: err.details }));
    stream.on('status', (s: { code: number; details: string }) => {
      if (s.code === status.OK) resolve({ code: s.code, details: s.details });
    });
  });
  return { messages, done };
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'raw-metrics-spec-'));
  ca = createCa(join(dir, 'pki'), 'KEDA');
  writeCertDir(join(dir, 'server'), ca, createLeaf(join(dir, 'pki'), ca, 'keda-operator'));
  source = new FakeSource();
  server = createMetricsServer({
    provider: { getMetrics: async () => [] },
    rawMetrics: source,
    tls: { certDir: join(dir, 'server'), pollIntervalMs: 0 },
    bindAddress: '127.0.0.1',
    port: 0,
    logger: capturingLogger(),
    drainTimeoutMs: 10_000,
  });
  await server.start();
  operator = client(createLeaf(join(dir, 'pki'), ca, 'alice', undefined, { organization: 'keda-operators', usages: 'clientAuth' }));
  adapter = client(createLeaf(join(dir, 'pki'), ca, 'keda-metrics-adapter', undefined, { usages: 'clientAuth' }));
});

afterAll(async () => {
  operator?.close();
  adapter?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('api.RawMetricsService', () => {
  const web = { name: 'web', namespace: 'ns', metricName: 'queue' };

  it('subscribes, streams a batch as one RawMetricsResponse, and ends the stream with the last unsubscription', async () => {
    expect(await unary(operator, 'subscribeMetric', { subscriber: 's1', metricMetadata: web })).toEqual({ wasSubscribed: false });
    expect(await unary(operator, 'subscribeMetric', { subscriber: 's1', metricMetadata: web })).toEqual({ wasSubscribed: true });
    const { messages, done } = collect(operator.getRawMetricsStream({ subscriber: 's1' }));
    await until(() => source.streams.has('s1'), 'the stream to attach');
    source.publish('s1', {
      namespace: 'ns',
      name: 'web',
      timestamp: AT,
      metrics: [
        { triggerName: 'queue', value: 7.5, isActive: true },
        { triggerName: '', value: 0, isActive: false },
      ],
    });
    await until(() => messages.length === 1, 'one message');
    expect(messages[0]).toEqual({
      metrics: [
        { value: 7.5, timestamp: AT, metadata: { name: 'web', namespace: 'ns', metricName: 'queue' }, isActive: true },
        { value: 0, timestamp: AT, metadata: { name: 'web', namespace: 'ns', metricName: '' }, isActive: false },
      ],
    });
    expect(await unary(operator, 'unsubscribeMetric', { subscriber: 's1', metricMetadata: web })).toEqual({ wasSubscribed: true });
    expect(await done).toMatchObject({ code: status.OK });
    await until(() => source.streams.get('s1')!.closed, 'the source stream to be closed');
    expect(await unary(operator, 'unsubscribeMetric', { subscriber: 's1', metricMetadata: web })).toEqual({ wasSubscribed: false });
  });

  it('delivers every batch in order when many are published at once', async () => {
    await unary(operator, 'subscribeMetric', { subscriber: 'burst', metricMetadata: web });
    const { messages } = collect(operator.getRawMetricsStream({ subscriber: 'burst' }));
    await until(() => source.streams.has('burst'), 'the stream to attach');
    for (let i = 0; i < 500; i++) {
      source.publish('burst', { namespace: 'ns', name: 'web', timestamp: AT, metrics: [{ triggerName: 'queue', value: i, isActive: true }] });
    }
    await until(() => messages.length === 500, '500 messages');
    expect(messages.map((m) => m.metrics[0].value)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    await unary(operator, 'unsubscribeMetric', { subscriber: 'burst', metricMetadata: web });
  });

  it('maps refusals of the source to gRPC codes', async () => {
    await expect(unary(operator, 'subscribeMetric', { subscriber: 's', metricMetadata: { ...web, name: 'too-many' } })).rejects.toMatchObject({
      code: status.RESOURCE_EXHAUSTED,
    });
    const { done } = collect(operator.getRawMetricsStream({ subscriber: '' }));
    expect(await done).toEqual({ code: status.INVALID_ARGUMENT, details: 'subscriber must be specified' });
  });

  it('refuses callers without an operator certificate (O=keda-operators)', async () => {
    await expect(unary(adapter, 'subscribeMetric', { subscriber: 'x', metricMetadata: web })).rejects.toMatchObject({
      code: status.PERMISSION_DENIED,
      details: expect.stringContaining('may not use the raw metrics service'),
    });
    await expect(unary(adapter, 'unsubscribeMetric', { subscriber: 'x', metricMetadata: web })).rejects.toMatchObject({ code: status.PERMISSION_DENIED });
    const { done } = collect(adapter.getRawMetricsStream({ subscriber: 'x' }));
    expect(await done).toMatchObject({ code: status.PERMISSION_DENIED });
    expect(source.subs.has('x')).toBe(false);
  });

  it('stop() ends open streams with status OK instead of waiting out the drain timeout', async () => {
    await unary(operator, 'subscribeMetric', { subscriber: 'last', metricMetadata: web });
    const { done } = collect(operator.getRawMetricsStream({ subscriber: 'last' }));
    await until(() => source.streams.has('last'), 'the stream to attach');
    const started = Date.now();
    await server.stop();
    expect(await done).toMatchObject({ code: status.OK });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(source.streams.get('last')!.closed).toBe(true);
  });
});
