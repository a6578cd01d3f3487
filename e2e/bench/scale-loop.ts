/**
 * Scale-loop benchmark (issue 3): N ScaledObjects with pollingInterval 1 s on a real local control
 * plane, the controller's Operator in this one Node process (one core). Reports how late each
 * poll ran (p50/p95/p99/max), resident memory per 1,000 ScaledObjects, the time until every
 * ScaledObject is Ready (initial reconcile), and API requests per reconcile.
 *
 *   node --import tsx --conditions=@keda-ts/source e2e/bench/scale-loop.ts [--objects 100] [--seconds 30] [--qps 20]
 */
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { Operator } from '@keda-ts/operator';
import { createLogger } from '@keda-ts/runtime';
import { scalers } from '@keda-ts/scalers';
import { LocalControlPlane } from '../src/control-plane';
import { installCrds } from '../src/crds';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const objects = arg('objects', 100);
const seconds = arg('seconds', 30);
/** Client-side API rate limit (the controller's --kube-api-qps / --kube-api-burst; KEDA's defaults 20 / 30). */
const qps = arg('qps', 20);
const burst = arg('burst', Math.round(qps * 1.5));

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

async function main(): Promise<void> {
  const cp = new LocalControlPlane({ nodes: 1, hpaSyncPeriod: '15s', log: () => undefined });
  const info = await cp.start();
  const metrics = http.createServer((_req, res) => res.end('{"value":0}'));
  await new Promise<void>((r) => metrics.listen(0, '127.0.0.1', r));
  const port = (metrics.address() as AddressInfo).port;
  try {
    await installCrds((args, input) => cp.kubectl(args, input));
    await cp.kubectl(['create', 'namespace', 'bench']);
    // Targets at 0 replicas with inactive triggers: the steady state of idle workloads.
    const docs: string[] = [];
    for (let i = 0; i < objects; i++) {
      docs.push(`apiVersion: apps/v1
kind: Deployment
metadata: { name: w${i}, namespace: bench }
spec:
  replicas: 0
  selector: { matchLabels: { app: w${i} } }
  template: { metadata: { labels: { app: w${i} } }, spec: { containers: [{ name: m, image: registry.invalid/x:1 }] } }
---
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: { name: w${i}, namespace: bench }
spec:
  scaleTargetRef: { name: w${i} }
  pollingInterval: 1
  minReplicaCount: 0
  triggers: [{ type: metrics-api, metadata: { url: "http://127.0.0.1:${port}/m", valueLocation: value, targetValue: "5" } }]`);
    }
    for (let i = 0; i < docs.length; i += 200) await cp.kubectl(['apply', '-f', '-'], docs.slice(i, i + 200).join('\n---\n'));

    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(info.kubeconfig);
    const lags: number[] = [];
    let requests = 0;
    let measuring = false;
    const steadyRequests = new Map<string, number>();
    const rssBefore = process.memoryUsage().rss;
    const operator = new Operator({
      kubeConfig,
      logger: createLogger({ component: 'bench', version: 'bench', level: 'error' }),
      registry: scalers,
      kedaVersion: 'bench',
      watchNamespaces: ['bench'],
      qps,
      burst,
      onRequest: (method, path) => {
        requests++;
        if (measuring) {
          const kind = `${method} ${path.replace(/\/namespaces\/[^/]+/, '/namespaces/*').replace(/\/(w\d+|[a-z0-9-]+\.[0-9a-f]+)(\/|$|\?)/, '/*$2').split('?')[0]}`;
          steadyRequests.set(kind, (steadyRequests.get(kind) ?? 0) + 1);
        }
      },
      onScaleLoopLag: (_k, lag) => {
        if (measuring) lags.push(lag);
      },
    });
    const started = performance.now();
    await operator.start();
    // Initial reconcile: every ScaledObject Ready (its scale loop running).
    while (operator.scaleLoopCount < objects) await new Promise((r) => setTimeout(r, 100));
    const initialSeconds = (performance.now() - started) / 1000;
    const requestsPerReconcile = requests / objects;
    await new Promise((r) => setTimeout(r, 3000));
    measuring = true;
    const requestsBefore = requests;
    await new Promise((r) => setTimeout(r, seconds * 1000));
    measuring = false;
    const steadyQps = (requests - requestsBefore) / seconds;
    const rss = process.memoryUsage().rss;
    await operator.stop();
    lags.sort((a, b) => a - b);
    const result = {
      objects,
      kubeApiQps: qps,
      kubeApiBurst: burst,
      pollingIntervalSeconds: 1,
      measuredSeconds: seconds,
      polls: lags.length,
      lagMs: { p50: +pct(lags, 50).toFixed(2), p95: +pct(lags, 95).toFixed(2), p99: +pct(lags, 99).toFixed(2), max: +(lags.at(-1) ?? 0).toFixed(2) },
      initialReconcileSeconds: +initialSeconds.toFixed(2),
      apiRequestsPerReconcile: +requestsPerReconcile.toFixed(2),
      steadyStateApiQps: +steadyQps.toFixed(2),
      steadyStateRequests: Object.fromEntries([...steadyRequests].sort((a, b) => b[1] - a[1]).slice(0, 8)),
      rssMiB: +(rss / 2 ** 20).toFixed(1),
      rssPer1000ObjectsMiB: +(((rss - rssBefore) / 2 ** 20 / objects) * 1000).toFixed(1),
    };
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } finally {
    metrics.close();
    await cp.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
