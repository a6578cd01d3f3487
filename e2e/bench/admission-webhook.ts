/**
 * Admission benchmark (issue 5, not a test). A local control plane gets 10,000 ScaledObjects and
 * their 10,000 HPAs (100 namespaces); the built webhook (apps/webhook/dist) runs on its own and
 * fills its informer caches from the API server. Then, in isolation, its resident memory is read;
 * then AdmissionReviews for new ScaledObjects are POSTed to it over HTTPS at a steady rate (every
 * fourth collides with an existing ScaledObject and is rejected) and the latency, errors, and the
 * webhook's CPU and memory are printed.
 *
 * The load is open loop (e2e/bench/open-loop.ts), from a process of its own: reviews due at --rps,
 * each one's latency from its scheduled time, errors (no 200 with the review's uid) and timeouts
 * (10 s) in the `all` percentiles and counted beside them (`okOnly`: the successful ones).
 *
 *   npx nx run-many -t build -p webhook
 *   node --import tsx --conditions=@keda-ts/source e2e/bench/admission-webhook.ts [--objects 10000] [--rps 100] [--seconds 60]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalControlPlane } from '../src/control-plane';
import { installCrds } from '../src/crds';
import { startApps, stopApps } from '../src/local-system';
import { createServingCertificate } from '../src/pki';
import { freePort } from '../src/processes';
import { openLoop, type OpenLoopResult, type Outcome } from './open-loop';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const objects = arg('objects', 10_000);
const rps = arg('rps', 100);
const seconds = arg('seconds', 60);
const NAMESPACES = 100;

const cron = { type: 'cron', metadata: { timezone: 'UTC', start: '0 8 * * *', end: '0 18 * * *', desiredReplicas: '2' } };
const scaledObject = (ns: string, name: string, target: string) => ({
  apiVersion: 'keda.sh/v1alpha1',
  kind: 'ScaledObject',
  metadata: { name, namespace: ns, labels: { app: name }, annotations: { note: 'x'.repeat(200) } },
  spec: { scaleTargetRef: { name: target }, minReplicaCount: 1, maxReplicaCount: 10, triggers: [cron] },
});
const hpa = (ns: string, i: number) => ({
  apiVersion: 'autoscaling/v2',
  kind: 'HorizontalPodAutoscaler',
  metadata: {
    name: `keda-hpa-so-${i}`,
    namespace: ns,
    labels: { 'app.kubernetes.io/managed-by': 'keda-operator', 'scaledobject.keda.sh/name': `so-${i}` },
    ownerReferences: [{ apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', name: `so-${i}`, uid: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`, controller: true, blockOwnerDeletion: true }],
  },
  spec: {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: `app-${i}` },
    minReplicas: 1,
    maxReplicas: 10,
    metrics: [{ type: 'External', external: { metric: { name: 's0-cron-UTC-08xxx-18xxx', selector: { matchLabels: { 'scaledobject.keda.sh/name': `so-${i}` } } }, target: { type: 'AverageValue', averageValue: '1' } } }],
  },
});

const cpuSeconds = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};
const rssMiB = (pid: number) => +(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024).toFixed(1);

/** POSTs JSON objects to the API server with a few requests in flight. */
async function createAll(server: string, agent: https.Agent, items: { path: string; body: unknown }[]): Promise<void> {
  const url = new URL(server);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      const body = JSON.stringify(item.body);
      await new Promise<void>((resolve, reject) => {
        const req = https.request(
          { host: url.hostname, port: url.port, path: item.path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => (res.statusCode === 201 || res.statusCode === 409 ? resolve() : reject(new Error(`POST ${item.path}: HTTP ${res.statusCode} ${text.slice(0, 300)}`))));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}


const review = (i: number) => {
  const ns = `ns-${i % NAMESPACES}`;
  // Every fourth request targets the workload of an existing ScaledObject (C-100: rejected).
  const target = i % 4 === 0 ? `app-${i % objects}` : `fresh-${i}`;
  return JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: `u-${i}`, operation: 'CREATE', namespace: ns, object: scaledObject(ns, `new-${i}`, target) } });
};

