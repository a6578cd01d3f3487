/**
 * KEDA's operator metrics under KEDA's names and labels (so existing dashboards and alerts keep
 * working). The scale loop reports through the small {@link OperatorMetricsRecorder} interface;
 * {@link KedaOperatorMetrics} is its prom-client implementation.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ScaledObject } from '@keda-ts/api';
import type { MetricReading } from './metric-evaluation';

export type ScalableType = 'scaledobject' | 'scaledjob';

/** The trigger a scaler was built for, as its upstream-traffic series name it. */
export interface ScalerSource {
  type: ScalableType;
  namespace: string;
  /** The ScaledObject or ScaledJob. */
  name: string;
  triggerType: string;
  triggerName?: string;
  /** The trigger's External metric name (`s0-…`). */
  metricName: string;
}

/** What the controller reports; every method is cheap and never throws. */
export interface OperatorMetricsRecorder {
  /** The readings of one poll of a ScaledObject or ScaledJob; its series from earlier polls that are gone are dropped. */
  scalerReadings(type: ScalableType, namespace: string, name: string, readings: readonly MetricReading[]): void;
  /** A poll failed as a whole (scalers could not be built, ...). */
  scalableError(type: ScalableType, namespace: string, name: string): void;
  /** How late a scale-loop tick ran against its plan. */
  scaleLoopLag(type: ScalableType, namespace: string, name: string, lagMs: number): void;
  /** A ScaledObject was added, changed (`old` set) or deleted (`obj` undefined). */
  scaledObjectChanged(old: ScaledObject | undefined, obj: ScaledObject | undefined): void;
  /**
   * A ScaledJob (or other registered resource) was added (+1) or deleted (-1); triggers by type.
   * The hook for the ScaledJob controller: it calls this and scalerReadings/scalableError with 'scaledjob'.
   */
  resourceRegistered(resource: RegisteredResource, namespace: string, delta: 1 | -1, triggerTypes?: readonly string[]): void;
  /** The loop of this object stopped: its per-scaler and loop series go. */
  forget(type: ScalableType, namespace: string, name: string): void;
  /** An Event was not written: `spam` (per-object limit) or `queue_full` (send queue or rate limiter full). */
  eventDropped(reason: string): void;
  /** Where the in-flight and waiting scaler reads are read from at each scrape. */
  watchScalerReads(source: { readonly inFlight: number; readonly waiting: number; readonly limit: number }): void;
  /** One outbound HTTP request of a scaler: the response status, or 'error' when no response came. */
  scalerHttpRequest?(source: ScalerSource, statusCode: number | 'error', durationSeconds: number): void;
  /** A scaler's upstream answered without any result (e.g. a Prometheus query with no samples). */
  emptyUpstreamResponse?(source: ScalerSource, ignoreNullValues: boolean): void;
}

export type RegisteredResource = 'scaled_object' | 'scaled_job' | 'trigger_authentication' | 'cluster_trigger_authentication' | 'cloudevent_source';

/** Records nothing (tests, metrics off). */
export const noopOperatorMetrics: OperatorMetricsRecorder = {
  scalerReadings: () => undefined,
  scalableError: () => undefined,
  scaleLoopLag: () => undefined,
  scaledObjectChanged: () => undefined,
  resourceRegistered: () => undefined,
  forget: () => undefined,
  eventDropped: () => undefined,
  watchScalerReads: () => undefined,
};

/** KEDA's Go type names of the scalers, the `scaler` label of triggers without a name. */
const SCALER_TYPE_NAMES: Record<string, string> = {
  cpu: 'cpuMemoryScaler',
  memory: 'cpuMemoryScaler',
  'metrics-api': 'metricsAPIScaler',
  cron: 'cronScaler',
  'kubernetes-workload': 'kubernetesWorkloadScaler',
  prometheus: 'prometheusScaler',
  rabbitmq: 'rabbitMQScaler',
  redis: 'redisScaler',
  'redis-streams': 'redisStreamsScaler',
  kafka: 'kafkaScaler',
  postgresql: 'postgreSQLScaler',
  mysql: 'mySQLScaler',
  mongodb: 'mongoDBScaler',
  'aws-sqs-queue': 'awsSqsQueueScaler',
  'azure-queue': 'azureQueueScaler',
  'azure-blob': 'azureBlobScaler',
  'nats-jetstream': 'natsJetStreamScaler',
  external: 'externalScaler',
};

