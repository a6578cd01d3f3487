import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const GRPC_LABELS = ['grpc_type', 'grpc_service', 'grpc_method'] as const;
const GRPC_METHOD = { grpc_type: 'unary', grpc_service: 'api.MetricsService', grpc_method: 'GetMetrics' };
const GRPC_HANDLED_OK = { ...GRPC_METHOD, grpc_code: 'OK' };
const REQUEST_LABELS = ['verb', 'group', 'version', 'resource', 'scope', 'component', 'code'] as const;

type CounterSeries = { inc(value?: number): void };
type HistogramSeries = { observe(value: number): void };

/**
 * The adapter's Prometheus metrics (spec §4.2): the gRPC client metrics under KEDA's names
 * `keda_internal_metricsservice_grpc_client_*` (go-grpc-prometheus labels), the apiserver-library
 * request metrics `apiserver_request_total` / `apiserver_request_duration_seconds`, and process metrics.
 */
export class AdapterMetrics {
  readonly registry = new Registry();
  private readonly grpcStarted: Counter<(typeof GRPC_LABELS)[number]>;
  private readonly grpcHandled: Counter<(typeof GRPC_LABELS)[number] | 'grpc_code'>;
  private readonly grpcSent: Counter<(typeof GRPC_LABELS)[number]>;
  private readonly grpcReceived: Counter<(typeof GRPC_LABELS)[number]>;
  private readonly grpcSeconds: Histogram<(typeof GRPC_LABELS)[number]>;
  private readonly requests: Counter<(typeof REQUEST_LABELS)[number]>;
  private readonly requestSeconds: Histogram<Exclude<(typeof REQUEST_LABELS)[number], 'code'>>;
  private readonly authn: Counter<'result'>;
  private readonly authz: Counter<'decision' | 'source'>;

  /** Pre-bound series of the fixed gRPC label set and of each request label set seen (no label hashing per request). */
  private readonly grpcSeries: { started: CounterSeries; sent: CounterSeries; received: CounterSeries; ok: CounterSeries; seconds: HistogramSeries };
  private readonly requestSeries = new Map<string, { count: CounterSeries; seconds: HistogramSeries }>();
  private readonly metricNameLabels: boolean;

  /**
   * `metricNameLabels`: label request series with each metric name as `resource` (what the Kubernetes
   * apiserver library does). Off by default: with one metric per ScaledObject trigger that is one
   * histogram per trigger, so the series read `resource="*"` unless asked for.
   */
  constructor(options: { defaultMetrics?: boolean; metricNameLabels?: boolean } = {}) {
    this.metricNameLabels = options.metricNameLabels ?? false;
    const registers = [this.registry];
    const p = 'keda_internal_metricsservice_grpc_client';
    this.grpcStarted = new Counter({ name: `${p}_started_total`, help: 'Total number of RPCs started on the client.', labelNames: GRPC_LABELS, registers });
    this.grpcHandled = new Counter({
      name: `${p}_handled_total`,
      help: 'Total number of RPCs completed by the client, regardless of success or failure.',
      labelNames: [...GRPC_LABELS, 'grpc_code'],
      registers,
    });
    this.grpcReceived = new Counter({ name: `${p}_msg_received_total`, help: 'Total number of RPC stream messages received by the client.', labelNames: GRPC_LABELS, registers });
    this.grpcSent = new Counter({ name: `${p}_msg_sent_total`, help: 'Total number of gRPC stream messages sent by the client.', labelNames: GRPC_LABELS, registers });
    this.grpcSeconds = new Histogram({
      name: `${p}_handling_seconds`,
      help: 'Histogram of response latency (seconds) of the gRPC until it is finished by the application.',
      labelNames: GRPC_LABELS,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.requests = new Counter({
      name: 'apiserver_request_total',
      help: 'Counter of apiserver requests broken out for each verb, group, version, resource, scope, component, and HTTP response code.',
      labelNames: REQUEST_LABELS,
      registers,
    });
    this.requestSeconds = new Histogram({
      name: 'apiserver_request_duration_seconds',
      help: 'Response latency distribution in seconds for each verb, group, version, resource, scope and component.',
      labelNames: REQUEST_LABELS.filter((l) => l !== 'code') as Exclude<(typeof REQUEST_LABELS)[number], 'code'>[],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.authn = new Counter({ name: 'authentication_attempts', help: 'Counter of authenticated attempts.', labelNames: ['result'], registers });
    this.authz = new Counter({
      name: 'keda_ts_metrics_adapter_authorization_decisions_total',
      help: 'Authorization decisions for metric requests, by decision and source (cache, review, group).',
      labelNames: ['decision', 'source'],
      registers,
    });
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.grpcSeries = {
      started: this.grpcStarted.labels(GRPC_METHOD),
      sent: this.grpcSent.labels(GRPC_METHOD),
      received: this.grpcReceived.labels(GRPC_METHOD),
      ok: this.grpcHandled.labels(GRPC_HANDLED_OK),
      seconds: this.grpcSeconds.labels(GRPC_METHOD),
    };
  }

  /** Times one GetMetrics call; call the returned function with the gRPC status name. */
  grpcCall(): (code: string) => void {
    const g = this.grpcSeries;
    g.started.inc();
    g.sent.inc();
    const started = performance.now();
    return (code) => {
      g.seconds.observe((performance.now() - started) / 1000);
      if (code === 'OK') {
        g.ok.inc();
        g.received.inc();
      } else this.grpcHandled.inc({ ...GRPC_METHOD, grpc_code: code });
    };
  }

  request(labels: { verb: string; resource: string; scope: string; code: number; group?: string; version?: string }, seconds: number): void {
    const resource = labels.group && !this.metricNameLabels ? '*' : labels.resource;
    const key = `${labels.verb}|${labels.group ?? ''}|${labels.version ?? ''}|${resource}|${labels.scope}|${labels.code}`;
    let series = this.requestSeries.get(key);
    if (!series) {
      const base = { verb: labels.verb, group: labels.group ?? '', version: labels.version ?? '', resource, scope: labels.scope, component: 'apiserver' };
      // prom-client keeps the first label object it sees for a series: never share one across metrics.
      series = { count: this.requests.labels({ ...base, code: String(labels.code) }), seconds: this.requestSeconds.labels({ ...base }) };
      // Unknown paths give unbounded keys: only their first few thousand get a cached handle.
      if (this.requestSeries.size < 4096) this.requestSeries.set(key, series);
    }
    series.count.inc();
    series.seconds.observe(seconds);
  }

  authentication(result: 'success' | 'failure' | 'error'): void {
    this.authn.inc({ result });
  }

  authorization(decision: 'allowed' | 'denied' | 'error', source: string): void {
    this.authz.inc({ decision, source });
  }
}
