/**
 * Trigger-authentication memory benchmark (issue 7): the controller caches every Secret, ConfigMap
 * and TriggerAuthentication of the watched namespaces. With N of each (default 10,000) on a real
 * local control plane, reports the heap the TriggerAuthWatch informers hold after sync, the sync
 * time, that Helm release Secrets stay out of the cache, and the dependency index for N
 * ScaledObjects.
 *
 *   node --expose-gc --import tsx --conditions=@keda-ts/source e2e/bench/trigger-auth-memory.ts [--objects 10000]
 */
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '@keda-ts/k8s';
import { AuthDependencies, dependentKey, referenceKey, TriggerAuthWatch } from '@keda-ts/operator';
import { createLogger } from '@keda-ts/runtime';
import { LocalControlPlane } from '../src/control-plane';
import { installCrds } from '../src/crds';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const objects = arg('objects', 10_000);
const helmReleases = arg('helm-releases', 20);
const gc = (globalThis as { gc?: () => void }).gc;
const heapMiB = () => {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

async function createAll(client: KubeClient, items: { path: string; body: unknown }[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      await client.create(item.path, item.body);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

async function main(): Promise<void> {
  if (!gc) throw new Error('run with node --expose-gc');
  const cp = new LocalControlPlane({ nodes: 1, log: () => undefined });
  const info = await cp.start();
  try {
    await installCrds((args, input) => cp.kubectl(args, input));
    await cp.kubectl(['create', 'namespace', 'bench']);
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(info.kubeconfig);
    const client = new KubeClient(kubeConfig, { qps: 2000, burst: 2000 });
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const items: { path: string; body: unknown }[] = [];
    for (let i = 0; i < objects; i++) {
      // A typical scaler credential Secret and settings ConfigMap (a few hundred bytes of data).
      items.push({
        path: '/api/v1/namespaces/bench/secrets',
        body: {
          metadata: { name: `creds-${i}`, labels: { app: `app-${i % 100}` } },
          data: { username: b64(`user-${i}`), password: b64(`p${i}-`.padEnd(32, 'x')), connection: b64(`postgres://user-${i}@db-${i % 50}.svc:5432/app?sslmode=require`) },
        },
      });
      items.push({
        path: '/api/v1/namespaces/bench/configmaps',
        body: { metadata: { name: `cfg-${i}` }, data: { host: `db-${i % 50}.svc`, port: '5432', database: `app${i}`, queue: `queue-${i}` } },
      });
      items.push({
        path: '/apis/keda.sh/v1alpha1/namespaces/bench/triggerauthentications',
        body: {
          apiVersion: 'keda.sh/v1alpha1',
          kind: 'TriggerAuthentication',
          metadata: { name: `ta-${i}` },
          spec: {
            secretTargetRef: [{ parameter: 'password', name: `creds-${i}`, key: 'password' }],
            configMapTargetRef: [{ parameter: 'host', name: `cfg-${i}`, key: 'host' }],
          },
        },
      });
    }
    // Helm keeps each release (gzip+base64 manifests) in a Secret: large, never scaler credentials.
    for (let i = 0; i < helmReleases; i++)
      items.push({
        path: '/api/v1/namespaces/bench/secrets',
        body: { metadata: { name: `sh.helm.release.v1.r${i}.v1` }, type: 'helm.sh/release.v1', data: { release: b64('x'.repeat(512 * 1024)) } },
      });
    const createStart = performance.now();
    await createAll(client, items);
    const createSeconds = (performance.now() - createStart) / 1000;

    const heapBefore = heapMiB();
    const rssBefore = process.memoryUsage().rss / 2 ** 20;
    const watch = new TriggerAuthWatch({
      kubeConfig,
      client,
      logger: createLogger({ component: 'bench', version: 'bench', level: 'error' }),
      watchNamespaces: ['bench'],
      clusterObjectNamespace: 'bench',
    });
    const syncStart = performance.now();
    await watch.start();
    await watch.waitForSync();
    const syncSeconds = (performance.now() - syncStart) / 1000;
    const cachedAtSync = watch.informers.reduce((n, w) => n + w.list().length, 0);
    const heapAfter = heapMiB();
    const rssAfter = process.memoryUsage().rss / 2 ** 20;
    const cachedHelm = watch.informers.some((w) => w.get('sh.helm.release.v1.r0.v1', 'bench') !== undefined);

    // N ScaledObjects resolved through the cache, and the dependency index of what they read.
    const index = new AuthDependencies();
    const resolveStart = performance.now();
    for (let i = 0; i < objects; i++) {
      const resolved = await watch.resolver.resolve({
        kind: 'ScaledObject',
        namespace: 'bench',
        name: `so-${i}`,
        triggers: [{ authenticationRef: { name: `ta-${i}` } }],
      });
      if (resolved.authParams(0).password !== `p${i}-`.padEnd(32, 'x')) throw new Error(`so-${i}: wrong password resolved`);
      index.record(dependentKey('ScaledObject', 'bench', `so-${i}`), resolved.references.map(referenceKey));
    }
    const resolveMs = (performance.now() - resolveStart) / objects;
    const heapWithIndex = heapMiB();
    await watch.stop();
    client.close();

    process.stdout.write(
      JSON.stringify(
        {
          objects: { secrets: objects, configMaps: objects, triggerAuthentications: objects, helmReleaseSecrets: helmReleases },
          createSeconds: +createSeconds.toFixed(1),
          informerSyncSeconds: +syncSeconds.toFixed(2),
          objectsCachedAtSync: cachedAtSync,
          informerHeapMiB: +(heapAfter - heapBefore).toFixed(1),
          informerHeapPer1000ObjectsOfEachKindMiB: +(((heapAfter - heapBefore) / objects) * 1000).toFixed(2),
          rssGrowthMiB: +(rssAfter - rssBefore).toFixed(1),
          helmReleaseSecretCached: cachedHelm,
          resolveMsPerScaledObject: +resolveMs.toFixed(3),
          dependencyIndexHeapMiB: +(heapWithIndex - heapAfter).toFixed(1),
        },
        null,
        2,
      ) + '\n',
    );
  } finally {
    await cp.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
