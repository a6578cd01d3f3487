import type { TriggerAuthenticationSpec } from '@keda-ts/api';
import { authParamsFromSpec, type AuthSpecContext } from './auth-params';
import type { AuthSnapshot } from './container-env';
import { TriggerAuthError } from './types';

const objects: Record<string, Record<string, string>> = {
  'Secret/app/creds': { user: 'alice', password: 'app-secret-pw' },
  'Secret/keda/creds': { user: 'keda-alice', password: 'keda-secret-pw' },
  'Secret/app/oauth': { secret: 'oauth-secret' },
  'ConfigMap/app/cfg': { user: 'cm-user', host: 'cm-host' },
  'ConfigMap/keda/cfg': { host: 'keda-cm-host' },
  'ConfigMap/app/envcm': { FROM_CM: 'cm-env-value' },
};
const lookup = (kind: string) => (namespace: string, name: string) => {
  const data = objects[`${kind}/${namespace}/${name}`];
  return data ? { data } : { problem: 'not found' };
};
const snapshot: AuthSnapshot = { secret: lookup('Secret'), configMap: lookup('ConfigMap') };

const template = {
  spec: {
    serviceAccountName: 'worker',
    containers: [
      { name: 'main', env: [{ name: 'USER_ENV', value: 'env-user' }, { name: 'HOST_ENV', value: 'env-host' }], envFrom: [{ configMapRef: { name: 'envcm' } }] },
      { name: 'side', env: [{ name: 'USER_ENV', value: 'side-user' }] },
    ],
  },
};

function ctx(patch: Partial<AuthSpecContext> = {}): AuthSpecContext {
  return {
    refKind: 'TriggerAuthentication',
    refName: 'ta',
    objectNamespace: 'app',
    secretNamespace: 'app',
    podTemplate: template,
    envScope: { namespace: 'app', secretsAllowed: true, owner: 'ScaledObject app/so' },
    ...patch,
  };
}

describe('authParamsFromSpec: sources and merge order (env < configMapTargetRef < secretTargetRef < ... < oauth2)', () => {
  const cases: [string, TriggerAuthenticationSpec, Partial<AuthSpecContext>, Record<string, string>][] = [
    ['empty spec', {}, {}, {}],
    ['secretTargetRef', { secretTargetRef: [{ parameter: 'password', name: 'creds', key: 'password' }] }, {}, { password: 'app-secret-pw' }],
    ['configMapTargetRef', { configMapTargetRef: [{ parameter: 'host', name: 'cfg', key: 'host' }] }, {}, { host: 'cm-host' }],
    [
      'env: first container by default, envFrom included, named container, missing name -> ""',
      {
        env: [
          { parameter: 'user', name: 'USER_ENV' },
          { parameter: 'fromCm', name: 'FROM_CM' },
          { parameter: 'sideUser', name: 'USER_ENV', containerName: 'side' },
          { parameter: 'nothing', name: 'NOT_THERE' },
          { parameter: 'noContainer', name: 'USER_ENV', containerName: 'ghost' },
        ],
      },
      {},
      { user: 'env-user', fromCm: 'cm-env-value', sideUser: 'side-user', nothing: '', noContainer: '' },
    ],
    ['env without a pod template -> ""', { env: [{ parameter: 'user', name: 'USER_ENV' }] }, { podTemplate: undefined }, { user: '' }],
    [
      'configMap overrides env, secret overrides configMap',
      {
        env: [
          { parameter: 'user', name: 'USER_ENV' },
          { parameter: 'host', name: 'HOST_ENV' },
          { parameter: 'onlyEnv', name: 'HOST_ENV' },
        ],
        configMapTargetRef: [
          { parameter: 'user', name: 'cfg', key: 'user' },
          { parameter: 'host', name: 'cfg', key: 'host' },
        ],
        secretTargetRef: [{ parameter: 'user', name: 'creds', key: 'user' }],
      },
      {},
      { user: 'alice', host: 'cm-host', onlyEnv: 'env-host' },
    ],
    [
      'a missing Secret or key still overwrites with ""',
      {
        configMapTargetRef: [{ parameter: 'a', name: 'cfg', key: 'user' }, { parameter: 'b', name: 'cfg', key: 'user' }],
        secretTargetRef: [{ parameter: 'a', name: 'gone', key: 'x' }, { parameter: 'b', name: 'creds', key: 'nokey' }],
      },
      {},
      { a: '', b: '' },
    ],
    [
      'ClusterTriggerAuthentication reads from the cluster object namespace',
      {
        secretTargetRef: [{ parameter: 'password', name: 'creds', key: 'password' }],
        configMapTargetRef: [{ parameter: 'host', name: 'cfg', key: 'host' }],
      },
      { refKind: 'ClusterTriggerAuthentication', objectNamespace: 'keda', secretNamespace: 'keda' },
      { password: 'keda-secret-pw', host: 'keda-cm-host' },
    ],
    [
      'restricted secret access: TA secrets come from the KEDA namespace, ConfigMaps from the TA one',
      {
        secretTargetRef: [{ parameter: 'password', name: 'creds', key: 'password' }],
        configMapTargetRef: [{ parameter: 'host', name: 'cfg', key: 'host' }],
      },
      { secretNamespace: 'keda' },
      { password: 'keda-secret-pw', host: 'cm-host' },
    ],
    [
      'oauth2 fixed keys; scopes and endpointParams only when given',
      {
        secretTargetRef: [{ parameter: 'clientID', name: 'creds', key: 'user' }],
        oauth2: {
          type: 'clientCredentials',
          clientId: 'my-client',
          tokenUrl: 'https://idp/token',
          clientSecret: { valueFrom: { secretKeyRef: { name: 'oauth', key: 'secret' } } },
          scopes: ['read', 'write'],
          tokenUrlParams: { z: '1 2', audience: 'api' },
        },
      },
      {},
      {
        clientID: 'my-client',
        oauthTokenURI: 'https://idp/token',
        clientSecret: 'oauth-secret',
        scopes: 'read,write',
        endpointParams: 'audience=api&z=1+2',
      },
    ],
    ['oauth2 minimal', { oauth2: { tokenUrl: 'https://idp/token' } }, {}, { oauthTokenURI: 'https://idp/token', clientID: '', clientSecret: '' }],
    [
      'boundServiceAccountToken after secrets',
      {
        secretTargetRef: [{ parameter: 'token', name: 'creds', key: 'user' }],
        boundServiceAccountToken: [{ parameter: 'token', serviceAccountName: 'sa' }, { parameter: 'other', serviceAccountName: 'none' }],
      },
      { serviceAccountTokens: { sa: 'issued-token' } },
      { token: 'issued-token', other: '' },
    ],
    [
      'filePath (CTA) alone: other sources are discarded',
      { filePath: 'auth.json', secretTargetRef: [{ parameter: 'password', name: 'creds', key: 'password' }] },
      { refKind: 'ClusterTriggerAuthentication', filePathParams: { params: { user: 'from-file' } } },
      { user: 'from-file' },
    ],
    ['gcp/aws secret managers are skipped', { gcpSecretManager: { secrets: [{ parameter: 'x', id: 'y' }] }, awsSecretManager: { secrets: [{ parameter: 'p', name: 'n' }] } }, {}, {}],
    ['podIdentity none', { podIdentity: { provider: 'none' } }, {}, {}],
    ['podIdentity aws roleArn -> awsRoleArn', { podIdentity: { provider: 'aws', roleArn: 'arn:role' } }, {}, { awsRoleArn: 'arn:role' }],
    [
      'podIdentity aws identityOwner workload -> service account annotation',
      { podIdentity: { provider: 'aws', identityOwner: 'workload' } },
      { workloadServiceAccount: { metadata: { annotations: { 'eks.amazonaws.com/role-arn': 'arn:sa' } } } },
      { awsRoleArn: 'arn:sa' },
    ],
    ['podIdentity aws-eks without annotation', { podIdentity: { provider: 'aws-eks' } }, {}, {}],
    ['podIdentity azure-workload', { podIdentity: { provider: 'azure-workload', identityId: 'abc' } }, {}, {}],
  ];
  it.each(cases)('%s', (_name, spec, patch, want) => {
    const result = authParamsFromSpec(spec, ctx(patch), snapshot);
    expect(result.params).toEqual(want);
    expect(result.podIdentity.provider).toBe(spec.podIdentity?.provider ?? 'none');
  });

  it('warns about what it could not read, naming the object and key but no value', () => {
    const { warnings } = authParamsFromSpec(
      {
        secretTargetRef: [{ parameter: 'a', name: 'gone', key: 'x' }, { parameter: 'b', name: 'creds', key: 'nokey' }],
        configMapTargetRef: [{ parameter: 'c', name: 'cfg', key: 'nokey' }],
      },
      ctx(),
      snapshot,
    );
    expect(warnings).toEqual([
      'TriggerAuthentication "ta" configMapTargetRef "app/cfg" has no key "nokey"',
      'TriggerAuthentication "ta" secretTargetRef Secret "app/gone": not found',
      'TriggerAuthentication "ta" secretTargetRef Secret "app/creds" has no key "nokey"',
    ]);
  });
});

