import {
  IDENTITY_OWNERS,
  OAUTH2_TYPES,
  POD_IDENTITY_PROVIDERS,
  VAULT_AUTHENTICATIONS,
  VAULT_SECRET_TYPES,
} from '../src/constants';
import {
  array,
  enumOf,
  object,
  str,
  stringList,
  stringMap,
  topLevel,
  type SourceSchema,
} from './source-schema';

const podIdentity: SourceSchema = object(
  'Platform identity that the operator uses to authenticate.',
  {
    provider: enumOf('Identity provider.', POD_IDENTITY_PROVIDERS, { tsName: 'PodIdentityProvider' }),
    identityId: str('Azure: client id of the identity to use instead of the default one.'),
    identityTenantId: str('Azure: tenant id to use instead of the default; needs identityId.'),
    identityAuthorityHost: str(
      'Azure: authority host to use instead of the default; needs identityTenantId.',
    ),
    roleArn: str('AWS: role to assume. Cannot be combined with identityOwner workload.'),
    externalID: str('AWS: external ID used when assuming roleArn.'),
    identityOwner: enumOf(
      'AWS: whose identity is used, the operator (keda) or the workload.',
      IDENTITY_OWNERS,
    ),
  },
  { tsName: 'AuthPodIdentity', required: ['provider'] },
);

/** `{ valueFrom: { secretKeyRef: { name, key } } }` */
const secretValue = (description: string): SourceSchema =>
  object(
    description,
    {
      valueFrom: object(
        'Source of the value.',
        {
          secretKeyRef: object(
            'A key of a Secret.',
            { name: str('Secret name.'), key: str('Key in the Secret.') },
            { tsName: 'SecretKeyRef', required: ['name', 'key'] },
          ),
        },
        { tsName: 'ValueFromSecret', required: ['secretKeyRef'] },
      ),
    },
    { tsName: 'SecretValue', required: ['valueFrom'] },
  );

const targetRef = (tsName: string, description: string, what: string): SourceSchema =>
  object(
    description,
    {
      parameter: str('Scaler parameter that receives the value.'),
      name: str(`${what} name.`),
      key: str(`Key in the ${what}.`),
    },
    { tsName, required: ['parameter', 'name', 'key'] },
  );

const hashiCorpVault = object(
  'Read parameters from HashiCorp Vault.',
  {
    address: str('Vault address.'),
    namespace: str('Vault namespace (Vault Enterprise).'),
    authentication: enumOf('Vault authentication method.', VAULT_AUTHENTICATIONS, {
      tsName: 'VaultAuthentication',
    }),
    role: str('Role for the kubernetes authentication method.'),
    mount: str('Mount path of the kubernetes authentication method.'),
    credential: object(
      'Credentials for the chosen authentication method.',
      {
        token: str('Vault token (token method).'),
        serviceAccount: str('Path of a service account token file (kubernetes method).'),
        serviceAccountName: str('Service account whose bound token is used (kubernetes method).'),
      },
      { tsName: 'VaultCredential' },
    ),
    secrets: array(
      'Secrets to read.',
      object(
        'Maps one Vault secret key to a scaler parameter.',
        {
          parameter: str('Scaler parameter that receives the value.'),
          path: str('Path of the secret in Vault.'),
          key: str('Key inside the secret.'),
          type: enumOf(
            'Secret engine type: secretV2, secret or pki (may be left empty).',
            VAULT_SECRET_TYPES,
            {
              tsName: 'VaultSecretType',
            },
          ),
          pkiData: object(
            'Certificate request for the pki engine.',
            {
              commonName: str('Common name.'),
              altNames: str('Comma-separated DNS subject alternative names.'),
              ipSans: str('Comma-separated IP subject alternative names.'),
              uriSans: str('Comma-separated URI subject alternative names.'),
              otherSans: str('Other subject alternative names.'),
              ttl: str('Requested lifetime.'),
              format: str('Certificate format.'),
            },
            { tsName: 'VaultPkiData' },
          ),
        },
        { tsName: 'VaultSecret', required: ['parameter', 'path', 'key'] },
      ),
      { minItems: 1 },
    ),
  },
  { tsName: 'HashiCorpVault', required: ['address', 'authentication', 'secrets'] },
);

const azureKeyVault = object(
  'Read parameters from Azure Key Vault.',
  {
    vaultUri: str('URI of the Key Vault.'),
    credentials: object(
      'Service principal credentials.',
      {
        clientId: str('Application (client) id.'),
        tenantId: str('Directory (tenant) id.'),
        clientSecret: secretValue('Client secret, read from a Secret.'),
      },
      { tsName: 'AzureKeyVaultCredentials', required: ['clientId', 'tenantId', 'clientSecret'] },
    ),
    podIdentity,
    cloud: object(
      'Azure cloud of the Key Vault.',
      {
        type: str('AzurePublicCloud, AzureUSGovernmentCloud, AzureChinaCloud or Private.'),
        keyVaultResourceURL: str('Key Vault resource URL (Private cloud).'),
        activeDirectoryEndpoint: str('Active Directory endpoint (Private cloud).'),
      },
      { tsName: 'AzureKeyVaultCloudInfo', required: ['type'] },
    ),
    secrets: array(
      'Secrets to read.',
      object(
        'Maps one Key Vault secret to a scaler parameter.',
        {
          parameter: str('Scaler parameter that receives the value.'),
          name: str('Secret name in the Key Vault.'),
          version: str('Secret version; empty means the latest.'),
        },
        { tsName: 'AzureKeyVaultSecret', required: ['parameter', 'name'] },
      ),
      { minItems: 1 },
    ),
  },
  { tsName: 'AzureKeyVault', required: ['vaultUri', 'secrets'] },
);

