/**
 * `aws-sqs-queue` (KEDA aws_sqs_queue_scaler.go): the number of messages in an SQS queue from
 * GetQueueAttributes (visible, + in flight, + delayed). `awsEndpoint` points the client at an
 * SQS-compatible server. One SQS client per region + endpoint + credentials, shared.
 */
import { GetQueueAttributesCommand, SQSClient, type QueueAttributeName } from '@aws-sdk/client-sqs';
import { defineScaler, type ValidationIssue } from '../descriptor';
import { externalMetricSpec, externalMetricType, metricName, metricTargetInt, metricValue } from '../metrics';
import { EgressHttpAgent, EgressHttpsAgent } from '../net/egress-connect';
import { egressOf } from '../net/egress-policy';
import { param, q, type ParsedParams } from '../params';
import { credentialsHash, SharedClients, withDeadline } from '../pools/shared-clients';
import type { MetricsAndActivity, Scaler, ScalerContext } from '../types';
import { LocalError, upstreamError } from '../upstream-errors';
import { VETTING } from '../vetting';

const M = ['triggerMetadata'] as const;
const ME = ['triggerMetadata', 'resolvedEnv'] as const;
const MA = ['triggerMetadata', 'authParams'] as const;
const A = ['authParams'] as const;

const params = {
  queueURL: param.string({ refersTo: 'endpoint', vetting: VETTING.sqsQueueUrl,
    name: 'queueURL',
    order: ME,
    description: 'Queue URL (`https://sqs.<region>.amazonaws.com/<account>/<name>`), or just the queue name.',
  }),
  queueLength: param.int({ name: 'queueLength', order: M, default: '5', description: 'Target messages per replica.' }),
  activationQueueLength: param.int({
    name: 'activationQueueLength',
    order: M,
    default: '0',
    description: 'Active when the message count is greater than this.',
  }),
  awsRegion: param.string({ name: 'awsRegion', order: MA, description: 'AWS region of the queue.' }),
  awsEndpoint: param.string({ refersTo: 'endpoint', vetting: VETTING.awsEndpoint,
    name: 'awsEndpoint',
    order: M,
    optional: true,
    description: 'Custom endpoint URL (an SQS-compatible server, a VPC endpoint).',
  }),
  scaleOnInFlight: param.bool({
    name: 'scaleOnInFlight',
    order: M,
    default: 'true',
    description: 'Count messages in flight (received, not yet deleted): ApproximateNumberOfMessagesNotVisible.',
  }),
  scaleOnDelayed: param.bool({
    name: 'scaleOnDelayed',
    order: M,
    default: 'false',
    description: 'Count delayed messages: ApproximateNumberOfMessagesDelayed.',
  }),
  identityOwner: param.enum(['pod', 'operator'], {
    name: 'identityOwner',
    order: M,
    default: 'pod',
    description:
      '`pod`: credentials from the trigger (authParams, or metadata/env); `operator`: the operator\'s own default AWS credential chain.',
  }),
  awsRoleArn: param.string({ name: 'awsRoleArn', order: A, optional: true, description: 'Role to assume (not supported yet: needs AWS STS).' }),
  awsAccessKeyID: param.string({
    name: ['awsAccessKeyID', 'awsAccessKeyId'],
    order: ['authParams', 'triggerMetadata', 'resolvedEnv'],
    optional: true,
    description: 'Access key id (authParams; legacy: metadata `awsAccessKeyID` or `awsAccessKeyIDFromEnv`).',
  }),
  awsSecretAccessKey: param.string({
    name: 'awsSecretAccessKey',
    order: ['authParams', 'resolvedEnv'],
    optional: true,
    secret: true,
    description: 'Secret access key (authParams; legacy: `awsSecretAccessKeyFromEnv`).',
  }),
  awsSessionToken: param.string({
    name: 'awsSessionToken',
    order: A,
    optional: true,
    secret: true,
    description: 'Session token of temporary credentials.',
  }),
};

