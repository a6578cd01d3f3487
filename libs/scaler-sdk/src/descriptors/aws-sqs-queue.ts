/**
 * `aws-sqs-queue` (KEDA aws_sqs_queue_scaler.go): the number of messages in an SQS queue from
 * GetQueueAttributes (visible, + in flight, + delayed). `awsEndpoint` points the client at an
 * SQS-compatible server. One SQS client per region + endpoint + credentials, shared.
 */
import { describeScaler, type ValidationIssue } from '../descriptor';
import { param, type ParsedParams, q } from '../params';
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

export const awsSqsQueueDescriptor = describeScaler({
  type: 'aws-sqs-queue',
  description:
    'Scales on the number of messages in an AWS SQS queue (visible, plus in flight and delayed when asked), read with ' +
    'GetQueueAttributes. Credentials: an access key from a TriggerAuthentication (or the legacy metadata/env form), or ' +
    "the operator's own credential chain with `identityOwner: operator`. The request timeout is KEDA_HTTP_DEFAULT_TIMEOUT.",
  params,
  validate,
  example: { queueURL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders', awsRegion: 'eu-west-1', queueLength: '20' },
  exampleAuth: { awsAccessKeyID: 'AKIAEXAMPLE', awsSecretAccessKey: 'replace-with-the-secret-key' },
});
