/**
 * Credential scoping (issue 17 §5): what a tenant who can create ScaledObjects, ScaledJobs and
 * TriggerAuthentications in one namespace must never reach through trigger authentication.
 */
import type { ClusterTriggerAuthentication, ScaledObject, TriggerAuthentication } from '@keda-ts/api';
import { changedReference } from './watch';
import { scalableFromScaledJob, scalableFromScaledObject, TriggerAuthResolver, type TriggerAuthResolverOptions } from './resolver';
import {
  ALLOWED_NAMESPACES_ANNOTATION,
  allowedNamespaces,
  clusterTriggerAuthRefusal,
  NOT_FOR_TRIGGERS_LABEL,
  refusedSecretReason,
} from './secret-policy';
import { TriggerAuthError, type AuthObjectReader, type PodTemplate, type SecretObject } from './types';
import type { ScaledJob } from '@keda-ts/api';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const VALUE = 'cross-namespace-Secret-value';

interface StoredSecret {
  data: Record<string, string>;
  type?: string;
  labels?: Record<string, string>;
}

class Reader implements AuthObjectReader {
  reads: string[] = [];
  tokenRequests: { namespace: string; name: string; expirationSeconds: number; audiences?: readonly string[] }[] = [];
  tas = new Map<string, TriggerAuthentication>();
  ctas = new Map<string, ClusterTriggerAuthentication>();
  secrets = new Map<string, StoredSecret>();
  configMaps = new Map<string, Record<string, string>>();
  async triggerAuthentication(namespace: string, name: string) {
    return this.tas.get(`${namespace}/${name}`);
  }
  async clusterTriggerAuthentication(name: string) {
    return this.ctas.get(name);
  }
  async secret(namespace: string, name: string): Promise<SecretObject | undefined> {
    this.reads.push(`Secret/${namespace}/${name}`);
    const s = this.secrets.get(`${namespace}/${name}`);
    return s
      ? { metadata: { name, namespace, labels: s.labels }, type: s.type, data: Object.fromEntries(Object.entries(s.data).map(([k, v]) => [k, b64(v)])) }
      : undefined;
  }
  async configMap(namespace: string, name: string) {
    this.reads.push(`ConfigMap/${namespace}/${name}`);
    const data = this.configMaps.get(`${namespace}/${name}`);
    return data ? { data } : undefined;
  }
  async serviceAccount(namespace: string, name: string) {
    return { metadata: { name, namespace } };
  }
  async serviceAccountToken(namespace: string, name: string, expirationSeconds: number, audiences?: readonly string[]) {
    this.tokenRequests.push({ namespace, name, expirationSeconds, audiences });
    return { token: `token-${name}`, expirationTimestamp: new Date(Date.now() + expirationSeconds * 1000).toISOString() };
  }
}

const ta = (namespace: string, name: string, spec: TriggerAuthentication['spec']): TriggerAuthentication => ({
  apiVersion: 'keda.sh/v1alpha1',
  kind: 'TriggerAuthentication',
  metadata: { name, namespace },
  spec,
});
const cta = (name: string, spec: ClusterTriggerAuthentication['spec'], annotations?: Record<string, string>): ClusterTriggerAuthentication => ({
  apiVersion: 'keda.sh/v1alpha1',
  kind: 'ClusterTriggerAuthentication',
  metadata: { name, ...(annotations ? { annotations } : {}) },
  spec,
});

function so(namespace: string, ref?: { name: string; kind?: 'TriggerAuthentication' | 'ClusterTriggerAuthentication' }): ScaledObject {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name: 'so', namespace },
    spec: { scaleTargetRef: { name: 'web' }, triggers: [{ type: 'metrics-api', metadata: {}, ...(ref ? { authenticationRef: ref } : {}) }] },
  } as ScaledObject;
}

const secretOnlyInB = { data: { password: VALUE } };

