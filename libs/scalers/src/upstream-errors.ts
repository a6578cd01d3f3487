/**
 * Safe text for failures caused by an upstream server (issue 17, "no echo").
 *
 * The server a trigger talks to is chosen by the tenant, so whatever it sends (a response body, a
 * database's error message, a TLS certificate's names, a gRPC status detail) is hostile: echoed in
 * an Event, a condition or `explain` output, it turns the controller into a proxy that reads
 * endpoints the tenant cannot reach (cloud metadata, in-cluster services). Messages built here
 * carry only what was wrong: codes from a fixed vocabulary, status numbers, lengths, line numbers,
 * JSON types, and text this library composed from its own configuration.
 */
import { egressRefusalIn } from './net/egress-policy';

/**
 * An error whose message this library composed from local data only (never upstream bytes);
 * `safeErrorText` passes its message through.
 */
export class LocalError extends Error {
  override readonly name: string = 'LocalError';
}

/** A token from a fixed vocabulary (error codes, class names); anything else is dropped. */
const TOKEN = /^[A-Za-z][A-Za-z0-9_.:-]{0,79}$/;
const token = (v: unknown): string | undefined => (typeof v === 'string' && TOKEN.test(v) ? v : undefined);
/** The shape of node's and the libraries' own error codes (ECONNREFUSED, ERR_TLS_CERT_ALTNAME_INVALID). */
const NODE_CODE = /^[A-Z][A-Z0-9_]{1,63}$/;
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isSafeInteger(v) ? v : undefined);

/** The JSON type of a value (`string`, `number`, `boolean`, `null`, `array`, `object`), for messages. */
export function jsonTypeName(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'bigint') return 'number';
  return typeof value === 'object' ? 'object' : typeof value;
}

/** Describes a value read from a response without its content: its type, and a string's length. */
export function describeValue(value: unknown): string {
  return typeof value === 'string' ? `a string of ${value.length} characters` : `a JSON ${jsonTypeName(value)}`;
}

/**
 * Why a response body did not parse, without any of its text: the format, the body's length and,
 * when the parser says so, the position (JSON) or line/column and error code (YAML).
 */
export function bodyParseError(format: 'JSON' | 'YAML', body: string, err: unknown): string {
  const where: string[] = [];
  if (format === 'JSON') {
    // V8 quotes the body in its message: only a fixed kind and the numeric position are kept.
    const message = err instanceof Error ? err.message : '';
    if (body.trim() === '') where.push('(empty body)');
    else if (message.startsWith('Unexpected end')) where.push('(unexpected end of input)');
    else if (message.includes('after JSON')) where.push('(data after the JSON value)');
    else where.push('(syntax error)');
    const m = /position (\d+)/.exec(message);
    if (m) where.push(`at position ${m[1]}`);
  } else {
    const e = err as { code?: unknown; linePos?: { line?: unknown; col?: unknown }[] };
    const line = num(e.linePos?.[0]?.line);
    const col = num(e.linePos?.[0]?.col);
    if (line !== undefined) where.push(`at line ${line}${col !== undefined ? ` column ${col}` : ''}`);
    const code = token(e.code);
    if (code) where.push(`(${code})`);
  }
  return [`invalid ${format} in response of ${body.length} bytes`, ...where].join(' ');
}

/** PostgreSQL SQLSTATE classes (the first two characters), for readable messages. */
const SQLSTATE_CLASSES: Record<string, string> = {
  '08': 'connection exception',
  '0A': 'feature not supported',
  '22': 'data exception',
  '25': 'invalid transaction state',
  '28': 'invalid authorization specification',
  '3D': 'invalid catalog name',
  '3F': 'invalid schema name',
  '40': 'transaction rollback',
  '42': 'syntax error or access rule violation',
  '53': 'insufficient resources',
  '54': 'program limit exceeded',
  '55': 'object not in prerequisite state',
  '57': 'operator intervention',
  '58': 'system error',
  P0: 'PL/pgSQL error',
  XX: 'internal error',
};

/** AMQP 0-9-1 reply codes (the server's reply text is not shown). */
const AMQP_REPLY_CODES: Record<number, string> = {
  311: 'CONTENT_TOO_LARGE',
  320: 'CONNECTION_FORCED',
  402: 'INVALID_PATH',
  403: 'ACCESS_REFUSED',
  404: 'NOT_FOUND',
  405: 'RESOURCE_LOCKED',
  406: 'PRECONDITION_FAILED',
  501: 'FRAME_ERROR',
  502: 'SYNTAX_ERROR',
  503: 'COMMAND_INVALID',
  504: 'CHANNEL_ERROR',
  505: 'UNEXPECTED_FRAME',
  506: 'RESOURCE_ERROR',
  530: 'NOT_ALLOWED',
  540: 'NOT_IMPLEMENTED',
  541: 'INTERNAL_ERROR',
};

/** gRPC status code names. */
const GRPC_CODES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS',
  'UNAUTHENTICATED',
];

type AnyError = Error & Record<string, unknown>;

/**
 * Fixed messages client libraries compose themselves (no server text in them), shown as they are
 * because they say more than the class name.
 */
