/**
 * Every scaler implementation, alphabetically by type: each binds a descriptor of
 * @keda-ts/scaler-sdk (SCALER_DESCRIPTORS) to its factory. Register new scalers here.
 */
import type { ParamSpecs } from '@keda-ts/scaler-sdk';
import { amqpScalers } from './families/amqp';
import { awsScalers } from './families/cloud-aws';
import { azureScalers } from './families/cloud-azure';
import { cronScalers } from './families/cron';
import { grpcScalers } from './families/grpc';
import { httpScalers } from './families/http';
import { kafkaScalers } from './families/kafka';
import { kubernetesScalers } from './families/kubernetes';
import { mongodbScalers } from './families/mongodb';
import { redisScalers } from './families/redis';
import { sqlScalers } from './families/sql';
import type { ScalerImplementation } from './implementation';
import { createRegistry, type ScalerRegistry } from './registry';

export const SCALER_IMPLEMENTATIONS: readonly ScalerImplementation<ParamSpecs>[] = [
  ...amqpScalers,
  ...awsScalers,
  ...azureScalers,
  ...cronScalers,
  ...grpcScalers,
  ...httpScalers,
  ...kafkaScalers,
  ...kubernetesScalers,
  ...mongodbScalers,
  ...redisScalers,
  ...sqlScalers,
].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));

/** The default registry with every scaler of this library (what the controller builds scalers with). */
export const scalers: ScalerRegistry = createRegistry(SCALER_IMPLEMENTATIONS);