function world() {
  const reader = new Reader();
  reader.secrets.set('team-b/only-in-b', secretOnlyInB);
  reader.configMaps.set('team-b/cm-only-in-b', { username: VALUE });
  reader.secrets.set('keda/kedaorg-certs', { data: { 'ca.key': VALUE, 'tls.key': VALUE } });
  reader.secrets.set('keda/sh.helm.release.v1.keda.v1', { data: { release: VALUE }, type: 'helm.sh/release.v1' });
  reader.secrets.set('keda/release-renamed', { data: { release: VALUE }, type: 'helm.sh/release.v1' });
  reader.secrets.set('keda/sa-token', { data: { token: VALUE }, type: 'kubernetes.io/service-account-token' });
  reader.secrets.set('keda/private', { data: { password: VALUE }, labels: { [NOT_FOR_TRIGGERS_LABEL]: 'true' } });
  reader.secrets.set('keda/shared', { data: { password: 'shared-pw' } });
  reader.secrets.set('team-a/labelled', { data: { password: VALUE }, labels: { [NOT_FOR_TRIGGERS_LABEL]: 'true' } });
  reader.secrets.set('team-a/own', { data: { password: 'own-pw' } });
  const logs: unknown[] = [];
  const logger = { warn: (obj: object, msg?: string) => logs.push({ ...obj, msg }) };
  return { reader, logs, logger };
}

const resolverOf = (reader: Reader, options: Partial<TriggerAuthResolverOptions> = {}) =>
  new TriggerAuthResolver(reader, { clusterObjectNamespace: 'keda', controllerNamespace: 'keda', ...options });

const resolveSo = (r: TriggerAuthResolver, obj: ScaledObject, podTemplate?: PodTemplate) => r.resolve(scalableFromScaledObject(obj, podTemplate));

const failure = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(TriggerAuthError);
    return (err as Error).message;
  }
  throw new Error('resolution did not fail');
};

const crossNamespaceNames = ['only-in-b', 'team-b/only-in-b', '../team-b/only-in-b', '..%2Fteam-b%2Fonly-in-b', 'only-in-b/../../team-b'];

