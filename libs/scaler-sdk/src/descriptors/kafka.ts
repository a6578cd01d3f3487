/**
 * `kafka` (KEDA kafka_scaler.go): the consumer group's lag, summed over the topic's partitions
 * (or every topic the group has committed offsets for), capped so replicas never exceed the
 * partitions. Talks to the brokers through a @platformatic/kafka Admin (kafka-client.ts, public API
 * only): one client per cluster + credentials, shared by every scaler that points at it, answers
 * the polls of a short window with one batch of requests (kafka-batch.ts).
 */
import { describeScaler, type ValidationIssue } from '../descriptor';
import { param, type ParsedParams, q } from '../params';
import { VETTING } from '../vetting';

const M = ['triggerMetadata'] as const;
const ME = ['triggerMetadata', 'resolvedEnv'] as const;
const A = ['authParams'] as const;
const MA = ['triggerMetadata', 'authParams'] as const;

export const KAFKA_SASL_MODES = ['none', 'plaintext', 'scram_sha256', 'scram_sha512', 'oauthbearer', 'gssapi'] as const;
/** SASL modes this implementation speaks (no Kerberos yet). */
export const SUPPORTED_KAFKA_SASL_MODES = ['none', 'plaintext', 'scram_sha256', 'scram_sha512', 'oauthbearer'] as const;

const params = {
  bootstrapServers: param.list({ refersTo: 'endpoint', vetting: VETTING.brokerList, name: 'bootstrapServers', order: ME, description: 'Comma-separated `host:port` of the brokers.' }),
  consumerGroup: param.string({ name: 'consumerGroup', order: ME, description: 'The consumer group whose lag drives scaling.' }),
  topic: param.string({
    name: 'topic',
    order: ME,
    optional: true,
    description: 'The topic; without it, every topic the group has committed offsets for counts.',
  }),
  partitionLimitation: param.list({
    name: 'partitionLimitation',
    order: M,
    optional: true,
    description: 'Only these partitions count: ids and inclusive ranges, e.g. `1,2,10-12`. Ignored without `topic`.',
  }),
  lagThreshold: param.int({ name: 'lagThreshold', order: M, default: '10', description: 'Target lag per replica (> 0).' }),
  activationLagThreshold: param.int({
    name: 'activationLagThreshold',
    order: M,
    default: '0',
    description: 'Active when the total lag (persistent lag included) is greater than this (>= 0).',
  }),
  offsetResetPolicy: param.enum(['latest', 'earliest'], {
    name: 'offsetResetPolicy',
    order: M,
    default: 'latest',
    description:
      'For a partition with no committed offset: `latest` counts a lag of 1, `earliest` counts every message in it.',
  }),
  allowIdleConsumers: param.bool({
    name: 'allowIdleConsumers',
    order: M,
    default: 'false',
    description: 'Allow more replicas than partitions (otherwise the lag is capped at partitions × lagThreshold).',
  }),
  excludePersistentLag: param.bool({
    name: 'excludePersistentLag',
    order: M,
    default: 'false',
    description: 'A partition whose committed offset did not move since the previous poll adds no lag for scaling (it still counts for activation).',
  }),
  scaleToZeroOnInvalidOffset: param.bool({
    name: 'scaleToZeroOnInvalidOffset',
    order: M,
    default: 'false',
    description: 'A partition with no committed offset counts as lag 0 instead of 1 (`latest`) or its size (`earliest`).',
  }),
  limitToPartitionsWithLag: param.bool({
    name: 'limitToPartitionsWithLag',
    order: M,
    default: 'false',
    description: 'Cap replicas at the number of partitions that have lag (needs `topic`).',
  }),
  ensureEvenDistributionOfPartitions: param.bool({
    name: 'ensureEvenDistributionOfPartitions',
    order: M,
    default: 'false',
    description: 'Round the lag up so the replica count divides the partition count evenly (needs `topic`).',
  }),
  fullMetadata: param.bool({
    name: 'fullMetadata',
    order: M,
    default: 'true',
    description: 'KEDA: fetch metadata of all topics. Only the topics read are ever fetched here; `false` needs `topic`.',
  }),
  version: param.string({
    name: 'version',
    order: M,
    default: '1.0.0',
    description: 'Kafka protocol version (validated; the client negotiates API versions with the broker itself).',
  }),
  sasl: param.enum(KAFKA_SASL_MODES, {
    name: 'sasl',
    order: MA,
    optional: true,
    description: 'SASL mechanism: `none`, `plaintext`, `scram_sha256`, `scram_sha512`, `oauthbearer` (`gssapi` is not supported yet).',
  }),
  username: param.string({ name: 'username', order: A, optional: true, description: 'SASL user name (oauthbearer: the OAuth client id).' }),
  password: param.string({
    name: 'password',
    order: A,
    optional: true,
    secret: true,
    description: 'SASL password (oauthbearer: the OAuth client secret).',
  }),
  saslTokenProvider: param.enum(['bearer', 'aws_msk_iam'], {
    name: 'saslTokenProvider',
    order: MA,
    optional: true,
    description: 'oauthbearer: `bearer` (client-credentials token from `oauthTokenEndpointUri`, the default); `aws_msk_iam` is not supported yet.',
  }),
  scopes: param.list({ name: 'scopes', order: A, optional: true, description: 'oauthbearer: scopes requested with the token.' }),
  oauthTokenEndpointUri: param.string({ refersTo: 'endpoint', vetting: VETTING.oauthTokenEndpoint,
    name: 'oauthTokenEndpointUri',
    order: A,
    optional: true,
    description: 'oauthbearer: the OAuth token endpoint (client-credentials grant).',
  }),
  oauthExtensions: param.map({
    name: 'oauthExtensions',
    order: A,
    optional: true,
    description: 'oauthbearer: SASL extensions sent with the token, `k1=v1,k2=v2`.',
  }),
  awsRegion: param.string({ name: 'awsRegion', order: M, optional: true, description: 'aws_msk_iam: the AWS region.' }),
  keytab: param.string({ name: 'keytab', order: A, optional: true, secret: true, description: 'gssapi: the keytab (not supported yet).' }),
  realm: param.string({ name: 'realm', order: A, optional: true, description: 'gssapi: Kerberos realm.' }),
  kerberosConfig: param.string({ name: 'kerberosConfig', order: A, optional: true, description: 'gssapi: krb5.conf content.' }),
  kerberosServiceName: param.string({ name: 'kerberosServiceName', order: A, optional: true, description: 'gssapi: service name (default `kafka`).' }),
  kerberosDisableFAST: param.bool({ name: 'kerberosDisableFAST', order: A, default: 'false', description: 'gssapi: disable PA-FX-FAST.' }),
  tls: param.enum(['enable', 'disable'], {
    name: 'tls',
    order: MA,
    optional: true,
    description: 'TLS to the brokers: `enable` or `disable` (default).',
  }),
  ca: param.string({ name: 'ca', order: A, optional: true, description: 'tls: PEM CA certificate that signs the brokers.' }),
  cert: param.string({ name: 'cert', order: A, optional: true, description: 'tls: PEM client certificate (with `key`).' }),
  key: param.string({ name: 'key', order: A, optional: true, secret: true, description: 'tls: PEM client key (with `cert`).' }),
  keyPassword: param.string({ name: 'keyPassword', order: A, optional: true, secret: true, description: 'tls: passphrase of an encrypted `key`.' }),
  unsafeSsl: param.bool({ name: 'unsafeSsl', order: M, default: 'false', description: "tls: skip verification of the brokers' certificates." }),
};

