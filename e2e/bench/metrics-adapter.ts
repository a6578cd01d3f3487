/**
 * Metrics adapter benchmark (issues 4 and 24): metric requests at a steady rate (open loop) through
 * the aggregation layer, as the HPA controller sends them, to the REAL adapter calling the REAL
 * controller, for a bounded time. On a local control plane: --objects ScaledObjects (default
 * 10,000), each with one metrics-api trigger against a loopback HTTP JSON server (a child process
 * of this script), targets Deployments at 1 replica (every --active-percent-th object, trigger
 * active: value 5 of target 5, KEDA's HPA exists and holds 1) or at 0 (trigger inactive), created
 * by concurrent POSTs. The built controller (apps/controller/dist) and adapter
 * (apps/metrics-adapter/dist) run as `startApps` runs them in the e2e tests: each with a token of its
 * chart ServiceAccount and the chart's RBAC, gRPC over mTLS between them.
 *
 * Paths, each warmed up at the measured rate for --warmup-seconds first, then measured:
 *   - throughAggregatorAsHpaController: to kube-apiserver, authenticated with a TokenRequest token of
 *     kube-system/horizontal-pod-autoscaler (the identity kube-controller-manager's HPA controller uses
 *     with --use-service-account-credentials). kube-apiserver authorizes it (RBAC), proxies it with
 *     front-proxy headers, and the adapter authorizes it with a SubjectAccessReview, as in a cluster
 *     (its SAR cache keeps an allow 10 s per user and namespace, like k8s.io/apiserver's).
 *   - directToAdapterAsMastersNoSar: straight to the adapter's HTTPS port with the front-proxy client
 *     certificate and X-Remote-Group system:masters: what the aggregator sends, minus kube-apiserver,
 *     and the adapter skips the SAR for system:masters.
 *   - throughAggregatorToNoOpServer (--floor): the same load through the aggregator (with the HPA
 *     token) to a no-op HTTP/2 server registered as an APIService of its own (a fixed answer, no
 *     authorization, no gRPC): the cost of kube-apiserver and the load generator on this machine.
 *
 * Latency (e2e/bench/open-loop.ts) counts from each request's scheduled time; errors and timeouts
 * are in the `all` percentiles and counted beside them. Per path: adapter and controller CPU (cores,
 * and ms per request; the controller's above its idle CPU, measured without load just before each
 * run for min(--seconds, 30 s), since its scale loops poll every source every --polling-interval), RSS, requests
 * the metric source served (the controller reads the trigger per metric request), kube-apiserver's
 * CPU, the load generator's, the machine's busy cores and the share of CPU the hypervisor stole (on a
 * shared 2-core VM they move the tail run to run). kube-controller-manager's HPA sync period is 1 h
 * here, so the HPA controller adds no traffic of its own during the measurement.
 *
 * The load generator speaks HTTP/2 (node:http2), one connection per target, as client-go does; its
 * own garbage collections count as the servers' latency.
 *
 *   npx nx run-many -t build -p controller,metrics-adapter
 *   node --import tsx --conditions=@keda-ts/source e2e/bench/metrics-adapter.ts \
 *     [--rps 700] [--seconds 60] [--objects 10000] [--active-percent 10] [--polling-interval 30] [--warmup-seconds 10] [--floor]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '@keda-ts/k8s';
import { createStreamsAndHttp1Server } from '@keda-ts/external-metrics';
import { appCertDir, writeCertDir } from '../src/certs';
import { LocalControlPlane } from '../src/control-plane';
import { installCrds } from '../src/crds';
import { adapterSpec, startApps, stopApps, type RunningApp } from '../src/local-system';
import { freePort, sleep } from '../src/processes';
import { registerApiServiceToLocalhost, unregisterApiService } from '../src/testing/registration';
import { http2Request, openLoop, reconnectingSession, type OpenLoopResult } from './open-loop';
import { createWorkload, forEachConcurrently, procSample, readyScaledObjects, serviceAccountToken } from './workload';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a number >= 0, got ${JSON.stringify(process.argv[i + 1])}`);
  return v;
};
const rps = arg('rps', 700);
const withFloor = process.argv.includes('--floor');
const seconds = arg('seconds', 60);
const scaledObjects = arg('objects', 10_000);
const activePercent = arg('active-percent', 10);
const pollingInterval = arg('polling-interval', 30);
const warmupSeconds = arg('warmup-seconds', 10);
const NS = 'bench';
const HPA_SERVICE_ACCOUNT = { namespace: 'kube-system', name: 'horizontal-pod-autoscaler' };
const log = (msg: string, extra: Record<string, unknown> = {}) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), msg, ...extra })}\n`);

const cpuSeconds = (pid: number) => {
  const s = procSample(pid);
  if (!s) throw new Error(`process ${pid} is gone`);
  return s.cpuSeconds;
};
const rssMiB = (pid: number) => +((procSample(pid)?.rssBytes ?? 0) / 2 ** 20).toFixed(1);
/** Whole-machine CPU ticks (10 ms): busy (user, nice, system, irq, softirq) and stolen by the hypervisor. */
function machineTicks(): { busy: number; steal: number; cpus: number } {
  const lines = readFileSync('/proc/stat', 'utf8').split('\n');
  const [user, nice, system, , , irq, softirq, steal] = lines[0].split(/\s+/).slice(1).map(Number);
  return { busy: user + nice + system + irq + softirq, steal, cpus: lines.filter((l) => /^cpu\d/.test(l)).length };
}