export type AwsSqsConfig = ParsedParams<typeof params>;

/** The queue name in `queueURL`: a URL's path must be `/<account>/<name>`; anything else is the name itself. */
export function sqsQueueName(queueURL: string): { name: string } | { error: string } {
  let path: string | undefined;
  if (queueURL.startsWith('/')) path = queueURL;
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(queueURL)) {
    try {
      path = new URL(queueURL).pathname;
    } catch {
      return { error: `cannot get queueName from queueURL ${q(queueURL)}` };
    }
  }
  if (path === undefined) return { name: queueURL };
  const parts = path.split('/');
  if (parts.length !== 3 || parts[2] === '') return { error: 'cannot get queueName from queueURL' };
  return { name: parts[2] };
}

function validate(c: AwsSqsConfig): ValidationIssue[] {
  const problems: ValidationIssue[] = [];
  const name = sqsQueueName(c.queueURL);
  if ('error' in name) problems.push({ parameter: 'queueURL', message: name.error });
  if (c.awsEndpoint) {
    let ok: boolean;
    try {
      ok = ['http:', 'https:'].includes(new URL(c.awsEndpoint).protocol);
    } catch {
      ok = false;
    }
    if (!ok) problems.push({ parameter: 'awsEndpoint', message: 'awsEndpoint must be an absolute http:// or https:// URL' });
    // The operator's credentials are signed into every request: they only ever go to AWS's own endpoints.
    if (c.identityOwner === 'operator')
      problems.push({
        parameter: 'awsEndpoint',
        message: "awsEndpoint cannot be used with identityOwner: operator (the operator's own AWS credentials are only sent to AWS's endpoints); give awsAccessKeyID and awsSecretAccessKey instead",
      });
  }
  if (c.identityOwner === 'pod') {
    if (c.awsRoleArn) problems.push({ parameter: 'awsRoleArn', message: 'awsRoleArn is not supported yet: give awsAccessKeyID and awsSecretAccessKey' });
    // The parser's "missing required parameter" form lets the webhook defer these to the TriggerAuthentication.
    else if (!c.awsAccessKeyID)
      problems.push({
        parameter: 'awsAccessKeyID',
        message: 'missing required parameter "awsAccessKeyID,awsAccessKeyId" in [authParams triggerMetadata resolvedEnv]: awsAccessKeyID not found',
      });
    else if (!c.awsSecretAccessKey)
      problems.push({
        parameter: 'awsSecretAccessKey',
        message: 'missing required parameter "awsSecretAccessKey" in [authParams resolvedEnv]: awsSecretAccessKey not found',
      });
  }
  return problems;
}

const sharedClients = new SharedClients<SQSClient>(async (client) => client.destroy());

/** Number of live SQS clients (one per region + endpoint + credentials). */
export function sqsClientCount(): number {
  return sharedClients.size;
}

class AwsSqsQueueScaler implements Scaler {
  readonly type = 'aws-sqs-queue';
  private readonly lease;
  private readonly attributes: QueueAttributeName[];
  private closed = false;

