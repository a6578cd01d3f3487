/** MongoDB. */
import { mongodbScaler } from './mongodb';
export const mongodbScalers = [mongodbScaler];
