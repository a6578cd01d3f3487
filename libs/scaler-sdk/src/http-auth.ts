/**
 * The authentication parameters HTTP scalers share (KEDA pkg/scalers/authentication: `authModes`
 * and the credentials of each mode), how they are checked, and how they become request headers
 * (the TLS settings of the shared agent are in @keda-ts/scalers). Declared once here; metrics-api and prometheus spread them into their params.
 */
import type { ValidationIssue } from './descriptor';
import { param } from './params';

export const AUTH_MODES = ['apiKey', 'basic', 'tls', 'bearer', 'custom', 'oauth'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

const A = ['authParams'] as const;
const MA = ['triggerMetadata', 'authParams'] as const;

export const httpAuthParams = {
  authModes: param.list({
    name: ['authModes', 'authMode'],
    order: MA,
    optional: true,
    values: AUTH_MODES,
    exclusiveSet: ['bearer', 'basic', 'oauth'],
    description: 'Comma-separated authentication modes: `apiKey`, `basic`, `bearer`, `tls`, `custom` (`oauth` is not supported yet).',
  }),
  bearerToken: param.string({
    name: ['bearerToken', 'token'],
    order: A,
    optional: true,
    secret: true,
    description: 'bearer: the token sent as `Authorization: Bearer <token>`.',
  }),
  username: param.string({ name: 'username', order: A, optional: true, description: 'basic: user name.' }),
  password: param.string({ name: 'password', order: A, optional: true, secret: true, description: 'basic: password (may be empty).' }),
  ca: param.string({ name: 'ca', order: A, optional: true, description: 'tls: PEM CA certificate added to the system roots.' }),
  cert: param.string({ name: 'cert', order: A, optional: true, description: 'tls: PEM client certificate.' }),
  key: param.string({ name: 'key', order: A, optional: true, secret: true, description: 'tls: PEM client key.' }),
  customAuthHeader: param.string({ name: 'customAuthHeader', order: A, optional: true, description: 'custom: header name.' }),
  customAuthValue: param.string({ name: 'customAuthValue', order: A, optional: true, secret: true, description: 'custom: header value.' }),
  apiKey: param.string({ name: 'apiKey', order: MA, optional: true, secret: true, description: 'apiKey: the key.' }),
  method: param.enum(['header', 'query'], {
    name: 'method',
    order: MA,
    default: 'header',
    description: 'apiKey: send the key as a header or as a query parameter.',
  }),
  keyParamName: param.string({
    name: 'keyParamName',
    order: MA,
    optional: true,
    description: 'apiKey: header name (default `X-API-KEY`) or query parameter name (default `api_key`).',
  }),
};

/** The parsed auth parameters. */
export interface HttpAuthConfig {
  authModes?: string[];
  bearerToken?: string;
  username?: string;
  password?: string;
  ca?: string;
  cert?: string;
  key?: string;
  customAuthHeader?: string;
  customAuthValue?: string;
  apiKey?: string;
  method: 'header' | 'query';
  keyParamName?: string;
}

/**
 * Header names trigger metadata may never set (issue 17): cloud metadata services answer only
 * requests that carry these (a trigger URL pointing at them must not get through), `Host` re-targets
 * virtual hosts, and framing / hop-by-hop headers let a value smuggle a second request.
 */
export const FORBIDDEN_HEADERS = [
  'metadata-flavor',
  'metadata',
  'x-aws-ec2-metadata-token',
  'x-aws-ec2-metadata-token-ttl-seconds',
  'x-google-metadata-request',
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'upgrade',
  'expect',
] as const;

/** RFC 9110 token characters. */
const HEADER_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Visible ASCII, space and tab; no CR, LF or other control characters. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Why a header set from trigger parameters is refused, or undefined. `parameter` is named in the
 * message; a value is never shown (it may be a credential).
 */
export function headerProblem(parameter: string, name: string, value?: string): string | undefined {
  if (!HEADER_TOKEN.test(name)) return `parameter "${parameter}" must be a valid HTTP header name (letters, digits and !#$%&'*+.^_\`|~-)`;
  if ((FORBIDDEN_HEADERS as readonly string[]).includes(name.toLowerCase()))
    return `parameter "${parameter}" must not set the header "${name}": it is reserved (cloud metadata, Host, hop-by-hop and framing headers cannot be set from a trigger)`;
  if (value !== undefined && !HEADER_VALUE.test(value)) return `parameter "${parameter}" has a header value with CR, LF or other control characters`;
  return undefined;
}

/** Every mode's credentials present, and only modes in `supported` used. */
export function validateHttpAuth(config: HttpAuthConfig, supported: readonly AuthMode[]): ValidationIssue[] {
  const problems: ValidationIssue[] = [];
  const modes = new Set(config.authModes ?? []);
  for (const mode of modes) {
    if (!(supported as readonly string[]).includes(mode))
      problems.push({
        parameter: 'authModes',
        message: `authMode "${mode}" is not supported${mode === 'oauth' ? ' yet' : ' by this scaler'}, supported values are [${supported.join(' ')}]`,
      });
  }
  if (modes.has('bearer') && !config.bearerToken) problems.push('bearer token is required when bearer auth is enabled');
  if (modes.has('basic') && !config.username) problems.push('username is required when basic auth is enabled');
  if (modes.has('tls') && (!config.cert || !config.key)) problems.push('cert and key are required when tls auth is enabled');
  else if (modes.has('tls') && !config.ca) problems.push('ca is required when tls auth is enabled');
  if (modes.has('custom') && (!config.customAuthHeader || !config.customAuthValue))
    problems.push('customAuthHeader and customAuthValue are required when custom auth is enabled');
  if (modes.has('apiKey') && !config.apiKey) problems.push('apiKey is required when apiKey auth is enabled');
  // Headers named by the trigger (the value may be a secret: only its characters are checked).
  if (modes.has('apiKey') && config.method === 'header') {
    const problem = headerProblem('keyParamName', config.keyParamName || 'X-API-KEY', config.apiKey);
    if (problem) problems.push({ parameter: 'keyParamName', message: problem });
  }
  if (modes.has('custom') && config.customAuthHeader) {
    const problem = headerProblem('customAuthHeader', config.customAuthHeader, config.customAuthValue);
    if (problem) problems.push({ parameter: 'customAuthHeader', message: problem });
  }
  return problems;
}

/** Adds the auth of `config` to `url` (apiKey as a query parameter) and returns the auth headers. */
export function applyHttpAuth(url: URL, config: HttpAuthConfig): Record<string, string> {
  const headers: Record<string, string> = {};
  const modes = new Set(config.authModes ?? []);
  if (modes.has('apiKey') && config.apiKey) {
    if (config.method === 'query') url.searchParams.set(config.keyParamName || 'api_key', config.apiKey);
    else headers[config.keyParamName || 'X-API-KEY'] = config.apiKey;
  }
  if (modes.has('basic')) {
    headers['authorization'] = `Basic ${Buffer.from(`${config.username ?? ''}:${config.password ?? ''}`).toString('base64')}`;
  }
  if (modes.has('bearer')) headers['authorization'] = `Bearer ${config.bearerToken ?? ''}`;
  if (modes.has('custom') && config.customAuthHeader) headers[config.customAuthHeader] = config.customAuthValue ?? '';
  return headers;
}
