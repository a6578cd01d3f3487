/**
 * `azure-queue` (KEDA azure_queue_scaler.go): the approximate message count of a Storage queue, or
 * with `queueLengthStrategy: visibleonly` the visible messages (peek up to 32, then the approximate
 * count). Authentication by connection string; one service client per connection string, shared.
 */
import { defineScaler, type ValidationIssue } from '../descriptor';
import { externalMetricSpec, externalMetricType, metricName, metricTargetInt, metricValue } from '../metrics';
import { egressOf } from '../net/egress-policy';
import { param, q, type ParsedParams } from '../params';
import type { MetricsAndActivity, Scaler, ScalerContext } from '../types';
import {
  acquireQueueService,
  azureCloudParams,
  connectionEndpoint,
  connectionStringSecrets,
  readAzureCount,
  validateAzureCloud,
} from './azure-storage';
import { VETTING } from '../vetting';

const M = ['triggerMetadata'] as const;

/** Most messages one peek returns (the service's limit). */
export const MAX_PEEK_MESSAGES = 32;

const params = {
  queueName: param.string({ name: 'queueName', order: M, description: 'Name of the queue.' }),
  queueLength: param.int({ name: 'queueLength', order: M, default: '5', description: 'Target messages per replica.' }),
  activationQueueLength: param.int({
    name: 'activationQueueLength',
    order: M,
    default: '0',
    description: 'Active when the message count is greater than this.',
  }),
  connection: param.string({ refersTo: 'connection-string', vetting: VETTING.azureConnection,
    name: 'connection',
    order: ['authParams', 'triggerMetadata', 'resolvedEnv'],
    optional: true,
    secret: true,
    description: 'Storage account connection string (usually `connectionFromEnv` or a TriggerAuthentication).',
  }),
  accountName: param.string({
    name: 'accountName',
    order: M,
    optional: true,
    description: 'Storage account name for Azure Workload Identity (not supported yet: give a connection string).',
  }),
  queueLengthStrategy: param.enum(['all', 'visibleonly'], {
    name: 'queueLengthStrategy',
    order: M,
    default: 'all',
    description:
      '`all`: the approximate count (invisible messages included); `visibleonly`: peek up to 32 visible messages, falling back to the approximate count when there are more.',
  }),
  ...azureCloudParams,
};

export type AzureQueueConfig = ParsedParams<typeof params>;

function validate(c: AzureQueueConfig): ValidationIssue[] {
  const problems = validateAzureCloud(c);
  // The parser's "missing required parameter" form lets the webhook defer it to the TriggerAuthentication.
  if (!c.connection)
    problems.push({ parameter: 'connection', message: 'missing required parameter "connection" in [authParams triggerMetadata resolvedEnv]: no connection setting given' });
  return problems;
}

class AzureQueueScaler implements Scaler {
  readonly type = 'azure-queue';
  private readonly lease;
  private readonly secrets: string[];
  private readonly where: string;
  private closed = false;

  constructor(
    private readonly config: AzureQueueConfig,
    private readonly name: string,
    private readonly metricType: 'AverageValue' | 'Value',
    private readonly ctx: ScalerContext,
  ) {
    const connection = config.connection ?? '';
    this.lease = acquireQueueService(connection, ctx.httpTimeoutMs, egressOf(ctx));
    this.secrets = connectionStringSecrets(connection);
    this.where = `azure queue ${q(config.queueName)} at ${connectionEndpoint(connection, 'queue')}`;
  }

  getMetricSpecForScaling() {
    return [externalMetricSpec(this.name, metricTargetInt(this.metricType, this.config.queueLength))];
  }

  async getMetricsAndActivity(requested: string, options?: { signal?: AbortSignal }): Promise<MetricsAndActivity> {
    if (this.closed) throw new Error(`error getting length of ${this.where}: the scaler is closed`);
    const length = await readAzureCount((abortSignal) => this.messageCount(abortSignal), {
      timeoutMs: this.ctx.httpTimeoutMs,
      failure: `error getting length of ${this.where}`,
      secrets: this.secrets,
      signal: options?.signal,
    });
    return {
      metrics: [metricValue(requested, length, this.ctx.now())],
      isActive: length > this.config.activationQueueLength,
    };
  }

  private async messageCount(abortSignal: AbortSignal): Promise<number> {
    const queue = this.lease.client.getQueueClient(this.config.queueName);
    if (this.config.queueLengthStrategy === 'visibleonly') {
      const peeked = await queue.peekMessages({ numberOfMessages: MAX_PEEK_MESSAGES, abortSignal });
      if (peeked.peekedMessageItems.length < MAX_PEEK_MESSAGES) return peeked.peekedMessageItems.length;
    }
    const props = await queue.getProperties({ abortSignal });
    return props.approximateMessagesCount ?? 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.lease.release();
  }
}

export const azureQueueScaler = defineScaler({
  type: 'azure-queue',
  description:
    'Scales on the number of messages in an Azure Storage queue (approximate count, or visible messages only). ' +
    'Authentication by connection string (`connection`, `connectionFromEnv` or a TriggerAuthentication). ' +
    'The request timeout is KEDA_HTTP_DEFAULT_TIMEOUT.',
  params,
  validate,
  example: { queueName: 'orders', queueLength: '10' },
  exampleAuth: { connection: 'DefaultEndpointsProtocol=https;AccountName=mystorage;AccountKey=replace-with-the-key;EndpointSuffix=core.windows.net' },
  create(config, input, ctx) {
    return new AzureQueueScaler(config, metricName(input.triggerIndex, `azure-queue-${config.queueName}`), externalMetricType(input.metricType), ctx);
  },
});
