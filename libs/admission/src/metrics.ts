/** Prometheus metrics of the webhook (§3.6), on a registry of their own. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ValidationRecorder } from './scaledobject';

export class WebhookMetrics implements ValidationRecorder {
  readonly registry = new Registry();
  private readonly validations = new Counter({
    name: 'keda_webhook_scaled_object_validations_total',
    help: 'Total number of scaled object validations',
    labelNames: ['namespace', 'action'] as const,
    registers: [this.registry],
  });
  private readonly errors = new Counter({
    name: 'keda_webhook_scaled_object_validation_errors_total',
    help: 'Total number of scaled object validating errors',
    labelNames: ['namespace', 'action', 'reason'] as const,
    registers: [this.registry],
  });
  readonly requests = new Counter({
    name: 'controller_runtime_webhook_requests_total',
    help: 'Total number of admission requests by HTTP status code.',
    labelNames: ['webhook', 'code'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'controller_runtime_webhook_latency_seconds',
    help: 'Histogram of the latency of processing admission requests',
    labelNames: ['webhook'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly inFlight = new Gauge({
    name: 'controller_runtime_webhook_requests_in_flight',
    help: 'Current number of admission requests being served.',
    labelNames: ['webhook'] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  validation(namespace: string, action: string): void {
    this.validations.inc({ namespace, action });
  }

  error(namespace: string, action: string, reason: string): void {
    this.errors.inc({ namespace, action, reason });
  }
}