  constructor(
    private readonly config: AwsSqsConfig,
    private readonly name: string,
    private readonly metricType: 'AverageValue' | 'Value',
    private readonly ctx: ScalerContext,
  ) {
    const timeout = ctx.httpTimeoutMs;
    const useTriggerCredentials = config.identityOwner === 'pod' && config.awsAccessKeyID && config.awsSecretAccessKey;
    const egress = egressOf(ctx);
    const key = [
      `egress:${egress.id}`,
      config.awsRegion,
      config.awsEndpoint ?? '',
      timeout,
      useTriggerCredentials ? credentialsHash(config.awsAccessKeyID, config.awsSecretAccessKey, config.awsSessionToken) : 'default-chain',
    ].join('|');
    this.lease = sharedClients.acquire(
      key,
      () =>
        new SQSClient({
          region: config.awsRegion,
          ...(config.awsEndpoint ? { endpoint: config.awsEndpoint } : {}),
          ...(useTriggerCredentials
            ? {
                credentials: {
                  accessKeyId: config.awsAccessKeyID ?? '',
                  secretAccessKey: config.awsSecretAccessKey ?? '',
                  ...(config.awsSessionToken ? { sessionToken: config.awsSessionToken } : {}),
                },
              }
            : {}),
          maxAttempts: 2,
          // The handler's agents check every address they connect to (the endpoint may be the
          // trigger's `awsEndpoint`); the SDK's handler does not follow redirects.
          requestHandler: {
            requestTimeout: timeout,
            connectionTimeout: Math.min(timeout, 3000),
            httpAgent: new EgressHttpAgent(egress, { keepAlive: true, maxSockets: 50 }),
            httpsAgent: new EgressHttpsAgent(egress, { keepAlive: true, maxSockets: 50 }),
          },
        }),
    );
    this.attributes = ['ApproximateNumberOfMessages'];
    if (config.scaleOnInFlight) this.attributes.push('ApproximateNumberOfMessagesNotVisible');
    if (config.scaleOnDelayed) this.attributes.push('ApproximateNumberOfMessagesDelayed');
  }

  getMetricSpecForScaling() {
    return [externalMetricSpec(this.name, metricTargetInt(this.metricType, this.config.queueLength))];
  }

  async getMetricsAndActivity(requested: string, options?: { signal?: AbortSignal }): Promise<MetricsAndActivity> {
    const where = `SQS queue ${q(this.config.queueURL)}${this.config.awsEndpoint ? ` at ${this.config.awsEndpoint}` : ''}`;
    if (this.closed) throw new Error(`error getting length of ${where}: the scaler is closed`);
    const length = await this.queueLength(options?.signal).catch((err: Error) => {
      throw upstreamError(`error getting length of ${where}`, err, [this.config.awsSecretAccessKey, this.config.awsSessionToken]);
    });
    return {
      metrics: [metricValue(requested, length, this.ctx.now())],
      isActive: length > this.config.activationQueueLength,
    };
  }

  private async queueLength(signal?: AbortSignal): Promise<number> {
    const abort = new AbortController();
    const output = await withDeadline(
      this.lease.client.send(new GetQueueAttributesCommand({ QueueUrl: this.config.queueURL, AttributeNames: this.attributes }), {
        abortSignal: abort.signal,
      }),
      this.ctx.httpTimeoutMs,
      'request',
      signal,
    ).finally(() => abort.abort());
    let total = 0;
    for (const attribute of this.attributes) {
      const raw = output.Attributes?.[attribute];
      if (raw === undefined) throw new LocalError(`metric ${attribute} not found in SQS queue attributes`);
      if (!/^-?\d+$/.test(raw)) throw new LocalError(`attribute ${attribute} is not an integer (a string of ${raw.length} characters)`);
      total += Number(raw);
    }
    return total;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.lease.release();
  }
}

export const awsSqsQueueScaler = defineScaler({
  type: 'aws-sqs-queue',
  description:
    'Scales on the number of messages in an AWS SQS queue (visible, plus in flight and delayed when asked), read with ' +
    'GetQueueAttributes. Credentials: an access key from a TriggerAuthentication (or the legacy metadata/env form), or ' +
    "the operator's own credential chain with `identityOwner: operator`. The request timeout is KEDA_HTTP_DEFAULT_TIMEOUT.",
  params,
  validate,
  example: { queueURL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders', awsRegion: 'eu-west-1', queueLength: '20' },
  exampleAuth: { awsAccessKeyID: 'AKIAEXAMPLE', awsSecretAccessKey: 'replace-with-the-secret-key' },
  create(config, input, ctx) {
    const queue = sqsQueueName(config.queueURL);
    const name = metricName(input.triggerIndex, `aws-sqs-${'name' in queue ? queue.name : config.queueURL}`);
    return new AwsSqsQueueScaler(config, name, externalMetricType(input.metricType), ctx);
  },
});
