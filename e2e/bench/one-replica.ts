/**
 * One replica's footprint (issue 24), in the setup KEDA v2.20.2 was measured in on this machine:
 * N Deployments with one kwok Pod each, N ScaledObjects with one `metrics-api` trigger reading a
 * loopback JSON source (active: value 5, target 5, so each HPA holds one replica), the HPA sync
 * period at upstream's 15 s, the controller at client QPS 300. The controller and the metrics
 * adapter run as built bundles with their chart identities (startApps), the APIService goes to the
 * adapter on loopback, and metric requests go through the aggregator as the HPA controller's own
 * service account, so the adapter pays its SubjectAccessReview as in a cluster.
 *
 * Phases and what each reports:
 * 1. idle: the controller's RSS with the Deployments and Pods cached and no ScaledObjects;
 * 2. creation: seconds from the first ScaledObject POST until every HPA exists;
 * 3. steady: the controller's RSS (mean, max) and CPU, the adapter's, kube-apiserver's CPU, and the
 *    ScaledObject status writes (kube-apiserver's own request counter), per second and per object per minute;
 * 4. load, per rate: open-loop metric requests through the aggregator (latency from each request's
 *    due time, failures counted; see open-loop.ts) and the same process figures while it runs.
 *
 *   npx nx run-many -t build -p controller,metrics-adapter
 *   node --import tsx --conditions=@keda-ts/source e2e/bench/one-replica.ts \
 *     [--objects 1000] [--polling-interval 5] [--rates 200,500] [--load-seconds 60] [--steady-seconds 120] [--qps 300]
 *     [--heap-snapshots]
 *
 * `--heap-snapshots` takes a heap snapshot of the controller after the idle phase, after the steady
 * phase and after each load phase (each pauses it for seconds: do not read that run's figures) and
 * reports where its heap is (heap-summary.ts).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '@keda-ts/k8s';
import { writeCertDir } from '../src/certs';
import { LocalControlPlane } from '../src/control-plane';
import { installCrds } from '../src/crds';
import { defaultAppSpecs, startApps, stopApps, type RunningApp } from '../src/local-system';
import { sleep } from '../src/processes';
import { registerApiServiceToLocalhost, unregisterApiService } from '../src/testing/registration';
import { summarizeHeap } from './heap-summary';
import { http2Request, openLoop, reconnectingSession } from './open-loop';
import { createDeployment, createScaledObject, forEachConcurrently, procSample, serviceAccountToken, startJsonSource } from './workload';

const flag = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const objects = Number(flag('objects', '1000'));
const pollingInterval = Number(flag('polling-interval', '5'));
const rates = flag('rates', '200,500').split(',').filter(Boolean).map(Number);
const loadSeconds = Number(flag('load-seconds', '60'));
const steadySeconds = Number(flag('steady-seconds', '120'));
const qps = Number(flag('qps', '300'));
const heapSnapshots = process.argv.includes('--heap-snapshots');
const NAMESPACE = 'bench';
const log = (msg: string, extra: Record<string, unknown> = {}) =>
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), msg, ...extra })}\n`);
const round = (n: number, digits = 1) => +n.toFixed(digits);

/** CPU seconds and RSS in MiB of `pid` (it must be running: a benchmark process that exits fails the run). */
function readProc(pid: number): { cpuSeconds: number; rssMiB: number } {
  const sample = procSample(pid);
  if (!sample) throw new Error(`process ${pid} exited during the run`);
  return { cpuSeconds: sample.cpuSeconds, rssMiB: sample.rssBytes / 2 ** 20 };
}

/** Samples processes every `everyMs` until stopped: mean and max RSS, CPU cores over the window. */
function sampleProcesses(pids: Record<string, number>, everyMs = 2000) {
  const start = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, readProc(pid)]));
  const rss: Record<string, number[]> = Object.fromEntries(Object.keys(pids).map((k) => [k, [start[k].rssMiB]]));
  const t0 = performance.now();
  const timer = setInterval(() => {
    for (const [k, pid] of Object.entries(pids)) rss[k].push(readProc(pid).rssMiB);
  }, everyMs);
  return () => {
    clearInterval(timer);
    const seconds = (performance.now() - t0) / 1000;
    return Object.fromEntries(
      Object.entries(pids).map(([k, pid]) => {
        const end = readProc(pid);
        const samples = [...rss[k], end.rssMiB];
        return [
          k,
          {
            rssMeanMiB: round(samples.reduce((a, b) => a + b, 0) / samples.length),
            rssMaxMiB: round(Math.max(...samples)),
            cpuCores: round((end.cpuSeconds - start[k].cpuSeconds) / seconds, 3),
          },
        ];
      }),
    );
  };
}

