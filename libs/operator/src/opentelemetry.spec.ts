import type { ScaledObject } from '@keda-ts/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { AggregationTemporality, InMemoryMetricExporter, InstrumentType, MetricReader, type PushMetricExporter, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { combinedMetrics } from './combined-metrics';
import type { MetricReading } from './metric-evaluation';
import { gaugesAsDelta, OpenTelemetryOperatorMetrics, OTEL_INSTRUMENTS, otlpMetricReaderFromEnv, otlpProtocolFromEnv, otlpReaderSettingsFromEnv, QuietExporter } from './opentelemetry';
import { KedaOperatorMetrics, type OperatorMetricsRecorder } from './prometheus';

/** A pull reader: collect() on demand. */
class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: gaugesAsDelta() });
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const reading = (over: Partial<MetricReading> = {}): MetricReading => ({
  triggerIndex: 0,
  triggerType: 'metrics-api',
  metricName: 's0-metric-api-value',
  metrics: [{ metricName: 's0-metric-api-value', value: 45, timestamp: new Date() }],
  isActive: true,
  outcome: 'ok',
  latencyMs: 250,
  ...over,
});
const SO_ATTRS = { namespace: 'ns', scaledObject: 'web', scaler: 'metricsAPIScaler', scalerIndex: '0', metric: 's0-metric-api-value' };

const so = (name: string, triggers: string[], annotations: Record<string, string> = {}): ScaledObject =>
  ({
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name, namespace: 'ns', annotations },
    spec: { scaleTargetRef: { name }, triggers: triggers.map((type) => ({ type, metadata: {} })) },
  }) as unknown as ScaledObject;

type Point = { attributes: Record<string, unknown>; value: number };

async function collect(reader: MetricReader): Promise<Map<string, { unit: string; points: Point[] }>> {
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  const out = new Map<string, { unit: string; points: Point[] }>();
  for (const scope of resourceMetrics.scopeMetrics)
    for (const m of scope.metrics)
      out.set(m.descriptor.name, { unit: m.descriptor.unit, points: (m.dataPoints as { attributes: Record<string, unknown>; value: number }[]).map((p) => ({ attributes: p.attributes, value: p.value })) });
  return out;
}

const logger = () => {
  const lines: { level: string; obj: unknown; msg: string }[] = [];
  const log = (level: string) => (obj: unknown, msg: string) => void lines.push({ level, obj, msg });
  return { lines, logger: { info: log('info'), warn: log('warn'), error: log('error'), debug: log('debug') } as never };
};

