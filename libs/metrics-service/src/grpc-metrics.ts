/**
 * The gRPC server's Prometheus series under KEDA's names (`keda_internal_metricsservice_grpc_server_*`)
 * with the labels of go-grpc-prometheus, recorded by one server interceptor for every method.
 */
import {
  ServerInterceptingCall,
  status,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServerMethodDefinition,
} from '@grpc/grpc-js';
import { Counter, Histogram, type Registry } from 'prom-client';

const PREFIX = 'keda_internal_metricsservice_grpc_server';
const METHOD_LABELS = ['grpc_type', 'grpc_service', 'grpc_method'] as const;
type MethodLabel = (typeof METHOD_LABELS)[number];
const HANDLING_BUCKETS = [0.001, 0.01, 0.1, 0.3, 0.6, 1, 3, 6, 9, 20, 30, 60, 90, 120];

/** Go's names of the status codes (`codes.Code.String()`), the values of `grpc_code`. */
const GO_CODE_NAMES: Record<number, string> = {
  [status.OK]: 'OK',
  [status.CANCELLED]: 'Canceled',
  [status.UNKNOWN]: 'Unknown',
  [status.INVALID_ARGUMENT]: 'InvalidArgument',
  [status.DEADLINE_EXCEEDED]: 'DeadlineExceeded',
  [status.NOT_FOUND]: 'NotFound',
  [status.ALREADY_EXISTS]: 'AlreadyExists',
  [status.PERMISSION_DENIED]: 'PermissionDenied',
  [status.RESOURCE_EXHAUSTED]: 'ResourceExhausted',
  [status.FAILED_PRECONDITION]: 'FailedPrecondition',
  [status.ABORTED]: 'Aborted',
  [status.OUT_OF_RANGE]: 'OutOfRange',
  [status.UNIMPLEMENTED]: 'Unimplemented',
  [status.INTERNAL]: 'Internal',
  [status.UNAVAILABLE]: 'Unavailable',
  [status.DATA_LOSS]: 'DataLoss',
  [status.UNAUTHENTICATED]: 'Unauthenticated',
};

/** The `grpc_code` label of a status code, as go-grpc-prometheus writes it (`NotFound`, not `NOT_FOUND`). */
export function grpcCodeLabel(code: number | undefined): string {
  return GO_CODE_NAMES[code ?? status.UNKNOWN] ?? `Code(${code})`;
}

/** `grpc_type`, `grpc_service` and `grpc_method` of a method (`/api.MetricsService/GetMetrics`). */
export function grpcMethodLabels(method: Pick<ServerMethodDefinition<unknown, unknown>, 'path' | 'requestStream' | 'responseStream'>): Record<MethodLabel, string> {
  const path = method.path.startsWith('/') ? method.path.slice(1) : method.path;
  const slash = path.lastIndexOf('/');
  const grpc_type = method.requestStream ? (method.responseStream ? 'bidi_stream' : 'client_stream') : method.responseStream ? 'server_stream' : 'unary';
  return { grpc_type, grpc_service: slash < 0 ? 'unknown' : path.slice(0, slash), grpc_method: path.slice(slash + 1) };
}

type CounterSeries = { inc(value?: number): void };

/** The series of one method, bound once (no label hashing per call). */
interface MethodSeries {
  labels: Record<MethodLabel, string>;
  started: CounterSeries;
  received: CounterSeries;
  sent: CounterSeries;
  seconds: { observe(value: number): void };
  handled: Map<string, CounterSeries>;
}

const byRegistry = new WeakMap<Registry, GrpcServerMetrics>();

/** Counts every call of the server it intercepts, in `registry`. */
export class GrpcServerMetrics {
  /** The one instance of `registry` (a metric name registers once per registry). */
  static of(registry: Registry): GrpcServerMetrics {
    let m = byRegistry.get(registry);
    if (!m) byRegistry.set(registry, (m = new GrpcServerMetrics(registry)));
    return m;
  }

  private readonly started: Counter<MethodLabel>;
  private readonly handled: Counter<MethodLabel | 'grpc_code'>;
  private readonly received: Counter<MethodLabel>;
  private readonly sent: Counter<MethodLabel>;
  private readonly seconds: Histogram<MethodLabel>;
  private readonly series = new Map<string, MethodSeries>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.started = new Counter({ name: `${PREFIX}_started_total`, help: 'Total number of RPCs started on the server.', labelNames: METHOD_LABELS, registers });
    this.handled = new Counter({
      name: `${PREFIX}_handled_total`,
      help: 'Total number of RPCs completed on the server, regardless of success or failure.',
      labelNames: [...METHOD_LABELS, 'grpc_code'],
      registers,
    });
    this.received = new Counter({ name: `${PREFIX}_msg_received_total`, help: 'Total number of RPC stream messages received on the server.', labelNames: METHOD_LABELS, registers });
    this.sent = new Counter({ name: `${PREFIX}_msg_sent_total`, help: 'Total number of gRPC stream messages sent by the server.', labelNames: METHOD_LABELS, registers });
    this.seconds = new Histogram({
      name: `${PREFIX}_handling_seconds`,
      help: 'Histogram of response latency (seconds) of gRPC that had been application-level handled by the server.',
      labelNames: METHOD_LABELS,
      buckets: HANDLING_BUCKETS,
      registers,
    });
  }

  /** Pre-creates the series of the served methods at 0, as go-grpc-prometheus does on registration. */
  register(methods: Iterable<Pick<ServerMethodDefinition<unknown, unknown>, 'path' | 'requestStream' | 'responseStream'>>): void {
    for (const m of methods) this.seriesOf(m);
  }

  /** The interceptor to give the grpc-js Server (`new Server({ interceptors: [metrics.interceptor] })`). */
  readonly interceptor: ServerInterceptor = (method, call: ServerInterceptingCallInterface) => {
    const s = this.seriesOf(method);
    s.started.inc();
    const begun = performance.now();
    let finished = false;
    const finish = (code: number | undefined) => {
      if (finished) return;
      finished = true;
      s.seconds.observe((performance.now() - begun) / 1000);
      this.handledOf(s, grpcCodeLabel(code)).inc();
    };
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMessage: (message, nextMessage) => {
            s.received.inc();
            nextMessage(message);
          },
          // A call the client gave up on may never get a status from its handler.
          onCancel: () => finish(status.CANCELLED),
        }),
      sendMessage: (message, next) => {
        s.sent.inc();
        next(message);
      },
      sendStatus: (sent, next) => {
        finish(sent.code);
        next(sent);
      },
    });
  };

  private seriesOf(method: Pick<ServerMethodDefinition<unknown, unknown>, 'path' | 'requestStream' | 'responseStream'>): MethodSeries {
    const key = `${method.path}|${method.requestStream}|${method.responseStream}`;
    let s = this.series.get(key);
    if (!s) {
      const labels = grpcMethodLabels(method);
      // prom-client keeps the label object of a new series: each metric gets its own copy.
      s = {
        labels,
        started: this.started.labels({ ...labels }),
        received: this.received.labels({ ...labels }),
        sent: this.sent.labels({ ...labels }),
        seconds: this.seconds.labels({ ...labels }),
        handled: new Map(),
      };
      for (const c of [s.started, s.received, s.sent]) c.inc(0);
      this.series.set(key, s);
    }
    return s;
  }

  private handledOf(s: MethodSeries, code: string): CounterSeries {
    let h = s.handled.get(code);
    if (!h) s.handled.set(code, (h = this.handled.labels({ ...s.labels, grpc_code: code })));
    return h;
  }
}
