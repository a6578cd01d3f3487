/**
 * Metrics adapter benchmark (issue 4): metric requests at a steady rate through the aggregation
 * layer (kube-apiserver -> adapter) and directly to the adapter, for a bounded time, with a fake
 * controller over gRPC (mTLS, in a process of its own) answering for 10,000 ScaledObjects. Reports
 * mean/p50/p99/p99.9, errors, and the adapter's and the controller's CPU and memory. Each path is
 * warmed up at the measured rate for 10 s first. The whole machine's busy cores and the share of CPU
 * time the hypervisor stole are reported too: on a shared 2-core VM they move the tail run to run.
 *
 * `--floor` adds a third run: the same load through the aggregator to a no-op HTTP/2 server
 * registered as an APIService of its own (a fixed answer, no authentication, no gRPC). That is the
 * latency kube-apiserver and the load generator cost on this machine, which the adapter adds to.
 *
 * The load generator speaks HTTP/2 with node:http2's client, one connection per target, as client-go
 * does. Its own garbage collections (10-25 ms every few seconds at 700 requests/s, measured with the
 * hand-written client this project no longer has) count as the servers' latency: read the tail with that in mind.
 *
 *   node --import tsx --conditions=@keda-ts/source e2e/bench/metrics-adapter.ts [--rps 700] [--seconds 60] [--floor]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http2 from 'node:http2';
import * as os from 'node:os';
import * as path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { createStreamsAndHttp1Server } from '@keda-ts/external-metrics';
import { createMetricsServer } from '@keda-ts/metrics-service';
import { writeCertDir } from '../src/certs';
import { LocalControlPlane } from '../src/control-plane';
import { adapterSpec, startApps, stopApps } from '../src/local-system';
import { freePort } from '../src/processes';
import { registerApiServiceToLocalhost, unregisterApiService } from '../src/testing/registration';
import { http2Request, openLoop, reconnectingSession, type OpenLoopResult } from './open-loop';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const rps = arg('rps', 700);
const withFloor = process.argv.includes('--floor');
const seconds = arg('seconds', 60);
const scaledObjects = 10_000;
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 10 ms
}
/** Whole-machine CPU ticks (10 ms): busy (user, nice, system, irq, softirq) and stolen by the hypervisor. */
function machineTicks(): { busy: number; steal: number; cpus: number } {
  const lines = readFileSync('/proc/stat', 'utf8').split('\n');
  const [user, nice, system, , , irq, softirq, steal] = lines[0].split(/\s+/).slice(1).map(Number);
  return { busy: user + nice + system + irq + softirq, steal, cpus: lines.filter((l) => /^cpu\d/.test(l)).length };
}
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

interface Target {
  name: string;
  /** An open HTTP/2 session, as client-go (the HPA controller) and the aggregator talk; a new one after a GOAWAY. */
  connection: () => http2.ClientHttp2Session;
  /** The request headers of request `i`. */
  request: (i: number) => http2.OutgoingHttpHeaders;
  /** The process that answers (the adapter, or the no-op server). */
  backendPid: number;
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

/** Established TCP connections to a local port (each loopback connection is listed once per end). */
function connectionsTo(port: number): number {
  const out = spawnSync('ss', ['-Htn', 'state', 'established', `( sport = :${port} )`], { encoding: 'utf8' }).stdout ?? '';
  return out.split('\n').filter((l) => l.trim()).length;
}

/** The fake controller in a process of its own, so that its CPU and memory can be read. */
async function serveController(certDir: string): Promise<void> {
  const controller = createMetricsServer({
    provider: { getMetrics: async (ref) => [{ metricName: ref.metricName, timestamp: new Date(), value: 42 }] },
    tls: { certDir },
    bindAddress: '127.0.0.1',
    port: 0,
    logger: silent,
  });
  const port = await controller.start();
  process.stdout.write(`PORT ${port}\n`);
  process.on('SIGTERM', () => void controller.stop().then(() => process.exit(0)));
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

/** This script in a child process, in one of its serving modes; resolves with the port it printed. */
async function startChild(mode: '--serve-controller' | '--serve-floor', certDir: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@keda-ts/source', __filename, mode, certDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /PORT (\d+)/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`${mode} exited with ${code}`)));
  });
  return { child, port };
}