/** POSTs AdmissionReviews to the webhook; resolves with the outcome ('ok': a 200 answering the review's uid). */
function poster(port: number, caPem: string): { agent: https.Agent; post: (body: string) => Promise<Outcome> } {
  const agent = new https.Agent({ keepAlive: true, ca: caPem, maxSockets: 64 });
  const post = (body: string) =>
    new Promise<Outcome>((resolve) => {
      const req = https.request(
        { host: '127.0.0.1', port, path: '/validate-keda-sh-v1alpha1-scaledobject', method: 'POST', agent, timeout: 10_000, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(res.statusCode === 200 && text.includes('"uid"') ? 'ok' : 'error'));
          res.on('error', () => resolve('error'));
        },
      );
      req.on('timeout', () => {
        resolve('timeout');
        req.destroy();
      });
      req.on('error', () => resolve('error'));
      req.end(body);
    });
  return { agent, post };
}

/** The load generator (child process mode): warm-up, a line `WARM`, then the open-loop load and a JSON line of its result. */
async function generateLoad(port: number, caFile: string): Promise<void> {
  const { agent, post } = poster(port, readFileSync(caFile, 'utf8'));
  for (let i = 0; i < 300; i++) await post(review(i)); // warm-up (JIT, connections)
  process.stdout.write('WARM\n');
  const started = performance.now();
  const result = await openLoop({ rate: rps, seconds, send: (i) => post(review(objects + i)) });
  const wall = (performance.now() - started) / 1000;
  agent.destroy();
  process.stdout.write(`${JSON.stringify({ result, wall })}\n`);
}

async function runLoadProcess(port: number, caFile: string, onWarm: () => void): Promise<{ result: OpenLoopResult; wall: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@keda-ts/source', __filename, '--generate-load', String(port), caFile, ...process.argv.slice(2)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let buffered = '';
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line === 'WARM') onWarm();
        else if (line.startsWith('{')) resolve(JSON.parse(line));
      }
    });
    child.once('exit', (code) => reject(new Error(`the load generator exited with ${code}${code === 0 ? ' without a result' : ''}`)));
  });
}