describe('OpenTelemetryOperatorMetrics', () => {
  let reader: TestReader;
  let m: OpenTelemetryOperatorMetrics;
  beforeEach(() => {
    reader = new TestReader();
    m = new OpenTelemetryOperatorMetrics({ build: { version: '2.20.0-ts', gitCommit: 'abc123' }, readers: [reader] });
  });
  afterEach(() => m.shutdown());

  it("keda.build.info: 1 with KEDA's attributes; the resource names the service keda-operator", async () => {
    const got = await collect(reader);
    expect(got.get('keda.build.info')?.points).toEqual([
      { attributes: { version: '2.20.0-ts', git_commit: 'abc123', goversion: process.version, goos: process.platform, goarch: process.arch }, value: 1 },
    ]);
    const { resourceMetrics } = await reader.collect();
    expect(resourceMetrics.resource.attributes['service.name']).toBe('keda-operator');
    expect(resourceMetrics.scopeMetrics[0]?.scope.name).toBe('keda-open-telemetry-metrics');
  });

  it("scaler value / latency / active: the last reading, with KEDA's attributes per ScaledObject and ScaledJob", async () => {
    m.scalerReadings('scaledobject', 'ns', 'web', [reading()]);
    m.scalerReadings('scaledjob', 'ns', 'batch', [reading({ triggerName: 'queue', triggerIndex: 1, metricName: 's1-q', isActive: false })]);
    const got = await collect(reader);
    const SJ = { namespace: 'ns', scaledJob: 'batch', scaler: 'queue', triggerIndex: '1', metric: 's1-q' };
    expect(got.get(OTEL_INSTRUMENTS.scalerValue)?.points).toEqual([
      { attributes: SO_ATTRS, value: 45 },
      { attributes: SJ, value: 45 },
    ]);
    expect(got.get(OTEL_INSTRUMENTS.scalerLatency)).toEqual({ unit: 's', points: [{ attributes: SO_ATTRS, value: 0.25 }, { attributes: SJ, value: 0.25 }] });
    expect(got.get(OTEL_INSTRUMENTS.scalerActive)?.points).toEqual([
      { attributes: SO_ATTRS, value: 1 },
      { attributes: SJ, value: 0 },
    ]);
    // Still reported at the next export (a gauge keeps its last value).
    expect((await collect(reader)).get(OTEL_INSTRUMENTS.scalerValue)?.points).toHaveLength(2);
  });

  it('errors: keda.scaler.errors per scaler, keda.scaledobject.errors / keda.scaledjob.errors per object', async () => {
    m.scalerReadings('scaledobject', 'ns', 'web', [reading({ outcome: 'error', error: 'boom', metrics: [] })]);
    m.scalerReadings('scaledobject', 'ns', 'web', [reading({ outcome: 'error', error: 'boom', metrics: [] })]);
    m.scalableError('scaledobject', 'ns', 'web');
    m.scalableError('scaledjob', 'ns', 'batch');
    const got = await collect(reader);
    expect(got.get(OTEL_INSTRUMENTS.scalerErrors)?.points).toEqual([{ attributes: SO_ATTRS, value: 2 }]);
    expect(got.get(OTEL_INSTRUMENTS.scaledObjectErrors)?.points).toEqual([{ attributes: { namespace: 'ns', scaledObject: 'web' }, value: 3 }]);
    expect(got.get(OTEL_INSTRUMENTS.scaledJobErrors)?.points).toEqual([{ attributes: { namespace: 'ns', scaledJob: 'batch' }, value: 1 }]);
    expect(got.get(OTEL_INSTRUMENTS.scalerActive)?.points).toEqual([{ attributes: SO_ATTRS, value: 0 }]);
  });

  it('a trigger that is gone, and forget, drop the scaler series and the loop latency', async () => {
    m.scalerReadings('scaledobject', 'ns', 'web', [reading(), reading({ triggerIndex: 1, metricName: 's1-x' })]);
    m.scaleLoopLag('scaledobject', 'ns', 'web', 1500);
    let got = await collect(reader);
    expect(got.get(OTEL_INSTRUMENTS.scalerValue)?.points).toHaveLength(2);
    expect(got.get(OTEL_INSTRUMENTS.loopLatency)).toEqual({ unit: 's', points: [{ attributes: { namespace: 'ns', type: 'scaledobject', name: 'web' }, value: 1.5 }] });
    m.scalerReadings('scaledobject', 'ns', 'web', [reading()]);
    got = await collect(reader);
    expect(got.get(OTEL_INSTRUMENTS.scalerValue)?.points).toEqual([{ attributes: SO_ATTRS, value: 45 }]);
    m.forget('scaledobject', 'ns', 'web');
    got = await collect(reader);
    expect(got.get(OTEL_INSTRUMENTS.scalerValue)?.points ?? []).toEqual([]);
    expect(got.get(OTEL_INSTRUMENTS.loopLatency)?.points ?? []).toEqual([]);
  });

  it('registered resources and triggers, paused', async () => {
    const a = so('web', ['cron', 'metrics-api'], { 'autoscaling.keda.sh/paused': 'true' });
    m.scaledObjectChanged(undefined, a);
    m.resourceRegistered('scaled_job', '', 1, ['metrics-api']);
    let got = await collect(reader);
    expect(got.get(OTEL_INSTRUMENTS.resourcesRegistered)?.points).toEqual([
      { attributes: { namespace: 'ns', type: 'scaled_object' }, value: 1 },
      { attributes: { namespace: 'default', type: 'scaled_job' }, value: 1 },
    ]);
    expect(got.get(OTEL_INSTRUMENTS.triggersRegistered)?.points).toEqual([
      { attributes: { type: 'cron' }, value: 1 },
      { attributes: { type: 'metrics-api' }, value: 2 },
    ]);
    expect(got.get(OTEL_INSTRUMENTS.scaledObjectPaused)?.points).toEqual([{ attributes: { namespace: 'ns', scaledObject: 'web' }, value: 1 }]);
    m.scaledObjectChanged(a, undefined);
    got = await collect(reader);
    expect(got.get(OTEL_INSTRUMENTS.resourcesRegistered)?.points[0]).toEqual({ attributes: { namespace: 'ns', type: 'scaled_object' }, value: 0 });
    expect(got.get(OTEL_INSTRUMENTS.scaledObjectPaused)?.points ?? []).toEqual([]);
  });

  it('CloudEvents emitted and queued, Events dropped, scaler read slots', async () => {
    m.cloudEventEmitted('ns', 'ces', 'http', 'emitted');
    m.cloudEventEmitted('ns', 'ces', 'http', 'failed');
    m.cloudEventQueued('ns', 3);
    m.eventDropped('spam');
    m.watchScalerReads({ inFlight: 2, waiting: 1, limit: 64 });
    const got = await collect(reader);
    expect(got.get(OTEL_INSTRUMENTS.cloudEventsEmitted)?.points).toEqual([
      { attributes: { namespace: 'ns', cloudEventSource: 'ces', eventsink: 'http', state: 'emitted' }, value: 1 },
      { attributes: { namespace: 'ns', cloudEventSource: 'ces', eventsink: 'http', state: 'failed' }, value: 1 },
    ]);
    expect(got.get(OTEL_INSTRUMENTS.cloudEventsQueued)?.points).toEqual([{ attributes: { namespace: 'ns' }, value: 3 }]);
    expect(got.get(OTEL_INSTRUMENTS.eventsDropped)?.points).toEqual([{ attributes: { reason: 'spam' }, value: 1 }]);
    expect(got.get(OTEL_INSTRUMENTS.scalerReadsLimit)?.points).toEqual([{ attributes: {}, value: 64 }]);
  });

  it('scaler HTTP requests and empty upstream answers, with the Prometheus labels as attributes', async () => {
    const source = { type: 'scaledobject' as const, namespace: 'ns', name: 'web', triggerType: 'prometheus', metricName: 's0-prometheus' };
    m.scalerHttpRequest(source, 200, 0.02);
    m.scalerHttpRequest(source, 'error', 3);
    m.emptyUpstreamResponse({ ...source, triggerName: 'q' }, false);
    const { resourceMetrics } = await reader.collect();
    const metrics = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
    const requests = metrics.find((x) => x.descriptor.name === OTEL_INSTRUMENTS.scalerHttpRequests)!;
    expect(requests.dataPoints.map((p) => [p.attributes, p.value])).toEqual([
      [{ namespace: 'ns', scaled_resource: 'web', scaler: 'prometheusScaler', trigger_name: '', metric_name: 's0-prometheus', status_code: '200' }, 1],
      [{ namespace: 'ns', scaled_resource: 'web', scaler: 'prometheusScaler', trigger_name: '', metric_name: 's0-prometheus', status_code: 'error' }, 1],
    ]);
    const duration = metrics.find((x) => x.descriptor.name === OTEL_INSTRUMENTS.scalerHttpDuration)!;
    expect(duration.descriptor.unit).toBe('s');
    const points = duration.dataPoints as { attributes: Record<string, unknown>; value: { count: number; buckets: { boundaries: number[] } } }[];
    expect(points.map((p) => [p.attributes, p.value.count])).toEqual([
      [{ scaler: 'prometheusScaler', status_code: '200' }, 1],
      [{ scaler: 'prometheusScaler', status_code: 'error' }, 1],
    ]);
    expect(points[0]?.value.buckets.boundaries).toEqual([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
    const empty = metrics.find((x) => x.descriptor.name === OTEL_INSTRUMENTS.emptyUpstreamResponses)!;
    expect(empty.dataPoints.map((p) => [p.attributes, p.value])).toEqual([
      [{ namespace: 'ns', scaledResource: 'web', triggerName: 'q', metricName: 's0-prometheus', resourceType: 'scaledobject', ignoreNullValues: 'false' }, 1],
    ]);
  });

  it('with high-cardinality labels the HTTP duration carries all six attributes', async () => {
    const r = new TestReader();
    const high = new OpenTelemetryOperatorMetrics({ build: { version: 'v' }, readers: [r], highCardinalityLabels: true });
    high.scalerHttpRequest({ type: 'scaledjob', namespace: 'ns', name: 'jobs', triggerType: 'metrics-api', triggerName: 't', metricName: 's0-x' }, 503, 0.1);
    const { resourceMetrics } = await r.collect();
    const duration = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).find((x) => x.descriptor.name === OTEL_INSTRUMENTS.scalerHttpDuration)!;
    expect(duration.dataPoints[0]?.attributes).toEqual({ namespace: 'ns', scaled_resource: 'jobs', scaler: 'metricsAPIScaler', trigger_name: 't', metric_name: 's0-x', status_code: '503' });
    await high.shutdown();
  });

  it('shutdown exports once more through a push exporter', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const { PeriodicExportingMetricReader } = await import('@opentelemetry/sdk-metrics');
    const pushed = new OpenTelemetryOperatorMetrics({
      build: { version: 'v' },
      readers: [new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })],
    });
    pushed.scalerReadings('scaledobject', 'ns', 'web', [reading()]);
    await pushed.shutdown();
    await pushed.shutdown();
    const names = exporter.getMetrics().flatMap((rm) => rm.scopeMetrics.flatMap((s) => s.metrics.map((x) => x.descriptor.name)));
    expect(names).toEqual(expect.arrayContaining(['keda.build.info', 'keda.scaler.metrics.value', 'keda.scaler.active']));
  });
});

