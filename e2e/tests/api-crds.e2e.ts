import { k8s, kubeConfig, kubectl, useTestNamespace } from '../src/testing';

const ns = useTestNamespace('api');
const kc = kubeConfig();
const custom = kc.makeApiClient(k8s.CustomObjectsApi);
const group = 'keda.sh';
const version = 'v1alpha1';

type Obj = { metadata: { name: string }; spec: Record<string, unknown> } & Record<string, unknown>;

function scaledObject(name: string, spec: Record<string, unknown>): Obj {
  return {
    apiVersion: `${group}/${version}`,
    kind: 'ScaledObject',
    metadata: { name },
    spec: {
      scaleTargetRef: { name: 'web' },
      triggers: [{ type: 'cron', metadata: { timezone: 'UTC', start: '0 * * * *', end: '30 * * * *', desiredReplicas: '2' } }],
      ...spec,
    },
  };
}

async function createScaledObject(body: Obj): Promise<Obj> {
  return (await custom.createNamespacedCustomObject({ group, version, namespace: ns.name, plural: 'scaledobjects', body })) as Obj;
}

/** The API server's rejection message for `body`. */
async function rejection(body: Obj, plural = 'scaledobjects'): Promise<string> {
  try {
    await custom.createNamespacedCustomObject({ group, version, namespace: ns.name, plural, body });
  } catch (err) {
    const e = err as { code?: number; body?: string };
    expect(e.code).toBe(422);
    return (JSON.parse(e.body ?? '{}') as { message?: string }).message ?? '';
  }
  throw new Error(`the API server accepted ${body.metadata.name}`);
}

