import { join } from 'node:path';
import { describeAppContract } from '@keda-ts/k8s/testing';
import { webhookOptions } from './options';

describeAppContract({
  main: join(__dirname, 'main.ts'),
  command: 'keda-ts-webhook',
  component: 'webhook',
  options: webhookOptions,
});
