import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const GRPC_LABELS = ['grpc_type', 'grpc_service', 'grpc_method'] as const;
const GRPC_METHOD = { grpc_type: 'unary', grpc_service: 'api.MetricsService', grpc_method: 'GetMetrics' };
const GRPC_HANDLED_OK = { ...GRPC_METHOD, grpc_code: 'OK' };
const REQUEST_LABELS = ['verb', 'group', 'version', 'resource', 'scope', 'component', 'code'] as const;

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

  constructor(options: { defaultMetrics?: boolean } = {}) {
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
  }

  /** Times one GetMetrics call; call the returned function with the gRPC status name. */
  grpcCall(): (code: string) => void {
    this.grpcStarted.inc(GRPC_METHOD);
    this.grpcSent.inc(GRPC_METHOD);
    const started = performance.now();
    return (code) => {
      this.grpcSeconds.observe(GRPC_METHOD, (performance.now() - started) / 1000);
      this.grpcHandled.inc(code === 'OK' ? GRPC_HANDLED_OK : { ...GRPC_METHOD, grpc_code: code });
      if (code === 'OK') this.grpcReceived.inc(GRPC_METHOD);
    };
  }

  request(labels: { verb: string; resource: string; scope: string; code: number; group?: string; version?: string }, seconds: number): void {
    const base = {
      verb: labels.verb,
      group: labels.group ?? '',
      version: labels.version ?? '',
      resource: labels.resource,
      scope: labels.scope,
      component: 'apiserver',
    };
    // prom-client keeps the first label object it sees for a series: never reuse one across metrics.
    this.requests.inc({ ...base, code: String(labels.code) });
    this.requestSeconds.observe(base, seconds);
  }

  authentication(result: 'success' | 'failure' | 'error'): void {
    this.authn.inc({ result });
  }

  authorization(decision: 'allowed' | 'denied' | 'error', source: string): void {
    this.authz.inc({ decision, source });
  }
}
