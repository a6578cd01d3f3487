/** AMQP event sources. */
import { rabbitmqScaler } from './rabbitmq';
export const amqpScalers = [rabbitmqScaler];
