/**
 * Admission latency benchmark (not a test). 10,000 ScaledObjects (and 10,000 HPAs) are injected
 * into the webhook's indexes directly, as the watch would put them there; then AdmissionReviews
 * for new ScaledObjects are POSTed over HTTPS at a fixed rate for a bounded time, and p50/p95/p99
 * latency and the process RSS are printed.
 *
 *   npx tsx --conditions=@keda-ts/source apps/webhook/bench/admission-bench.ts [objects=10000] [rps=100] [seconds=20]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AdmissionServer,
  HpaIndex,
  LimitRangeIndex,
  ScaledJobValidator,
  ScaledObjectIndex,
  ScaledObjectValidator,
  TriggerAuthenticationValidator,
  WebhookMetrics,
  createAdmissionApp,
} from '@keda-ts/admission';
import { createLogger } from '@keda-ts/runtime';

const [objects = 10_000, rps = 100, seconds = 20] = process.argv.slice(2).map(Number);
const logger = createLogger({ component: 'bench', version: '0', level: 'error' });
const cron = { type: 'cron', metadata: { timezone: 'UTC', start: '0 8 * * *', end: '0 18 * * *', desiredReplicas: '2' } };
const scaledObject = (ns: string, name: string, target: string, triggers: unknown[] = [cron]) => ({
  apiVersion: 'keda.sh/v1alpha1',
  kind: 'ScaledObject',
  metadata: { name, namespace: ns, uid: `${ns}-${name}`, labels: { app: name }, annotations: { note: 'x'.repeat(200) } },
  spec: { scaleTargetRef: { name: target }, minReplicaCount: 1, maxReplicaCount: 10, triggers },
});

async function main(): Promise<void> {
  const rssBefore = process.memoryUsage().rss;
  const scaledObjects = new ScaledObjectIndex();
  const hpas = new HpaIndex();
  const objectsKept: unknown[] = []; // what an informer cache would hold too
  for (let i = 0; i < objects; i++) {
    const ns = `ns-${i % 100}`;
    const so = scaledObject(ns, `so-${i}`, `app-${i}`);
    objectsKept.push(so);
    scaledObjects.apply('add', so as never);
    const hpa = { metadata: { name: `keda-hpa-so-${i}`, namespace: ns, ownerReferences: [{ kind: 'ScaledObject', name: `so-${i}` }] }, spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: `app-${i}` } } };
    objectsKept.push(hpa);
    hpas.apply('add', hpa);
  }
  const metrics = new WebhookMetrics({ defaultMetrics: true });
  const soValidator = new ScaledObjectValidator(
    {
      scaledObjects,
      hpas,
      limitRanges: new LimitRangeIndex(),
      // The cpu/memory request check GETs the workload; the bench's triggers are cron, so it never runs.
      workloads: { containers: async () => [] },
    },
    metrics,
  );
  const app = createAdmissionApp({
    logger,
    metrics,
    validators: {
      scaledobject: (r) => soValidator.validate(r),
      scaledjob: (r) => new ScaledJobValidator(metrics).validate(r),
      triggerauthentication: (r) => new TriggerAuthenticationValidator('TriggerAuthentication').validate(r),
      clustertriggerauthentication: (r) => new TriggerAuthenticationValidator('ClusterTriggerAuthentication').validate(r),
    },
  });
  const dir = mkdtempSync(join(tmpdir(), 'admission-bench-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const server = new AdmissionServer(app, { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') }, logger);
  const port = await server.listen(0, '127.0.0.1');
  const agent = new https.Agent({ keepAlive: true, ca: readFileSync(join(dir, 'tls.crt')), maxSockets: 16 });

  const post = (body: string) =>
    new Promise<number>((resolve, reject) => {
      const start = process.hrtime.bigint();
      const req = https.request({ host: '127.0.0.1', port, path: '/validate-keda-sh-v1alpha1-scaledobject', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolve(Number(process.hrtime.bigint() - start) / 1e6) : reject(new Error(`HTTP ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end(body);
    });
  const review = (i: number) =>
    JSON.stringify({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: `u-${i}`,
        operation: 'CREATE',
        namespace: `ns-${i % 100}`,
        // Every fourth request collides with an existing ScaledObject (a rejection), the rest pass.
        object: scaledObject(`ns-${i % 100}`, `new-${i}`, i % 4 === 0 ? `app-${i % objects}` : `fresh-${i}`),
      },
    });

  for (let i = 0; i < 200; i++) await post(review(i)); // warm-up
  const latencies: number[] = [];
  const total = rps * seconds;
  const started = Date.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / rps;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inflight.push(post(review(objects + i)).then((ms) => void latencies.push(ms)));
  }
  await Promise.all(inflight);
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(2);
  const mib = (b: number) => (b / 1024 / 1024).toFixed(1);
  console.log(
    JSON.stringify({
      scaledObjectsIndexed: scaledObjects.size,
      hpasIndexed: hpas.size,
      requests: latencies.length,
      rps,
      seconds: (Date.now() - started) / 1000,
      latencyMs: { p50: q(0.5), p95: q(0.95), p99: q(0.99), max: latencies.at(-1)!.toFixed(2) },
      rssMiB: { before: mib(rssBefore), after: mib(process.memoryUsage().rss) },
      heapUsedMiB: mib(process.memoryUsage().heapUsed),
      kept: objectsKept.length,
    }),
  );
  agent.destroy();
  await server.close();
}

void main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