/** kube-apiserver's count of ScaledObject status writes (PATCH and PUT on scaledobjects/status). */
async function statusWrites(cp: LocalControlPlane): Promise<number> {
  let total = 0;
  for (const line of (await cp.kubectl(['get', '--raw', '/metrics'])).split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    if (!line.includes('resource="scaledobjects"') || !line.includes('subresource="status"')) continue;
    if (!/verb="(PATCH|PUT|APPLY)"/.test(line)) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** Signals `pid` to write a heap snapshot into `dir` (node's --heapsnapshot-signal) and summarizes it once written. */
async function heapSnapshot(pid: number, dir: string): Promise<ReturnType<typeof summarizeHeap>> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  for (const deadline = performance.now() + 180_000; performance.now() < deadline; ) {
    await sleep(2_000);
    const file = readdirSync(dir).find((f) => !before.has(f) && f.endsWith('.heapsnapshot'));
    if (!file) continue;
    const size = statSync(path.join(dir, file)).size;
    await sleep(2_000);
    if (statSync(path.join(dir, file)).size !== size || size === 0) continue;
    return summarizeHeap(path.join(dir, file), 15);
  }
  throw new Error(`no heap snapshot from ${pid} in 3 minutes`);
}

async function main(): Promise<void> {
  // Ctrl-C stops the run and still cleans up (the control plane's processes run detached).
  let interrupted = false;
  process.once('SIGINT', () => {
    interrupted = true;
  });
  const checkInterrupted = () => {
    if (interrupted) throw new Error('interrupted');
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keda-ts-one-replica-'));
  // kwok nodes admit 110 Pods each.
  const cp = new LocalControlPlane({ nodes: Math.ceil(objects / 100), hpaSyncPeriod: '15s', log: () => undefined });
  const info = await cp.start();
  const source = await startJsonSource('{"value":5}');
  const sourcePort = source.port;
  const kc = new KubeConfig();
  kc.loadFromFile(info.kubeconfig);
  const admin = new KubeClient(kc, { qps: 2_000, burst: 2_000 });
  const apiService = { group: 'external.metrics.k8s.io', version: 'v1beta1', namespace: 'keda', serviceName: 'keda-metrics-apiserver' };
  let apps: RunningApp[] = [];
  try {
    await installCrds((args, input) => cp.kubectl(args, input));
    await admin.create('/api/v1/namespaces', { metadata: { name: NAMESPACE } });
    log('creating deployments', { objects });
    // The Deployments first (their Pods cached while idle), then the ScaledObjects, as KEDA was measured.
    const workload = (i: number) => ({ namespace: NAMESPACE, name: `w${i}`, replicas: 1, url: `http://127.0.0.1:${sourcePort}/m`, pollingInterval });
    await forEachConcurrently(objects, 16, (i) => createDeployment(admin, workload(i)));
    for (;;) {
      const running = await admin.get<{ items: unknown[] }>(`/api/v1/namespaces/${NAMESPACE}/pods?fieldSelector=status.phase%3DRunning`);
      if (running.items.length >= objects) break;
      checkInterrupted();
      await sleep(2_000);
    }
    log('every pod running');

    const heapDir = path.join(dir, 'heap');
    if (heapSnapshots) {
      mkdirSync(heapDir);
      process.env['KEDA_E2E_NODE_ARGS'] = `${process.env['KEDA_E2E_NODE_ARGS'] ?? ''} --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${heapDir}`;
    }
    const heaps: Record<string, unknown> = {};
    const snapshot = async (phase: string) => {
      if (heapSnapshots) heaps[phase] = await heapSnapshot(apps[0].process.pid!, heapDir);
    };
    const certs = await writeCertDir(path.join(dir, 'certs'));
    const { specs, ports } = await defaultAppSpecs(certs.dir);
    const controllerSpec = specs.find((s) => s.name === 'controller')!;
    controllerSpec.args = [...(controllerSpec.args ?? []), `--kube-api-qps=${qps}`, `--kube-api-burst=${Math.round(qps * 1.5)}`, '--log-level=warn'];
    const adapterSpec = specs.find((s) => s.name === 'metrics-adapter')!;
    adapterSpec.args = [...(adapterSpec.args ?? []), '--log-level=warn'];
    apps = await startApps(info.kubeconfig, [controllerSpec, adapterSpec], dir);
    await registerApiServiceToLocalhost(kc, { ...apiService, port: ports.adapterSecure, caPem: certs.caPem });
    const pids = {
      controller: apps[0].process.pid!,
      adapter: apps[1].process.pid!,
      apiServer: cp.pidOf('kube-apiserver')!,
    };

    // 1. Idle: everything cached, nothing to scale.
    await sleep(20_000);
    const idle = await new Promise<ReturnType<ReturnType<typeof sampleProcesses>>>((resolve) => {
      const stop = sampleProcesses(pids);
      setTimeout(() => resolve(stop()), 20_000);
    });
    log('idle', idle);
    await snapshot('idle');

    // 2. Creation until every HPA exists.
    const created = performance.now();
    await forEachConcurrently(objects, 16, (i) => createScaledObject(admin, workload(i)));
    const creationPostsSeconds = (performance.now() - created) / 1000;
    // A controller that has not created every HPA in 10 minutes is measured as it is: the run goes
    // on with the HPAs that exist and reports how many (`allHpasSeconds` null).
    let hpas = 0;
    let allHpasSeconds: number | null = null;
    while (hpas < objects && performance.now() - created < 600_000) {
      checkInterrupted();
      await sleep(500);
      hpas = (await admin.get<{ items: unknown[] }>(`/apis/autoscaling/v2/namespaces/${NAMESPACE}/horizontalpodautoscalers?resourceVersion=0`)).items.length;
    }
    if (hpas === objects) {
      allHpasSeconds = round((performance.now() - created) / 1000);
      log('every HPA exists', { seconds: allHpasSeconds });
    } else log('not every HPA exists after 10 minutes: measuring what runs', { hpas, objects });

    // 3. Steady state after a warm-up of two HPA syncs and several polls.
    await sleep(Math.max(30, pollingInterval * 6) * 1000);
    const writes0 = await statusWrites(cp);
    const stopSteady = sampleProcesses(pids);
    await sleep(steadySeconds * 1000);
    const steady = stopSteady();
    const writes = (await statusWrites(cp)) - writes0;
    const statusWritesPerSecond = writes / steadySeconds;
    log('steady', { ...steady, statusWritesPerSecond });
    await snapshot('steady');

    // 4. Metric requests through the aggregator as the HPA controller.
    const hpa = await admin.get<{ spec: { metrics: { external: { metric: { name: string } } }[] } }>(
      `/apis/autoscaling/v2/namespaces/${NAMESPACE}/horizontalpodautoscalers/keda-hpa-w0`,
    );
    const metricName = hpa.spec.metrics[0].external.metric.name;
    const token = await serviceAccountToken(admin, 'kube-system', 'horizontal-pod-autoscaler');
    const session = reconnectingSession({ host: '127.0.0.1', port: info.ports['apiserver'], ca: readFileSync(info.pki.caCert) });
    const requests = Array.from({ length: objects }, (_, i) => ({
      ':method': 'GET',
      ':scheme': 'https',
      ':authority': `127.0.0.1:${info.ports['apiserver']}`,
      ':path': `/apis/external.metrics.k8s.io/v1beta1/namespaces/${NAMESPACE}/${metricName}?labelSelector=${encodeURIComponent(`scaledobject.keda.sh/name=w${i}`)}`,
      authorization: `Bearer ${token}`,
    }));
    const load: Record<string, unknown> = {};
    for (const rate of rates) {
      await openLoop({ rate, seconds: 10, send: (i) => http2Request(session(), requests[i % objects]) }); // warm-up
      const stop = sampleProcesses(pids);
      const result = await openLoop({ rate, seconds: loadSeconds, send: (i) => http2Request(session(), requests[i % objects]) });
      const processes = stop();
      load[`${rate}PerSecond`] = {
        ...result,
        processes,
        // Above the steady state's CPU (the scale loops poll all along): what the requests cost.
        adapterCpuMsPerRequest: round(((processes.adapter.cpuCores - steady.adapter.cpuCores) * loadSeconds * 1000) / result.requests, 3),
        controllerCpuMsPerRequest: round(((processes.controller.cpuCores - steady.controller.cpuCores) * loadSeconds * 1000) / result.requests, 3),
      };
      await snapshot(`after${rate}PerSecond`);
      log('load', { rate, p50: result.all.p50Ms, p99: result.all.p99Ms, failed: result.failedPercent, controller: processes.controller });
    }
    session().close();

    process.stdout.write(
      JSON.stringify(
        {
          setup: { objects, pollingIntervalSeconds: pollingInterval, kubeApiQps: qps, hpaSyncPeriod: '15s', node: process.version, cpus: os.cpus().length },
          idle,
          creation: { postsSeconds: round(creationPostsSeconds), allHpasSeconds, hpasAtStart: hpas },
          steady: {
            ...steady,
            statusWritesPerSecond: round(statusWritesPerSecond, 2),
            statusWritesPerObjectPerMinute: round((statusWritesPerSecond * 60) / objects, 3),
          },
          load,
          ...(heapSnapshots ? { heaps } : {}),
          logs: dir,
        },
        null,
        2,
      ) + '\n',
    );
  } finally {
    await unregisterApiService(kc, apiService).catch(() => undefined);
    await stopApps(apps);
    admin.close();
    source.stop();
    await cp.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