export type KafkaConfigParams = ParsedParams<typeof params>;

const KAFKA_VERSION = /^(?:\d+\.\d+\.\d+|0\.\d+\.\d+\.\d+)$/;

/** `1,2,10-12` -> [1, 2, 10, 11, 12]; an error message naming the bad element otherwise. */
export function parsePartitionLimitation(items: readonly string[]): { ids: number[] } | { error: string } {
  const ids = new Set<number>();
  for (const item of items) {
    const range = /^(\d+)\s*-\s*(\d+)$/.exec(item);
    if (range) {
      const [from, to] = [Number(range[1]), Number(range[2])];
      if (from > to) return { error: `range ${q(item)} is reversed` };
      if (to - from > 100_000) return { error: `range ${q(item)} is too large` };
      for (let i = from; i <= to; i++) ids.add(i);
    } else if (/^\d+$/.test(item)) {
      ids.add(Number(item));
    } else {
      return { error: `${q(item)} is not a partition number or a range such as 10-12` };
    }
  }
  return { ids: [...ids].sort((a, b) => a - b) };
}

/**
 * Parameters only a TriggerAuthentication supplies are reported in the parser's "missing required
 * parameter" form, so the webhook (which cannot see authParams) defers them to the controller.
 */
const MISSING_FROM_AUTH = (name: string) => `missing required parameter ${q(name)} in [authParams]`;

function credentialProblems(c: KafkaConfigParams): ValidationIssue[] {
  const problems: ValidationIssue[] = [];
  if (!c.username) problems.push({ parameter: 'username', message: `${MISSING_FROM_AUTH('username')}: no username given` });
  if (!c.password) problems.push({ parameter: 'password', message: `${MISSING_FROM_AUTH('password')}: no password given` });
  return problems;
}

