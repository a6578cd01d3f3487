/**
 * `prometheus` (KEDA prometheus_scaler.go): the single value of an instant query,
 * `GET <serverAddress>/api/v1/query?query=…&time=<now>`. Connections are shared per origin and
 * TLS settings (http/agent-pool.ts), so every ScaledObject pointing at one Prometheus uses one
 * keep-alive agent with a bounded number of sockets.
 */
import { defineScaler, type ValidationIssue } from '../descriptor';
import { sharedAgentPool, type AgentLease } from '../http/agent-pool';
import { egressOf } from '../net/egress-policy';
import { applyHttpAuth, headerProblem, httpAuthParams, httpAuthTls, validateHttpAuth, type AuthMode } from '../http/auth';
import { displayUrl } from '../http/get';
import { httpGetValue } from '../http/get-value';
import { externalMetricSpec, externalMetricType, isActiveValue, metricName, metricTargetMilli, metricValue } from '../metrics';
import { param, q, type ParsedParams } from '../params';
import type { MetricsAndActivity, Scaler, ScalerContext } from '../types';
import { bodyParseError, jsonTypeName, LocalError } from '../upstream-errors';
import { VETTING } from '../vetting';

/** Modes the prometheus transport acts on (apiKey is KEDA-compatible extra: header or query). */
export const PROMETHEUS_AUTH_MODES: readonly AuthMode[] = ['apiKey', 'basic', 'bearer', 'custom', 'tls'];

const M = ['triggerMetadata'] as const;

const params = {
  serverAddress: param.string({ refersTo: 'endpoint', vetting: VETTING.httpUrl,
    name: 'serverAddress',
    order: M,
    description: 'Base URL of the Prometheus HTTP API, e.g. `http://prometheus.monitoring:9090` (a path prefix is kept).',
  }),
  query: param.string({
    name: 'query',
    order: M,
    description: 'PromQL instant query; it must return one element (or none: see `ignoreNullValues`).',
  }),
  threshold: param.float({ name: 'threshold', order: M, description: 'Target value per replica (milli precision).' }),
  activationThreshold: param.float({
    name: 'activationThreshold',
    order: M,
    default: '0',
    description: 'Active when the value is greater than this.',
  }),
  queryParameters: param.map({
    name: 'queryParameters',
    order: M,
    optional: true,
    description: 'Extra query-string parameters of the request (`key1=value1,key2=value2`).',
  }),
  namespace: param.string({
    name: 'namespace',
    order: M,
    optional: true,
    description: 'Sent as the `namespace` query parameter (tenancy of Thanos/Cortex-style servers).',
  }),
  customHeaders: param.map({
    name: 'customHeaders',
    order: M,
    optional: true,
    description: 'Extra request headers (`X-Scope-OrgID=tenant,Other=value`).',
  }),
  ignoreNullValues: param.bool({
    name: 'ignoreNullValues',
    order: M,
    default: 'true',
    description: 'An empty result or a NaN/Inf value counts as 0; with `false` it is an error.',
  }),
  unsafeSsl: param.bool({
    name: 'unsafeSsl',
    order: M,
    default: 'false',
    description: "Skip verification of the server's TLS certificate.",
  }),
  awsRegion: param.string({
    name: 'awsRegion',
    order: ['triggerMetadata', 'authParams'],
    optional: true,
    description: 'Amazon Managed Prometheus region (SigV4 through an aws pod identity; pod identities are not supported yet).',
  }),
  timeout: param.duration({
    name: 'timeout',
    order: M,
    optional: true,
    description: 'Request timeout (`5s`, or milliseconds); defaults to the operator-wide HTTP timeout (KEDA_HTTP_DEFAULT_TIMEOUT).',
  }),
  identityOwner: param.enum(['pod', 'operator'], {
    name: 'identityOwner',
    order: M,
    optional: true,
    description: 'Whose identity a pod-identity provider uses; no effect without one.',
  }),
  ...httpAuthParams,
};

export type PrometheusConfig = ParsedParams<typeof params>;

function validate(config: PrometheusConfig, asMetricSource: boolean): ValidationIssue[] {
  const problems: ValidationIssue[] = [];
  let url: URL | undefined;
  try {
    url = new URL(config.serverAddress);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    problems.push({
      parameter: 'serverAddress',
      message: `parameter "serverAddress" must be an absolute http:// or https:// URL, got ${q(displayUrl(config.serverAddress))}`,
    });
  if (config.threshold === 0 && !asMetricSource)
    problems.push({ parameter: 'threshold', message: 'parameter "threshold" must not be 0' });
  if (config.timeout !== undefined && config.timeout <= 0)
    problems.push({ parameter: 'timeout', message: `parameter "timeout" must be greater than 0, got ${config.timeout}ms` });
  problems.push(...validateHttpAuth(config, PROMETHEUS_AUTH_MODES));
  for (const [name, value] of Object.entries(config.customHeaders ?? {})) {
    const problem = headerProblem('customHeaders', name, value);
    if (problem) problems.push({ parameter: 'customHeaders', message: problem });
  }
  return problems;
}

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
 * value; no element is 0 with `ignoreNullValues`, more than one is an error.
 */
export function prometheusValue(body: string, ignoreNullValues: boolean): number {
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
      },
      {
        failure: 'error executing prometheus query',
        where: this.where,
        rejectStatus: (status, body) => (status < 200 || status > 299 ? `prometheus returned ${status}${prometheusErrorDetail(body)}` : undefined),
        parse: (body) => prometheusValue(body, this.config.ignoreNullValues),
      },
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.lease.release();
  }
}

export const prometheusScaler = defineScaler({
  type: 'prometheus',
  description:
    'Scales on the value of a PromQL instant query against the Prometheus HTTP API (`/api/v1/query`). ' +
    'The query must return a single element. Authentication (authParams or metadata `authModes`): basic, bearer, custom header, apiKey, tls client certificate.',
  params,
  example: {
    serverAddress: 'http://prometheus.monitoring.svc:9090',
    query: 'sum(rate(http_requests_total{deployment="worker"}[2m]))',
    threshold: '100',
    activationThreshold: '5',
    authModes: 'bearer',
  },
  exampleAuth: { bearerToken: 'replace-with-the-token' },
  validate: (config, input) => validate(config, Boolean(input.asMetricSource)),
  create(config, input, ctx) {
    return new PrometheusScaler(config, metricName(input.triggerIndex, 'prometheus'), externalMetricType(input.metricType), ctx);
  },
});