/** The `scaler` label: the trigger's name when set, else KEDA's type name of its scaler. */
export function scalerLabel(triggerType: string, triggerName?: string): string {
  if (triggerName) return triggerName;
  return scalerTypeName(triggerType);
}

/** KEDA's type name of the scaler of a trigger type (`prometheus` → `prometheusScaler`). */
export function scalerTypeName(triggerType: string): string {
  return SCALER_TYPE_NAMES[triggerType] ?? `${triggerType.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())}Scaler`;
}

const HTTP_LABELS = ['namespace', 'scaled_resource', 'scaler', 'trigger_name', 'metric_name', 'status_code'] as const;
type HttpLabel = (typeof HTTP_LABELS)[number];
const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const EMPTY_UPSTREAM_LABELS = ['namespace', 'scaledResource', 'triggerName', 'metricName', 'resourceType', 'ignoreNullValues'] as const;
type EmptyUpstreamLabel = (typeof EMPTY_UPSTREAM_LABELS)[number];

const SCALER_LABELS = ['namespace', 'metric', 'scaledObject', 'scaler', 'triggerIndex', 'type'] as const;
type ScalerLabels = Record<(typeof SCALER_LABELS)[number], string>;

function isPaused(so: ScaledObject): boolean {
  const a = so.metadata?.annotations ?? {};
  return a['autoscaling.keda.sh/paused'] === 'true' || a['autoscaling.keda.sh/paused-replicas'] !== undefined;
}

export interface BuildInfo {
  version: string;
  gitCommit?: string;
}

export class KedaOperatorMetrics implements OperatorMetricsRecorder {
  readonly registry = new Registry();
  private readonly value: Gauge<(typeof SCALER_LABELS)[number]>;
  private readonly latency: Gauge<(typeof SCALER_LABELS)[number]>;
  private readonly active: Gauge<(typeof SCALER_LABELS)[number]>;
  private readonly detailErrors: Counter<(typeof SCALER_LABELS)[number]>;
  private readonly scaledObjectErrors: Counter<'namespace' | 'scaledObject'>;
  private readonly scaledJobErrors: Counter<'namespace' | 'scaledJob'>;
  private readonly paused: Gauge<'namespace' | 'scaledObject'>;
  private readonly triggers: Gauge<'type'>;
  private readonly resources: Gauge<'type' | 'namespace'>;
  private readonly loopLatency: Gauge<'namespace' | 'type' | 'resource'>;
  private readonly eventsDropped: Counter<'reason'>;
  private readonly cloudEventsEmitted: Counter<'namespace' | 'cloudeventsource' | 'eventsink' | 'state'>;
  private readonly cloudEventsQueued: Gauge<'namespace'>;
  private readonly httpRequests: Counter<HttpLabel>;
  private readonly httpDuration: Histogram<HttpLabel>;
  private readonly highCardinality: boolean;
  private readonly emptyUpstream: Counter<EmptyUpstreamLabel>;
  /** Per object, the label sets of its upstream-traffic counters, dropped with its other scaler series. */
  private readonly upstreamSeriesOf = new Map<string, Map<string, { http?: Record<HttpLabel, string>; empty?: Record<EmptyUpstreamLabel, string> }>>();
  private scalerReads?: { readonly inFlight: number; readonly waiting: number; readonly limit: number };
  /** Per object, the scaler series it has, so that vanished triggers lose theirs. */
  private readonly seriesOf = new Map<string, Map<string, ScalerLabels>>();

