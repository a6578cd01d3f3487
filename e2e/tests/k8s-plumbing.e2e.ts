import { EventRecorder, KubeClient, KubeApiError, resourcePath, Watched, isNotFound } from '@keda-ts/k8s';
import { createLogger } from '@keda-ts/runtime';
import { apply, deploymentManifest, k8s, kubeConfig, useTestNamespace, waitFor } from '../src/testing';

const ns = useTestNamespace('k8s');
const kc = kubeConfig();
const logger = createLogger({ component: 'e2e', version: 'test', level: 'error' });
let requests = 0;
const client = new KubeClient(kc, { qps: 50, burst: 50, onRequest: () => requests++ });
afterAll(() => client.close());

describe('libs/k8s against the real API server', () => {
  it('resolves kinds through discovery and reads and writes /scale', async () => {
    const gvr = await client.resolveKind('apps/v1', 'Deployment');
    expect(gvr).toMatchObject({
      group: 'apps',
      version: 'v1',
      resource: 'deployments',
      namespaced: true,
      scalable: true,
    });
    expect((await client.resolveKind('apps/v1', 'DaemonSet')).scalable).toBe(false);
    await expect(client.resolveKind('apps/v1', 'Nope')).rejects.toThrow(
      'no resource of kind Nope in apps/v1',
    );

    await apply(kc, deploymentManifest('scaled', 2), ns.name);
    const path = resourcePath(gvr, ns.name, 'scaled', 'scale');
    const scale = await client.get<{ spec: { replicas: number }; status: { selector: string } }>(path);
    expect(scale.spec.replicas).toBe(2);
    expect(await client.updateScale(gvr, ns.name, 'scaled', 4)).toBe(2);
    const dep = await kc
      .makeApiClient(k8s.AppsV1Api)
      .readNamespacedDeployment({ name: 'scaled', namespace: ns.name });
    expect(dep.spec?.replicas).toBe(4);
    expect(requests).toBeGreaterThan(0);
  });

  it('reports API errors with status and message', async () => {
    const err = await client
      .get(resourcePath({ group: 'apps', version: 'v1', resource: 'deployments' }, ns.name, 'missing'))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KubeApiError);
    expect(isNotFound(err)).toBe(true);
    expect((err as Error).message).toContain('HTTP 404 NotFound: deployments.apps "missing" not found');
  });

  it('merge-patches a status subresource', async () => {
    await apply(
      kc,
      {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'ScaledObject',
        metadata: { name: 'patched' },
        spec: { scaleTargetRef: { name: 'scaled' }, triggers: [{ type: 'cron', metadata: {} }] },
      } as k8s.KubernetesObject,
      ns.name,
    );
    const path = resourcePath(
      { group: 'keda.sh', version: 'v1alpha1', resource: 'scaledobjects' },
      ns.name,
      'patched',
      'status',
    );
    const out = await client.patch<{ status: { triggersTypes: string } }>(path, {
      status: { triggersTypes: 'cron' },
    });
    expect(out.status.triggersTypes).toBe('cron');
  });

  it('watches a collection, passing the previous version to handlers', async () => {
    const seen: string[] = [];
    const watched = new Watched<k8s.V1ConfigMap>(kc, client, {
      path: `/api/v1/namespaces/${ns.name}/configmaps`,
      logger,
    });
    watched.on((type, obj, old) => {
      if (obj.metadata?.name === 'watched')
        seen.push(`${type}:${old?.data?.['v'] ?? '-'}->${obj.data?.['v'] ?? '-'}`);
    });
    await watched.start();
    await watched.waitForSync();
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedConfigMap({
      namespace: ns.name,
      body: { metadata: { name: 'watched' }, data: { v: '1' } },
    });
    await waitFor(() => watched.get('watched', ns.name), { description: 'configmap in the informer cache' });
    await core.patchNamespacedConfigMap({
      namespace: ns.name,
      name: 'watched',
      body: [{ op: 'replace', path: '/data/v', value: '2' }],
    });
    await core.deleteNamespacedConfigMap({ namespace: ns.name, name: 'watched' });
    await waitFor(() => seen.length === 3, { description: 'three watch events', timeoutMs: 15_000 });
    await watched.stop();
    expect(seen).toEqual(['add:-->1', 'update:1->2', 'delete:2->2']);
  });

  it('is synced only with the first list in its cache, and leaves out what a field selector excludes', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    for (let i = 0; i < 50; i++)
      await core.createNamespacedSecret({ namespace: ns.name, body: { metadata: { name: `listed-${i}` }, stringData: { k: 'v' } } });
    await core.createNamespacedSecret({
      namespace: ns.name,
      body: { metadata: { name: 'helm-release' }, type: 'helm.sh/release.v1', stringData: { release: 'x' } },
    });
    const watched = new Watched<k8s.V1Secret>(kc, client, {
      path: `/api/v1/namespaces/${ns.name}/secrets`,
      fieldSelector: 'type!=helm.sh/release.v1',
      logger,
    });
    await watched.start();
    await watched.waitForSync();
    // No waiting after sync: readers (the operator's start order, trigger auth) rely on it.
    expect(watched.list(ns.name).filter((s) => s.metadata?.name?.startsWith('listed-'))).toHaveLength(50);
    expect(watched.get('helm-release', ns.name)).toBeUndefined();
    await watched.stop();
  });

  it('caches objects without managedFields by default and as a transform leaves them', async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'listed-slim', labels: { a: 'b' } }, data: { v: '1' } } });
    const plain = new Watched<k8s.V1ConfigMap>(kc, client, { path: `/api/v1/namespaces/${ns.name}/configmaps`, logger });
    const slim = new Watched<k8s.V1ConfigMap>(kc, client, {
      path: `/api/v1/namespaces/${ns.name}/configmaps`,
      logger,
      transform: (o) => ({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata?.name, namespace: o.metadata?.namespace } }),
    });
    await Promise.all([plain.start(), slim.start()]);
    await Promise.all([plain.waitForSync(), slim.waitForSync()]);
    // From the list...
    expect(plain.get('listed-slim', ns.name)?.metadata?.managedFields).toBeUndefined();
    expect(plain.get('listed-slim', ns.name)?.metadata?.labels).toEqual({ a: 'b' });
    expect(slim.get('listed-slim', ns.name)).toEqual({ metadata: { name: 'listed-slim', namespace: ns.name } });
    // ...and from the watch.
    await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'watched-slim' }, data: { v: '1' } } });
    await waitFor(() => plain.get('watched-slim', ns.name) && slim.get('watched-slim', ns.name), { description: 'configmap in both caches' });
    expect(plain.get('watched-slim', ns.name)?.data).toEqual({ v: '1' });
    expect(plain.get('watched-slim', ns.name)?.metadata?.managedFields).toBeUndefined();
    expect(slim.get('watched-slim', ns.name)?.data).toBeUndefined();
    await Promise.all([plain.stop(), slim.stop()]);
  });

  it('records events.k8s.io/v1 Events', async () => {
    const cm = await kc
      .makeApiClient(k8s.CoreV1Api)
      .createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'evented' } } });
    const failOnWarn = {
      ...logger,
      warn: (o: unknown, m: string) => {
        throw new Error(`${m}: ${JSON.stringify(o)}`);
      },
    };
    await new EventRecorder(client, failOnWarn as unknown as typeof logger).write(
      { ...cm, apiVersion: 'v1', kind: 'ConfigMap' },
      {
        type: 'Normal',
        reason: 'KEDAScalersStarted',
        action: 'ScalersWatchStarted',
        note: 'Started scalers watch',
      },
    );
    const events = await kc.makeApiClient(k8s.EventsV1Api).listNamespacedEvent({ namespace: ns.name });
    const ours = events.items.find((e) => e.reason === 'KEDAScalersStarted');
    expect(ours).toMatchObject({
      action: 'ScalersWatchStarted',
      note: 'Started scalers watch',
      type: 'Normal',
      reportingController: 'keda-operator',
    });
    expect(ours?.regarding).toMatchObject({ kind: 'ConfigMap', name: 'evented' });
    expect(isNotFound(new KubeApiError('GET', '/x', 404, 'NotFound', ''))).toBe(true);
  });
});
