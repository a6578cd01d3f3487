/**
 * `metrics-api` (KEDA metrics_api_scaler.go): GET `url`, read the number at `valueLocation`.
 * Connections are shared per origin + TLS settings (see http/agent-pool.ts).
 */
import { describeScaler, type ValidationIssue } from '../descriptor';
import { displayUrl } from '../url';
import { AUTH_MODES, httpAuthParams, validateHttpAuth } from '../http-auth';
import { param, type ParsedParams, q } from '../params';
import { parsePromSelector, unsupportedPathSyntax, wildcardPathProblem } from '../value-location';
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

export const metricsApiDescriptor = describeScaler({
  type: 'metrics-api',
  description:
    'Scales on a number read from an HTTP(S) endpoint that returns JSON, YAML or Prometheus text. ' +
    'Authentication (authParams or metadata `authModes`): apiKey (header or query), basic, bearer, custom header, tls client certificate.',
  params,
  example: { url: 'http://stats.example.svc:8080/api/queue', valueLocation: 'queue.pending', targetValue: '10', authModes: 'bearer' },
  exampleAuth: { bearerToken: 'replace-with-the-token' },
  validate: (config, input) => validate(config, Boolean(input.asMetricSource)),
});
