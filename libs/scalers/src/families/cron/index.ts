/** Time windows. */
import { cronScaler } from './cron';
export const cronScalers = [cronScaler];