describe('a TriggerAuthentication in namespace A cannot reach a Secret that exists only in namespace B', () => {
  for (const restrictSecretAccess of [false, true]) {
    const mode = restrictSecretAccess ? 'restricted mode' : 'default mode';
    it(`${mode}: secretTargetRef and oauth2.clientSecret never read namespace B`, async () => {
      const { reader, logs, logger } = world();
      reader.tas.set(
        'team-a/steal',
        ta('team-a', 'steal', {
          secretTargetRef: crossNamespaceNames.map((name, i) => ({ parameter: `p${i}`, name, key: 'password' })),
          oauth2: { type: 'clientCredentials', clientId: 'x', clientSecret: { valueFrom: { secretKeyRef: { name: 'only-in-b', key: 'password' } } } },
        } as TriggerAuthentication['spec']),
      );
      const r = resolverOf(reader, { restrictSecretAccess, logger });
      const result = await resolveSo(r, so('team-a', { name: 'steal' })).then(
        (got) => JSON.stringify(got.authParams(0)),
        (err: Error) => err.message,
      );
      expect(result).not.toContain(VALUE);
      expect(reader.reads.filter((x) => x.includes('team-b'))).toEqual([]);
      expect(JSON.stringify(logs)).not.toContain(VALUE);
    });

    it(`${mode}: configMapTargetRef and the workload's env never read namespace B`, async () => {
      const { reader } = world();
      reader.tas.set(
        'team-a/cm',
        ta('team-a', 'cm', {
          configMapTargetRef: [{ parameter: 'username', name: 'cm-only-in-b', key: 'username' }],
          env: [{ parameter: 'pw', name: 'PW' }],
        }),
      );
      const template: PodTemplate = {
        spec: {
          containers: [
            {
              name: 'app',
              envFrom: [{ secretRef: { name: 'only-in-b', optional: true } }, { configMapRef: { name: 'cm-only-in-b', optional: true } }],
              env: [{ name: 'PW', valueFrom: { secretKeyRef: { name: 'only-in-b', key: 'password', optional: true } } }],
            },
          ],
        },
      };
      const got = await resolveSo(resolverOf(reader, { restrictSecretAccess }), so('team-a', { name: 'cm' }), template);
      expect(JSON.stringify([got.resolvedEnv, got.authParams(0)])).not.toContain(VALUE);
      expect(reader.reads.filter((x) => x.includes('team-b'))).toEqual([]);
    });

    it(`${mode}: a TriggerAuthentication of namespace B is not found from namespace A`, async () => {
      const { reader } = world();
      reader.tas.set('team-b/theirs', ta('team-b', 'theirs', { secretTargetRef: [{ parameter: 'password', name: 'only-in-b', key: 'password' }] }));
      const got = await resolveSo(resolverOf(reader, { restrictSecretAccess }), so('team-a', { name: 'theirs' }));
      expect(got.authParams(0)).toEqual({});
      expect(reader.reads).toEqual([]);
    });

    it(`${mode}: a ClusterTriggerAuthentication reads only the cluster object namespace`, async () => {
      const { reader } = world();
      reader.ctas.set('global', cta('global', { secretTargetRef: [{ parameter: 'password', name: 'only-in-b', key: 'password' }] }));
      const got = await resolveSo(resolverOf(reader, { restrictSecretAccess }), so('team-a', { name: 'global', kind: 'ClusterTriggerAuthentication' }));
      expect(got.authParams(0)).toEqual({ password: '' });
      expect(reader.reads).toEqual(['Secret/keda/only-in-b']);
    });

    it(`${mode}: a ScaledJob in A does not reach B either`, async () => {
      const { reader } = world();
      reader.tas.set('team-a/steal', ta('team-a', 'steal', { secretTargetRef: [{ parameter: 'password', name: 'only-in-b', key: 'password' }] }));
      const sj = {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'ScaledJob',
        metadata: { name: 'job', namespace: 'team-a' },
        spec: {
          jobTargetRef: { template: { spec: { containers: [{ name: 'c', envFrom: [{ secretRef: { name: 'only-in-b', optional: true } }] }] } } },
          triggers: [{ type: 'metrics-api', metadata: {}, authenticationRef: { name: 'steal' } }],
        },
      } as unknown as ScaledJob;
      const got = await resolverOf(reader, { restrictSecretAccess }).resolve(scalableFromScaledJob(sj));
      expect(JSON.stringify([got.resolvedEnv, got.authParams(0)])).not.toContain(VALUE);
      expect(reader.reads.filter((x) => x.includes('team-b'))).toEqual([]);
    });
  }
});

