/**
 * `prometheus` (KEDA prometheus_scaler.go): the single value of an instant query,
 * `GET <serverAddress>/api/v1/query?query=…&time=<now>`. Connections are shared per origin and
 * TLS settings (http/agent-pool.ts), so every ScaledObject pointing at one Prometheus uses one
 * keep-alive agent with a bounded number of sockets.
 */
import { describeScaler, type ValidationIssue } from '../descriptor';
import { type AuthMode, headerProblem, httpAuthParams, validateHttpAuth } from '../http-auth';
import { displayUrl } from '../url';
import { param, type ParsedParams, q } from '../params';
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

export const prometheusDescriptor = describeScaler({
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
});