interface Target {
  name: string;
  /** An open HTTP/2 session, as client-go (the HPA controller) and the aggregator talk; a new one after a GOAWAY. */
  connection: () => http2.ClientHttp2Session;
  /** The request headers of request `i`. */
  request: (i: number) => http2.OutgoingHttpHeaders;
  /** The process that answers: the adapter (and behind it the controller), or the no-op server. */
  backend: 'adapter' | 'noOpServer';
}

/** Headers of GET requests for `paths` (one per ScaledObject, built before the run). */
function getRequests(authority: string, paths: string[], headers: Record<string, string> = {}): (i: number) => http2.OutgoingHttpHeaders {
  const blocks = paths.map((p) => ({
    ':method': 'GET',
    ':scheme': 'https',
    ':path': p,
    ':authority': authority,
    ...Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
  }));
  return (i) => blocks[i % blocks.length];
}

async function load(target: Target, rate = rps, duration = seconds): Promise<OpenLoopResult> {
  return openLoop({ rate, seconds: duration, send: (i) => http2Request(target.connection(), target.request(i)) });
}

/** One request, its status and body: the paths are checked before any load is sent. */
function probe(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: true });
    let status = 0;
    let body = '';
    stream.setTimeout(10_000, () => stream.close(http2.constants.NGHTTP2_CANCEL));
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('data', (d: Buffer) => (body += d.toString()));
    stream.on('error', reject);
    stream.on('close', () => resolve({ status, body }));
  });
}

