/** Azure Storage event sources. */
import { azureBlobScaler } from './azure-blob';
import { azureQueueScaler } from './azure-queue';
export const azureScalers = [azureBlobScaler, azureQueueScaler];
