/**
 * `prometheus` (KEDA prometheus_scaler.go): the single value of an instant query,
 * `GET <serverAddress>/api/v1/query?query=…&time=<now>`. Connections are shared per origin and
 * TLS settings (http/agent-pool.ts), so every ScaledObject pointing at one Prometheus uses one
 * keep-alive agent with a bounded number of sockets.
 */
import { type AgentLease, sharedAgentPool } from '../../http/agent-pool';
import { egressOf } from '../../net/egress-policy';
import { applyHttpAuth, displayUrl, externalMetricSpec, externalMetricType, isActiveValue, metricName, type MetricsAndActivity, metricTargetMilli, metricValue, type PrometheusConfig, prometheusDescriptor, type Scaler } from '@keda-ts/scaler-sdk';
import { httpAuthTls } from '../../http/auth';
import { httpGetValue } from '../../http/get-value';
import type { ScalerContext } from '../../context';
import { bodyParseError, jsonTypeName, LocalError } from '../../upstream-errors';
import { implementScaler } from '../../implementation';

/** The query URL at `time` and its headers (auth and custom headers applied). */
export function prometheusRequest(config: PrometheusConfig, time: Date): { url: URL; headers: Record<string, string> } {
  const url = new URL(config.serverAddress);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/api/v1/query`;
  url.search = '';
  url.searchParams.set('query', config.query);
  url.searchParams.set('time', time.toISOString().replace(/\.\d{3}Z$/, 'Z'));
  if (config.namespace) url.searchParams.set('namespace', config.namespace);
  for (const [k, v] of Object.entries(config.queryParameters ?? {})) url.searchParams.set(k, v);
  const headers = { ...(config.customHeaders ?? {}), ...applyHttpAuth(url, config) };
  return { url, headers };
}

/**
 * The number in a `/api/v1/query` response body. One vector element (or a scalar) gives its
 * value; no element is 0 with `ignoreNullValues`, more than one is an error. `onEmpty` hears of
 * an answer with no element, whichever way `ignoreNullValues` decides it.
 */
export function prometheusValue(body: string, ignoreNullValues: boolean, onEmpty?: () => void): number {
  // Messages never quote the body (the server is the tenant's): types, counts and Prometheus'
  // own errorType vocabulary only.
  let doc: { status?: unknown; errorType?: unknown; data?: { resultType?: unknown; result?: unknown } };
  try {
    doc = JSON.parse(body);
  } catch (err) {
    throw new LocalError(bodyParseError('JSON', body, err));
  }
  if (doc === null || typeof doc !== 'object') throw new LocalError(`the response is a JSON ${jsonTypeName(doc)}, not an object`);
  if (doc.status !== undefined && doc.status !== 'success') throw new LocalError(`query failed${errorTypeOf(doc)}`);
  const { resultType, result } = doc.data ?? {};
  let sample: unknown;
  if (resultType === 'scalar') {
    sample = result;
  } else if (resultType === 'vector' || resultType === undefined) {
    if (!Array.isArray(result)) throw new LocalError('response has no data.result list');
    if (result.length === 0) {
      onEmpty?.();
      if (ignoreNullValues) return 0;
      throw new LocalError('the query returned no elements (the target may be lost; set ignoreNullValues to report 0)');
    }
    if (result.length > 1) throw new LocalError(`the query returned ${result.length} elements, it must return one`);
    sample = (result[0] as { value?: unknown } | null)?.value;
  } else {
    const shown = typeof resultType === 'string' && /^[a-z]{1,16}$/.test(resultType) ? resultType : 'result of an unknown type';
    throw new LocalError(`the query returned a ${shown}, it must return an instant vector or a scalar`);
  }
  if (!Array.isArray(sample) || sample.length === 0) {
    if (ignoreNullValues) return 0;
    throw new LocalError('the query returned an element without a value');
  }
  if (sample.length < 2 || typeof sample[1] !== 'string') throw new LocalError('the query returned a malformed sample');
  const text = sample[1];
  // Prometheus writes non-finite samples as NaN, +Inf and -Inf.
  const special: Record<string, number> = { NaN: NaN, '+Inf': Infinity, Inf: Infinity, '-Inf': -Infinity };
  const value = Object.hasOwn(special, text) ? special[text] : text.trim() === '' ? NaN : Number(text);
  if (Number.isNaN(value) && text !== 'NaN') throw new LocalError(`the sample value (a string of ${text.length} characters) is not a number`);
  if (!Number.isFinite(value)) {
    if (ignoreNullValues) return 0;
    throw new LocalError(`the query returned ${Object.hasOwn(special, text) ? text : 'a value out of range'}`);
  }
  return value;
}

/**
 * ` (errorType bad_data)` from an API error body, or nothing. The `error` text is not shown: a
 * hostile server would put whatever it read from elsewhere there.
 */
function errorTypeOf(doc: { errorType?: unknown }): string {
  const t = doc.errorType;
  return typeof t === 'string' && /^[a-z_]{1,32}$/.test(t) ? ` (errorType ${t})` : '';
}

function prometheusErrorDetail(body: string): string {
  try {
    const doc = JSON.parse(body) as unknown;
    if (doc !== null && typeof doc === 'object') return errorTypeOf(doc as { errorType?: unknown });
  } catch {
    /* not the API's JSON error */
  }
  return '';
}

class PrometheusScaler implements Scaler {
  readonly type = 'prometheus';
  private readonly lease: AgentLease;
  private readonly where: string;
  private closed = false;

  constructor(
    private readonly config: PrometheusConfig,
    private readonly name: string,
    private readonly metricType: 'AverageValue' | 'Value',
    private readonly ctx: ScalerContext,
  ) {
    const url = new URL(config.serverAddress);
    this.where = `GET ${displayUrl(prometheusRequest(config, ctx.now()).url)}`;
    this.lease = sharedAgentPool.acquire(url, httpAuthTls(config, config.unsafeSsl), egressOf(ctx));
  }

  getMetricSpecForScaling() {
    return [externalMetricSpec(this.name, metricTargetMilli(this.metricType, this.config.threshold))];
  }

  async getMetricsAndActivity(requested: string, options?: { signal?: AbortSignal }): Promise<MetricsAndActivity> {
    if (this.closed) throw new Error('error executing prometheus query: the scaler is closed');
    const value = await this.queryValue(options?.signal);
    return {
      metrics: [metricValue(requested, value, this.ctx.now())],
      isActive: isActiveValue(value, this.config.activationThreshold),
    };
  }

  private async queryValue(signal?: AbortSignal): Promise<number> {
    const request = prometheusRequest(this.config, this.ctx.now());
    return httpGetValue(
      request.url,
      {
        agent: this.lease.agent,
        headers: { accept: 'application/json', ...request.headers },
        timeoutMs: this.config.timeout ?? this.ctx.httpTimeoutMs,
        signal,
        telemetry: this.ctx.telemetry,
      },
      {
        failure: 'error executing prometheus query',
        where: this.where,
        rejectStatus: (status, body) => (status < 200 || status > 299 ? `prometheus returned ${status}${prometheusErrorDetail(body)}` : undefined),
        parse: (body) => prometheusValue(body, this.config.ignoreNullValues, () => this.ctx.telemetry?.emptyUpstreamResponse(this.config.ignoreNullValues)),
      },
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.lease.release();
  }
}

export const prometheusScaler = implementScaler(prometheusDescriptor, (config, input, ctx) => {
  return new PrometheusScaler(config, metricName(input.triggerIndex, 'prometheus'), externalMetricType(input.metricType), ctx);
});
