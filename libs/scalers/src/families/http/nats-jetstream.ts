/**
 * `nats-jetstream` (KEDA nats_jetstream_scaler.go): the lag of a JetStream consumer read from the
 * server's monitoring endpoint (`/jsz`), lag = num_pending + num_ack_pending. Needs no NATS
 * client: one HTTP GET per poll over a keep-alive agent shared per endpoint.
 */
import { sharedAgentPool } from '../../http/agent-pool';
import { egressOf } from '../../net/egress-policy';
import { displayUrl, externalMetricSpec, externalMetricType, isActiveValue, metricName, type MetricsAndActivity, metricTargetInt, metricValue, type NatsJetStreamConfig, natsJetStreamDescriptor, q, type Scaler } from '@keda-ts/scaler-sdk';
import { httpGet } from '../../http/get';
import type { ScalerContext } from '../../context';
import { bodyParseError, LocalError, safeErrorText, upstreamError } from '../../upstream-errors';
import { implementScaler } from '../../implementation';

/** The `/jsz` URL of a config. */
export function jszUrl(config: Pick<NatsJetStreamConfig, 'natsServerMonitoringEndpoint' | 'useHttps' | 'account'>): URL {
  const url = new URL(`${config.useHttps ? 'https' : 'http'}://${config.natsServerMonitoringEndpoint}/jsz`);
  url.searchParams.set('acc', config.account);
  url.searchParams.set('consumers', 'true');
  url.searchParams.set('config', 'true');
  return url;
}

interface JszConsumer {
  name?: string;
  num_pending?: number;
  num_ack_pending?: number;
}
interface JszStream {
  name?: string;
  consumer_detail?: JszConsumer[];
}
interface JszAccount {
  name?: string;
  id?: string;
  stream_detail?: JszStream[];
}

/** The consumer's lag in a `/jsz` document; errors say which of account, stream or consumer is missing. */
export function consumerLag(doc: unknown, account: string, stream: string, consumer: string): number {
  const accounts = ((doc as { account_details?: JszAccount[] } | null)?.account_details ?? []) as JszAccount[];
  const acc = accounts.find((a) => a.id === account || a.name === account);
  if (!acc) throw new LocalError(`account ${q(account)} not found (it has no JetStream streams, or the name is wrong)`);
  const s = (acc.stream_detail ?? []).find((x) => x.name === stream);
  if (!s) throw new LocalError(`stream ${q(stream)} not found in account ${q(account)}`);
  const c = (s.consumer_detail ?? []).find((x) => x.name === consumer);
  if (!c) throw new LocalError(`consumer ${q(consumer)} not found on stream ${q(stream)}`);
  return Number(c.num_pending ?? 0) + Number(c.num_ack_pending ?? 0);
}

class NatsJetStreamScaler implements Scaler {
  readonly type = 'nats-jetstream';
  private readonly url: URL;
  private readonly lease;
  private closed = false;

  constructor(
    private readonly config: NatsJetStreamConfig,
    private readonly name: string,
    private readonly metricType: 'AverageValue' | 'Value',
    private readonly ctx: ScalerContext,
  ) {
    this.url = jszUrl(config);
    this.lease = sharedAgentPool.acquire(this.url, {}, egressOf(ctx));
  }

  getMetricSpecForScaling() {
    return [externalMetricSpec(this.name, metricTargetInt(this.metricType, this.config.lagThreshold))];
  }

  async getMetricsAndActivity(requested: string, options?: { signal?: AbortSignal }): Promise<MetricsAndActivity> {
    const prefix = 'error requesting the NATS monitoring endpoint';
    if (this.closed) throw new Error(`${prefix}: the scaler is closed`);
    let response;
    try {
      response = await httpGet(this.url, { agent: this.lease.agent, timeoutMs: this.ctx.httpTimeoutMs, signal: options?.signal, telemetry: this.ctx.telemetry });
    } catch (err) {
      throw upstreamError(prefix, err);
    }
    const where = `GET ${displayUrl(this.url)}`;
    if (response.status !== 200) throw new Error(`${prefix}: ${where}: status ${response.status}`);
    // Messages name the account, stream and consumer (the trigger's) and the body's length, never its text.
    const body = response.body.toString('utf8');
    let doc: unknown;
    try {
      doc = JSON.parse(body);
    } catch (err) {
      throw new LocalError(`${prefix}: ${where}: ${bodyParseError('JSON', body, err)}`);
    }
    let lag: number;
    try {
      lag = consumerLag(doc, this.config.account, this.config.stream, this.config.consumer);
    } catch (err) {
      throw new LocalError(`${prefix}: ${where}: ${err instanceof LocalError ? err.message : `unexpected response shape (${safeErrorText(err)})`}`);
    }
    return {
      metrics: [metricValue(requested, lag, this.ctx.now())],
      isActive: isActiveValue(lag, this.config.activationLagThreshold),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.lease.release();
  }
}

export const natsJetStreamScaler = implementScaler(natsJetStreamDescriptor, (config, input, ctx) => {
  return new NatsJetStreamScaler(config, metricName(input.triggerIndex, `nats-jetstream-${config.stream}`), externalMetricType(input.metricType), ctx);
});