describe('restricted secret mode never resolves the controller\'s own Secrets', () => {
  const cases: [string, string, string][] = [
    ['the certificate Secret', 'kedaorg-certs', "it is the controller's certificate Secret"],
    ['a Helm release Secret (by name)', 'sh.helm.release.v1.keda.v1', 'it is a Helm release Secret'],
    ['a Helm release Secret (by type)', 'release-renamed', 'it is a Helm release Secret'],
    ['a service account token Secret', 'sa-token', 'it is a service account token Secret (type kubernetes.io/service-account-token)'],
    ['a Secret labelled not for triggers', 'private', `it is labelled ${NOT_FOR_TRIGGERS_LABEL}=true`],
  ];
  for (const [what, name, reason] of cases) {
    it(`secretTargetRef to ${what} fails the trigger, naming the Secret and why`, async () => {
      const { reader, logs, logger } = world();
      reader.tas.set('team-a/steal', ta('team-a', 'steal', { secretTargetRef: [{ parameter: 'password', name, key: 'password' }] }));
      const message = await failure(resolveSo(resolverOf(reader, { restrictSecretAccess: true, logger }), so('team-a', { name: 'steal' })));
      expect(message).toBe(
        `ScaledObject team-a/so trigger 0: TriggerAuthentication "steal" secretTargetRef Secret "keda/${name}": not usable for trigger authentication: ${reason}`,
      );
      expect(message + JSON.stringify(logs)).not.toContain(VALUE);
    });
  }

  it('the certificate Secret and Helm releases (by name) are refused without being read', async () => {
    const { reader } = world();
    reader.tas.set(
      'team-a/steal',
      ta('team-a', 'steal', {
        secretTargetRef: [
          { parameter: 'a', name: 'kedaorg-certs', key: 'ca.key' },
          { parameter: 'b', name: 'sh.helm.release.v1.keda.v1', key: 'release' },
        ],
      }),
    );
    await failure(resolveSo(resolverOf(reader, { restrictSecretAccess: true }), so('team-a', { name: 'steal' })));
    expect(reader.reads).toEqual([]);
  });

  it('--cert-secret-name is honoured, and the controller namespace counts even when it is not the cluster object namespace', async () => {
    const { reader } = world();
    reader.secrets.set('operator-ns/my-certs', { data: { 'ca.key': VALUE } });
    reader.tas.set('operator-ns/t', ta('operator-ns', 't', { secretTargetRef: [{ parameter: 'a', name: 'my-certs', key: 'ca.key' }] }));
    const r = resolverOf(reader, { controllerNamespace: 'operator-ns', certSecretName: 'my-certs' });
    expect(await failure(resolveSo(r, so('operator-ns', { name: 't' })))).toContain(
      `Secret "operator-ns/my-certs": not usable for trigger authentication: it is the controller's certificate Secret`,
    );
  });

  it('oauth2.clientSecret and a ClusterTriggerAuthentication are refused the same way', async () => {
    const { reader } = world();
    reader.tas.set(
      'team-a/oauth',
      ta('team-a', 'oauth', { oauth2: { type: 'clientCredentials', clientId: 'x', clientSecret: { valueFrom: { secretKeyRef: { name: 'kedaorg-certs', key: 'ca.key' } } } } } as TriggerAuthentication['spec']),
    );
    reader.ctas.set('certs', cta('certs', { secretTargetRef: [{ parameter: 'a', name: 'kedaorg-certs', key: 'tls.key' }] }));
    const r = resolverOf(reader, { restrictSecretAccess: true });
    expect(await failure(resolveSo(r, so('team-a', { name: 'oauth' })))).toContain('oauth2.clientSecret Secret "keda/kedaorg-certs": not usable');
    expect(await failure(resolveSo(r, so('team-a', { name: 'certs', kind: 'ClusterTriggerAuthentication' })))).toContain(
      'ClusterTriggerAuthentication "certs" secretTargetRef Secret "keda/kedaorg-certs": not usable',
    );
  });

  it('an ordinary Secret of the cluster object namespace still resolves (KEDA behaviour)', async () => {
    const { reader } = world();
    reader.tas.set('team-a/ok', ta('team-a', 'ok', { secretTargetRef: [{ parameter: 'password', name: 'shared', key: 'password' }] }));
    const got = await resolveSo(resolverOf(reader, { restrictSecretAccess: true }), so('team-a', { name: 'ok' }));
    expect(got.authParams(0)).toEqual({ password: 'shared-pw' });
  });
});

