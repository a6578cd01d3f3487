/** AWS event sources. */
import { awsSqsQueueScaler } from './aws-sqs-queue';
export const awsScalers = [awsSqsQueueScaler];