const gcpSecretManager = object(
  'Read parameters from GCP Secret Manager.',
  {
    secrets: array(
      'Secrets to read.',
      object(
        'Maps one Secret Manager secret to a scaler parameter.',
        {
          parameter: str('Scaler parameter that receives the value.'),
          id: str('Secret id.'),
          version: str('Secret version. Defaults to latest.'),
        },
        { tsName: 'GCPSecretManagerSecret', required: ['parameter', 'id'] },
      ),
      { minItems: 1 },
    ),
    credentials: object(
      'Service account key.',
      { clientSecret: secretValue('Service account JSON key, read from a Secret.') },
      { tsName: 'GCPCredentials', required: ['clientSecret'] },
    ),
    podIdentity,
  },
  { tsName: 'GCPSecretManager', required: ['secrets'] },
);

const awsSecretManager = object(
  'Read parameters from AWS Secrets Manager.',
  {
    secrets: array(
      'Secrets to read.',
      object(
        'Maps one Secrets Manager secret to a scaler parameter.',
        {
          parameter: str('Scaler parameter that receives the value.'),
          name: str('Secret name or ARN.'),
          versionId: str('Version id.'),
          versionStage: str('Version stage.'),
          secretKey: str('Key inside a JSON secret.'),
        },
        { tsName: 'AwsSecretManagerSecret', required: ['parameter', 'name'] },
      ),
      { minItems: 1 },
    ),
    credentials: object(
      'Static access keys, read from Secrets.',
      {
        accessKey: secretValue('Access key id.'),
        accessSecretKey: secretValue('Secret access key.'),
        accessToken: secretValue('Session token.'),
      },
      { tsName: 'AwsSecretManagerCredentials', required: ['accessKey', 'accessSecretKey'] },
    ),
    podIdentity,
    region: str('AWS region.'),
  },
  { tsName: 'AwsSecretManager', required: ['secrets'] },
);

const spec = object(
  'Sources of authentication parameters. Later sources overwrite earlier ones for the same parameter.',
  {
    podIdentity,
    secretTargetRef: array(
      'Parameters read from Secrets.',
      targetRef('AuthSecretTargetRef', 'Maps one Secret key to a scaler parameter.', 'Secret'),
    ),
    configMapTargetRef: array(
      'Parameters read from ConfigMaps.',
      targetRef('AuthConfigMapTargetRef', 'Maps one ConfigMap key to a scaler parameter.', 'ConfigMap'),
    ),
    env: array(
      'Parameters read from environment variables of the scale target container.',
      object(
        'Maps one environment variable to a scaler parameter.',
        {
          parameter: str('Scaler parameter that receives the value.'),
          name: str('Environment variable name.'),
          containerName: str('Container to read from. Defaults to the first container.'),
        },
        { tsName: 'AuthEnvironment', required: ['parameter', 'name'] },
      ),
    ),
    filePath: str(
      'Path, relative to the operator --filepath-auth-root-path, of a JSON file of parameters. ClusterTriggerAuthentication only.',
    ),
    hashiCorpVault,
    azureKeyVault,
    gcpSecretManager,
    awsSecretManager,
    boundServiceAccountToken: array(
      'Parameters filled with a bound token of a service account.',
      object(
        'Maps a service account token to a scaler parameter.',
        {
          parameter: str('Scaler parameter that receives the token.'),
          serviceAccountName: str('Service account in the namespace of the object.'),
        },
        { tsName: 'BoundServiceAccountToken', required: ['parameter', 'serviceAccountName'] },
      ),
    ),
    oauth2: object(
      'OAuth2 client credentials passed to the scaler.',
      {
        type: enumOf('OAuth2 grant type.', OAUTH2_TYPES, {
          default: 'clientCredentials',
          tsName: 'OAuth2Type',
        }),
        clientId: str('Client id.'),
        clientSecret: secretValue('Client secret, read from a Secret.'),
        tokenUrl: str('Absolute http(s) URL of the token endpoint.'),
        scopes: stringList('Requested scopes.'),
        tokenUrlParams: stringMap('Extra parameters sent to the token endpoint.'),
      },
      { tsName: 'OAuth2' },
    ),
  },
  { tsName: 'TriggerAuthenticationSpec' },
);

const status = object(
  'Objects that refer to this authentication, maintained by the operator.',
  {
    scaledobjects: str('Comma-separated names of referring ScaledObjects.'),
    scaledjobs: str('Comma-separated names of referring ScaledJobs.'),
  },
  { tsName: 'TriggerAuthenticationStatus' },
);

export const triggerAuthenticationSchema: SourceSchema = topLevel(
  'TriggerAuthentication',
  'TriggerAuthentication tells scalers in the same namespace where to find their credentials.',
  spec,
  status,
);

export const clusterTriggerAuthenticationSchema: SourceSchema = topLevel(
  'ClusterTriggerAuthentication',
  'ClusterTriggerAuthentication tells scalers in any namespace where to find their credentials.',
  spec,
  status,
);
