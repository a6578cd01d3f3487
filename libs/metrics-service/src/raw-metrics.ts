/**
 * KEDA's `api.RawMetricsService` (v2.18+) on the controller's gRPC server: a client subscribes to
 * ScaledObject triggers and reads the scalers' raw values from a server stream, one message per
 * poll of a subscribed ScaledObject.
 *
 * This file holds the contract between the server and whatever keeps the subscriptions (the
 * controller's `RawMetricsHub`, libs/operator/src/raw-metrics.ts) and the gRPC handlers. The
 * source keeps the subscriptions and a bounded buffer per subscriber; the handlers only move
 * buffered batches to the stream while it is writable, so a slow reader never holds up a poll.
 */
import { status, type ServerUnaryCall, type ServerWritableStream, type sendUnaryData } from '@grpc/grpc-js';
import type {
  RawMetricsRequest,
  RawMetricsResponse,
  RawMetricsServiceServer,
  SubscriptionAck,
  SubscriptionRequest,
} from '@keda-ts/proto/metrics';
import type { AuthorizationDecision } from './authz';
import type { MetricsServiceLogger } from './logger';

export const RAW_METRICS_SERVICE_NAME = 'api.RawMetricsService';

/** What a subscription names: one trigger of one ScaledObject, or all of its triggers. */
export interface RawMetricsTarget {
  namespace: string;
  name: string;
  /** The trigger's `name` (KEDA's `metricMetadata.metricName`); '' stands for every trigger of the object. */
  triggerName: string;
}

/** One raw scaler value of one trigger. */
export interface RawMetricValue {
  /** The trigger's `name`; '' for a trigger without one (as KEDA sends it). */
  triggerName: string;
  value: number;
  isActive: boolean;
}

/** What one poll of one ScaledObject gave a subscriber: the values of the triggers it follows. */
export interface RawMetricsBatch {
  namespace: string;
  name: string;
  timestamp: Date;
  metrics: RawMetricValue[];
}

/** The answer to a subscribe call: accepted (KEDA's `wasSubscribed`: it already was), or refused. */
export type RawMetricsSubscribeOutcome =
  | { ok: true; wasSubscribed: boolean }
  | { ok: false; code: 'invalid-argument' | 'resource-exhausted' | 'unavailable'; reason: string };

/** One open stream of one subscriber, as the source hands it to the server. */
export interface RawMetricsStream {
  /** The oldest buffered batch, removed from the buffer; undefined when nothing is buffered. */
  next(): RawMetricsBatch | undefined;
  /** Set once the stream has to end (after the buffered batches are sent). */
  readonly ended: boolean;
  /** Why it ended, for the log. */
  readonly endReason: string | undefined;
  /** The call is over (client gone, server stopping): detach. The subscriptions stay. */
  close(): void;
}

/**
 * Keeps subscriptions and buffers; implemented by the controller's `RawMetricsHub`. Every method
 * is synchronous and returns at once.
 */
export interface RawMetricsSource {
  subscribe(subscriber: string, target: RawMetricsTarget, now: Date): RawMetricsSubscribeOutcome;
  /** `wasSubscribed`: the subscription existed and is gone now. Removing the last one ends the stream. */
  unsubscribe(subscriber: string, target: RawMetricsTarget, now: Date): { wasSubscribed: boolean };
  /**
   * Opens the subscriber's stream (a newer stream of the same subscriber replaces the older one).
   * `wake` is called, possibly from inside a poll, whenever a batch is buffered or the stream ends;
   * it must only schedule work.
   */
  attach(subscriber: string, wake: () => void, now: Date): RawMetricsStream | { refused: string; code: 'invalid-argument' | 'resource-exhausted' | 'unavailable' };
}

export interface RawMetricsServiceDeps {
  source: RawMetricsSource;
  /** The authorization decision for the caller of `call` (the server's per-method policy). */
  authorize(call: Pick<ServerUnaryCall<unknown, unknown>, 'getAuthContext' | 'getPeer'>): AuthorizationDecision;
  logger: MetricsServiceLogger;
}

export interface RawMetricsService {
  impl: RawMetricsServiceServer;
  /** Open streams. */
  readonly streamCount: number;
  /** Ends every open stream with status OK (server shutdown). */
  endAll(): void;
}

const CODES = {
  'invalid-argument': status.INVALID_ARGUMENT,
  'resource-exhausted': status.RESOURCE_EXHAUSTED,
  unavailable: status.UNAVAILABLE,
} as const;

