/**
 * `metrics-api` (KEDA metrics_api_scaler.go): GET `url`, read the number at `valueLocation`.
 * Connections are shared per origin + TLS settings (see http/agent-pool.ts).
 */
import { parse as parseYaml } from 'yaml';
import { defineScaler, type ValidationIssue } from '../descriptor';
import { displayUrl } from '../http/get';
import { httpGetValue } from '../http/get-value';
import { sharedAgentPool } from '../http/agent-pool';
import { egressOf } from '../net/egress-policy';
import { AUTH_MODES, applyHttpAuth, httpAuthParams, httpAuthTls, validateHttpAuth } from '../http/auth';
import { externalMetricSpec, externalMetricType, isActiveValue, metricName, metricTargetMilli, metricValue } from '../metrics';
import { param, q, type ParsedParams } from '../params';
import type { MetricsAndActivity, Scaler, ScalerContext } from '../types';
import { bodyParseError, LocalError } from '../upstream-errors';
import { locate, numberFrom, parsePromSelector, promValue, unsupportedPathSyntax, wildcardPathProblem } from '../value-location';
import { VETTING } from '../vetting';

export const METRICS_API_FORMATS = ['prometheus', 'json', 'xml', 'yaml'] as const;
/** Formats this implementation reads (xml is declared by KEDA but not supported here yet). */
export const SUPPORTED_METRICS_API_FORMATS = ['json', 'yaml', 'prometheus'] as const;
export { AUTH_MODES };
export const SUPPORTED_AUTH_MODES = ['apiKey', 'basic', 'tls', 'bearer', 'custom'] as const;

const M = ['triggerMetadata'] as const;

const params = {
  url: param.string({ refersTo: 'endpoint', vetting: VETTING.httpUrl, name: 'url', order: M, description: 'Full URL of the API, `http://` or `https://`.' }),
  valueLocation: param.string({
    name: 'valueLocation',
    order: M,
    description:
      'Where the number is: a gjson path for json (`components.worker.tasks`, `items.0.count`, `items.#`), a dot path for yaml, a metric selector for prometheus (`queue_depth{queue="a"}`). The value may be a number or a string holding a Kubernetes quantity (`"10k"`).',
  }),
  targetValue: param.float({
    name: 'targetValue',
    order: M,
    optional: true,
    description: 'Target value per replica; required (and non-zero) unless the trigger only feeds scaling modifiers.',
  }),
  activationTargetValue: param.float({
    name: 'activationTargetValue',
    order: M,
    default: '0',
    description: 'Active when the value is greater than this.',
  }),
  format: param.enum(METRICS_API_FORMATS, {
    name: 'format',
    order: M,
    default: 'json',
    description: 'Response format: `json`, `yaml` or `prometheus` (text exposition). `xml` is not supported yet.',
  }),
  unsafeSsl: param.bool({
    name: 'unsafeSsl',
    order: M,
    default: 'false',
    description: "Skip verification of the server's TLS certificate.",
  }),
  timeout: param.duration({
    name: 'timeout',
    order: M,
    optional: true,
    description: 'Request timeout (`5s`, or milliseconds); defaults to the operator-wide HTTP timeout.',
  }),
  aggregateFromKubeServiceEndpoints: param.bool({
    name: 'aggregateFromKubeServiceEndpoints',
    order: M,
    default: 'false',
    description: 'Query every endpoint of the Service named in the URL host and aggregate (not supported yet).',
  }),
  aggregationType: param.enum(['average', 'sum', 'max', 'min'], {
    name: 'aggregationType',
    order: M,
    default: 'average',
    description: 'How endpoint values are combined with `aggregateFromKubeServiceEndpoints`.',
  }),
  ...httpAuthParams,
};

export type MetricsApiConfig = ParsedParams<typeof params>;

function validate(config: MetricsApiConfig, asMetricSource: boolean): ValidationIssue[] {
  const problems: ValidationIssue[] = [];
  if ((config.targetValue ?? 0) === 0 && !asMetricSource)
    problems.push({ parameter: 'targetValue', message: 'no targetValue given in metadata' });
  let url: URL | undefined;
  try {
    url = new URL(config.url);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    problems.push({ parameter: 'url', message: `parameter "url" must be an absolute http:// or https:// URL, got ${q(displayUrl(config.url))}` });
  if (config.format === 'xml') {
    problems.push({
      parameter: 'format',
      message: `parameter "format" value "xml" is not supported yet, supported values are [${SUPPORTED_METRICS_API_FORMATS.join(' ')}]`,
    });
  } else if (config.format === 'prometheus') {
    const selector = parsePromSelector(config.valueLocation);
    if ('error' in selector) problems.push({ parameter: 'valueLocation', message: selector.error });
  } else {
    const unsupported = unsupportedPathSyntax(config.valueLocation);
    if (unsupported) problems.push({ parameter: 'valueLocation', message: `valueLocation ${q(config.valueLocation)}: ${unsupported}` });
    const wildcard = unsupported ? undefined : wildcardPathProblem(config.valueLocation);
    if (wildcard) problems.push({ parameter: 'valueLocation', message: `parameter "valueLocation": ${wildcard}` });
  }
  if (config.aggregateFromKubeServiceEndpoints)
    problems.push({ parameter: 'aggregateFromKubeServiceEndpoints', message: 'aggregateFromKubeServiceEndpoints is not supported yet' });
  problems.push(...validateHttpAuth(config, SUPPORTED_AUTH_MODES));
  return problems;
}

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

export const metricsApiScaler = defineScaler({
  type: 'metrics-api',
  description:
    'Scales on a number read from an HTTP(S) endpoint that returns JSON, YAML or Prometheus text. ' +
    'Authentication (authParams or metadata `authModes`): apiKey (header or query), basic, bearer, custom header, tls client certificate.',
  params,
  example: { url: 'http://stats.example.svc:8080/api/queue', valueLocation: 'queue.pending', targetValue: '10', authModes: 'bearer' },
  exampleAuth: { bearerToken: 'replace-with-the-token' },
  validate: (config, input) => validate(config, Boolean(input.asMetricSource)),
  create(config, input, ctx) {
    const name = metricName(input.triggerIndex, `metric-api-${config.valueLocation}`);
    return new MetricsApiScaler(config, name, externalMetricType(input.metricType), ctx);
  },
});
