/** User-provided gRPC external scalers. */
import { externalPushScaler, externalScaler } from './external';
export const grpcScalers = [externalScaler, externalPushScaler];