function toResponse(batch: RawMetricsBatch): RawMetricsResponse {
  return {
    metrics: batch.metrics.map((m) => ({
      value: m.value,
      timestamp: batch.timestamp,
      metadata: { name: batch.name, namespace: batch.namespace, metricName: m.triggerName },
      isActive: m.isActive,
    })),
  };
}

function targetOf(request: SubscriptionRequest): RawMetricsTarget {
  const ref = request.metricMetadata;
  return { namespace: ref?.namespace ?? '', name: ref?.name ?? '', triggerName: ref?.metricName ?? '' };
}

/** The grpc-js handlers of `api.RawMetricsService` over `source`. */
export function createRawMetricsService(deps: RawMetricsServiceDeps): RawMetricsService {
  const { source, logger } = deps;
  const open = new Set<() => void>();

  function refuseUnary<Res>(name: string, call: ServerUnaryCall<SubscriptionRequest, Res>, callback: sendUnaryData<Res>): boolean {
    const decision = deps.authorize(call);
    if (decision.allowed) return false;
    logger.warn({ method: name, peer: call.getPeer(), reason: decision.reason }, 'gRPC call refused');
    callback({ code: status.PERMISSION_DENIED, details: decision.reason });
    return true;
  }

  const impl: RawMetricsServiceServer = {
    subscribeMetric(call: ServerUnaryCall<SubscriptionRequest, SubscriptionAck>, callback: sendUnaryData<SubscriptionAck>) {
      if (refuseUnary('SubscribeMetric', call, callback)) return;
      const subscriber = call.request.subscriber;
      const target = targetOf(call.request);
      const outcome = source.subscribe(subscriber, target, new Date());
      if (!outcome.ok) {
        logger.warn({ subscriber, ...target, reason: outcome.reason }, 'raw metrics subscription refused');
        callback({ code: CODES[outcome.code], details: outcome.reason });
        return;
      }
      logger.info({ subscriber, ...target, wasSubscribed: outcome.wasSubscribed }, 'raw metrics subscription');
      callback(null, { wasSubscribed: outcome.wasSubscribed });
    },

    unsubscribeMetric(call: ServerUnaryCall<SubscriptionRequest, SubscriptionAck>, callback: sendUnaryData<SubscriptionAck>) {
      if (refuseUnary('UnsubscribeMetric', call, callback)) return;
      const subscriber = call.request.subscriber;
      const target = targetOf(call.request);
      const { wasSubscribed } = source.unsubscribe(subscriber, target, new Date());
      logger.info({ subscriber, ...target, wasSubscribed }, 'raw metrics unsubscription');
      callback(null, { wasSubscribed });
    },

    getRawMetricsStream(call: ServerWritableStream<RawMetricsRequest, RawMetricsResponse>) {
      const decision = deps.authorize(call);
      if (!decision.allowed) {
        logger.warn({ method: 'GetRawMetricsStream', peer: call.getPeer(), reason: decision.reason }, 'gRPC call refused');
        call.emit('error', { code: status.PERMISSION_DENIED, details: decision.reason });
        return;
      }
      const subscriber = call.request.subscriber;
      let writable = true;
      let scheduled = false;
      let done = false;
      // Batches move to the stream outside the publisher's call stack, and only while grpc-js has
      // room (write() returned true, or after 'drain'): the backlog stays in the source's bounded buffer.
      const wake = () => {
        if (scheduled || done) return;
        scheduled = true;
        setImmediate(pump);
      };
      const attached = source.attach(subscriber, wake, new Date());
      if ('refused' in attached) {
        logger.warn({ subscriber, reason: attached.refused }, 'raw metrics stream refused');
        call.emit('error', { code: CODES[attached.code], details: attached.refused });
        return;
      }
      const stream = attached;
      const finish = () => {
        if (done) return;
        done = true;
        open.delete(end);
        stream.close();
      };
      const end = () => {
        if (done) return;
        finish();
        call.end();
      };
      function pump(): void {
        scheduled = false;
        if (done) return;
        while (writable) {
          const batch = stream.next();
          if (!batch) break;
          writable = call.write(toResponse(batch));
        }
        if (writable && stream.ended) {
          logger.info({ subscriber, reason: stream.endReason }, 'raw metrics stream ended');
          end();
        }
      }
      open.add(end);
      call.on('drain', () => {
        writable = true;
        wake();
      });
      call.on('cancelled', finish);
      call.on('close', finish);
      logger.info({ subscriber, peer: call.getPeer() }, 'raw metrics stream opened');
      wake();
    },
  };

  return {
    impl,
    get streamCount() {
      return open.size;
    },
    endAll() {
      for (const end of [...open]) end();
    },
  };
}
