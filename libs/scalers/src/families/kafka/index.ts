/** Apache Kafka. */
import { kafkaScaler } from './kafka';
export const kafkaScalers = [kafkaScaler];
