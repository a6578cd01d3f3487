import { join } from 'node:path';
import { describeAppContract } from '@keda-ts/k8s/testing';
import { controllerOptions } from './options';

describeAppContract({
  main: join(__dirname, 'main.ts'),
  command: 'keda-ts-controller',
  component: 'controller',
  options: controllerOptions,
});
