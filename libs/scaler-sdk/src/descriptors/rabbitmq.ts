/**
 * `rabbitmq` (KEDA rabbitmq_scaler.go): the length or message rates of a queue, read over AMQP (a
 * passive queue declare: ready messages only) or the management HTTP API (ready + unacked, rates,
 * regex over queue names). One AMQP connection per broker and credentials, shared by every scaler
 * that points at it (see AmqpConnectionPool); HTTP requests share keep-alive agents per origin.
 */
import { describeScaler, type ValidationIssue } from '../descriptor';
import { param, type ParsedParams, q } from '../params';
import { VETTING } from '../vetting';

export const RABBITMQ_MODES = ['QueueLength', 'MessageRate', 'DeliverGetRate', 'PublishedToDeliveredRatio', 'ExpectedQueueConsumptionTime'] as const;
export type RabbitMqMode = (typeof RABBITMQ_MODES)[number];
/** Queue length target when neither mode, value nor queueLength is given. */
export const DEFAULT_RABBITMQ_QUEUE_LENGTH = 20;

const M = ['triggerMetadata'] as const;
const A = ['authParams'] as const;
const MA = ['triggerMetadata', 'authParams'] as const;
const MAE = ['triggerMetadata', 'authParams', 'resolvedEnv'] as const;
const AE = ['authParams', 'resolvedEnv'] as const;

const params = {
  queueName: param.string({ name: 'queueName', order: M, description: 'Queue to measure; a regular expression over queue names with `useRegex`.' }),
  mode: param.enum(RABBITMQ_MODES, {
    name: 'mode',
    order: M,
    optional: true,
    description:
      'What is measured: `QueueLength` (messages), `MessageRate` (publish rate), `DeliverGetRate`, `PublishedToDeliveredRatio`, `ExpectedQueueConsumptionTime` (seconds). Every mode but QueueLength needs HTTP. Requires `value`.',
  }),
  value: param.float({ name: 'value', order: M, optional: true, description: 'Target value per replica for `mode`. Without mode, value and queueLength: QueueLength 20.' }),
  activationValue: param.float({ name: 'activationValue', order: M, default: '0', description: 'Active when the measured value is greater than this.' }),
  queueLength: param.float({
    name: 'queueLength',
    order: M,
    optional: true,
    deprecatedAnnounce: "'queueLength' is deprecated, use 'mode: QueueLength' and 'value' instead",
    description: 'Deprecated: target queue length; same as `mode: QueueLength` with `value`. Not allowed together with mode or value.',
  }),
  host: param.string({ refersTo: 'endpoint', vetting: VETTING.amqpOrHttpUrl,
    name: 'host',
    order: MAE,
    secret: true,
    description:
      'Broker URL: `amqp://user:pass@host:5672/vhost` (or `amqps://`) or the management API `http://user:pass@host:15672/vhost` (or `https://`). Usually from a TriggerAuthentication or `hostFromEnv`.',
  }),
  protocol: param.enum(['auto', 'amqp', 'http'], {
    name: 'protocol',
    order: MA,
    default: 'auto',
    description: '`amqp`, `http`, or `auto` (from the host URL scheme).',
  }),
  vhostName: param.string({ name: 'vhostName', order: MA, optional: true, description: 'Virtual host; overrides the one in the host URL path.' }),
  useRegex: param.bool({ name: 'useRegex', order: M, default: 'false', description: 'HTTP only: `queueName` is a regular expression; matched queues are combined by `operation`.' }),
  excludeUnacknowledged: param.bool({
    name: 'excludeUnacknowledged',
    order: M,
    default: 'false',
    description: 'HTTP only: count ready messages only (without unacknowledged ones).',
  }),
  pageSize: param.int({ name: 'pageSize', order: M, default: '100', min: 1, description: 'HTTP with useRegex: page size of the queue listing; more than one page is an error.' }),
  operation: param.enum(['sum', 'avg', 'max'], {
    name: 'operation',
    order: M,
    default: 'sum',
    description: 'How the queues matched by a regex are combined: `sum`, `avg` (integer division of counts) or `max`.',
  }),
  timeout: param.duration({ name: 'timeout', order: M, optional: true, description: 'HTTP only: request timeout (`5s` or milliseconds); defaults to the operator-wide HTTP timeout.' }),
  unsafeSsl: param.bool({ name: 'unsafeSsl', order: M, default: 'false', description: "Skip verification of the broker's TLS certificate." }),
  username: param.string({ name: 'username', order: AE, optional: true, description: 'User name; replaces the user of the host URL (needs `password`).' }),
  password: param.string({ name: 'password', order: AE, optional: true, secret: true, description: 'Password; replaces the password of the host URL (needs `username`).' }),
  tls: param.enum(['enable', 'disable'], { name: 'tls', order: A, default: 'disable', description: '`enable` uses `ca`, `cert` and `key` for amqps:// or https://.' }),
  ca: param.string({ name: 'ca', order: A, optional: true, description: 'tls: PEM CA certificate.' }),
  cert: param.string({ name: 'cert', order: A, optional: true, description: 'tls: PEM client certificate (with `key`).' }),
  key: param.string({ name: 'key', order: A, optional: true, secret: true, description: 'tls: PEM client key (with `cert`).' }),
  keyPassword: param.string({
    name: 'keyPassword',
    order: A,
    optional: true,
    secret: true,
    description: 'tls: passphrase of the client key. A client certificate without username/password authenticates with SASL EXTERNAL over AMQP.',
  }),
};

