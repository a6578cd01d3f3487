import type { ScaledObject } from '@keda-ts/api';
import type { MetricReading } from './metric-evaluation';
import { KedaOperatorMetrics, scalerLabel } from './prometheus';

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
const L = { namespace: 'ns', metric: 's0-metric-api-value', scaledObject: 'web', scaler: 'metricsAPIScaler', triggerIndex: '0', type: 'scaledobject' };

const so = (name: string, triggers: string[], annotations: Record<string, string> = {}): ScaledObject =>
  ({
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name, namespace: 'ns', annotations },
    spec: { scaleTargetRef: { name }, triggers: triggers.map((type) => ({ type, metadata: {} })) },
  }) as unknown as ScaledObject;

async function series(m: KedaOperatorMetrics, name: string): Promise<{ labels: Record<string, string | number>; value: number }[]> {
  const metric = m.registry.getSingleMetric(name);
  if (!metric) throw new Error(`${name} not registered`);
  return (await metric.get()).values.map((v) => ({ labels: v.labels as Record<string, string | number>, value: v.value }));
}

describe('KedaOperatorMetrics', () => {
  let m: KedaOperatorMetrics;
  beforeEach(() => (m = new KedaOperatorMetrics({ version: '2.17.0-ts', gitCommit: 'abc123' }, { defaultMetrics: false })));

  it('keda_build_info: 1 with version, commit and the runtime in the go* labels', async () => {
    expect(await series(m, 'keda_build_info')).toEqual([
      { labels: { version: '2.17.0-ts', git_commit: 'abc123', goversion: process.version, goos: process.platform, goarch: process.arch }, value: 1 },
    ]);
  });

  it('keda_scaler_metrics_value / _latency_seconds / keda_scaler_active: the last reading per scaler label set', async () => {
    m.scalerReadings('scaledobject', 'ns', 'web', [reading()]);
    expect(await series(m, 'keda_scaler_metrics_value')).toEqual([{ labels: L, value: 45 }]);
    expect(await series(m, 'keda_scaler_metrics_latency_seconds')).toEqual([{ labels: L, value: 0.25 }]);
    expect(await series(m, 'keda_scaler_active')).toEqual([{ labels: L, value: 1 }]);
    m.scalerReadings('scaledobject', 'ns', 'web', [reading({ isActive: false, metrics: [{ metricName: 's0-metric-api-value', value: 0, timestamp: new Date() }] })]);
    expect(await series(m, 'keda_scaler_metrics_value')).toEqual([{ labels: L, value: 0 }]);
    expect(await series(m, 'keda_scaler_active')).toEqual([{ labels: L, value: 0 }]);
  });

  it('keda_scaler_detail_errors_total starts at 0 and counts failed reads; keda_scaled_object_errors_total too', async () => {
    m.scalerReadings('scaledobject', 'ns', 'web', [reading()]);
    expect(await series(m, 'keda_scaler_detail_errors_total')).toEqual([{ labels: L, value: 0 }]);
    m.scalerReadings('scaledobject', 'ns', 'web', [reading({ outcome: 'error', error: 'boom', metrics: [] })]);
    m.scalerReadings('scaledobject', 'ns', 'web', [reading({ outcome: 'error', error: 'boom', metrics: [] })]);
    expect(await series(m, 'keda_scaler_detail_errors_total')).toEqual([{ labels: L, value: 2 }]);
    expect(await series(m, 'keda_scaled_object_errors_total')).toEqual([{ labels: { namespace: 'ns', scaledObject: 'web' }, value: 2 }]);
    m.scalableError('scaledobject', 'ns', 'web');
    expect(await series(m, 'keda_scaled_object_errors_total')).toEqual([{ labels: { namespace: 'ns', scaledObject: 'web' }, value: 3 }]);
  });

  it('keda_scaled_job_errors_total: registered, counted through the ScaledJob hook', async () => {
    expect(await series(m, 'keda_scaled_job_errors_total')).toEqual([]);
    m.scalableError('scaledjob', 'ns', 'batch');
    expect(await series(m, 'keda_scaled_job_errors_total')).toEqual([{ labels: { namespace: 'ns', scaledJob: 'batch' }, value: 1 }]);
  });

  it('names the scaler by trigger name, else by KEDA type name; drops series of vanished triggers; forget drops all', async () => {
    expect(scalerLabel('kubernetes-workload')).toBe('kubernetesWorkloadScaler');
    expect(scalerLabel('some-new-thing')).toBe('someNewThingScaler');
    m.scalerReadings('scaledobject', 'ns', 'web', [reading(), reading({ triggerIndex: 1, triggerName: 'queue', metricName: 's1-x' })]);
    expect((await series(m, 'keda_scaler_active')).map((s) => s.labels.scaler).sort()).toEqual(['metricsAPIScaler', 'queue']);
    m.scalerReadings('scaledobject', 'ns', 'web', [reading()]);
    expect((await series(m, 'keda_scaler_active')).map((s) => s.labels.scaler)).toEqual(['metricsAPIScaler']);
    m.scaleLoopLag('scaledobject', 'ns', 'web', 1500);
    m.forget('scaledobject', 'ns', 'web');
    expect(await series(m, 'keda_scaler_active')).toEqual([]);
    expect(await series(m, 'keda_internal_scale_loop_latency_seconds')).toEqual([]);
  });

  it('keda_internal_scale_loop_latency_seconds: the lag of the last tick', async () => {
    m.scaleLoopLag('scaledobject', 'ns', 'web', 1500);
    expect(await series(m, 'keda_internal_scale_loop_latency_seconds')).toEqual([{ labels: { namespace: 'ns', type: 'scaledobject', resource: 'web' }, value: 1.5 }]);
  });

  it('keda_resource_registered_total, keda_trigger_registered_total and keda_scaled_object_paused follow adds, updates and deletes', async () => {
    const a = so('a', ['cron', 'metrics-api']);
    m.scaledObjectChanged(undefined, a);
    m.scaledObjectChanged(undefined, so('b', ['cron']));
    m.resourceRegistered('scaled_job', '', 1, ['rabbitmq']);
    expect(await series(m, 'keda_resource_registered_total')).toEqual([
      { labels: { type: 'scaled_object', namespace: 'ns' }, value: 2 },
      { labels: { type: 'scaled_job', namespace: 'default' }, value: 1 },
    ]);
    expect(await series(m, 'keda_trigger_registered_total')).toEqual([
      { labels: { type: 'cron' }, value: 2 },
      { labels: { type: 'metrics-api' }, value: 1 },
      { labels: { type: 'rabbitmq' }, value: 1 },
    ]);
    // a re-listed object (old known) is not counted again; an update that pauses and drops a trigger
    const paused = so('a', ['cron'], { 'autoscaling.keda.sh/paused': 'true' });
    m.scaledObjectChanged(a, paused);
    expect((await series(m, 'keda_resource_registered_total'))[0].value).toBe(2);
    expect(await series(m, 'keda_trigger_registered_total')).toContainEqual({ labels: { type: 'metrics-api' }, value: 0 });
    expect(await series(m, 'keda_scaled_object_paused')).toEqual([
      { labels: { namespace: 'ns', scaledObject: 'a' }, value: 1 },
      { labels: { namespace: 'ns', scaledObject: 'b' }, value: 0 },
    ]);
    m.scaledObjectChanged(paused, undefined);
    expect((await series(m, 'keda_resource_registered_total'))[0].value).toBe(1);
    expect(await series(m, 'keda_scaled_object_paused')).toEqual([{ labels: { namespace: 'ns', scaledObject: 'b' }, value: 0 }]);
  });
});