describe('authParamsFromSpec: errors that stop the scalers from being built', () => {
  it.each([
    ['filePath on a TriggerAuthentication', { filePath: 'a.json' }, {}, 'TriggerAuthentication "ta": filePath is only supported for ClusterTriggerAuthentication'],
    [
      'filePath unreadable',
      { filePath: 'a.json' },
      { refKind: 'ClusterTriggerAuthentication' as const, filePathParams: { problem: 'needs the operator flag --filepath-auth-root-path' } },
      'filePath "a.json": needs the operator flag --filepath-auth-root-path',
    ],
    ['hashiCorpVault', { hashiCorpVault: { address: 'http://v', authentication: 'token' as const, secrets: [] } }, {}, 'hashiCorpVault is not supported'],
    ['azureKeyVault', { azureKeyVault: { vaultUri: 'https://v', secrets: [] } }, {}, 'azureKeyVault is not supported'],
    [
      'aws roleArn with identityOwner workload',
      { podIdentity: { provider: 'aws' as const, roleArn: 'arn', identityOwner: 'workload' as const } },
      {},
      'podIdentity.roleArn cannot be set together with podIdentity.identityOwner "workload"',
    ],
    [
      'aws identityOwner workload without the annotation',
      { podIdentity: { provider: 'aws' as const, identityOwner: 'workload' as const } },
      {},
      'needs the annotation eks.amazonaws.com/role-arn on service account "app/worker"',
    ],
    ['azure-workload with an empty identityId', { podIdentity: { provider: 'azure-workload' as const, identityId: '' } }, {}, 'podIdentity.identityId is set but empty'],
  ] as [string, TriggerAuthenticationSpec, Partial<AuthSpecContext>, string][])('%s', (_name, spec, patch, message) => {
    expect(() => authParamsFromSpec(spec, ctx(patch), snapshot)).toThrow(TriggerAuthError);
    expect(() => authParamsFromSpec(spec, ctx(patch), snapshot)).toThrow(message);
  });
});
