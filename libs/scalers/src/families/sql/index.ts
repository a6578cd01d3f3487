/** SQL databases. */
import { mysqlScaler } from './mysql';
import { postgresqlScaler } from './postgresql';
export const sqlScalers = [mysqlScaler, postgresqlScaler];
