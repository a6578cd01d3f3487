import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClusterTriggerAuthentication, ScaledJob, ScaledObject, TriggerAuthentication } from '@keda-ts/api';
import { scalers } from '@keda-ts/scalers';
import { scalableFromScaledJob, scalableFromScaledObject, TriggerAuthResolver } from './resolver';
import { TriggerAuthError, type AuthObjectReader, type PodTemplate } from './types';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const SECRET = 'Sup3r-S3cret!';

class MemoryReader implements AuthObjectReader {
  reads: string[] = [];
  tas = new Map<string, TriggerAuthentication>();
  ctas = new Map<string, ClusterTriggerAuthentication>();
  secrets = new Map<string, Record<string, string>>();
  configMaps = new Map<string, Record<string, string>>();
  async triggerAuthentication(namespace: string, name: string) {
    this.reads.push(`TriggerAuthentication/${namespace}/${name}`);
    return this.tas.get(`${namespace}/${name}`);
  }
  async clusterTriggerAuthentication(name: string) {
    this.reads.push(`ClusterTriggerAuthentication/${name}`);
    return this.ctas.get(name);
  }
  async secret(namespace: string, name: string) {
    this.reads.push(`Secret/${namespace}/${name}`);
    const data = this.secrets.get(`${namespace}/${name}`);
    return data ? { data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) } : undefined;
  }
  async configMap(namespace: string, name: string) {
    this.reads.push(`ConfigMap/${namespace}/${name}`);
    const data = this.configMaps.get(`${namespace}/${name}`);
    return data ? { data } : undefined;
  }
  async serviceAccount(namespace: string, name: string) {
    return name === 'tokens' ? { metadata: { name, namespace } } : undefined;
  }
  async serviceAccountToken(_namespace: string, name: string, expirationSeconds: number) {
    return `token-of-${name}-${expirationSeconds}`;
  }
}

function ta(name: string, spec: TriggerAuthentication['spec'], namespace = 'app'): TriggerAuthentication {
  return { apiVersion: 'keda.sh/v1alpha1', kind: 'TriggerAuthentication', metadata: { name, namespace }, spec };
}

function setup() {
  const reader = new MemoryReader();
  reader.secrets.set('app/creds', { password: SECRET, user: 'alice' });
  reader.secrets.set('keda/creds', { password: 'keda-pw', user: 'keda-user' });
  reader.secrets.set('app/env-secret', { API_TOKEN: 'env-token' });
  reader.configMaps.set('app/cfg', { username: 'cm-user' });
  reader.configMaps.set('keda/cfg', { username: 'keda-cm-user' });
  reader.configMaps.set('app/env-cm', { LEVEL: 'debug' });
  reader.tas.set(
    'app/basic',
    ta('basic', {
      podIdentity: { provider: 'none' },
      env: [{ parameter: 'username', name: 'USER_NAME' }],
      configMapTargetRef: [{ parameter: 'username', name: 'cfg', key: 'username' }],
      secretTargetRef: [{ parameter: 'password', name: 'creds', key: 'password' }],
    }),
  );
  reader.ctas.set('shared', {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ClusterTriggerAuthentication',
    metadata: { name: 'shared' },
    spec: {
      secretTargetRef: [{ parameter: 'password', name: 'creds', key: 'password' }],
      configMapTargetRef: [{ parameter: 'username', name: 'cfg', key: 'username' }],
    },
  });
  const logs: unknown[] = [];
  const logger = { warn: (obj: object, msg?: string) => logs.push({ ...obj, msg }) };
  return { reader, logs, logger };
}

const podTemplate: PodTemplate = {
  spec: {
    containers: [
      {
        name: 'app',
        envFrom: [{ configMapRef: { name: 'env-cm' } }, { secretRef: { name: 'env-secret' }, prefix: 'S_' }],
        env: [
          { name: 'USER_NAME', value: 'env-user' },
          { name: 'PW', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
        ],
      },
      { name: 'sidecar', env: [{ name: 'SIDE', value: 'car' }] },
    ],
  },
};

function scaledObject(triggers: ScaledObject['spec']['triggers'], envSourceContainerName?: string, namespace = 'app'): ScaledObject {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name: 'so', namespace, generation: 1 },
    spec: { scaleTargetRef: { name: 'web', envSourceContainerName }, triggers },
  } as ScaledObject;
}

const trig = (authenticationRef?: { name: string; kind?: 'TriggerAuthentication' | 'ClusterTriggerAuthentication' }) => ({
  type: 'metrics-api',
  metadata: {},
  ...(authenticationRef ? { authenticationRef } : {}),
});