/** Established TCP connections to a local port (each loopback connection is listed once per end). */
function connectionsTo(port: number): number {
  const out = spawnSync('ss', ['-Htn', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' }).stdout ?? '';
  return out.split('\n').filter((l) => l.trim()).length;
}

/**
 * The metric source of `--serve-source` (a process of its own, so that its work is not the load
 * generator's): `/active` answers 5, `/idle` 0; `/count` the requests served so far.
 */
async function serveSource(): Promise<void> {
  let served = 0;
  const server = http.createServer((req, res) => {
    if (req.url === '/count') {
      res.end(String(served));
      return;
    }
    served++;
    res.setHeader('content-type', 'application/json');
    res.end(req.url === '/active' ? '{"value":5}' : '{"value":0}');
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`PORT ${(server.address() as AddressInfo).port}\n`);
  process.on('SIGTERM', () => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  });
}

async function sourceCount(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/count`, { signal: AbortSignal.timeout(5_000) });
  return Number(await res.text());
}

/** The no-op aggregated API server of `--floor`: a fixed metric list for every namespaced path. */
async function serveFloor(certDir: string): Promise<void> {
  const metricList = JSON.stringify({
    kind: 'ExternalMetricValueList',
    apiVersion: `${FLOOR_GROUP}/v1`,
    metadata: {},
    items: [{ metricName: 'floor', metricLabels: {}, timestamp: '2026-01-01T00:00:00Z', value: '42' }],
  });
  const resourceList = JSON.stringify({ kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${FLOOR_GROUP}/v1`, resources: [] });
  const answer = (requestPath: string) => (requestPath.includes('/namespaces/') ? metricList : resourceList);
  // HTTP/2 streams through the core API, as the adapter answers them, so that the floor is not the
  // compatibility layer's per-request objects; HTTP/1.1 (discovery) through a request handler.
  const { server } = createStreamsAndHttp1Server(
    { cert: readFileSync(path.join(certDir, 'tls.crt')), key: readFileSync(path.join(certDir, 'tls.key')) },
    (stream, headers) => {
      const body = answer(String(headers[':path'] ?? ''));
      stream.respond({ ':status': 200, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      stream.end(body);
    },
    (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(answer(req.url ?? ''));
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`PORT ${(server.address() as { port: number }).port}\n`);
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

const FLOOR_GROUP = 'floor.bench.keda-ts.dev';

/** This script in a child process, in one of its serving modes; resolves with the port it printed, fails if it could not start. */
async function startChild(mode: '--serve-source' | '--serve-floor', ...args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@keda-ts/source', __filename, mode, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`${mode} printed no port within 60 s`)), 60_000);
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /PORT (\d+)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${mode} exited with ${code} before it served`));
    });
  });
  return { child, port };
}

async function main(): Promise<void> {
  if (process.argv.includes('--serve-source')) return serveSource();
  const floorAt = process.argv.indexOf('--serve-floor');
  if (floorAt >= 0) return serveFloor(process.argv[floorAt + 1]);
  const every = activePercent > 0 ? Math.max(1, Math.round(100 / activePercent)) : 0;
  const active = every ? Math.ceil(scaledObjects / every) : 0;
  // kwok Nodes take 110 Pods each: room for every active target's Pod. The HPA controller syncs
  // hourly: its own calls to the adapter (one per active HPA per sync) would add to the measured rate.
  const cp = new LocalControlPlane({ nodes: Math.max(1, Math.ceil(active / 100)), hpaSyncPeriod: '1h', log: () => undefined });
  const info = await cp.start();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keda-ts-adapter-bench-'));
  const apiService = { group: 'external.metrics.k8s.io', version: 'v1beta1', namespace: 'keda', serviceName: 'keda-metrics-apiserver' };
  const floorApiService = { group: FLOOR_GROUP, version: 'v1', namespace: 'keda', serviceName: 'bench-floor' };
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(info.kubeconfig);
  const children: ChildProcess[] = [];
  let apps: RunningApp[] = [];
  let registered = false;
  let floorRegistered = false;
  const client = new KubeClient(kubeConfig, { qps: 2_000, burst: 2_000 });
  try {
    const certs = await writeCertDir(path.join(dir, 'certs'));
    const source = await startChild('--serve-source');
    children.push(source.child);
    const floor = withFloor ? await startChild('--serve-floor', certs.dir) : undefined;
    if (floor) children.push(floor.child);

    await installCrds((args, input) => cp.kubectl(args, input));
    await client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    const setupStarted = performance.now();
    await forEachConcurrently(
      scaledObjects,
      16,
      (i) =>
        createWorkload(client, {
          namespace: NS,
          name: `so-${i}`,
          replicas: every && i % every === 0 ? 1 : 0,
          url: `http://127.0.0.1:${source.port}/${every && i % every === 0 ? 'active' : 'idle'}`,
          pollingInterval,
        }),
      (done) => log('created', { objects: done }),
    );
    log('objects created', { seconds: Math.round((performance.now() - setupStarted) / 1000) });

    // The controller and the adapter as the e2e tests run them: chart identities and RBAC, gRPC over mTLS.
    const grpcPort = await freePort();
    const securePort = await freePort();
    apps = await startApps(
      info.kubeconfig,
      [
        {
          name: 'controller',
          args: [
            `--metrics-service-bind-address=127.0.0.1:${grpcPort}`,
            `--cert-dir=${appCertDir(certs.dir, 'controller')}`,
            `--watch-namespace=${NS}`,
            '--kube-api-qps=300',
            '--kube-api-burst=450',
            '--scaledobject-max-reconciles=20',
            '--log-level=warn',
          ],
        },
        adapterSpec({ securePort, certDir: appCertDir(certs.dir, 'metrics-adapter'), grpcPort, authority: 'keda-operator.keda.svc', extraArgs: ['--log-level=warn'] }),
      ],
      dir,
    );
    const controllerApp = apps.find((a) => a.name === 'controller')!;
    const adapterApp = apps.find((a) => a.name === 'metrics-adapter')!;
    // Every ScaledObject reconciled (Ready, its metric name in the status).
    let metricNames = new Map<string, string>();
    for (const deadline = Date.now() + Math.max(600_000, scaledObjects * 200); ; ) {
      const state = await readyScaledObjects(client, NS);
      metricNames = state.metricNames;
      if (state.ready >= scaledObjects && metricNames.size >= scaledObjects) break;
      if (!controllerApp.process.running) throw new Error(`the controller exited: ${controllerApp.process.logTail(20)}`);
      if (Date.now() > deadline) throw new Error(`only ${state.ready} of ${scaledObjects} ScaledObjects Ready in time`);
      log('waiting for the ScaledObjects to be Ready', { ready: state.ready, withMetricName: metricNames.size });
      await sleep(5_000);
    }
    const readySeconds = Math.round((performance.now() - setupStarted) / 1000);
    log('every ScaledObject Ready', { seconds: readySeconds });

    await registerApiServiceToLocalhost(kubeConfig, { ...apiService, port: securePort, caPem: certs.caPem });
    registered = true;
    // Its certificate does not name the floor's Service; TLS without verification is enough here.
    if (floor) {
      await registerApiServiceToLocalhost(kubeConfig, { ...floorApiService, port: floor.port });
      floorRegistered = true;
      // The HPA controller's account may read the floor's group too: kube-apiserver authorizes it as for external metrics.
      await client.create('/apis/rbac.authorization.k8s.io/v1/clusterroles', {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'bench-floor-reader' },
        rules: [{ apiGroups: [FLOOR_GROUP], resources: ['*'], verbs: ['get', 'list'] }],
      });
      await client.create('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'bench-floor-reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'bench-floor-reader' },
        subjects: [{ kind: 'ServiceAccount', ...HPA_SERVICE_ACCOUNT }],
      });
    }
    const hpaToken = await serviceAccountToken(client, HPA_SERVICE_ACCOUNT.namespace, HPA_SERVICE_ACCOUNT.name);
    const adapterPid = adapterApp.process.pid as number;
    const controllerPid = controllerApp.process.pid as number;
    const apiServerPid = cp.pidOf('kube-apiserver') as number;
    const names = Array.from({ length: scaledObjects }, (_, i) => `so-${i}`);
    const metricPaths = names.map(
      (name) => `/apis/external.metrics.k8s.io/v1beta1/namespaces/${NS}/${metricNames.get(name)}?labelSelector=${encodeURIComponent(`scaledobject.keda.sh/name=${name}`)}`,
    );
    const apiServerAuthority = `127.0.0.1:${info.ports['apiserver']}`;
    const viaApiServer = reconnectingSession({ host: '127.0.0.1', port: info.ports['apiserver'], ca: readFileSync(info.pki.caCert) });
    // Directly, as the aggregator does: front-proxy client cert and X-Remote-* headers.
    const direct = reconnectingSession({
      host: '127.0.0.1',
      port: securePort,
      ca: certs.caPem,
      cert: readFileSync(info.pki.frontProxyClientCert),
      key: readFileSync(info.pki.frontProxyClientKey),
      servername: 'localhost',
    });
    const asHpa = { authorization: `Bearer ${hpaToken}` };
    const targets: Target[] = [
      { name: 'throughAggregatorAsHpaController', connection: viaApiServer, request: getRequests(apiServerAuthority, metricPaths, asHpa), backend: 'adapter' },
      {
        name: 'directToAdapterAsMastersNoSar',
        connection: direct,
        request: getRequests(`127.0.0.1:${securePort}`, metricPaths, { 'X-Remote-User': 'system:kube-controller-manager', 'X-Remote-Group': 'system:masters' }),
        backend: 'adapter',
      },
    ];
    if (floor) {
      targets.push({
        name: 'throughAggregatorToNoOpServer',
        connection: viaApiServer,
        request: getRequests(apiServerAuthority, names.map((n) => `/apis/${FLOOR_GROUP}/v1/namespaces/${NS}/m-${n}`), asHpa),
        backend: 'noOpServer',
      });
    }
    // Each path answers 200 before any load: a refused identity or a broken path fails the run, it is not measured as errors.
    for (const target of targets) {
      for (const i of [0, 1, scaledObjects - 1]) {
        let answer = await probe(target.connection(), target.request(i));
        // A new RBAC binding takes a moment to reach kube-apiserver's authorizer cache.
        for (let retry = 0; answer.status === 403 && retry < 10; retry++) {
          await sleep(1_000);
          answer = await probe(target.connection(), target.request(i));
        }
        if (answer.status !== 200) throw new Error(`${target.name}: ${String(target.request(i)[':path'])} answered ${answer.status}: ${answer.body.slice(0, 300)}`);
      }
    }

    const results: Record<string, unknown> = {
      rps,
      seconds,
      scaledObjects,
      activeScaledObjects: active,
      pollingIntervalSeconds: pollingInterval,
      setup: { createAndReadySeconds: readySeconds },
      controllerIdleRssMiB: rssMiB(controllerPid),
      adapterIdleRssMiB: rssMiB(adapterPid),
    };
    for (const target of targets) {
      // Warm-up at the measured rate (JIT, connections, GC heap sizes), so that the run is steady state.
      await load(target, rps, warmupSeconds);
      // The controller's CPU without metric requests over a window as long as the run: its scale loops poll all along.
      const idle0 = cpuSeconds(controllerPid);
      const idleT0 = performance.now();
      await sleep(Math.min(seconds, 30) * 1000);
      const controllerIdleCores = (cpuSeconds(controllerPid) - idle0) / ((performance.now() - idleT0) / 1000);
      const machine0 = machineTicks();
      const adapterCpu0 = cpuSeconds(adapterPid);
      const floorCpu0 = floor ? cpuSeconds(floor.child.pid as number) : 0;
      const controllerCpu0 = cpuSeconds(controllerPid);
      const apiServerCpu0 = cpuSeconds(apiServerPid);
      const served0 = await sourceCount(source.port);
      const loadCpu0 = process.cpuUsage();
      const t0 = performance.now();
      const r = await load(target);
      const wall = (performance.now() - t0) / 1000;
      const adapterCpu = cpuSeconds(adapterPid) - adapterCpu0;
      const floorCpu = floor ? cpuSeconds(floor.child.pid as number) - floorCpu0 : 0;
      const controllerCpu = cpuSeconds(controllerPid) - controllerCpu0;
      const apiServerCpu = cpuSeconds(apiServerPid) - apiServerCpu0;
      const served = (await sourceCount(source.port)) - served0;
      const loadCpu = process.cpuUsage(loadCpu0);
      const machine = machineTicks();
      const perRequestMs = (cpu: number) => +((cpu * 1000) / r.requests).toFixed(3);
      for (const app of apps) if (!app.process.running) throw new Error(`${app.name} exited during ${target.name}: ${app.process.logTail(20)}`);
      results[target.name] = {
        ...r,
        ...(target.backend === 'adapter'
          ? {
              adapterCpuCores: +(adapterCpu / wall).toFixed(3),
              adapterCpuMsPerRequest: perRequestMs(adapterCpu),
              adapterRssMiB: rssMiB(adapterPid),
              adapterConnections: connectionsTo(securePort),
            }
          : { noOpServerCpuCores: +(floorCpu / wall).toFixed(3), noOpServerCpuMsPerRequest: perRequestMs(floorCpu), noOpServerRssMiB: rssMiB(floor?.child.pid as number) }),
        controllerCpuCores: +(controllerCpu / wall).toFixed(3),
        controllerIdleCpuCores: +controllerIdleCores.toFixed(3),
        // Above its idle CPU (scale loops polling): what the metric requests cost the controller.
        controllerCpuMsPerRequestAboveIdle: perRequestMs(Math.max(0, controllerCpu - controllerIdleCores * wall)),
        controllerRssMiB: rssMiB(controllerPid),
        metricSourceRequestsServed: served,
        apiServerCpuCores: +(apiServerCpu / wall).toFixed(3),
        loadGeneratorCpuCores: +((loadCpu.user + loadCpu.system) / 1e6 / wall).toFixed(3),
        // Everything on the machine, and what the hypervisor took from it: slow runs come with steal.
        machineBusyCores: +((machine.busy - machine0.busy) / 100 / wall).toFixed(2),
        hostStealPercent: +(((machine.steal - machine0.steal) / 100 / wall / machine.cpus) * 100).toFixed(1),
      };
      log('measured', { target: target.name, p99Ms: r.all.p99Ms, failedPercent: r.failedPercent });
    }
    for (const connection of [viaApiServer(), direct()]) connection.close();
    process.stdout.write(JSON.stringify(results, null, 2) + '\n');
  } finally {
    client.close();
    if (registered) await unregisterApiService(kubeConfig, apiService).catch(() => undefined);
    if (floorRegistered) await unregisterApiService(kubeConfig, floorApiService).catch(() => undefined);
    await stopApps(apps);
    for (const child of children) child.kill('SIGTERM');
    await cp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const serving = process.argv.includes('--serve-source') || process.argv.includes('--serve-floor');
main().then(
  // The measuring process ends with its report (no idle connection keeps it); a server keeps serving.
  () => (serving ? undefined : process.exit(0)),
  (err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
