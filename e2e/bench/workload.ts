/**
 * Pieces the benchmarks that run the real controller share: the ScaledObjects and their target
 * Deployments (created by concurrent POSTs: kubectl parsing YAML would take minutes for 10,000),
 * CPU and memory of a process from /proc, and a token of a ServiceAccount from the TokenRequest API.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { KubeClient } from '@keda-ts/k8s';

const CLOCK_TICKS = 100; // USER_HZ on Linux
const PAGE = 4096;

/** Resident memory and CPU time (user + system) of `pid`; undefined once it is gone. */
export function procSample(pid: number): { rssBytes: number; cpuSeconds: number } | undefined {
  try {
    // Fields after the command name (which may hold spaces): utime is field 14, stime 15; statm's second is resident pages.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    const rssBytes = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE;
    return { rssBytes, cpuSeconds };
  } catch {
    return undefined;
  }
}

export interface WorkloadOptions {
  namespace: string;
  name: string;
  /** The Deployment's replicas (0: idle, scaled to zero; 1: active, KEDA creates and drives the HPA). */
  replicas: number;
  /** The metrics-api trigger's URL (a JSON `{"value": n}`), compared against targetValue 5. */
  url: string;
  pollingInterval: number;
  /** The ScaledObject's maxReplicaCount (the HPA's maxReplicas); default 2. */
  maxReplicaCount?: number;
}

/** A Deployment and its ScaledObject with one metrics-api trigger (valueLocation `value`, targetValue 5). */
export async function createWorkload(client: KubeClient, o: WorkloadOptions): Promise<void> {
  await createDeployment(client, o);
  await createScaledObject(client, o);
}

/** The target Deployment of a workload (kwok runs its Pods). */
export async function createDeployment(client: KubeClient, o: Pick<WorkloadOptions, 'namespace' | 'name' | 'replicas'>): Promise<void> {
  await client.create(`/apis/apps/v1/namespaces/${o.namespace}/deployments`, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: o.name, namespace: o.namespace },
    spec: {
      replicas: o.replicas,
      selector: { matchLabels: { app: o.name } },
      template: { metadata: { labels: { app: o.name } }, spec: { containers: [{ name: 'm', image: 'registry.invalid/x:1' }] } },
    },
  });
}

/** The ScaledObject of a workload: one metrics-api trigger on `url` (valueLocation `value`, targetValue 5). */
export async function createScaledObject(client: KubeClient, o: WorkloadOptions): Promise<void> {
  await client.create(`/apis/keda.sh/v1alpha1/namespaces/${o.namespace}/scaledobjects`, {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name: o.name, namespace: o.namespace },
    spec: {
      scaleTargetRef: { name: o.name },
      pollingInterval: o.pollingInterval,
      minReplicaCount: 0,
      maxReplicaCount: o.maxReplicaCount ?? 2,
      triggers: [{ type: 'metrics-api', metadata: { url: o.url, valueLocation: 'value', targetValue: '5' } }],
    },
  });
}

/** Deletes a ScaledObject (KEDA removes its HPA) and its Deployment (foreground: its Pods go with it). */
export async function deleteWorkload(client: KubeClient, namespace: string, name: string): Promise<void> {
  await client.delete(`/apis/keda.sh/v1alpha1/namespaces/${namespace}/scaledobjects/${name}`);
  await client.delete(`/apis/apps/v1/namespaces/${namespace}/deployments/${name}`, { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' });
}

/** Runs `fn(i)` for i in [0, n) with `concurrency` at a time; a failure fails the whole run. */
export async function forEachConcurrently(n: number, concurrency: number, fn: (i: number) => Promise<void>, onProgress?: (done: number) => void): Promise<void> {
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        await fn(i);
        done++;
        if (onProgress && done % 1000 === 0) onProgress(done);
      }
    }),
  );
}

/**
 * A token of ServiceAccount `namespace/name` from the TokenRequest API (the account must exist:
 * kube-controller-manager creates its controllers' accounts when it starts them, so this retries for a minute).
 */
export async function serviceAccountToken(client: KubeClient, namespace: string, name: string, seconds = 3600): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const answer = await client.create<{ status?: { token?: string } }>(`/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds: seconds },
      });
      if (!answer.status?.token) throw new Error(`TokenRequest for ${namespace}/${name} answered without a token`);
      return answer.status.token;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`no token for ServiceAccount ${namespace}/${name} within 60 s: ${(err as Error).message}`, { cause: err });
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

/** ScaledObjects of `namespace` whose Ready condition is True (paged list). */
export async function readyScaledObjects(client: KubeClient, namespace: string): Promise<{ ready: number; metricNames: Map<string, string> }> {
  let ready = 0;
  const metricNames = new Map<string, string>();
  let token = '';
  do {
    const page = await client.get<{
      items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[]; externalMetricNames?: string[] } }[];
      metadata?: { continue?: string };
    }>(`/apis/keda.sh/v1alpha1/namespaces/${namespace}/scaledobjects?limit=1000${token ? `&continue=${encodeURIComponent(token)}` : ''}`);
    for (const so of page.items) {
      if (so.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) ready++;
      const metric = so.status?.externalMetricNames?.[0];
      if (metric) metricNames.set(so.metadata.name, metric);
    }
    token = page.metadata?.continue ?? '';
  } while (token);
  return { ready, metricNames };
}

/**
 * A loopback HTTP server answering `body` to every request, in a process of its own, so that the
 * benchmark's load generator does not share an event loop (or CPU accounting) with the event source.
 */
export async function startJsonSource(body: string): Promise<{ port: number; stop: () => void }> {
  const program = `const s = require('node:http').createServer((q, r) => r.end(${JSON.stringify(body)}));
s.keepAliveTimeout = 60000;
s.listen(0, '127.0.0.1', () => process.stdout.write('PORT ' + s.address().port + '\\n'));`;
  const child = spawn(process.execPath, ['-e', program], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      const m = /PORT (\d+)/.exec(d.toString());
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`the JSON source exited with ${code} before listening`)));
  });
  return { port, stop: () => child.kill() };
}
