/**
 * `azure-blob` (KEDA azure_blob_scaler.go): the number of blobs in a container, listed
 * hierarchically under `blobPrefix` + `blobDelimiter` (virtual directories are not counted), flat
 * when `recursive`, or flat and filtered by `globPattern`. One service client per connection string.
 */
import type { ContainerClient } from '@azure/storage-blob';
import { type AzureBlobConfig, azureBlobDescriptor, compileBlobGlob, type CompiledGlob, connectionEndpoint, connectionStringSecrets, effectiveGlob, externalMetricSpec, externalMetricType, globMatch, metricName, type MetricsAndActivity, metricTargetInt, metricValue, q, type Scaler } from '@keda-ts/scaler-sdk';
import { egressOf } from '../../net/egress-policy';
import type { ScalerContext } from '../../context';
import { acquireBlobService, readAzureCount } from './azure-storage';
import { implementScaler } from '../../implementation';

class AzureBlobScaler implements Scaler {
  readonly type = 'azure-blob';
  private readonly lease;
  private readonly secrets: string[];
  private readonly where: string;
  private readonly delimiter: string;
  private readonly prefix?: string;
  private readonly glob?: CompiledGlob;
  private closed = false;

  constructor(
    private readonly config: AzureBlobConfig,
    private readonly name: string,
    private readonly metricType: 'AverageValue' | 'Value',
    private readonly ctx: ScalerContext,
  ) {
    const connection = config.connection ?? '';
    this.lease = acquireBlobService(connection, ctx.httpTimeoutMs, egressOf(ctx));
    this.secrets = connectionStringSecrets(connection);
    this.where = `azure blob container ${q(config.blobContainerName)} at ${connectionEndpoint(connection, 'blob')}`;
    this.delimiter = config.recursive ? '' : config.blobDelimiter;
    this.prefix = config.blobPrefix ? config.blobPrefix + this.delimiter : undefined;
    if (config.globPattern) {
      const g = compileBlobGlob(effectiveGlob(config.globPattern));
      if (!('error' in g)) this.glob = g;
    }
  }

  getMetricSpecForScaling() {
    return [externalMetricSpec(this.name, metricTargetInt(this.metricType, this.config.blobCount))];
  }

  async getMetricsAndActivity(requested: string, options?: { signal?: AbortSignal }): Promise<MetricsAndActivity> {
    if (this.closed) throw new Error(`error listing blobs of ${this.where}: the scaler is closed`);
    const count = await readAzureCount((abortSignal) => this.blobCount(abortSignal), {
      timeoutMs: this.ctx.httpTimeoutMs,
      failure: `error listing blobs of ${this.where}`,
      secrets: this.secrets,
      signal: options?.signal,
    });
    return {
      metrics: [metricValue(requested, count, this.ctx.now())],
      isActive: count > this.config.activationBlobCount,
    };
  }

  private async blobCount(abortSignal: AbortSignal): Promise<number> {
    const container: ContainerClient = this.lease.client.getContainerClient(this.config.blobContainerName);
    let count = 0;
    if (this.glob || !this.delimiter) {
      for await (const page of container.listBlobsFlat({ prefix: this.prefix, abortSignal }).byPage({ maxPageSize: 5000 })) {
        for (const item of page.segment.blobItems) if (!this.glob || globMatch(this.glob, item.name)) count++;
      }
      return count;
    }
    for await (const page of container.listBlobsByHierarchy(this.delimiter, { prefix: this.prefix, abortSignal }).byPage({ maxPageSize: 5000 })) {
      count += page.segment.blobItems.length;
    }
    return count;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.lease.release();
  }
}

export const azureBlobScaler = implementScaler(azureBlobDescriptor, (config, input, ctx) => {
  return new AzureBlobScaler(
    config,
    metricName(input.triggerIndex, `azure-blob-${config.blobContainerName}`),
    externalMetricType(input.metricType),
    ctx,
  );
});