describe('keda.sh/v1alpha1 CRDs on the real API server', () => {
  it('serves the four CRDs with their short names', async () => {
    const out = await kubectl(['api-resources', '--api-group=keda.sh', '--no-headers']);
    const byName = Object.fromEntries(
      out
        .trim()
        .split('\n')
        .map((line) => line.trim().split(/\s+/))
        .map((cols) => [cols[0], cols]),
    );
    expect(byName['scaledobjects']).toEqual(['scaledobjects', 'so', 'keda.sh/v1alpha1', 'true', 'ScaledObject']);
    expect(byName['scaledjobs']).toEqual(['scaledjobs', 'sj', 'keda.sh/v1alpha1', 'true', 'ScaledJob']);
    expect(byName['triggerauthentications'].slice(1)).toEqual(['ta,triggerauth', 'keda.sh/v1alpha1', 'true', 'TriggerAuthentication']);
    expect(byName['clustertriggerauthentications'].slice(1)).toEqual([
      'cta,clustertriggerauth',
      'keda.sh/v1alpha1',
      'false',
      'ClusterTriggerAuthentication',
    ]);
  });

  it('applies the schema defaults to a valid ScaledObject', async () => {
    const created = await createScaledObject(
      scaledObject('defaults', {
        fallback: { failureThreshold: 3, replicas: 2 },
        triggers: [
          {
            type: 'rabbitmq',
            name: 'queue',
            metadata: { queueName: 'work', mode: 'QueueLength', value: '5' },
            authenticationRef: { name: 'rabbit' },
          },
        ],
      }),
    );
    const spec = created.spec as { fallback: { behavior: string }; triggers: { authenticationRef: { kind: string } }[] };
    expect(spec.fallback.behavior).toBe('static');
    expect(spec.triggers[0].authenticationRef.kind).toBe('TriggerAuthentication');
  });

  it('shows the KEDA printer columns in kubectl get so', async () => {
    await createScaledObject(scaledObject('columns', { minReplicaCount: 1, maxReplicaCount: 7 }));
    const out = await kubectl(['get', 'so', 'columns', '-n', ns.name]);
    const [header, row] = out.trim().split('\n').map((l) => l.trim().split(/\s+/));
    expect(header).toEqual([
      'NAME', 'SCALETARGETKIND', 'SCALETARGETNAME', 'MIN', 'MAX', 'READY', 'ACTIVE', 'FALLBACK', 'PAUSED',
      'TRIGGERS', 'AUTHENTICATIONS', 'AGE',
    ]);
    expect(row.slice(0, 4)).toEqual(['columns', 'web', '1', '7']);
  });

  it('applies the defaults to a ScaledJob, TriggerAuthentication and ClusterTriggerAuthentication', async () => {
    const sj = (await custom.createNamespacedCustomObject({
      group,
      version,
      namespace: ns.name,
      plural: 'scaledjobs',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'ScaledJob',
        metadata: { name: 'worker' },
        spec: {
          jobTargetRef: {
            parallelism: 1,
            template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'registry.invalid/worker:1' }] } },
          },
          maxReplicaCount: 10,
          scalingStrategy: { strategy: 'accurate' },
          triggers: [{ type: 'rabbitmq', metadata: { queueName: 'jobs', value: '1' }, authenticationRef: { name: 'rabbit' } }],
        },
      },
    })) as Obj;
    expect((sj.spec as { triggers: { authenticationRef: { kind: string } }[] }).triggers[0].authenticationRef.kind).toBe(
      'TriggerAuthentication',
    );
    expect(((sj.spec as { jobTargetRef: { template: { spec: { restartPolicy: string } } } }).jobTargetRef.template.spec.restartPolicy)).toBe('Never');

    const oauth2 = { clientId: 'keda', tokenUrl: 'https://127.0.0.1:1/token', clientSecret: { valueFrom: { secretKeyRef: { name: 's', key: 'k' } } } };
    const ta = (await custom.createNamespacedCustomObject({
      group,
      version,
      namespace: ns.name,
      plural: 'triggerauthentications',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'TriggerAuthentication',
        metadata: { name: 'rabbit' },
        spec: { secretTargetRef: [{ parameter: 'host', name: 'rabbit-secret', key: 'url' }], oauth2 },
      },
    })) as Obj;
    expect((ta.spec as { oauth2: { type: string } }).oauth2.type).toBe('clientCredentials');

    const ctaName = `${ns.name}-cta`;
    const cta = (await custom.createClusterCustomObject({
      group,
      version,
      plural: 'clustertriggerauthentications',
      body: {
        apiVersion: `${group}/${version}`,
        kind: 'ClusterTriggerAuthentication',
        metadata: { name: ctaName },
        spec: { podIdentity: { provider: 'none' }, oauth2 },
      },
    })) as Obj;
    try {
      expect((cta.spec as { oauth2: { type: string } }).oauth2.type).toBe('clientCredentials');
      const out = await kubectl(['get', 'cta', ctaName, '--no-headers']);
      expect(out).toContain(ctaName);
    } finally {
      await custom.deleteClusterCustomObject({ group, version, plural: 'clustertriggerauthentications', name: ctaName });
    }
    expect(await kubectl(['get', 'sj,ta', '-n', ns.name, '-o', 'name'])).toEqual(
      'scaledjob.keda.sh/worker\ntriggerauthentication.keda.sh/rabbit\n',
    );
  });

  it.each([
    ['maxReplicaCount: 0', { maxReplicaCount: 0 }, /spec\.maxReplicaCount: Invalid value: 0: spec\.maxReplicaCount in body should be greater than or equal to 1/],
    ['minReplicaCount: 5 with maxReplicaCount: 2', { minReplicaCount: 5, maxReplicaCount: 2 }, /spec: Invalid value: .*minReplicaCount must be less than or equal to maxReplicaCount/],
    ['a trigger without type', { triggers: [{ metadata: { a: 'b' } }] }, /spec\.triggers\[0\]\.type: Required value/],
    ['an unknown fallback.behavior', { fallback: { failureThreshold: 3, replicas: 1, behavior: 'sideways' } }, /spec\.fallback\.behavior: Unsupported value: "sideways": supported values: "static", "currentReplicas", "currentReplicasIfHigher", "currentReplicasIfLower", "scalingModifiers"/],
  ])('rejects a ScaledObject with %s, naming the field', async (_label, spec, expected) => {
    const message = await rejection(scaledObject(`bad-${Math.random().toString(36).slice(2, 8)}`, spec));
    expect(message).toMatch(expected);
  });
});