describe('the same exclusions outside restricted mode', () => {
  it("a workload in the controller's namespace cannot read the certificate Secret through its env, even optional", async () => {
    const { reader } = world();
    const template: PodTemplate = {
      spec: { containers: [{ name: 'app', env: [{ name: 'KEY', valueFrom: { secretKeyRef: { name: 'kedaorg-certs', key: 'ca.key', optional: true } } }] }] },
    };
    const message = await failure(resolveSo(resolverOf(reader), so('keda'), template));
    expect(message).toBe(
      'container "app" of ScaledObject keda/so: env "KEY" valueFrom.secretKeyRef "kedaorg-certs": not usable for trigger authentication: it is the controller\'s certificate Secret',
    );
  });

  it('a ClusterTriggerAuthentication cannot hand out a Helm release of the cluster object namespace', async () => {
    const { reader } = world();
    reader.ctas.set('helm', cta('helm', { secretTargetRef: [{ parameter: 'a', name: 'release-renamed', key: 'release' }] }));
    expect(await failure(resolveSo(resolverOf(reader), so('team-a', { name: 'helm', kind: 'ClusterTriggerAuthentication' })))).toContain(
      'it is a Helm release Secret',
    );
  });

  it('the not-for-triggers label is honoured in a tenant namespace too; other Secrets of the tenant still resolve', async () => {
    const { reader } = world();
    reader.tas.set(
      'team-a/t',
      ta('team-a', 't', {
        secretTargetRef: [{ parameter: 'password', name: 'labelled', key: 'password' }],
      }),
    );
    reader.tas.set('team-a/own', ta('team-a', 'own', { secretTargetRef: [{ parameter: 'password', name: 'own', key: 'password' }] }));
    expect(await failure(resolveSo(resolverOf(reader), so('team-a', { name: 't' })))).toContain(
      `Secret "team-a/labelled": not usable for trigger authentication: it is labelled ${NOT_FOR_TRIGGERS_LABEL}=true`,
    );
    expect((await resolveSo(resolverOf(reader), so('team-a', { name: 'own' }))).authParams(0)).toEqual({ password: 'own-pw' });
  });

  it('a TriggerAuthentication env[] entry reading a refused Secret fails the trigger instead of resolving ""', async () => {
    const { reader } = world();
    reader.tas.set('keda/t', ta('keda', 't', { env: [{ parameter: 'p', name: 'KEY', containerName: 'side' }] }));
    const template: PodTemplate = {
      spec: {
        containers: [
          { name: 'main' },
          { name: 'side', env: [{ name: 'KEY', valueFrom: { secretKeyRef: { name: 'sa-token', key: 'token' } } }] },
        ],
      },
    };
    expect(await failure(resolveSo(resolverOf(reader), so('keda', { name: 't' }), template))).toContain('it is a service account token Secret');
  });
});

describe('ClusterTriggerAuthentication allowed namespaces', () => {
  it('parses the annotation: absent = everywhere, names trimmed, empty = nowhere', () => {
    expect(allowedNamespaces(undefined)).toBeUndefined();
    expect(allowedNamespaces({ other: 'x' })).toBeUndefined();
    expect([...(allowedNamespaces({ [ALLOWED_NAMESPACES_ANNOTATION]: ' team-a, team-b ,,' }) ?? [])]).toEqual(['team-a', 'team-b']);
    expect(allowedNamespaces({ [ALLOWED_NAMESPACES_ANNOTATION]: '' })?.size).toBe(0);
    expect(clusterTriggerAuthRefusal('x', { [ALLOWED_NAMESPACES_ANNOTATION]: 'team-*' }, 'team-a')).toBeDefined();
  });

  it('a namespace outside the list gets an error naming the annotation and the ClusterTriggerAuthentication; nothing is read', async () => {
    const { reader } = world();
    reader.ctas.set('limited', cta('limited', { secretTargetRef: [{ parameter: 'password', name: 'shared', key: 'password' }] }, { [ALLOWED_NAMESPACES_ANNOTATION]: 'team-b,team-c' }));
    const r = resolverOf(reader);
    const message = await failure(resolveSo(r, so('team-a', { name: 'limited', kind: 'ClusterTriggerAuthentication' })));
    expect(message).toBe(
      `ScaledObject team-a/so trigger 0: ClusterTriggerAuthentication "limited" may not be used from namespace "team-a": it is not listed in its annotation ${ALLOWED_NAMESPACES_ANNOTATION}`,
    );
    expect(reader.reads).toEqual([]);
    const allowed = await resolveSo(r, so('team-c', { name: 'limited', kind: 'ClusterTriggerAuthentication' }));
    expect(allowed.authParams(0)).toEqual({ password: 'shared-pw' });
    expect(allowed.authenticationKind?.(0)).toBe('ClusterTriggerAuthentication');
  });

  it('without the annotation a ClusterTriggerAuthentication is usable from every namespace (KEDA)', async () => {
    const { reader } = world();
    reader.ctas.set('open', cta('open', { secretTargetRef: [{ parameter: 'password', name: 'shared', key: 'password' }] }));
    const got = await resolveSo(resolverOf(reader), so('anywhere', { name: 'open', kind: 'ClusterTriggerAuthentication' }));
    expect(got.authParams(0)).toEqual({ password: 'shared-pw' });
  });

  it('a change of the annotation (no generation bump) rebuilds the referrers', () => {
    const before = cta('c', {}, { [ALLOWED_NAMESPACES_ANNOTATION]: 'a' });
    const after = cta('c', {}, { [ALLOWED_NAMESPACES_ANNOTATION]: 'b' });
    expect(changedReference('ClusterTriggerAuthentication', 'update', after, before)).toBe('ClusterTriggerAuthentication//c');
    expect(changedReference('ClusterTriggerAuthentication', 'update', after, after)).toBeUndefined();
  });

  it('a Secret newly labelled not-for-triggers rebuilds its readers', () => {
    const before = { metadata: { name: 's', namespace: 'n' }, data: { a: 'b' } };
    const after = { metadata: { name: 's', namespace: 'n', labels: { [NOT_FOR_TRIGGERS_LABEL]: 'true' } }, data: { a: 'b' } };
    expect(changedReference('Secret', 'update', after, before)).toBe('Secret/n/s');
  });
});