describe('combinedMetrics', () => {
  it('undefined without recorders; otherwise every call reaches each recorder, a throwing one contained', async () => {
    expect(combinedMetrics(undefined, undefined)).toBeUndefined();
    const prom = new KedaOperatorMetrics({ version: 'v' }, { defaultMetrics: false });
    const reader = new TestReader();
    const otel = new OpenTelemetryOperatorMetrics({ build: { version: 'v' }, readers: [reader] });
    const broken = new Proxy({}, { get: () => () => { throw new Error('boom'); } }) as OperatorMetricsRecorder;
    const both = combinedMetrics(broken, prom, undefined, otel)!;
    both.scalerReadings('scaledobject', 'ns', 'web', [reading()]);
    both.cloudEventEmitted('ns', 'ces', 'http', 'emitted');
    both.scalerHttpRequest!({ type: 'scaledobject', namespace: 'ns', name: 'web', triggerType: 'prometheus', metricName: 's0-p' }, 200, 0.01);
    expect((await prom.registry.getSingleMetric('keda_scaler_http_requests_total')!.get()).values).toHaveLength(1);
    expect((await prom.registry.getSingleMetric('keda_scaler_metrics_value')!.get()).values).toHaveLength(1);
    expect((await prom.registry.getSingleMetric('keda_cloudeventsource_events_emitted_total')!.get()).values).toHaveLength(1);
    const got = await collect(reader);
    expect(got.get(OTEL_INSTRUMENTS.scalerValue)?.points).toEqual([{ attributes: SO_ATTRS, value: 45 }]);
    expect(got.get(OTEL_INSTRUMENTS.cloudEventsEmitted)?.points).toHaveLength(1);
    expect(got.get(OTEL_INSTRUMENTS.scalerHttpRequests)?.points).toHaveLength(1);
    await otel.shutdown();
  });
});