async function main(): Promise<void> {
  const serveAt = process.argv.indexOf('--serve-controller');
  if (serveAt >= 0) return serveController(process.argv[serveAt + 1]);
  const floorAt = process.argv.indexOf('--serve-floor');
  if (floorAt >= 0) return serveFloor(process.argv[floorAt + 1]);
  const cp = new LocalControlPlane({ nodes: 1, log: () => undefined });
  const info = await cp.start();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keda-ts-adapter-bench-'));
  const apiService = { group: 'external.metrics.k8s.io', version: 'v1beta1', namespace: 'keda', serviceName: 'keda-metrics-apiserver' };
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(info.kubeconfig);
  const certs = await writeCertDir(path.join(dir, 'certs'));
  const controller = await startChild('--serve-controller', certs.dir);
  const floor = withFloor ? await startChild('--serve-floor', certs.dir) : undefined;
  const floorApiService = { group: FLOOR_GROUP, version: 'v1', namespace: 'keda', serviceName: 'bench-floor' };
  const grpcPort = controller.port;
  const securePort = await freePort();
  const apps = await startApps(
    info.kubeconfig,
    [
      adapterSpec({ securePort, metricsPort: await freePort(), certDir: certs.dir, grpcPort, authority: 'keda-operator.keda.svc', extraArgs: ['--log-level=warn'] }),
    ],
    dir,
  );
  try {
    await registerApiServiceToLocalhost(kubeConfig, { ...apiService, port: securePort, caPem: certs.caPem });
    // Its certificate does not name the floor's Service; TLS without verification is enough here.
    if (floor) await registerApiServiceToLocalhost(kubeConfig, { ...floorApiService, port: floor.port });
    const pid = apps[0].process.pid as number;
    const controllerPid = controller.child.pid as number;
    const apiServerPid = cp.pidOf('kube-apiserver') as number;
    const metricPath = (i: number) =>
      `/apis/external.metrics.k8s.io/v1beta1/namespaces/bench/s0-metric-${i % scaledObjects}?labelSelector=${encodeURIComponent(`scaledobject.keda.sh/name=so-${i % scaledObjects}`)}`;
    const admin = { ca: readFileSync(info.pki.caCert), cert: readFileSync(info.pki.adminCert), key: readFileSync(info.pki.adminKey) };
    const results: Record<string, unknown> = { rps, seconds, scaledObjects };
    // Through the aggregator, as the HPA controller calls it (admin is system:masters: no SubjectAccessReview).
    const apiServerAuthority = `127.0.0.1:${info.ports['apiserver']}`;
    const viaApiServer = reconnectingSession({ host: '127.0.0.1', port: info.ports['apiserver'], ...admin });
    // Directly, as the aggregator does: front-proxy client cert and X-Remote-User headers.
    const direct = reconnectingSession({
      host: '127.0.0.1',
      port: securePort,
      ca: certs.caPem,
      cert: readFileSync(info.pki.frontProxyClientCert),
      key: readFileSync(info.pki.frontProxyClientKey),
      servername: 'localhost',
    });
    const metricPaths = Array.from({ length: scaledObjects }, (_, i) => metricPath(i));
    const targets: Target[] = [
      { name: 'throughAggregator', connection: viaApiServer, request: getRequests(apiServerAuthority, metricPaths), backendPid: pid },
      {
        name: 'directToAdapter',
        connection: direct,
        request: getRequests(`127.0.0.1:${securePort}`, metricPaths, { 'X-Remote-User': 'system:kube-controller-manager', 'X-Remote-Group': 'system:masters' }),
        backendPid: pid,
      },
    ];
    if (floor) {
      targets.push({
        name: 'throughAggregatorToNoOpServer',
        connection: viaApiServer,
        request: getRequests(apiServerAuthority, Array.from({ length: scaledObjects }, (_, i) => `/apis/${FLOOR_GROUP}/v1/namespaces/bench/m-${i}`)),
        backendPid: floor.child.pid as number,
      });
    }
    for (const target of targets) {
      // Warm-up at the measured rate (JIT, connections, GC heap sizes), so that the run is steady state.
      await load(target, rps, 10);
      const machine0 = machineTicks();
      const cpu0 = cpuSeconds(target.backendPid);
      const controllerCpu0 = cpuSeconds(controllerPid);
      const apiServerCpu0 = cpuSeconds(apiServerPid);
      const loadCpu0 = process.cpuUsage();
      const t0 = performance.now();
      const r = await load(target);
      const wall = (performance.now() - t0) / 1000;
      const backendCpu = cpuSeconds(target.backendPid) - cpu0;
      const controllerCpu = cpuSeconds(controllerPid) - controllerCpu0;
      const apiServerCpu = cpuSeconds(apiServerPid) - apiServerCpu0;
      const loadCpu = process.cpuUsage(loadCpu0);
      const machine = machineTicks();
      const backend = target.backendPid === pid ? 'adapter' : 'noOpServer';
      results[target.name] = {
        ...r,
        [`${backend}CpuCores`]: +(backendCpu / wall).toFixed(3),
        [`${backend}CpuMsPerRequest`]: +((backendCpu * 1000) / r.requests).toFixed(3),
        [`${backend}RssMiB`]: +rssMiB(target.backendPid).toFixed(1),
        ...(backend === 'adapter'
          ? {
              controllerCpuCores: +(controllerCpu / wall).toFixed(3),
              controllerCpuMsPerRequest: +((controllerCpu * 1000) / r.requests).toFixed(3),
              controllerRssMiB: +rssMiB(controllerPid).toFixed(1),
              adapterConnections: connectionsTo(securePort),
            }
          : {}),
        apiServerCpuCores: +(apiServerCpu / wall).toFixed(3),
        loadGeneratorCpuCores: +((loadCpu.user + loadCpu.system) / 1e6 / wall).toFixed(3),
        // Everything on the machine, and what the hypervisor took from it: slow runs come with steal.
        machineBusyCores: +((machine.busy - machine0.busy) / 100 / wall).toFixed(2),
        hostStealPercent: +(((machine.steal - machine0.steal) / 100 / wall / machine.cpus) * 100).toFixed(1),
      };
    }
    for (const connection of [viaApiServer(), direct()]) void Promise.resolve(connection).then((c) => c.close());
    process.stdout.write(JSON.stringify(results, null, 2) + '\n');
  } finally {
    await unregisterApiService(kubeConfig, apiService).catch(() => undefined);
    if (floor) {
      await unregisterApiService(kubeConfig, floorApiService).catch(() => undefined);
      floor.child.kill('SIGTERM');
    }
    await stopApps(apps);
    controller.child.kill('SIGTERM');
    await cp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
