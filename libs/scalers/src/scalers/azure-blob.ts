/**
 * `azure-blob` (KEDA azure_blob_scaler.go): the number of blobs in a container, listed
 * hierarchically under `blobPrefix` + `blobDelimiter` (virtual directories are not counted), flat
 * when `recursive`, or flat and filtered by `globPattern`. One service client per connection string.
 */
import type { ContainerClient } from '@azure/storage-blob';
import { defineScaler, type ValidationIssue } from '../descriptor';
import { compileGlob, globMatch, type CompiledGlob } from '../glob';
import { externalMetricSpec, externalMetricType, metricName, metricTargetInt, metricValue } from '../metrics';
import { egressOf } from '../net/egress-policy';
import { param, q, type ParsedParams } from '../params';
import type { MetricsAndActivity, Scaler, ScalerContext } from '../types';
import {
  acquireBlobService,
  azureCloudParams,
  connectionEndpoint,
  connectionStringSecrets,
  readAzureCount,
  validateAzureCloud,
} from './azure-storage';
import { VETTING } from '../vetting';

const M = ['triggerMetadata'] as const;

const params = {
  blobContainerName: param.string({ name: 'blobContainerName', order: M, description: 'Name of the container.' }),
  blobCount: param.int({ name: 'blobCount', order: M, default: '5', description: 'Target blobs per replica.' }),
  activationBlobCount: param.int({ name: 'activationBlobCount', order: M, default: '0', description: 'Active when the blob count is greater than this.' }),
  blobDelimiter: param.string({ name: 'blobDelimiter', order: M, default: '/', description: 'Delimiter of virtual directories.' }),
  blobPrefix: param.string({
    name: 'blobPrefix',
    order: M,
    optional: true,
    description: 'Only blobs in this virtual directory count (the delimiter is appended).',
  }),
  recursive: param.bool({
    name: 'recursive',
    order: M,
    default: 'false',
    description: 'Count blobs in nested virtual directories too (the delimiter is ignored).',
  }),
  globPattern: param.string({
    name: 'globPattern',
    order: M,
    optional: true,
    description: 'Count only blobs whose full name matches this glob (`*`, `?`, `[abc]`, `[!abc]`, `{a,b}`); lists the container flat.',
  }),
  connection: param.string({ refersTo: 'connection-string', vetting: VETTING.azureConnection,
    name: ['connection', 'connectionFromEnv'],
    order: ['authParams', 'resolvedEnv', 'triggerMetadata'],
    optional: true,
    secret: true,
    description: 'Storage account connection string (usually `connectionFromEnv` or a TriggerAuthentication).',
  }),
  accountName: param.string({
    name: 'accountName',
    order: M,
    optional: true,
    description: 'Storage account name for Azure Workload Identity (not supported yet: give a connection string).',
  }),
  ...azureCloudParams,
};

export type AzureBlobConfig = ParsedParams<typeof params>;

/**
 * The blob glob: `*` and `**` any run of characters (`/` included), `?` one character,
 * `[abc]`/`[a-z]`/`[!abc]` a class, `{a,b}` alternatives, `\x` a literal. Matched by the
 * linear-time matcher of glob.ts (the pattern and the blob names are tenant input).
 */
export function compileBlobGlob(glob: string): CompiledGlob | { error: string } {
  return compileGlob(glob, { classes: true, braces: true, escapes: true });
}

/** The glob as given, with a leading `/` stripped (blob names never start with one). */
const effectiveGlob = (glob: string) => glob.replace(/^\/+/, '');

function validate(c: AzureBlobConfig): ValidationIssue[] {
  const problems = validateAzureCloud(c);
  if (c.globPattern) {
    const g = compileBlobGlob(effectiveGlob(c.globPattern));
    if ('error' in g)
      problems.push({
        parameter: 'globPattern',
        // The length problem names no value: a 300-character echo helps nobody.
        message: g.error.startsWith('is ') ? `parameter "globPattern" ${g.error}` : `invalid glob pattern ${q(c.globPattern)}: ${g.error}`,
      });
  }
  // The parser's "missing required parameter" form lets the webhook defer it to the TriggerAuthentication.
  if (!c.connection)
    problems.push({
      parameter: 'connection',
      message:
        'missing required parameter "connection,connectionFromEnv" in [authParams resolvedEnv triggerMetadata]: connection string is required when not using pod identity',
    });
  return problems;
}

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

export const azureBlobScaler = defineScaler({
  type: 'azure-blob',
  description:
    'Scales on the number of blobs in an Azure Storage container (in one virtual directory, recursively, or matching a glob). ' +
    'Authentication by connection string (`connection`, `connectionFromEnv` or a TriggerAuthentication). ' +
    'The request timeout is KEDA_HTTP_DEFAULT_TIMEOUT.',
  params,
  validate,
  example: { blobContainerName: 'uploads', blobPrefix: 'incoming', blobCount: '20' },
  exampleAuth: { connection: 'DefaultEndpointsProtocol=https;AccountName=mystorage;AccountKey=replace-with-the-key;EndpointSuffix=core.windows.net' },
  create(config, input, ctx) {
    return new AzureBlobScaler(
      config,
      metricName(input.triggerIndex, `azure-blob-${config.blobContainerName}`),
      externalMetricType(input.metricType),
      ctx,
    );
  },
});
