/**
 * `metrics-api` (KEDA metrics_api_scaler.go): GET `url`, read the number at `valueLocation`.
 * Connections are shared per origin + TLS settings (see http/agent-pool.ts).
 */
import { parse as parseYaml } from 'yaml';
import { applyHttpAuth, displayUrl, externalMetricSpec, externalMetricType, isActiveValue, locate, metricName, type MetricsAndActivity, type MetricsApiConfig, metricsApiDescriptor, metricTargetMilli, metricValue, numberFrom, parsePromSelector, promValue, q, type Scaler } from '@keda-ts/scaler-sdk';
import { httpGetValue } from '../../http/get-value';
import { sharedAgentPool } from '../../http/agent-pool';
import { egressOf } from '../../net/egress-policy';
import { httpAuthTls } from '../../http/auth';
import type { ScalerContext } from '../../context';
import { bodyParseError, LocalError } from '../../upstream-errors';
import { implementScaler } from '../../implementation';

/** The request URL and headers for a config (auth applied). */
export function buildRequest(config: MetricsApiConfig): { url: URL; headers: Record<string, string> } {
  const url = new URL(config.url);
  const headers = applyHttpAuth(url, config);
  return { url, headers };
}

/**
 * The number in a response body. Errors say what is wrong (the location, the type found, the
 * body's length) and never carry the body's text: the server is the tenant's (issue 17).
 */
export function valueFromBody(body: string, config: Pick<MetricsApiConfig, 'format' | 'valueLocation'>): number {
  if (config.format === 'prometheus') {
    const selector = parsePromSelector(config.valueLocation);
    if ('error' in selector) throw new LocalError(selector.error);
    const v = promValue(body, selector);
    if ('error' in v) throw new LocalError(v.error);
    return v.value;
  }
  let doc: unknown;
  try {
    doc = config.format === 'yaml' ? parseYaml(body) : JSON.parse(body);
  } catch (err) {
    throw new LocalError(bodyParseError(config.format === 'yaml' ? 'YAML' : 'JSON', body, err));
  }
  const found = locate(doc, config.valueLocation);
  if (!found.found) throw new LocalError(`valueLocation ${q(config.valueLocation)} not found in the response`);
  const n = numberFrom(found.value);
  if ('error' in n) throw new LocalError(n.error);
  return n.value;
}

class MetricsApiScaler implements Scaler {
  readonly type = 'metrics-api';
  private readonly lease;
  private readonly request;
  private readonly where: string;
  private closed = false;

  constructor(
    private readonly config: MetricsApiConfig,
    private readonly name: string,
    private readonly metricType: 'AverageValue' | 'Value',
    private readonly ctx: ScalerContext,
  ) {
    this.request = buildRequest(config);
    this.where = `GET ${displayUrl(this.request.url)}`;
    this.lease = sharedAgentPool.acquire(this.request.url, httpAuthTls(config, config.unsafeSsl), egressOf(ctx));
  }

  getMetricSpecForScaling() {
    return [externalMetricSpec(this.name, metricTargetMilli(this.metricType, this.config.targetValue ?? 0))];
  }

  async getMetricsAndActivity(requested: string, options?: { signal?: AbortSignal }): Promise<MetricsAndActivity> {
    if (this.closed) throw new Error('error requesting metrics endpoint: the scaler is closed');
    const value = await this.fetchValue(options?.signal);
    return {
      metrics: [metricValue(requested, value, this.ctx.now())],
      isActive: isActiveValue(value, this.config.activationTargetValue),
    };
  }

  private async fetchValue(signal?: AbortSignal): Promise<number> {
    return httpGetValue(
      this.request.url,
      {
        agent: this.lease.agent,
        headers: this.request.headers,
        timeoutMs: this.config.timeout ?? this.ctx.httpTimeoutMs,
        signal,
        telemetry: this.ctx.telemetry,
      },
      {
        failure: 'error requesting metrics endpoint',
        where: this.where,
        rejectStatus: (status) => (status !== 200 ? `api returned ${status}` : undefined),
        parse: (body) => valueFromBody(body, this.config),
      },
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.lease.release();
  }
}

export const metricsApiScaler = implementScaler(metricsApiDescriptor, (config, input, ctx) => {
  const name = metricName(input.triggerIndex, `metric-api-${config.valueLocation}`);
  return new MetricsApiScaler(config, name, externalMetricType(input.metricType), ctx);
});