describe('boundServiceAccountToken', () => {
  it('asks for the configured expiry and audiences, and reports when the tokens expire', async () => {
    const { reader } = world();
    reader.tas.set('team-a/sa', ta('team-a', 'sa', { boundServiceAccountToken: [{ parameter: 'token', serviceAccountName: 'reader' }] }));
    const before = Date.now();
    const got = await resolveSo(
      resolverOf(reader, { boundServiceAccountTokenExpirySeconds: 600, boundServiceAccountTokenAudiences: ['events.example'] }),
      so('team-a', { name: 'sa' }),
    );
    expect(got.authParams(0)).toEqual({ token: 'token-reader' });
    expect(reader.tokenRequests).toEqual([{ namespace: 'team-a', name: 'reader', expirationSeconds: 600, audiences: ['events.example'] }]);
    expect(got.tokensExpireAt).toBeGreaterThanOrEqual(before + 599_000);
    expect(got.tokensExpireAt).toBeLessThanOrEqual(Date.now() + 600_000);
    expect(got.authenticationKind?.(0)).toBe('TriggerAuthentication');
  });

  it('without settings: KEDA\'s request (1 h, no audiences)', async () => {
    const { reader } = world();
    reader.tas.set('team-a/sa', ta('team-a', 'sa', { boundServiceAccountToken: [{ parameter: 'token', serviceAccountName: 'reader' }] }));
    const got = await resolveSo(resolverOf(reader), so('team-a', { name: 'sa' }));
    expect(reader.tokenRequests).toEqual([{ namespace: 'team-a', name: 'reader', expirationSeconds: 3600, audiences: undefined }]);
    expect(got.tokensExpireAt).toBeDefined();
  });

  it('a service account name that is not an object name is never sent to the API', async () => {
    const { reader } = world();
    reader.tas.set('team-a/sa', ta('team-a', 'sa', { boundServiceAccountToken: [{ parameter: 'token', serviceAccountName: '../../namespaces/keda/serviceaccounts/keda-operator' }] }));
    const got = await resolveSo(resolverOf(reader), so('team-a', { name: 'sa' }));
    expect(got.authParams(0)).toEqual({ token: '' });
    expect(reader.tokenRequests).toEqual([]);
    expect(got.tokensExpireAt).toBeUndefined();
  });
});

describe('refusedSecretReason', () => {
  const policy = { protectedNamespaces: new Set(['keda']), certSecretName: 'kedaorg-certs' };
  it('applies the type and name rules only in the protected namespaces; the label everywhere', () => {
    expect(refusedSecretReason(policy, 'team-a', 'kedaorg-certs')).toBeUndefined();
    expect(refusedSecretReason(policy, 'team-a', 'x', { type: 'helm.sh/release.v1' })).toBeUndefined();
    expect(refusedSecretReason(policy, 'keda', 'x', { type: 'Opaque' })).toBeUndefined();
    expect(refusedSecretReason(policy, 'team-a', 'x', { metadata: { labels: { [NOT_FOR_TRIGGERS_LABEL]: 'true' } } })).toBeDefined();
    expect(refusedSecretReason(policy, 'team-a', 'x', { metadata: { labels: { [NOT_FOR_TRIGGERS_LABEL]: 'false' } } })).toBeUndefined();
  });
});