describe('KedaOperatorMetrics: scaler upstream traffic', () => {
  // prom-client's type of a value omits the sample name its histograms set.
  const nameOf = (v: object) => (v as { metricName?: string }).metricName ?? '';
  const durations = async (m: KedaOperatorMetrics) => (await m.registry.getSingleMetric('keda_scaler_http_request_duration_seconds')?.get())?.values ?? [];
  const source = { type: 'scaledobject' as const, namespace: 'ns', name: 'web', triggerType: 'prometheus', triggerName: 'queue', metricName: 's0-prometheus' };
  const six = (status_code: string) => ({ namespace: 'ns', scaled_resource: 'web', scaler: 'prometheusScaler', trigger_name: 'queue', metric_name: 's0-prometheus', status_code });

  it.each([
    ['a 200', 200, '200'],
    ['a 503', 503, '503'],
    ['a transport error', 'error' as const, 'error'],
  ])('keda_scaler_http_requests_total counts %s with status_code=%s', async (_name, code, label) => {
    const m = new KedaOperatorMetrics({ version: 'v' }, { defaultMetrics: false });
    m.scalerHttpRequest(source, code, 0.03);
    m.scalerHttpRequest(source, code, 0.03);
    expect(await series(m, 'keda_scaler_http_requests_total')).toEqual([{ labels: six(label), value: 2 }]);
  });

  it.each([
    ['by default: scaler and status_code only', false, { scaler: 'prometheusScaler', status_code: '200' }],
    ['with high-cardinality labels: all six', true, six('200')],
  ])('keda_scaler_http_request_duration_seconds labels %s', async (_name, highCardinalityLabels, labels) => {
    const m = new KedaOperatorMetrics({ version: 'v' }, { defaultMetrics: false, highCardinalityLabels });
    m.scalerHttpRequest(source, 200, 0.03);
    const values = await durations(m);
    expect(values.find((v) => nameOf(v) === 'keda_scaler_http_request_duration_seconds_count')).toMatchObject({ labels, value: 1 });
    const buckets = values.filter((v) => nameOf(v).endsWith('_bucket')).map((v) => v.labels['le']);
    expect(buckets).toEqual([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, '+Inf']);
    // 0.03 s falls in the 0.05 bucket, not the 0.025 one.
    expect(values.find((v) => v.labels['le'] === 0.025)?.value).toBe(0);
    expect(values.find((v) => v.labels['le'] === 0.05)?.value).toBe(1);
  });

  it.each([
    ['a ScaledObject, ignoreNullValues on', source, true, { resourceType: 'scaledobject', ignoreNullValues: 'true', triggerName: 'queue' }],
    ['a ScaledJob, ignoreNullValues off, trigger without a name', { ...source, type: 'scaledjob' as const, triggerName: undefined }, false, { resourceType: 'scaledjob', ignoreNullValues: 'false', triggerName: '' }],
  ])('keda_scaler_empty_upstream_responses_total for %s', async (_name, src, ignore, labels) => {
    const m = new KedaOperatorMetrics({ version: 'v' }, { defaultMetrics: false });
    m.emptyUpstreamResponse(src, ignore);
    expect(await series(m, 'keda_scaler_empty_upstream_responses_total')).toEqual([
      { labels: { namespace: 'ns', scaledResource: 'web', metricName: 's0-prometheus', ...labels }, value: 1 },
    ]);
  });

  it("forget drops the object's request and empty-response series, not another object's", async () => {
    const m = new KedaOperatorMetrics({ version: 'v' }, { defaultMetrics: false, highCardinalityLabels: true });
    m.scalerHttpRequest(source, 200, 0.01);
    m.scalerHttpRequest({ ...source, name: 'other' }, 200, 0.01);
    m.emptyUpstreamResponse(source, true);
    m.forget('scaledobject', 'ns', 'web');
    expect((await series(m, 'keda_scaler_http_requests_total')).map((s) => s.labels['scaled_resource'])).toEqual(['other']);
    expect(await series(m, 'keda_scaler_empty_upstream_responses_total')).toEqual([]);
    const counts = (await durations(m)).filter((v) => nameOf(v).endsWith('_count'));
    expect(counts.map((v) => v.labels['scaled_resource'])).toEqual(['other']);
  });
});
