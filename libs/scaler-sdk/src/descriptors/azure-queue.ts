/**
 * `azure-queue` (KEDA azure_queue_scaler.go): the approximate message count of a Storage queue, or
 * with `queueLengthStrategy: visibleonly` the visible messages (peek up to 32, then the approximate
 * count). Authentication by connection string; one service client per connection string, shared.
 */
import { describeScaler, type ValidationIssue } from '../descriptor';
import { param, type ParsedParams } from '../params';
import { azureCloudParams, validateAzureCloud } from './azure-storage';
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

export const azureQueueDescriptor = describeScaler({
  type: 'azure-queue',
  description:
    'Scales on the number of messages in an Azure Storage queue (approximate count, or visible messages only). ' +
    'Authentication by connection string (`connection`, `connectionFromEnv` or a TriggerAuthentication). ' +
    'The request timeout is KEDA_HTTP_DEFAULT_TIMEOUT.',
  params,
  validate,
  example: { queueName: 'orders', queueLength: '10' },
  exampleAuth: { connection: 'DefaultEndpointsProtocol=https;AccountName=mystorage;AccountKey=replace-with-the-key;EndpointSuffix=core.windows.net' },
});
