/** Event sources read over HTTP (metrics APIs, Prometheus, the NATS monitoring endpoint). */
import { metricsApiScaler } from './metrics-api';
import { natsJetStreamScaler } from './nats-jetstream';
import { prometheusScaler } from './prometheus';
export const httpScalers = [metricsApiScaler, natsJetStreamScaler, prometheusScaler];
