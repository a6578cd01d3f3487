/**
 * `azure-queue` (KEDA azure_queue_scaler.go): the approximate message count of a Storage queue, or
 * with `queueLengthStrategy: visibleonly` the visible messages (peek up to 32, then the approximate
 * count). Authentication by connection string; one service client per connection string, shared.
 */
import { type AzureQueueConfig, azureQueueDescriptor, connectionEndpoint, connectionStringSecrets, externalMetricSpec, externalMetricType, MAX_PEEK_MESSAGES, metricName, type MetricsAndActivity, metricTargetInt, metricValue, q, type Scaler } from '@keda-ts/scaler-sdk';
import { egressOf } from '../../net/egress-policy';
import type { ScalerContext } from '../../context';
import { acquireQueueService, readAzureCount } from './azure-storage';
import { implementScaler } from '../../implementation';

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

export const azureQueueScaler = implementScaler(azureQueueDescriptor, (config, input, ctx) => {
  return new AzureQueueScaler(config, metricName(input.triggerIndex, `azure-queue-${config.queueName}`), externalMetricType(input.metricType), ctx);
});
