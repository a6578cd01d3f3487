import { join } from 'node:path';
import { describeAppContract } from '@keda-ts/k8s/testing';
import { metricsAdapterOptions } from './options';

describeAppContract({
  main: join(__dirname, 'main.ts'),
  command: 'keda-ts-metrics-adapter',
  component: 'metrics-adapter',
  options: metricsAdapterOptions,
});