const FIXED_LIBRARY_MESSAGES = new Set([
  // pg
  'Connection terminated unexpectedly',
  'Connection terminated',
  'Connection terminated due to connection timeout',
  'timeout exceeded when trying to connect',
  'Query read timeout',
  'The server does not support SSL connections',
  'Client has encountered a connection error and is not queryable',
  // ioredis
  'Connection is closed.',
  'None of startup nodes is available',
  'Failed to refresh slots cache.',
  // mongodb
  'Server selection timed out',
  // node / fetch
  'socket hang up',
  'request aborted',
  'The operation was aborted',
  'This operation was aborted',
]);
/**
 * Messages that carry only a number or a word from a fixed vocabulary: ioredis' retry message, and
 * the error reply of the redis scaler's own Lua script (the type names are Redis' own).
 */
const FIXED_LIBRARY_PATTERNS = [
  /^Reached the max retries per request limit \(which is \d+\)/,
  /^key has type (string|list|set|zset|hash|stream|none), expected list, set, sorted set or hash$/,
];

/**
 * What node's certificate-verification codes mean, in words (the codes are OpenSSL's and node's
 * own; node's messages for some of them quote the server certificate's names, so those are not used).
 */
const TLS_CODE_MEANINGS: Record<string, string> = {
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in the certificate chain',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unable to verify the first certificate',
  UNABLE_TO_GET_ISSUER_CERT: 'unable to get the issuer certificate',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unable to get the local issuer certificate',
  CERT_HAS_EXPIRED: 'certificate has expired',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
  CERT_REVOKED: 'certificate revoked',
  CERT_UNTRUSTED: 'certificate not trusted',
  ERR_TLS_CERT_ALTNAME_INVALID: "the server certificate's names do not match the host",
  EPROTO: 'TLS protocol error',
};
/** A node code, with its meaning when it is a certificate-verification code. */
const describedCode = (code: string): string => (TLS_CODE_MEANINGS[code] ? `${code} (${TLS_CODE_MEANINGS[code]})` : code);

/**
 * A message for an error thrown by node or a client library that holds no upstream bytes: the
 * error's code, class or status from a fixed vocabulary, plus locally known context (syscall,
 * address). Our own LocalErrors pass through; anything unrecognised becomes its class name.
 */
export function safeErrorText(err: unknown, depth = 0): string {
  if (!(err instanceof Error) && (typeof err !== 'object' || err === null)) return 'unknown error';
  const e = err as AnyError;
  if (e instanceof LocalError) return e.message;
  // The egress policy's refusal names only our own host, address and setting (also when wrapped).
  const refusal = egressRefusalIn(e);
  if (refusal) return refusal;
  const name = token(e.name) ?? 'Error';
  const message = typeof e.message === 'string' ? e.message : '';
  if (FIXED_LIBRARY_MESSAGES.has(message)) return message;
  const fixed = FIXED_LIBRARY_PATTERNS.map((re) => re.exec(message)?.[0]).find(Boolean);
  if (fixed) return fixed;
  const code = e.code;
  if (name === 'AbortError') return 'aborted';
  if (name === 'TimeoutError') return 'timed out';

  // Node system errors: the message is composed by node from the syscall and our own address.
  if (typeof e.syscall === 'string' && typeof code === 'string' && NODE_CODE.test(code)) {
    const host = token(e.hostname) ?? (typeof e.address === 'string' ? e.address.replace(/[^0-9A-Fa-f.:]/g, '') : undefined);
    const port = num(e.port);
    return `${code as string} (${token(e.syscall) ?? 'socket'}${host ? ` ${host}${port !== undefined ? `:${port}` : ''}` : ''})`;
  }
  // pg: DatabaseError carries the SQLSTATE; the server's message, detail and hint are not shown.
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && ('severity' in e || name === 'DatabaseError')) {
    const cls = SQLSTATE_CLASSES[code.slice(0, 2)];
    return `server error SQLSTATE ${code}${cls ? ` (${cls})` : ''}`;
  }
  // mysql2: a code mapped locally from the errno, and the SQLSTATE.
  if (typeof e.sqlState === 'string' || (num(e.errno) !== undefined && typeof e.sqlMessage === 'string')) {
    const parts = [token(code), num(e.errno) !== undefined ? `errno ${num(e.errno)}` : undefined];
    if (typeof e.sqlState === 'string' && /^[0-9A-Z]{5}$/.test(e.sqlState)) parts.push(`SQLSTATE ${e.sqlState}`);
    return `server error ${parts.filter(Boolean).join(' ')}`.trim();
  }
  // mongodb: the server's code and codeName; the errmsg is not shown.
  if (name.startsWith('Mongo')) {
    const codeName = token(e.codeName);
    if (num(code) !== undefined) return `${name} code ${code as number}${codeName ? ` (${codeName})` : ''}`;
    // Server selection keeps each server's last error in its topology description.
    const servers = (e.reason as { servers?: Map<string, { error?: unknown }> } | undefined)?.servers;
    const serverError = !e.cause && servers instanceof Map ? [...servers.values()].find((d) => d.error)?.error : undefined;
    if (serverError && depth < 3) return `${name}: ${safeErrorText(serverError, depth + 1)}`;
    return withCause(name, e, depth);
  }
  // ioredis: the reply's error prefix (ERR, WRONGTYPE, NOAUTH, ...).
  if (name === 'ReplyError') {
    const prefix = /^([A-Z][A-Z_]{1,31})\b/.exec(message)?.[1];
    return `server replied with an error${prefix ? ` ${prefix}` : ''}`;
  }
  // AWS SDK v3: the service's error code and the HTTP status.
  const metadata = e.$metadata as { httpStatusCode?: unknown } | undefined;
  if (metadata && typeof metadata === 'object') {
    const status = num(metadata.httpStatusCode);
    return `${name}${status !== undefined ? ` (HTTP ${status})` : ''}`;
  }
  // Azure SDK RestError: the HTTP status and the service's error code.
  if (name === 'RestError') {
    const status = num(e.statusCode);
    return `${status !== undefined ? `status ${status}` : 'request failed'}${token(code) ? ` ${code as string}` : ''}`;
  }
  // grpc-js: the status code; `details` is the server's text.
  if (num(code) !== undefined && 'details' in e && 'metadata' in e) {
    return `gRPC status ${code as number} ${GRPC_CODES[code as number] ?? ''}`.trim();
  }
  // amqplib: a channel or connection closed by the server with a reply code.
  if (num(code) !== undefined && ('classId' in e || 'methodId' in e || /closed by server/i.test(message))) {
    return `closed by the server: ${code as number} ${AMQP_REPLY_CODES[code as number] ?? ''}`.trim();
  }
  // @platformatic/kafka: its own error codes (PLT_KFK_*) and the Kafka error's name from its protocol
  // table (`apiId`); its messages can name hosts the brokers advertised and the server's own text
  // (`serverErrorMessage`), so neither is shown. Wrapped errors (`errors`, `cause`) follow.
  if (typeof code === 'string' && code.startsWith('PLT_KFK_')) return platformaticKafkaText(e, code, depth);
  // node: HTTP parser and TLS errors (codes only: a certificate's names are the server's).
  if (typeof code === 'string' && NODE_CODE.test(code)) return name === 'Error' ? describedCode(code) : `${name} ${describedCode(code)}`;
  // amqplib: a refused handshake names the reply code and its constant before the server's text.
  const handshake = /^Handshake terminated by server: (\d{3}) \(([A-Z-]{1,40})\)/.exec(message);
  if (handshake) return `handshake refused by the server: ${handshake[1]} ${AMQP_REPLY_CODES[Number(handshake[1])] ?? handshake[2].replace(/-/g, '_')}`;
  return withCause(name, e, depth);
}

