/**
 * `azure-blob` (KEDA azure_blob_scaler.go): the number of blobs in a container, listed
 * hierarchically under `blobPrefix` + `blobDelimiter` (virtual directories are not counted), flat
 * when `recursive`, or flat and filtered by `globPattern`. One service client per connection string.
 */
import { describeScaler, type ValidationIssue } from '../descriptor';
import { type CompiledGlob, compileGlob } from '../glob';
import { param, type ParsedParams, q } from '../params';
import { azureCloudParams, validateAzureCloud } from './azure-storage';
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
export const effectiveGlob = (glob: string) => glob.replace(/^\/+/, '');

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

export const azureBlobDescriptor = describeScaler({
  type: 'azure-blob',
  description:
    'Scales on the number of blobs in an Azure Storage container (in one virtual directory, recursively, or matching a glob). ' +
    'Authentication by connection string (`connection`, `connectionFromEnv` or a TriggerAuthentication). ' +
    'The request timeout is KEDA_HTTP_DEFAULT_TIMEOUT.',
  params,
  validate,
  example: { blobContainerName: 'uploads', blobPrefix: 'incoming', blobCount: '20' },
  exampleAuth: { connection: 'DefaultEndpointsProtocol=https;AccountName=mystorage;AccountKey=replace-with-the-key;EndpointSuffix=core.windows.net' },
});
