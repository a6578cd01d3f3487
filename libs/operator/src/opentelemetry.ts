/**
 * KEDA's operator metrics pushed over OTLP (`--enable-opentelemetry-metrics`), under the instrument
 * and attribute names of KEDA's OpenTelemetry collector (pkg/metricscollector/opentelemetry.go), so
 * that dashboards built on KEDA's OTel export keep working. {@link OpenTelemetryOperatorMetrics} is a
 * second implementation of {@link OperatorMetricsRecorder}; `combinedMetrics` (combined-metrics.ts)
 * runs it next to the Prometheus one.
 *
 * Where it differs from KEDA on purpose: a gauge keeps its last value until its object's loop stops
 * (KEDA's gauges report a value only in the export right after it was recorded), and the deprecated
 * names KEDA dropped in 2.16 are not sent.
 */
import type { Attributes, Counter, Histogram, ObservableResult, UpDownCounter } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPMetricExporter as OtlpGrpcMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as OtlpJsonMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as OtlpProtoMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { defaultResource, detectResources, envDetector, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import {
  MeterProvider,
  PeriodicExportingMetricReader,
  AggregationTemporality,
  InstrumentType,
  type AggregationOption,
  type MetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { ScaledObject } from '@keda-ts/api';
import type { Logger } from '@keda-ts/runtime';
import type { CloudEventMetrics } from './cloudevents';
import type { MetricReading } from './metric-evaluation';
import { scalerLabel, scalerTypeName, type BuildInfo, type OperatorMetricsRecorder, type RegisteredResource, type ScalableType, type ScalerSource } from './prometheus';

/** KEDA's meter name. */
export const OTEL_METER_NAME = 'keda-open-telemetry-metrics';

/** The instruments, by KEDA's names. */
export const OTEL_INSTRUMENTS = {
  buildInfo: 'keda.build.info',
  scalerValue: 'keda.scaler.metrics.value',
  scalerLatency: 'keda.scaler.metrics.latency.seconds',
  scalerActive: 'keda.scaler.active',
  scalerErrors: 'keda.scaler.errors',
  scaledObjectErrors: 'keda.scaledobject.errors',
  scaledJobErrors: 'keda.scaledjob.errors',
  scaledObjectPaused: 'keda.scaled.object.paused',
  triggersRegistered: 'keda.trigger.registered.count',
  resourcesRegistered: 'keda.resource.registered.count',
  loopLatency: 'keda.internal.scale.loop.latency.seconds',
  cloudEventsEmitted: 'keda.cloudeventsource.events.emitted.count',
  cloudEventsQueued: 'keda.cloudeventsource.events.queued',
  scalerHttpRequests: 'keda.scaler.http.requests.count',
  scalerHttpDuration: 'keda.scaler.http.request.duration.seconds',
  // KEDA's OTel name of keda_scaler_empty_upstream_responses_total is not known here: the Prometheus name with dots.
  emptyUpstreamResponses: 'keda.scaler.empty.upstream.responses.count',
  // keda-ts's own (not in KEDA), as the keda_ts_* Prometheus series.
  eventsDropped: 'keda_ts.events.dropped.count',
  scalerReadsInFlight: 'keda_ts.scaler.reads.in_flight',
  scalerReadsWaiting: 'keda_ts.scaler.reads.waiting',
  scalerReadsLimit: 'keda_ts.scaler.reads.limit',
} as const;

/**
 * KEDA's attributes of the per-scaler series: a ScaledObject's carry `scaledObject` and `scalerIndex`,
 * a ScaledJob's `scaledJob` and `triggerIndex` (getScalerMeasurementOption).
 */
export function scalerAttributes(type: ScalableType, namespace: string, name: string, scaler: string, triggerIndex: number, metric: string): Attributes {
  return type === 'scaledjob'
    ? { namespace, scaledJob: name, scaler, triggerIndex: String(triggerIndex), metric }
    : { namespace, scaledObject: name, scaler, scalerIndex: String(triggerIndex), metric };
}

function isPaused(so: ScaledObject): boolean {
  const a = so.metadata?.annotations ?? {};
  return a['autoscaling.keda.sh/paused'] === 'true' || a['autoscaling.keda.sh/paused-replicas'] !== undefined;
}

/** Last values of a gauge, one per attribute set. */
class GaugeValues {
  private readonly values = new Map<string, { attributes: Attributes; value: number }>();
  set(attributes: Attributes, value: number): void {
    this.values.set(JSON.stringify(attributes), { attributes, value });
  }
  delete(attributes: Attributes): void {
    this.values.delete(JSON.stringify(attributes));
  }
  observe(result: ObservableResult): void {
    for (const { attributes, value } of this.values.values()) result.observe(value, attributes);
  }
}

export interface OpenTelemetryOperatorMetricsOptions {
  build: BuildInfo;
  /** Where the metrics go: a PeriodicExportingMetricReader (see {@link otlpMetricReaderFromEnv}), or a test reader. */
  readers: MetricReader[];
  /** Default: the SDK's default resource merged with OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES, service.name keda-operator. */
  resource?: Resource;
  /** --enable-high-cardinality-metrics-labels: the HTTP duration histogram carries all six attributes, not only scaler and status_code. */
  highCardinalityLabels?: boolean;
}

/** keda_scaler_http_request_duration_seconds's buckets. */
const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class OpenTelemetryOperatorMetrics implements OperatorMetricsRecorder, CloudEventMetrics {
  readonly provider: MeterProvider;
  private readonly value = new GaugeValues();
  private readonly latency = new GaugeValues();
  private readonly active = new GaugeValues();
  private readonly paused = new GaugeValues();
  private readonly loopLatency = new GaugeValues();
  private readonly queued = new GaugeValues();
  private readonly scalerErrors: Counter;
  private readonly scaledObjectErrors: Counter;
  private readonly scaledJobErrors: Counter;
  private readonly triggers: UpDownCounter;
  private readonly resources: UpDownCounter;
  private readonly cloudEventsEmitted: Counter;
  private readonly eventsDropped: Counter;
  private readonly httpRequests: Counter;
  private readonly httpDuration: Histogram;
  private readonly emptyUpstream: Counter;
  private readonly highCardinality: boolean;
  private scalerReads?: { readonly inFlight: number; readonly waiting: number; readonly limit: number };
  /** Per object, the attribute sets of its scaler series, so that vanished triggers lose theirs. */
  private readonly seriesOf = new Map<string, Map<string, Attributes>>();
  private closed?: Promise<void>;

  constructor(options: OpenTelemetryOperatorMetricsOptions) {
    this.provider = new MeterProvider({ resource: options.resource ?? operatorResource(options.build), readers: options.readers });
    const meter = this.provider.getMeter(OTEL_METER_NAME);
    const I = OTEL_INSTRUMENTS;
    const buildAttributes: Attributes = {
      version: options.build.version,
      git_commit: options.build.gitCommit ?? 'unknown',
      // go* attributes carry the Node.js runtime, as keda_build_info's labels do.
      goversion: process.version,
      goos: process.platform,
      goarch: process.arch,
    };
    meter
      .createObservableGauge(I.buildInfo, { description: "A metric with a constant '1' value labeled by version, git_commit and goversion from which KEDA was built." })
      .addCallback((r) => r.observe(1, buildAttributes));
    const gauge = (name: string, description: string, values: GaugeValues, unit?: string) =>
      meter.createObservableGauge(name, { description, unit }).addCallback((r) => values.observe(r));
    gauge(I.scalerValue, "The current value for each scaler's metric that would be used by the HPA in computing the target average", this.value);
    gauge(I.scalerLatency, 'The latency of retrieving current metric from each scaler', this.latency, 's');
    gauge(I.scalerActive, 'Indicates whether a scaler is active (1), or not (0)', this.active);
    gauge(I.scaledObjectPaused, 'Indicates whether a ScaledObject is paused', this.paused);
    gauge(I.loopLatency, 'Internal latency of ScaledObject/ScaledJob loop execution', this.loopLatency, 's');
    gauge(I.cloudEventsQueued, 'Indicates how many events are still queue', this.queued);
    this.scalerErrors = meter.createCounter(I.scalerErrors, { description: 'Number of scaler errors' });
    this.scaledObjectErrors = meter.createCounter(I.scaledObjectErrors, { description: 'Number of scaled object errors' });
    this.scaledJobErrors = meter.createCounter(I.scaledJobErrors, { description: 'Number of scaled job errors' });
    this.triggers = meter.createUpDownCounter(I.triggersRegistered, { description: 'Total number of triggers per trigger type registered' });
    this.resources = meter.createUpDownCounter(I.resourcesRegistered, {
      description: 'Total number of KEDA custom resources per namespace for each custom resource type (CRD) registered',
    });
    this.cloudEventsEmitted = meter.createCounter(I.cloudEventsEmitted, {
      description: "Measured the total number of emitted cloudevents. 'namespace': namespace of CloudEventSource 'cloudeventsource': name of CloudEventSource object. 'eventsink': destination of this emitted event 'state':indicated events emitted successfully or not",
    });
    this.highCardinality = options.highCardinalityLabels ?? false;
    this.httpRequests = meter.createCounter(I.scalerHttpRequests, { description: 'Outbound HTTP requests of scalers, by response status code ("error" when no response came).' });
    this.httpDuration = meter.createHistogram(I.scalerHttpDuration, {
      description: 'Time from sending an outbound scaler HTTP request to its response headers, in seconds.',
      unit: 's',
      advice: { explicitBucketBoundaries: HTTP_DURATION_BUCKETS },
    });
    this.emptyUpstream = meter.createCounter(I.emptyUpstreamResponses, { description: "Answers of a scaler's upstream that held no result (e.g. a Prometheus query without samples)." });
    this.eventsDropped = meter.createCounter(I.eventsDropped, { description: 'Kubernetes Events not written: reason="spam" (per-object limit) or "queue_full" (send queue or rate limiter full).' });
    const reads = (pick: (r: { inFlight: number; waiting: number; limit: number }) => number) => (r: ObservableResult) => {
      if (this.scalerReads) r.observe(pick(this.scalerReads));
    };
    meter.createObservableGauge(I.scalerReadsInFlight, { description: 'Scaler reads (scale loops and GetMetrics) holding a slot of --max-concurrent-scaler-reads.' }).addCallback(reads((r) => r.inFlight));
    meter.createObservableGauge(I.scalerReadsWaiting, { description: 'Scaler reads waiting for a free slot of --max-concurrent-scaler-reads.' }).addCallback(reads((r) => r.waiting));
    meter.createObservableGauge(I.scalerReadsLimit, { description: 'The value of --max-concurrent-scaler-reads.' }).addCallback(reads((r) => r.limit));
  }

  scalerReadings(type: ScalableType, namespace: string, name: string, readings: readonly MetricReading[]): void {
    const key = `${type}/${namespace}/${name}`;
    const previous = this.seriesOf.get(key) ?? new Map<string, Attributes>();
    const current = new Map<string, Attributes>();
    for (const r of readings) {
      const attributes = scalerAttributes(type, namespace, name, scalerLabel(r.triggerType, r.triggerName), r.triggerIndex, r.metricName);
      current.set(JSON.stringify(attributes), attributes);
      this.latency.set(attributes, r.latencyMs / 1000);
      if (r.outcome === 'error') {
        this.scalerErrors.add(1, attributes);
        this.active.set(attributes, 0);
        this.errorOf(type, namespace, name);
        continue;
      }
      this.active.set(attributes, r.isActive ? 1 : 0);
      const value = r.metrics[0]?.value;
      if (value !== undefined) this.value.set(attributes, value);
    }
    for (const [id, attributes] of previous) if (!current.has(id)) this.removeScalerSeries(attributes);
    this.seriesOf.set(key, current);
  }

  scalableError(type: ScalableType, namespace: string, name: string): void {
    this.errorOf(type, namespace, name);
  }

  scaleLoopLag(type: ScalableType, namespace: string, name: string, lagMs: number): void {
    this.loopLatency.set({ namespace, type, name }, lagMs / 1000);
  }

  scaledObjectChanged(old: ScaledObject | undefined, obj: ScaledObject | undefined): void {
    const namespace = obj?.metadata?.namespace ?? old?.metadata?.namespace ?? '';
    const name = obj?.metadata?.name ?? old?.metadata?.name ?? '';
    if (!old && obj) this.resourceRegistered('scaled_object', namespace, 1);
    if (old && !obj) this.resourceRegistered('scaled_object', namespace, -1);
    for (const t of old?.spec?.triggers ?? []) if (t.type) this.triggers.add(-1, { type: t.type });
    for (const t of obj?.spec?.triggers ?? []) if (t.type) this.triggers.add(1, { type: t.type });
    if (obj) this.paused.set({ namespace, scaledObject: name }, isPaused(obj) ? 1 : 0);
    else this.paused.delete({ namespace, scaledObject: name });
  }

  resourceRegistered(resource: RegisteredResource, namespace: string, delta: 1 | -1, triggerTypes: readonly string[] = []): void {
    this.resources.add(delta, { namespace: namespace || 'default', type: resource });
    for (const t of triggerTypes) if (t) this.triggers.add(delta, { type: t });
  }

  forget(type: ScalableType, namespace: string, name: string): void {
    const key = `${type}/${namespace}/${name}`;
    for (const attributes of this.seriesOf.get(key)?.values() ?? []) this.removeScalerSeries(attributes);
    this.seriesOf.delete(key);
    this.loopLatency.delete({ namespace, type, name });
  }

  eventDropped(reason: string): void {
    this.eventsDropped.add(1, { reason });
  }

  watchScalerReads(source: { readonly inFlight: number; readonly waiting: number; readonly limit: number }): void {
    this.scalerReads = source;
  }

  /** Attributes as keda_scaler_http_requests_total's labels. */
  scalerHttpRequest(source: ScalerSource, statusCode: number | 'error', durationSeconds: number): void {
    const attributes = {
      namespace: source.namespace,
      scaled_resource: source.name,
      scaler: scalerTypeName(source.triggerType),
      trigger_name: source.triggerName ?? '',
      metric_name: source.metricName,
      status_code: String(statusCode),
    };
    this.httpRequests.add(1, attributes);
    this.httpDuration.record(durationSeconds, this.highCardinality ? attributes : { scaler: attributes.scaler, status_code: attributes.status_code });
  }

  /** Attributes as keda_scaler_empty_upstream_responses_total's labels. */
  emptyUpstreamResponse(source: ScalerSource, ignoreNullValues: boolean): void {
    this.emptyUpstream.add(1, {
      namespace: source.namespace,
      scaledResource: source.name,
      triggerName: source.triggerName ?? '',
      metricName: source.metricName,
      resourceType: source.type,
      ignoreNullValues: String(ignoreNullValues),
    });
  }

  cloudEventEmitted(namespace: string, cloudEventSource: string, eventSink: string, state: 'emitted' | 'failed'): void {
    this.cloudEventsEmitted.add(1, { namespace, cloudEventSource, eventsink: eventSink, state });
  }

  cloudEventQueued(namespace: string, queued: number): void {
    this.queued.set({ namespace }, queued);
  }

  /** Exports what was recorded now (tests; the reader exports on its own interval). */
  async flush(): Promise<void> {
    await this.provider.forceFlush();
  }

  /** Exports once more and stops; later calls return the same promise. Never rejects. */
  shutdown(): Promise<void> {
    this.closed ??= this.provider.shutdown().catch(() => undefined);
    return this.closed;
  }

  private errorOf(type: ScalableType, namespace: string, name: string): void {
    if (type === 'scaledjob') this.scaledJobErrors.add(1, { namespace, scaledJob: name });
    else this.scaledObjectErrors.add(1, { namespace, scaledObject: name });
  }

  private removeScalerSeries(attributes: Attributes): void {
    for (const g of [this.value, this.latency, this.active]) g.delete(attributes);
  }
}

/** The resource of the operator's metrics: service.name keda-operator unless OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES name one. */
export function operatorResource(build: BuildInfo): Resource {
  const fromEnv = detectResources({ detectors: [envDetector] });
  return defaultResource()
    .merge(resourceFromAttributes({ 'service.name': 'keda-operator', 'service.version': build.version }))
    .merge(fromEnv);
}

export type OtlpProtocol = 'grpc' | 'http/protobuf' | 'http/json';
const PROTOCOLS: readonly OtlpProtocol[] = ['grpc', 'http/protobuf', 'http/json'];

type Env = Readonly<Record<string, string | undefined>>;

/**
 * OTEL_EXPORTER_OTLP_METRICS_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL, else http/protobuf (KEDA's
 * default: its HTTP exporter unless the protocol is grpc). A value the SDK does not know stops the start.
 */
export function otlpProtocolFromEnv(env: Env = process.env): OtlpProtocol {
  for (const name of ['OTEL_EXPORTER_OTLP_METRICS_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']) {
    const raw = env[name]?.trim();
    if (!raw) continue;
    if ((PROTOCOLS as readonly string[]).includes(raw)) return raw as OtlpProtocol;
    throw new Error(`${name}=${raw}: expected one of ${PROTOCOLS.join(', ')}`);
  }
  return 'http/protobuf';
}

/**
 * The OTLP exporter of the protocol; endpoint, headers, TLS, compression, timeout and temporality
 * come from the standard OTEL_EXPORTER_OTLP_(METRICS_)* variables, read by the exporter itself.
 */
export function otlpMetricExporter(protocol: OtlpProtocol, options: { timeoutMillis?: number } = {}): PushMetricExporter {
  const config = options.timeoutMillis === undefined ? {} : { timeoutMillis: options.timeoutMillis };
  switch (protocol) {
    case 'grpc':
      return new OtlpGrpcMetricExporter(config);
    case 'http/json':
      return new OtlpJsonMetricExporter(config);
    default:
      return new OtlpProtoMetricExporter(config);
  }
}

function millisFromEnv(env: Env, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}=${raw}: expected a positive number of milliseconds`);
  return n;
}

export interface OtlpReaderSettings {
  protocol: OtlpProtocol;
  /** OTEL_METRIC_EXPORT_INTERVAL (default 60000 ms). */
  intervalMs: number;
  /** OTEL_METRIC_EXPORT_TIMEOUT (default 30000 ms), at most the interval. */
  timeoutMs: number;
  /** The endpoint as configured (for the start log); empty: the exporter's default (localhost). */
  endpoint: string;
}

/** The settings the SDK reads from the environment, checked before anything starts. */
export function otlpReaderSettingsFromEnv(env: Env = process.env): OtlpReaderSettings {
  const intervalMs = millisFromEnv(env, 'OTEL_METRIC_EXPORT_INTERVAL', 60_000);
  const timeoutMs = Math.min(millisFromEnv(env, 'OTEL_METRIC_EXPORT_TIMEOUT', 30_000), intervalMs);
  const endpoint = (env['OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'] || env['OTEL_EXPORTER_OTLP_ENDPOINT'] || '').trim();
  return { protocol: otlpProtocolFromEnv(env), intervalMs, timeoutMs, endpoint };
}

/**
 * The temporality selector the controller's readers use: the given one (cumulative by default), but
 * delta for gauges. A gauge point carries no temporality in OTLP, yet the SDK keeps re-reporting, under
 * cumulative, every attribute set an observable gauge ever observed; delta reports only what the last
 * callback observed, so a forgotten ScaledObject's series stop as they do in Prometheus.
 */
export function gaugesAsDelta(selector?: (instrumentType: InstrumentType) => AggregationTemporality): (instrumentType: InstrumentType) => AggregationTemporality {
  return (instrumentType) =>
    instrumentType === InstrumentType.OBSERVABLE_GAUGE || instrumentType === InstrumentType.GAUGE
      ? AggregationTemporality.DELTA
      : (selector?.(instrumentType) ?? AggregationTemporality.CUMULATIVE);
}

/**
 * Passes every export through, and logs failures at most once per `minLogIntervalMs` (with how many
 * failed since the last line) and once when exports succeed again. An unreachable collector thus
 * costs one log line every few minutes, never one per export, and nothing is thrown.
 */
export class QuietExporter implements PushMetricExporter {
  private failedSince = 0;
  private lastLoggedAt?: number;
  private failing = false;
  /** The inner exporter's choices (temporality from OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE). */
  readonly selectAggregationTemporality: (instrumentType: InstrumentType) => AggregationTemporality;
  readonly selectAggregation?: (instrumentType: InstrumentType) => AggregationOption;

  constructor(
    private readonly inner: PushMetricExporter,
    private readonly logger: Logger,
    private readonly options: { minLogIntervalMs?: number; now?: () => number; endpoint?: string } = {},
  ) {
    this.selectAggregationTemporality = gaugesAsDelta(inner.selectAggregationTemporality?.bind(inner));
    this.selectAggregation = inner.selectAggregation?.bind(inner);
  }

  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    let done = false;
    const finish = (result: ExportResult) => {
      if (done) return;
      done = true;
      this.observe(result);
      resultCallback(result);
    };
    try {
      this.inner.export(metrics, finish);
    } catch (err) {
      finish({ code: ExportResultCode.FAILED, error: err instanceof Error ? err : new Error(String(err)) });
    }
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  private observe(result: ExportResult): void {
    const now = (this.options.now ?? Date.now)();
    if (result.code === ExportResultCode.SUCCESS) {
      if (this.failing) this.logger.info({ endpoint: this.options.endpoint, failedExports: this.failedSince }, 'OpenTelemetry metrics export works again');
      this.failing = false;
      this.failedSince = 0;
      this.lastLoggedAt = undefined;
      return;
    }
    this.failing = true;
    this.failedSince++;
    const every = this.options.minLogIntervalMs ?? 300_000;
    if (this.lastLoggedAt !== undefined && now - this.lastLoggedAt < every) return;
    this.lastLoggedAt = now;
    this.logger.warn(
      { endpoint: this.options.endpoint, failedExports: this.failedSince, err: { message: result.error?.message ?? 'export failed' } },
      `OpenTelemetry metrics export failed (logged at most every ${Math.round(every / 1000)}s)`,
    );
    this.failedSince = 0;
  }
}

/**
 * The periodic OTLP reader the controller uses, from the standard environment variables. Throws on
 * a malformed protocol or interval (the start stops with the variable's name).
 */
export function otlpMetricReaderFromEnv(logger: Logger, env: Env = process.env): { reader: PeriodicExportingMetricReader; settings: OtlpReaderSettings } {
  const settings = otlpReaderSettingsFromEnv(env);
  // Unless OTEL_EXPORTER_OTLP_(METRICS_)TIMEOUT says otherwise, the exporter (and its retries) gives up
  // within the reader's timeout, so a failed export is reported (and logged) by the time the reader stops waiting.
  const timeoutSet = Boolean(env['OTEL_EXPORTER_OTLP_METRICS_TIMEOUT']?.trim() || env['OTEL_EXPORTER_OTLP_TIMEOUT']?.trim());
  const exporter = new QuietExporter(otlpMetricExporter(settings.protocol, { timeoutMillis: timeoutSet ? undefined : Math.min(10_000, settings.timeoutMs) }), logger, {
    endpoint: settings.endpoint || undefined,
  });
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: settings.intervalMs, exportTimeoutMillis: settings.timeoutMs });
  return { reader, settings };
}