export type RabbitMqParams = ParsedParams<typeof params>;

/** The parsed trigger with mode, value and protocol settled. */
export interface RabbitMqConfig extends RabbitMqParams {
  mode: RabbitMqMode;
  value: number;
  protocol: 'amqp' | 'http';
}

function resolveProtocol(p: RabbitMqParams): 'amqp' | 'http' | undefined {
  if (p.protocol !== 'auto') return p.protocol;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(p.host)?.[1]?.toLowerCase();
  if (scheme === 'amqp' || scheme === 'amqps') return 'amqp';
  if (scheme === 'http' || scheme === 'https') return 'http';
  return undefined;
}

/** Mode and value as KEDA settles them (the deprecated queueLength, the QueueLength 20 default). */
function resolveModeAndValue(p: RabbitMqParams): { mode: RabbitMqMode; value: number } | { error: ValidationIssue } {
  const hasQueueLength = (p.queueLength ?? 0) !== 0;
  const hasValue = (p.value ?? 0) !== 0;
  if (!hasQueueLength && !p.mode && !hasValue) return { mode: 'QueueLength', value: DEFAULT_RABBITMQ_QUEUE_LENGTH };
  if (hasQueueLength && (p.mode || hasValue)) {
    return { error: { parameter: 'queueLength', message: 'queueLength is deprecated; configure only mode and value, not queueLength together with them' } };
  }
  if (hasQueueLength) return { mode: 'QueueLength', value: p.queueLength as number };
  if (!p.mode) return { error: { parameter: 'mode', message: 'mode must be specified together with value' } };
  if (!hasValue) return { error: { parameter: 'value', message: `value must be specified (and non-zero) with mode ${p.mode}` } };
  return { mode: p.mode, value: p.value as number };
}

/** Cross-field checks; returns the settled config or the problems. */
export function settleConfig(p: RabbitMqParams): { config?: RabbitMqConfig; problems: ValidationIssue[] } {
  const problems: ValidationIssue[] = [];
  const protocol = resolveProtocol(p);
  if (!protocol) {
    problems.push({ parameter: 'host', message: 'host must start with amqp://, amqps://, http:// or https:// when protocol is auto' });
  }
  let url: URL | undefined;
  try {
    url = new URL(p.host);
  } catch {
    problems.push({ parameter: 'host', message: 'host is not a valid URL' });
  }
  if (url && protocol === 'amqp' && url.protocol !== 'amqp:' && url.protocol !== 'amqps:') {
    problems.push({ parameter: 'host', message: `host must be an amqp:// or amqps:// URL with protocol amqp, got scheme ${q(url.protocol.replace(/:$/, ''))}` });
  }
  if (url && protocol === 'http' && url.protocol !== 'http:' && url.protocol !== 'https:') {
    problems.push({ parameter: 'host', message: `host must be an http:// or https:// URL with protocol http, got scheme ${q(url.protocol.replace(/:$/, ''))}` });
  }
  const mv = resolveModeAndValue(p);
  if ('error' in mv) problems.push(mv.error);
  if (Boolean(p.username) !== Boolean(p.password)) {
    problems.push({ parameter: p.username ? 'password' : 'username', message: 'username and password must be given together' });
  }
  if (Boolean(p.cert) !== Boolean(p.key)) {
    problems.push({ parameter: p.cert ? 'key' : 'cert', message: 'cert and key must be given together for TLS client authentication' });
  }
  if (p.tls === 'enable' && !p.ca && !p.cert) {
    problems.push({ parameter: 'tls', message: 'tls enable requires ca, or cert and key' });
  }
  if (protocol === 'amqp') {
    if (p.timeout !== undefined) problems.push({ parameter: 'timeout', message: 'the amqp protocol does not support a custom timeout; use protocol http' });
    if ('mode' in mv && mv.mode !== 'QueueLength') {
      problems.push({ parameter: 'mode', message: `protocol amqp does not support mode ${mv.mode}; use protocol http` });
    }
    if (p.useRegex) problems.push({ parameter: 'useRegex', message: 'useRegex needs protocol http' });
    if (p.excludeUnacknowledged) problems.push({ parameter: 'excludeUnacknowledged', message: 'excludeUnacknowledged needs protocol http' });
  }
  if (problems.length || !protocol || 'error' in mv) return { problems };
  return { config: { ...p, protocol, mode: mv.mode, value: mv.value }, problems };
}

export const rabbitmqDescriptor = describeScaler({
  type: 'rabbitmq',
  description:
    'Scales on a RabbitMQ queue: its length over AMQP or the management HTTP API, or its publish/deliver rates over HTTP. ' +
    'Host and credentials usually come from a TriggerAuthentication (`host`, `username`, `password`, `tls`, `ca`, `cert`, `key`) or `hostFromEnv`. ' +
    'All scalers pointing at one broker with the same credentials share one AMQP connection.',
  params,
  example: { protocol: 'amqp', queueName: 'orders', mode: 'QueueLength', value: '20', activationValue: '0' },
  exampleAuth: { host: 'amqp://user:replace-with-the-password@rabbitmq.default.svc:5672/' },
  validate: (p) => settleConfig(p).problems,
});
