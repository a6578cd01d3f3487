/**
 * What the Azure Storage descriptors (azure-queue, azure-blob) share: the `cloud`/`endpointSuffix`
 * parameters and their check, connection-string secrets for redaction and the endpoint a
 * connection string names. The service clients are in @keda-ts/scalers (families/cloud-azure).
 */
import type { ValidationIssue } from '../descriptor';
import { param, q } from '../params';
import { VETTING } from '../vetting';

export const AZURE_CLOUDS = ['AzurePublicCloud', 'AzureChinaCloud', 'AzureGermanCloud', 'AzureUSGovernmentCloud', 'Private'] as const;

export const azureCloudParams = {
  cloud: param.string({
    name: 'cloud',
    order: ['triggerMetadata'],
    optional: true,
    description: `Azure cloud of the account when it is named by \`accountName\`: ${AZURE_CLOUDS.map((c) => `\`${c}\``).join(', ')} (\`Private\` needs \`endpointSuffix\`).`,
  }),
  endpointSuffix: param.string({ refersTo: 'endpoint', vetting: VETTING.azureEndpointSuffix,
    name: 'endpointSuffix',
    order: ['triggerMetadata'],
    optional: true,
    description: 'Storage endpoint suffix for `cloud: Private` (e.g. `core.example.net`).',
  }),
};

/** KEDA's ParseAzureStorageEndpointSuffix checks. */
export function validateAzureCloud(c: { cloud?: string; endpointSuffix?: string }): ValidationIssue[] {
  if (!c.cloud) return [];
  const known = AZURE_CLOUDS.find((k) => k.toLowerCase() === c.cloud?.toLowerCase());
  if (!known) return [{ parameter: 'cloud', message: `unknown cloud ${q(c.cloud)}, allowed values are [${AZURE_CLOUDS.join(' ')}]` }];
  if (known === 'Private' && !c.endpointSuffix)
    return [{ parameter: 'endpointSuffix', message: 'endpointSuffix must be provided for Private cloud' }];
  return [];
}

/** The secret parts of a storage connection string (AccountKey, SharedAccessSignature), for redaction. */
export function connectionStringSecrets(connection: string): string[] {
  const out = [connection];
  for (const part of connection.split(';')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim().toLowerCase();
    if (key === 'accountkey' || key === 'sharedaccesssignature') out.push(part.slice(eq + 1).trim());
  }
  return out;
}

/** The endpoint named by a connection string (for messages): explicit endpoint, else account + suffix. */
export function connectionEndpoint(connection: string, service: 'queue' | 'blob'): string {
  const fields = new Map<string, string>();
  for (const part of connection.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const explicit = fields.get(`${service}endpoint`);
  if (explicit) return explicit.replace(/\?.*$/, '');
  if (fields.get('usedevelopmentstorage') === 'true') return `http://127.0.0.1:${service === 'blob' ? 10000 : 10001}/devstoreaccount1`;
  const account = fields.get('accountname') ?? '<unknown account>';
  return `${fields.get('defaultendpointsprotocol') ?? 'https'}://${account}.${service}.${fields.get('endpointsuffix') ?? 'core.windows.net'}`;
}