/** What the @platformatic/kafka error codes mean, in words. */
const PLATFORMATIC_KAFKA_CODES: Record<string, string> = {
  PLT_KFK_AUTHENTICATION: 'SASL authentication failed',
  PLT_KFK_NETWORK: 'network error',
  PLT_KFK_TIMEOUT: 'timed out',
  PLT_KFK_UNSUPPORTED_API: 'API not supported by the broker',
};

function platformaticKafkaText(e: AnyError, code: string, depth: number): string {
  const apiId = typeof e.apiId === 'string' && /^[A-Z][A-Z0-9_]{1,79}$/.test(e.apiId) ? e.apiId : undefined;
  let text = apiId ? `Kafka error ${apiId}` : `${code}${PLATFORMATIC_KAFKA_CODES[code] ? ` (${PLATFORMATIC_KAFKA_CODES[code]})` : ''}`;
  if (depth >= 3) return text;
  // MultipleErrors (retries, several brokers): the distinct texts of the first few.
  const inner = Array.isArray(e.errors) ? (e.errors as unknown[]).slice(0, 5).map((x) => safeErrorText(x, depth + 1)) : [];
  const distinct = [...new Set(inner)];
  if (code === 'PLT_KFK_MULTIPLE' || code === 'PLT_KFK_RESPONSE') {
    if (distinct.length > 0) return distinct.join('; ');
    text = code === 'PLT_KFK_RESPONSE' ? 'error response from the broker' : text;
  } else if (distinct.length > 0) text = `${text}: ${distinct.join('; ')}`;
  return withCause(text, e, depth);
}

function withCause(text: string, e: AnyError, depth: number): string {
  const cause = e.cause ?? e.originalError;
  if (depth < 3 && cause && cause !== e) return `${text}: ${safeErrorText(cause, depth + 1)}`;
  return text;
}

/**
 * `<prefix>: <safe text of err>` with `secrets` redacted, as a LocalError. The original error is
 * deliberately not attached as `cause`: it holds the server's text, and whoever serialises the
 * error (logs, Events, `explain`) would carry it on.
 */
export function upstreamError(prefix: string, err: unknown, secrets: readonly (string | undefined)[] = []): LocalError {
  let text = safeErrorText(err);
  for (const s of [...secrets].sort((a, b) => (b?.length ?? 0) - (a?.length ?? 0))) if (s && s.length >= 3) text = text.split(s).join('<redacted>');
  return new LocalError(`${prefix}: ${text}`);
}