async function main(): Promise<void> {
  const loadAt = process.argv.indexOf('--generate-load');
  if (loadAt >= 0) return generateLoad(Number(process.argv[loadAt + 1]), process.argv[loadAt + 2]);
  // The 10,000 HPAs point at workloads that do not exist: the HPA controller would retry each of them
  // every 15 s and keep the API server (and this 2-core machine) busy with that, not with the webhook.
  const cp = new LocalControlPlane({ nodes: 1, hpaSyncPeriod: '1h', log: () => undefined });
  const info = await cp.start();
  const dir = mkdtempSync(join(tmpdir(), 'admission-bench-'));
  let apps: Awaited<ReturnType<typeof startApps>> = [];
  try {
    await installCrds((args, input) => cp.kubectl(args, input));
    const admin = new https.Agent({ keepAlive: true, maxSockets: 16, ca: readFileSync(info.pki.caCert), cert: readFileSync(info.pki.adminCert), key: readFileSync(info.pki.adminKey) });
    const t0 = performance.now();
    await createAll(info.server, admin, Array.from({ length: NAMESPACES }, (_, i) => ({ path: '/api/v1/namespaces', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `ns-${i}` } } })));
    const items: { path: string; body: unknown }[] = [];
    for (let i = 0; i < objects; i++) {
      const ns = `ns-${i % NAMESPACES}`;
      items.push({ path: `/apis/keda.sh/v1alpha1/namespaces/${ns}/scaledobjects`, body: scaledObject(ns, `so-${i}`, `app-${i}`) });
      items.push({ path: `/apis/autoscaling/v2/namespaces/${ns}/horizontalpodautoscalers`, body: hpa(ns, i) });
    }
    process.stderr.write(`creating ${items.length} objects...\n`);
    await createAll(info.server, admin, items);
    admin.destroy();
    const createSeconds = +((performance.now() - t0) / 1000).toFixed(1);

    const cert = await createServingCertificate(join(dir, 'pki'), ['127.0.0.1', 'localhost']);
    const certDir = join(dir, 'certs');
    mkdirSync(certDir);
    writeFileSync(join(certDir, 'tls.crt'), cert.certPem);
    writeFileSync(join(certDir, 'tls.key'), cert.keyPem);
    const port = await freePort();
    const t1 = performance.now();
    // Ready means the informer caches have synced: every ScaledObject and HPA is indexed.
    apps = await startApps(info.kubeconfig, [{ name: 'webhook', args: [`--port=${port}`, `--cert-dir=${certDir}`, '--metrics-bind-address=127.0.0.1:0'] }], dir);
    const readySeconds = +((performance.now() - t1) / 1000).toFixed(1);
    const pid = apps[0].process.pid as number;
    await new Promise((r) => setTimeout(r, 5_000)); // let start-up garbage be collected
    const rssIdleMiB = rssMiB(pid);

    const { agent } = poster(port, cert.caPem);
    let rejectedAsExpected = 0;
    // The index answers as the cluster is: a colliding review must name the existing ScaledObject.
    const probe = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'probe', operation: 'CREATE', namespace: 'ns-7', object: scaledObject('ns-7', 'probe', 'app-7') } });
    const ask = () =>
      new Promise<string>((resolve, reject) => {
        const req = https.request({ host: '127.0.0.1', port, path: '/validate-keda-sh-v1alpha1-scaledobject', method: 'POST', agent }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
        req.end(probe);
      });
    // Ready already means synced; the probe proves it (and waits a little if it were not so).
    let probeAnswer = await ask();
    const probeDeadline = Date.now() + 120_000;
    while (!probeAnswer.includes("already managed by the ScaledObject 'so-7'") && Date.now() < probeDeadline) {
      await new Promise((r) => setTimeout(r, 1000));
      probeAnswer = await ask();
    }
    const probeWaitSeconds = +((performance.now() - t1) / 1000 - readySeconds - 5).toFixed(1);
    if (probeAnswer.includes("already managed by the ScaledObject 'so-7'")) rejectedAsExpected++;
    else throw new Error(`the webhook did not see the existing ScaledObjects: ${probeAnswer.slice(0, 300)}`);

    // The load runs in a process of its own: this one holds the 20,000 manifests it created, and its
    // garbage collections would show up in the measured latencies.
    agent.destroy();
    const caFile = join(dir, 'pki', 'bench-ca.crt');
    writeFileSync(caFile, cert.caPem);
    let cpu0 = 0;
    const load = await runLoadProcess(port, caFile, () => (cpu0 = cpuSeconds(pid)));
    const cpu = cpuSeconds(pid) - cpu0;
    const { result, wall } = load;
    process.stdout.write(
      JSON.stringify(
        {
          scaledObjects: objects,
          hpas: objects,
          createSeconds,
          webhookReadySeconds: readySeconds,
          collisionProbe: rejectedAsExpected === 1 ? 'rejected naming so-7' : 'failed',
          probeWaitAfterReadySeconds: probeWaitSeconds,
          rps,
          ...result,
          webhookCpuCores: +(cpu / wall).toFixed(3),
          webhookCpuMsPerRequest: +((cpu * 1000) / result.requests).toFixed(3),
          webhookRssMiB: { idleWithCaches: rssIdleMiB, afterLoad: rssMiB(pid) },
        },
        null,
        2,
      ) + '\n',
    );
  } finally {
    await stopApps(apps);
    await cp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