describe('OTLP settings from the environment', () => {
  it("protocol: the metrics-specific variable, then the general one, else http/protobuf (KEDA's default)", () => {
    expect(otlpProtocolFromEnv({})).toBe('http/protobuf');
    expect(otlpProtocolFromEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toBe('grpc');
    expect(otlpProtocolFromEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json' })).toBe('http/json');
    expect(() => otlpProtocolFromEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'udp' })).toThrow('OTEL_EXPORTER_OTLP_PROTOCOL=udp: expected one of grpc, http/protobuf, http/json');
  });

  it('interval and timeout: OTEL_METRIC_EXPORT_INTERVAL / _TIMEOUT, the timeout at most the interval', () => {
    expect(otlpReaderSettingsFromEnv({})).toEqual({ protocol: 'http/protobuf', intervalMs: 60_000, timeoutMs: 30_000, endpoint: '' });
    expect(otlpReaderSettingsFromEnv({ OTEL_METRIC_EXPORT_INTERVAL: '1000', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toEqual({
      protocol: 'http/protobuf',
      intervalMs: 1000,
      timeoutMs: 1000,
      endpoint: 'http://127.0.0.1:4318',
    });
    expect(() => otlpReaderSettingsFromEnv({ OTEL_METRIC_EXPORT_INTERVAL: 'soon' })).toThrow('OTEL_METRIC_EXPORT_INTERVAL=soon');
  });

  it('builds a periodic reader for each protocol', async () => {
    for (const protocol of ['grpc', 'http/protobuf', 'http/json']) {
      const { reader, settings } = otlpMetricReaderFromEnv(logger().logger, { OTEL_EXPORTER_OTLP_PROTOCOL: protocol, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
      expect(settings.protocol).toBe(protocol);
      await reader.shutdown().catch(() => undefined);
    }
  });
});

describe('QuietExporter', () => {
  const failing = (calls: { n: number }): PushMetricExporter => ({
    export: (_m: ResourceMetrics, done: (r: ExportResult) => void) => {
      calls.n++;
      done(calls.n <= 5 ? { code: ExportResultCode.FAILED, error: new Error('connect ECONNREFUSED 127.0.0.1:4318') } : { code: ExportResultCode.SUCCESS });
    },
    forceFlush: async () => undefined,
    shutdown: async () => undefined,
  });

  it('logs a failure at most once per interval, with the count, and once when exports work again', () => {
    const { lines, logger: log } = logger();
    let now = 0;
    const calls = { n: 0 };
    const q = new QuietExporter(failing(calls), log, { minLogIntervalMs: 60_000, now: () => now, endpoint: 'http://127.0.0.1:4318' });
    const results: number[] = [];
    const tick = () => q.export({} as ResourceMetrics, (r) => results.push(r.code));
    tick(); // logged
    now += 10_000;
    tick(); // quiet
    now += 10_000;
    tick(); // quiet
    now += 60_000;
    tick(); // logged: 3 failed since
    tick(); // quiet
    tick(); // success: one "works again" line
    tick();
    expect(results).toEqual([1, 1, 1, 1, 1, 0, 0]);
    expect(lines.map((l) => [l.level, (l.obj as { failedExports: number }).failedExports])).toEqual([
      ['warn', 1],
      ['warn', 3],
      ['info', 1],
    ]);
    expect(lines[0]?.msg).toContain('OpenTelemetry metrics export failed');
  });

  it('an exporter that throws is reported as a failed export, not thrown', () => {
    const { lines, logger: log } = logger();
    const q = new QuietExporter({ export: () => { throw new Error('bad'); }, forceFlush: async () => undefined, shutdown: async () => undefined }, log);
    const results: number[] = [];
    q.export({} as ResourceMetrics, (r) => results.push(r.code));
    expect(results).toEqual([ExportResultCode.FAILED]);
    expect(lines).toHaveLength(1);
  });

  it("passes the inner exporter's temporality through, delta for gauges", () => {
    const q = new QuietExporter(new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), logger().logger);
    expect(q.selectAggregationTemporality(InstrumentType.COUNTER)).toBe(AggregationTemporality.CUMULATIVE);
    expect(q.selectAggregationTemporality(InstrumentType.UP_DOWN_COUNTER)).toBe(AggregationTemporality.CUMULATIVE);
    expect(q.selectAggregationTemporality(InstrumentType.OBSERVABLE_GAUGE)).toBe(AggregationTemporality.DELTA);
    const delta = new QuietExporter(new InMemoryMetricExporter(AggregationTemporality.DELTA), logger().logger);
    expect(delta.selectAggregationTemporality(InstrumentType.COUNTER)).toBe(AggregationTemporality.DELTA);
  });
});