function validate(c: KafkaConfigParams): ValidationIssue[] {
  const problems: ValidationIssue[] = [];
  if (c.bootstrapServers.some((s) => !s)) problems.push({ parameter: 'bootstrapServers', message: 'bootstrapServers has an empty entry' });
  if (c.lagThreshold <= 0) problems.push({ parameter: 'lagThreshold', message: 'lagThreshold must be positive number' });
  if (c.activationLagThreshold < 0)
    problems.push({ parameter: 'activationLagThreshold', message: 'activationLagThreshold must be positive number' });
  if (c.allowIdleConsumers && c.limitToPartitionsWithLag)
    problems.push('allowIdleConsumers and limitToPartitionsWithLag cannot be set simultaneously');
  if (c.limitToPartitionsWithLag && c.ensureEvenDistributionOfPartitions)
    problems.push('limitToPartitionsWithLag and ensureEvenDistributionOfPartitions cannot be set simultaneously');
  if (!c.topic) {
    if (c.limitToPartitionsWithLag) problems.push({ parameter: 'topic', message: 'topic must be specified when using limitToPartitionsWithLag' });
    if (c.ensureEvenDistributionOfPartitions)
      problems.push({ parameter: 'topic', message: 'topic must be specified when using ensureEvenDistributionOfPartitions' });
    if (!c.fullMetadata) problems.push({ parameter: 'topic', message: 'topic must be specified when using fullMetadata=false' });
  }
  if (c.partitionLimitation) {
    const parsed = parsePartitionLimitation(c.partitionLimitation);
    if ('error' in parsed) problems.push({ parameter: 'partitionLimitation', message: `partitionLimitation: ${parsed.error}` });
  }
  if (!KAFKA_VERSION.test(c.version)) problems.push({ parameter: 'version', message: `error parsing kafka version: invalid version ${q(c.version)}` });
  if (c.tls === 'enable' && Boolean(c.cert) !== Boolean(c.key)) problems.push('cert and key must both be provided or both be empty');
  switch (c.sasl ?? 'none') {
    case 'none':
      break;
    case 'plaintext':
    case 'scram_sha256':
    case 'scram_sha512':
      problems.push(...credentialProblems(c));
      break;
    case 'oauthbearer':
      if ((c.saslTokenProvider ?? 'bearer') === 'aws_msk_iam') {
        problems.push({
          parameter: 'saslTokenProvider',
          message: 'saslTokenProvider "aws_msk_iam" is not supported yet, supported values are [bearer]',
        });
        break;
      }
      problems.push(...credentialProblems(c));
      if (!c.oauthTokenEndpointUri)
        problems.push({ parameter: 'oauthTokenEndpointUri', message: `${MISSING_FROM_AUTH('oauthTokenEndpointUri')}: no oauth token endpoint uri given` });
      break;
    case 'gssapi':
      problems.push({
        parameter: 'sasl',
        message: `sasl mode "gssapi" is not supported yet, supported values are [${SUPPORTED_KAFKA_SASL_MODES.join(' ')}]`,
      });
      break;
  }
  return problems;
}

/**
 * How long a batch collects polls before its requests are sent. Every poll waits up to this long
 * (small next to any polling interval and to the request timeout), and every poll of the same
 * cluster that comes meanwhile shares the batch's requests: one OffsetFetch per coordinator and
 * one ListOffsets per partition leader, whatever the number of triggers, groups and topics. At
 * the issue-7 benchmark's rate (250 kafka triggers every 5 s, 50 polls/s) a batch holds about
 * 1 + 50/s x 50 ms = 3.5 polls, i.e. about 0.6 requests per poll on one broker; polls started
 * together (the usual case after a restart) share even more. Offsets are never reused after
 * a batch: each poll sees offsets fetched after it asked.
 */
export const KAFKA_BATCH_WINDOW_MS = 50;

/**
 * One client per cluster + credentials, whatever the number of triggers: the client keeps one
 * connection per broker it talks to (coordinators and partition leaders), plus the bootstrap
 * connection while the bootstrap address is not one the brokers advertise. Requests are few
 * (one batch per window), so one connection per broker keeps polls parallel.
 */
export const KAFKA_CONNECTIONS_PER_BROKER = 1;

/**
 * Metadata (partitions, leaders, brokers) is refreshed when older than this, when a topic is new
 * to the client, or after an error that says it is stale (new partitions count within a minute).
 */
export const KAFKA_METADATA_MAX_AGE_MS = 60_000;

export const kafkaDescriptor = describeScaler({
  type: 'kafka',
  description:
    'Scales on the lag of a Kafka consumer group: the newest offset minus the committed offset, summed over the partitions, ' +
    'capped at partitions × lagThreshold unless idle consumers are allowed. Authentication: SASL PLAIN, SCRAM-SHA-256/512, ' +
    'OAUTHBEARER (client-credentials token) and TLS, with `sasl`/`tls` from the trigger or a TriggerAuthentication. ' +
    'The request timeout is KEDA_HTTP_DEFAULT_TIMEOUT. The polls of every trigger on one cluster that come within ' +
    `${KAFKA_BATCH_WINDOW_MS} ms are answered by one ` +
    'batch of broker requests sent after the last of them asked (one OffsetFetch per group coordinator, one ListOffsets per partition leader), ' +
    'so each poll sees offsets newer than its start.',
  params,
  validate,
  example: { bootstrapServers: 'kafka-0.kafka.svc:9092,kafka-1.kafka.svc:9092', consumerGroup: 'orders-workers', topic: 'orders', lagThreshold: '50' },
  exampleAuth: { sasl: 'scram_sha512', username: 'keda', password: 'replace-with-the-password', tls: 'enable' },
});