describe('TriggerAuthResolver', () => {
  it('resolves env, TriggerAuthentication and ClusterTriggerAuthentication per trigger', async () => {
    const { reader, logger } = setup();
    const resolver = new TriggerAuthResolver(reader, { clusterObjectNamespace: 'keda', logger });
    const so = scaledObject([trig({ name: 'basic' }), trig({ name: 'shared', kind: 'ClusterTriggerAuthentication' }), trig()]);
    const got = await resolver.resolve(scalableFromScaledObject(so, podTemplate));
    expect(got.resolvedEnv).toEqual({ LEVEL: 'debug', S_API_TOKEN: 'env-token', USER_NAME: 'env-user', PW: SECRET });
    expect(got.authParams(0)).toEqual({ username: 'cm-user', password: SECRET });
    expect(got.authParams(1)).toEqual({ username: 'keda-cm-user', password: 'keda-pw' });
    expect(got.authParams(2)).toEqual({});
    expect(got.podIdentity(0)).toEqual({ provider: 'none' });
    expect(got.references.map((r) => `${r.kind}/${r.namespace}/${r.name}`).sort()).toEqual([
      'ClusterTriggerAuthentication//shared',
      'ConfigMap/app/cfg',
      'ConfigMap/app/env-cm',
      'ConfigMap/keda/cfg',
      'Secret/app/creds',
      'Secret/app/env-secret',
      'Secret/keda/creds',
      'TriggerAuthentication/app/basic',
    ]);
  });

  it('reads each object once per resolution', async () => {
    const { reader } = setup();
    const resolver = new TriggerAuthResolver(reader, { clusterObjectNamespace: 'keda' });
    await resolver.resolve(scalableFromScaledObject(scaledObject([trig({ name: 'basic' }), trig({ name: 'basic' })]), podTemplate));
    expect(reader.reads.filter((r) => r === 'Secret/app/creds')).toHaveLength(1);
  });

  it('uses envSourceContainerName, and refuses a container that does not exist', async () => {
    const { reader } = setup();
    const resolver = new TriggerAuthResolver(reader, { clusterObjectNamespace: 'keda' });
    const got = await resolver.resolve(scalableFromScaledObject(scaledObject([], 'sidecar'), podTemplate));
    expect(got.resolvedEnv).toEqual({ SIDE: 'car' });
    await expect(resolver.resolve(scalableFromScaledObject(scaledObject([], 'ghost'), podTemplate))).rejects.toThrow(
      new TriggerAuthError('ScaledObject app/so: envSourceContainerName "ghost" is not a container of the scale target'),
    );
  });

  it('without a pod template: empty env, and env[] auth params are ""', async () => {
    const { reader } = setup();
    const resolver = new TriggerAuthResolver(reader, { clusterObjectNamespace: 'keda' });
    const got = await resolver.resolve(scalableFromScaledObject(scaledObject([trig({ name: 'basic' })]), undefined));
    expect(got.resolvedEnv).toEqual({});
    expect(got.authParams(0)).toEqual({ username: 'cm-user', password: SECRET });
  });

  it('a missing TriggerAuthentication only logs: the trigger gets empty auth params', async () => {
    const { reader, logs, logger } = setup();
    const resolver = new TriggerAuthResolver(reader, { clusterObjectNamespace: 'keda', logger });
    const got = await resolver.resolve(scalableFromScaledObject(scaledObject([trig({ name: 'nope' })]), podTemplate));
    expect(got.authParams(0)).toEqual({});
    expect(got.references).toContainEqual({ kind: 'TriggerAuthentication', namespace: 'app', name: 'nope' });
    expect(logs).toEqual([{ scalableObject: 'ScaledObject app/so', triggerIndex: 0, msg: 'trigger authentication: TriggerAuthentication "nope" not found' }]);
  });

  it('KEDA_RESTRICT_SECRET_ACCESS: TA secrets from the KEDA namespace, workload secret env skipped', async () => {
    const { reader } = setup();
    const resolver = new TriggerAuthResolver(reader, { clusterObjectNamespace: 'keda', restrictSecretAccess: true });
    const got = await resolver.resolve(scalableFromScaledObject(scaledObject([trig({ name: 'basic' })]), podTemplate));
    expect(got.resolvedEnv).toEqual({ LEVEL: 'debug', USER_NAME: 'env-user' });
    expect(got.authParams(0)).toEqual({ username: 'cm-user', password: 'keda-pw' });
    expect(reader.reads.filter((r) => r.startsWith('Secret/app/'))).toEqual([]);
  });

  it('KEDA_RESTRICT_SECRET_ACCESS: a workload in the KEDA namespace keeps its secret env', async () => {
    const { reader } = setup();
    reader.secrets.set('keda/env-secret', { API_TOKEN: 't' });
    reader.configMaps.set('keda/env-cm', {});
    const resolver = new TriggerAuthResolver(reader, { clusterObjectNamespace: 'keda', restrictSecretAccess: true });
    const got = await resolver.resolve(scalableFromScaledObject(scaledObject([], undefined, 'keda'), podTemplate));
    expect(got.resolvedEnv).toEqual({ S_API_TOKEN: 't', USER_NAME: 'env-user', PW: 'keda-pw' });
  });

  it('ScaledJob: the pod template is spec.jobTargetRef.template, envSourceContainerName at spec level', async () => {
    const { reader } = setup();
    const resolver = new TriggerAuthResolver(reader, { clusterObjectNamespace: 'keda' });
    const sj = {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledJob',
      metadata: { name: 'job', namespace: 'app' },
      spec: { jobTargetRef: { template: podTemplate }, envSourceContainerName: 'sidecar', triggers: [trig({ name: 'basic' })] },
    } as unknown as ScaledJob;
    const scalable = scalableFromScaledJob(sj);
    expect(scalable).toMatchObject({ kind: 'ScaledJob', namespace: 'app', name: 'job' });
    const got = await resolver.resolve(scalable);
    expect(got.resolvedEnv).toEqual({ SIDE: 'car' });
    // env[] without containerName reads the first container, not envSourceContainerName (KEDA's code).
    expect(got.authParams(0)).toEqual({ username: 'cm-user', password: SECRET });
  });

  it('boundServiceAccountToken asks for a token with the configured expiry', async () => {
    const { reader } = setup();
    reader.tas.set('app/sa', ta('sa', { boundServiceAccountToken: [{ parameter: 'token', serviceAccountName: 'tokens' }, { parameter: 'other', serviceAccountName: 'missing' }] }));
    const resolver = new TriggerAuthResolver(reader, { clusterObjectNamespace: 'keda', boundServiceAccountTokenExpirySeconds: 7200 });
    const got = await resolver.resolve(scalableFromScaledObject(scaledObject([trig({ name: 'sa' })]), podTemplate));
    expect(got.authParams(0)).toEqual({ token: 'token-of-tokens-7200', other: '' });
  });

  it('filePath: a JSON map under the root path, CTA only, relative paths only', async () => {
    const { reader } = setup();
    const root = mkdtempSync(join(tmpdir(), 'keda-auth-'));
    writeFileSync(join(root, 'auth.json'), JSON.stringify({ password: 'from-file' }));
    writeFileSync(join(root, 'bad.json'), `{"password": "${SECRET}"`);
    for (const [name, filePath] of [['file', 'auth.json'], ['escape', '../auth.json'], ['bad', 'bad.json']])
      reader.ctas.set(name, { apiVersion: 'keda.sh/v1alpha1', kind: 'ClusterTriggerAuthentication', metadata: { name }, spec: { filePath } });
    const resolver = new TriggerAuthResolver(reader, { clusterObjectNamespace: 'keda', filePathAuthRootPath: root });
    const resolve = (name: string) => resolver.resolve(scalableFromScaledObject(scaledObject([trig({ name, kind: 'ClusterTriggerAuthentication' })]), podTemplate));
    expect((await resolve('file')).authParams(0)).toEqual({ password: 'from-file' });
    await expect(resolve('escape')).rejects.toThrow('filePath "../auth.json": must be a relative path without ".."');
    const err = await resolve('bad').catch((e: Error) => e);
    expect((err as Error).message).toBe(
      'ScaledObject app/so trigger 0: ClusterTriggerAuthentication "bad": filePath "bad.json": could not be read (invalid JSON)',
    );
    const noRoot = new TriggerAuthResolver(reader, { clusterObjectNamespace: 'keda' });
    await expect(noRoot.resolve(scalableFromScaledObject(scaledObject([trig({ name: 'file', kind: 'ClusterTriggerAuthentication' })]), podTemplate))).rejects.toThrow(
      '--filepath-auth-root-path',
    );
  });

  it('secret values never reach errors or logs: a wrong parameter names the parameter, not the value', async () => {
    const { reader, logs, logger } = setup();
    reader.secrets.set('app/bad', { mode: SECRET, password: SECRET });
    reader.tas.set(
      'app/bad',
      ta('bad', {
        secretTargetRef: [
          { parameter: 'authModes', name: 'bad', key: 'mode' },
          { parameter: 'password', name: 'bad', key: 'password' },
          { parameter: 'username', name: 'bad', key: 'missing-key' },
          { parameter: 'other', name: 'not-there', key: 'k' },
        ],
        configMapTargetRef: [{ parameter: 'x', name: 'no-cm', key: 'k' }],
      }),
    );
    const resolver = new TriggerAuthResolver(reader, { clusterObjectNamespace: 'keda', logger });
    const so = scaledObject([{ type: 'metrics-api', metadata: { url: 'http://127.0.0.1:1/m', valueLocation: 'v', targetValue: '1' }, authenticationRef: { name: 'bad' } }]);
    const got = await resolver.resolve(scalableFromScaledObject(so, podTemplate));
    let error: unknown;
    try {
      scalers.build(
        {
          triggerIndex: 0,
          triggerType: 'metrics-api',
          metadata: so.spec.triggers[0].metadata,
          resolvedEnv: got.resolvedEnv,
          authParams: got.authParams(0),
          scalableObject: { kind: 'ScaledObject', namespace: 'app', name: 'so' },
        },
        { httpTimeoutMs: 1000, now: () => new Date(), kubernetes: { countPods: async () => 0 } },
      );
    } catch (err) {
      error = err;
    }
    expect(String(error)).toContain('authModes');
    expect(String(error)).not.toContain(SECRET);
    expect(logs.length).toBeGreaterThan(0);
    expect(JSON.stringify(logs)).not.toContain(SECRET);
    expect(JSON.stringify(logs)).toContain('Secret \\"app/not-there\\": not found');
  });
});