  /**
   * `highCardinalityLabels` (--enable-high-cardinality-metrics-labels): the HTTP duration histogram
   * carries the object, trigger and metric labels too, not only `scaler` and `status_code`.
   */
  constructor(build: BuildInfo, options: { defaultMetrics?: boolean; highCardinalityLabels?: boolean } = {}) {
    const registers = [this.registry];
    this.highCardinality = options.highCardinalityLabels ?? false;
    const info = new Gauge({
      name: 'keda_build_info',
      help: 'Info metric, with static information about KEDA build like: version, git commit and Golang runtime info.',
      labelNames: ['version', 'git_commit', 'goversion', 'goos', 'goarch'],
      registers,
    });
    // go* labels carry the Node.js runtime, so queries keyed on them keep working.
    info.set({ version: build.version, git_commit: build.gitCommit ?? 'unknown', goversion: process.version, goos: process.platform, goarch: process.arch }, 1);
    this.value = new Gauge({ name: 'keda_scaler_metrics_value', help: 'The current value for each scaler\'s metric that would be used by the HPA in computing the target average.', labelNames: SCALER_LABELS, registers });
    this.latency = new Gauge({ name: 'keda_scaler_metrics_latency_seconds', help: 'The latency of retrieving current metric from each scaler, in seconds.', labelNames: SCALER_LABELS, registers });
    this.active = new Gauge({ name: 'keda_scaler_active', help: 'Indicates whether a scaler is active (1), or not (0).', labelNames: SCALER_LABELS, registers });
    this.detailErrors = new Counter({ name: 'keda_scaler_detail_errors_total', help: 'The total number of errors encountered for each scaler.', labelNames: SCALER_LABELS, registers });
    this.scaledObjectErrors = new Counter({ name: 'keda_scaled_object_errors_total', help: 'The number of errors that have occurred for each ScaledObject.', labelNames: ['namespace', 'scaledObject'], registers });
    this.scaledJobErrors = new Counter({ name: 'keda_scaled_job_errors_total', help: 'Number of scaled job errors.', labelNames: ['namespace', 'scaledJob'], registers });
    this.paused = new Gauge({ name: 'keda_scaled_object_paused', help: 'Indicates whether a ScaledObject is paused.', labelNames: ['namespace', 'scaledObject'], registers });
    this.triggers = new Gauge({ name: 'keda_trigger_registered_total', help: 'Total number of triggers per trigger type registered.', labelNames: ['type'], registers });
    this.resources = new Gauge({ name: 'keda_resource_registered_total', help: 'Total number of KEDA custom resources per namespace for each custom resource type (CRD) registered.', labelNames: ['type', 'namespace'], registers });
    this.loopLatency = new Gauge({ name: 'keda_internal_scale_loop_latency_seconds', help: 'Total deviation (in seconds) between the expected execution time and the actual execution time for the scaling loop.', labelNames: ['namespace', 'type', 'resource'], registers });
    this.cloudEventsEmitted = new Counter({ name: 'keda_cloudeventsource_events_emitted_total', help: 'Measured emitted cloudevents with parameters per CloudEventSource', labelNames: ['namespace', 'cloudeventsource', 'eventsink', 'state'], registers });
    this.cloudEventsQueued = new Gauge({ name: 'keda_cloudeventsource_events_queued', help: 'Indicates how many events are still queue', labelNames: ['namespace'], registers });
    this.httpRequests = new Counter({ name: 'keda_scaler_http_requests_total', help: 'Outbound HTTP requests of scalers, by response status code ("error" when no response came).', labelNames: HTTP_LABELS, registers });
    this.httpDuration = new Histogram({
      name: 'keda_scaler_http_request_duration_seconds',
      help: 'Time from sending an outbound scaler HTTP request to its response headers, in seconds.',
      labelNames: this.highCardinality ? HTTP_LABELS : ['scaler', 'status_code'],
      buckets: HTTP_DURATION_BUCKETS,
      registers,
    });
    this.emptyUpstream = new Counter({ name: 'keda_scaler_empty_upstream_responses_total', help: 'Answers of a scaler\'s upstream that held no result (e.g. a Prometheus query without samples).', labelNames: EMPTY_UPSTREAM_LABELS, registers });
    // keda-ts's own (not in KEDA): what the tenant-isolation bounds shed or hold.
    this.eventsDropped = new Counter({ name: 'keda_ts_events_dropped_total', help: 'Kubernetes Events not written: reason="spam" (per-object limit) or "queue_full" (send queue or rate limiter full).', labelNames: ['reason'], registers });
    for (const reason of ['spam', 'queue_full']) this.eventsDropped.inc({ reason }, 0);
    const reads = () => this.scalerReads;
    new Gauge({ name: 'keda_ts_scaler_reads_in_flight', help: 'Scaler reads (scale loops and GetMetrics) holding a slot of --max-concurrent-scaler-reads.', registers, collect() { this.set(reads()?.inFlight ?? 0); } });
    new Gauge({ name: 'keda_ts_scaler_reads_waiting', help: 'Scaler reads waiting for a free slot of --max-concurrent-scaler-reads.', registers, collect() { this.set(reads()?.waiting ?? 0); } });
    new Gauge({ name: 'keda_ts_scaler_reads_limit', help: 'The value of --max-concurrent-scaler-reads.', registers, collect() { this.set(reads()?.limit ?? 0); } });
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  scalerReadings(type: ScalableType, namespace: string, name: string, readings: readonly MetricReading[]): void {
    const key = `${type}/${namespace}/${name}`;
    const previous = this.seriesOf.get(key) ?? new Map<string, ScalerLabels>();
    const current = new Map<string, ScalerLabels>();
    for (const r of readings) {
      const labels: ScalerLabels = {
        namespace,
        metric: r.metricName,
        scaledObject: name,
        scaler: scalerLabel(r.triggerType, r.triggerName),
        triggerIndex: String(r.triggerIndex),
        type,
      };
      const id = JSON.stringify(labels);
      if (!previous.has(id)) this.detailErrors.inc(labels, 0); // series start at 0, as KEDA's
      current.set(id, labels);
      this.latency.set(labels, r.latencyMs / 1000);
      if (r.outcome === 'error') {
        this.detailErrors.inc(labels);
        this.active.set(labels, 0);
        this.errorOf(type, namespace, name);
        continue;
      }
      this.active.set(labels, r.isActive ? 1 : 0);
      const value = r.metrics[0]?.value;
      if (value !== undefined) this.value.set(labels, value);
    }
    for (const [id, labels] of previous) if (!current.has(id)) this.removeScalerSeries(labels);
    this.seriesOf.set(key, current);
  }

  scalableError(type: ScalableType, namespace: string, name: string): void {
    this.errorOf(type, namespace, name);
  }

  scaleLoopLag(type: ScalableType, namespace: string, name: string, lagMs: number): void {
    this.loopLatency.set({ namespace, type, resource: name }, lagMs / 1000);
  }

  scaledObjectChanged(old: ScaledObject | undefined, obj: ScaledObject | undefined): void {
    const namespace = obj?.metadata?.namespace ?? old?.metadata?.namespace ?? '';
    const name = obj?.metadata?.name ?? old?.metadata?.name ?? '';
    if (!old && obj) this.resourceRegistered('scaled_object', namespace, 1);
    if (old && !obj) this.resourceRegistered('scaled_object', namespace, -1);
    for (const t of old?.spec?.triggers ?? []) this.triggers.dec({ type: t.type });
    for (const t of obj?.spec?.triggers ?? []) this.triggers.inc({ type: t.type });
    if (obj) this.paused.set({ namespace, scaledObject: name }, isPaused(obj) ? 1 : 0);
    else {
      this.paused.remove({ namespace, scaledObject: name });
      this.scaledObjectErrors.remove({ namespace, scaledObject: name });
    }
  }

  resourceRegistered(resource: RegisteredResource, namespace: string, delta: 1 | -1, triggerTypes: readonly string[] = []): void {
    this.resources.inc({ type: resource, namespace: namespace || 'default' }, delta);
    for (const t of triggerTypes) this.triggers.inc({ type: t }, delta);
  }

  forget(type: ScalableType, namespace: string, name: string): void {
    const key = `${type}/${namespace}/${name}`;
    for (const labels of this.seriesOf.get(key)?.values() ?? []) this.removeScalerSeries(labels);
    this.seriesOf.delete(key);
    for (const series of this.upstreamSeriesOf.get(key)?.values() ?? []) {
      if (series.http) {
        this.httpRequests.remove(series.http);
        if (this.highCardinality) this.httpDuration.remove(series.http);
      }
      if (series.empty) this.emptyUpstream.remove(series.empty);
    }
    this.upstreamSeriesOf.delete(key);
    this.loopLatency.remove({ namespace, type, resource: name });
  }

  eventDropped(reason: string): void {
    this.eventsDropped.inc({ reason });
  }

  /** One CloudEvent sent (`emitted`) or given up on (`failed`) by a (Cluster)CloudEventSource. */
  cloudEventEmitted(namespace: string, cloudeventsource: string, eventsink: string, state: 'emitted' | 'failed'): void {
    this.cloudEventsEmitted.inc({ namespace, cloudeventsource, eventsink, state });
  }

  /** CloudEvents waiting in the queues of the sources of a namespace. */
  cloudEventQueued(namespace: string, queued: number): void {
    this.cloudEventsQueued.set({ namespace }, queued);
  }

  watchScalerReads(source: { readonly inFlight: number; readonly waiting: number; readonly limit: number }): void {
    this.scalerReads = source;
  }

  scalerHttpRequest(source: ScalerSource, statusCode: number | 'error', durationSeconds: number): void {
    const labels: Record<HttpLabel, string> = {
      namespace: source.namespace,
      scaled_resource: source.name,
      scaler: scalerTypeName(source.triggerType),
      trigger_name: source.triggerName ?? '',
      metric_name: source.metricName,
      status_code: String(statusCode),
    };
    this.httpRequests.inc(labels);
    // prom-client keeps the label object of a new series: each metric gets its own.
    this.httpDuration.observe(this.highCardinality ? { ...labels } : { scaler: labels.scaler, status_code: labels.status_code }, durationSeconds);
    this.upstreamSeries(source, `http|${JSON.stringify(labels)}`).http = { ...labels };
  }

  emptyUpstreamResponse(source: ScalerSource, ignoreNullValues: boolean): void {
    const labels: Record<EmptyUpstreamLabel, string> = {
      namespace: source.namespace,
      scaledResource: source.name,
      triggerName: source.triggerName ?? '',
      metricName: source.metricName,
      resourceType: source.type,
      ignoreNullValues: String(ignoreNullValues),
    };
    this.emptyUpstream.inc(labels);
    this.upstreamSeries(source, `empty|${JSON.stringify(labels)}`).empty = { ...labels };
  }

  private upstreamSeries(source: ScalerSource, id: string): { http?: Record<HttpLabel, string>; empty?: Record<EmptyUpstreamLabel, string> } {
    const key = `${source.type}/${source.namespace}/${source.name}`;
    let byId = this.upstreamSeriesOf.get(key);
    if (!byId) this.upstreamSeriesOf.set(key, (byId = new Map()));
    let series = byId.get(id);
    if (!series) byId.set(id, (series = {}));
    return series;
  }

  private errorOf(type: ScalableType, namespace: string, name: string): void {
    if (type === 'scaledjob') this.scaledJobErrors.inc({ namespace, scaledJob: name });
    else this.scaledObjectErrors.inc({ namespace, scaledObject: name });
  }

  private removeScalerSeries(labels: ScalerLabels): void {
    for (const m of [this.value, this.latency, this.active, this.detailErrors]) m.remove(labels);
  }
}
