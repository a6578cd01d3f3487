/**
 * `aws-sqs-queue` (KEDA aws_sqs_queue_scaler.go): the number of messages in an SQS queue from
 * GetQueueAttributes (visible, + in flight, + delayed). `awsEndpoint` points the client at an
 * SQS-compatible server. One SQS client per region + endpoint + credentials, shared.
 */
import type * as Sqs from '@aws-sdk/client-sqs';
import { type AwsSqsConfig, awsSqsQueueDescriptor, externalMetricSpec, externalMetricType, metricName, type MetricsAndActivity, metricTargetInt, metricValue, q, type Scaler, sqsQueueName } from '@keda-ts/scaler-sdk';
import { EgressHttpAgent, EgressHttpsAgent } from '../../net/egress-connect';
import { egressOf } from '../../net/egress-policy';
import { credentialsHash, SharedClients, withDeadline } from '../../pools/shared-clients';
import type { ScalerContext } from '../../context';
import { LocalError, upstreamError } from '../../upstream-errors';
import { implementScaler } from '../../implementation';
import { onFirstUse } from '../../lazy-module';

// The client library is loaded by the first SQS scaler, not at start-up (lazy-module.ts).
const sqs = onFirstUse(() => require('@aws-sdk/client-sqs') as typeof Sqs);

const sharedClients = new SharedClients<Sqs.SQSClient>(async (client) => client.destroy());

/** Number of live SQS clients (one per region + endpoint + credentials). */
export function sqsClientCount(): number {
  return sharedClients.size;
}

class AwsSqsQueueScaler implements Scaler {
  readonly type = 'aws-sqs-queue';
  private readonly lease;
  private readonly attributes: Sqs.QueueAttributeName[];
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
        new (sqs().SQSClient)({
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
      this.lease.client.send(new (sqs().GetQueueAttributesCommand)({ QueueUrl: this.config.queueURL, AttributeNames: this.attributes }), {
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

export const awsSqsQueueScaler = implementScaler(awsSqsQueueDescriptor, (config, input, ctx) => {
  const queue = sqsQueueName(config.queueURL);
  const name = metricName(input.triggerIndex, `aws-sqs-${'name' in queue ? queue.name : config.queueURL}`);
  return new AwsSqsQueueScaler(config, name, externalMetricType(input.metricType), ctx);
});
