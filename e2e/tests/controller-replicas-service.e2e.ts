/**
 * Several controller replicas behind one Service (issue 18): the chart's gRPC Service keda-operator
 * has no selector, and the leader keeps its EndpointSlice pointing at its own Pod IP. Here two (then
 * three) controllers campaign for one Lease, each serving gRPC on its own loopback address
 * (127.0.0.2, .3, .4). The API server refuses loopback addresses in an EndpointSlice, so each gets a
 * Pod IP of the documentation range (--pod-ip 192.0.2.2, .3, .4) that the loopback "kube-proxy"
 * (e2e/src/service-proxy.ts) translates to its loopback address, as a Pod network would route it; the
 * proxy follows the Service's EndpointSlices and forwards 127.0.0.1:<port> to the ready endpoint; the metrics adapter
 * dials that proxy and is the external metrics APIService. While the test keeps asking the
 * aggregator for the metric, the leader is SIGKILLed, then the next one SIGTERMed: no request fails
 * once the successor is elected, the Service never leads to a standby, and a standby refuses gRPC.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeCertDir } from '../src/certs';
import { adapterSpec, startApps, stopApps, type RunningApp } from '../src/local-system';
import { freePort } from '../src/processes';
import { LoopbackServiceProxy } from '../src/service-proxy';
import {
  acquireClusterLock,
  apply,
  becameLeaderAt,
  deploymentManifest,
  EXTERNAL_METRICS_API_LOCK,
  k8s,
  killHard,
  kubeConfig,
  logLines,
  MetricsSource,
  readClusterInfo,
  registerApiServiceToLocalhost,
  startController,
  unregisterApiService,
  useTestNamespace,
  waitFor,
  type ControllerProcess,
} from '../src/testing';

const ns = useTestNamespace('replicas');
const kc = kubeConfig();
const LEASE = 'keda-ts-e2e-replicas';
const SERVICE = 'keda-operator';
const SLICE = `${SERVICE}-leader`;
const ADAPTER_SERVICE = 'keda-metrics-apiserver';
const SO = 'web';
const METRIC = 's0-metric-api-value';
const VALUE = 7;

const source = new MetricsSource();
const controllers: ControllerProcess[] = [];
/** Each controller's Pod IP (in the slice). */
const addressOf = new Map<ControllerProcess, string>();
/** The Pod network: Pod IP -> the loopback address the process binds. */
const POD_NETWORK: Record<string, string> = { '192.0.2.2': '127.0.0.2', '192.0.2.3': '127.0.0.3', '192.0.2.4': '127.0.0.4' };
let adapter: RunningApp[] = [];
let proxy: LoopbackServiceProxy | undefined;
let releaseLock: (() => void) | undefined;
let registered = false;
let grpcPort = 0;
let dir = '';
let certDir = '';

const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
const apiService = () => ({ group: 'external.metrics.k8s.io', version: 'v1beta1', namespace: ns.name, serviceName: ADAPTER_SERVICE });

async function start(label: string, podIP: string): Promise<ControllerProcess> {
  const local = POD_NETWORK[podIP];
  const c = await startController(readClusterInfo().kubeconfig, label, [
    '--leader-elect',
    `--leader-election-id=${LEASE}`,
    // Short timings: a SIGKILLed leader is replaced within ~6 s instead of ~15 s.
    '--leader-election-lease-duration=6s',
    '--leader-election-renew-deadline=4s',
    '--leader-election-retry-period=1s',
    `--pod-namespace=${ns.name}`,
    `--pod-name=${label}`,
    `--watch-namespace=${ns.name}`,
    // Every replica the same port, as in a Deployment; each on its own address, its "Pod IP".
    `--metrics-service-bind-address=${local}:${grpcPort}`,
    `--pod-ip=${podIP}`,
    `--metrics-service-endpoint-slice=${SERVICE}`,
    `--cert-dir=${certDir}`,
    `--metrics-bind-address=127.0.0.1:${await freePort()}`,
  ], dir);
  controllers.push(c);
  addressOf.set(c, podIP);
  return c;
}

async function readSlice(): Promise<k8s.V1EndpointSlice | undefined> {
  try {
    return await discovery.readNamespacedEndpointSlice({ name: SLICE, namespace: ns.name });
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

/** The slice's ready addresses. */
const readyIn = (s: k8s.V1EndpointSlice | undefined) => (s?.endpoints ?? []).filter((e) => e.conditions?.ready !== false).flatMap((e) => e.addresses);

function refusesGrpc(podIP: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(grpcPort, POD_NETWORK[podIP]);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

interface Request {
  at: number;
  ms: number;
  ok: boolean;
  detail: string;
}

/** One GET of the external metric through the aggregator. */
async function getMetric(): Promise<Request> {
  const at = Date.now();
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const selector = encodeURIComponent(`scaledobject.keda.sh/name=${SO}`);
  const url = new URL(`${kc.getCurrentCluster()?.server}/apis/external.metrics.k8s.io/v1beta1/namespaces/${ns.name}/${METRIC}?labelSelector=${selector}`);
  return new Promise<Request>((resolve) => {
    const req = https.request(url, { ...opts, method: 'GET', timeout: 15_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let value: string | undefined;
        try {
          value = (JSON.parse(body) as { items?: { value?: string }[] }).items?.[0]?.value;
        } catch {
          value = undefined;
        }
        const ok = res.statusCode === 200 && value === String(VALUE);
        resolve({ at, ms: Date.now() - at, ok, detail: ok ? '' : `${res.statusCode} ${body.slice(0, 300)}` });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => resolve({ at, ms: Date.now() - at, ok: false, detail: err.message }));
    req.end();
  });
}

/** Asks for the metric back to back (one every 200 ms at most) until stop() is called. */
function requestLoop(): { requests: Request[]; stop: () => Promise<void> } {
  const requests: Request[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const r = await getMetric();
      requests.push(r);
      const wait = 200 - r.ms;
      if (wait > 0) await new Promise((res) => setTimeout(res, wait));
    }
  })();
  return {
    requests,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

function summarize(label: string, requests: Request[], electedAt: number, eventAt: number, switchedAt: number | undefined) {
  const before = requests.filter((r) => r.at < electedAt);
  const after = requests.filter((r) => r.at >= electedAt);
  const failed = (rs: Request[]) => rs.filter((r) => !r.ok);
  const figures = {
    requests: requests.length,
    failuresBeforeElection: failed(before).length,
    failuresAfterElection: failed(after).length,
    requestsAfterElection: after.length,
    electionAfterMs: electedAt - eventAt,
    serviceSwitchedAfterElectionMs: switchedAt === undefined ? undefined : switchedAt - electedAt,
    lastFailureBeforeElectionMs: failed(before).length ? electedAt - Math.max(...failed(before).map((r) => r.at)) : undefined,
    slowestAfterElectionMs: after.length ? Math.max(...after.map((r) => r.ms)) : 0,
  };
  process.stderr.write(`[controller-replicas-service] ${label}: ${JSON.stringify(figures)}\n`);
  const afterFailures = failed(after).map((r) => `${new Date(r.at).toISOString()} +${r.at - electedAt} ms (${r.ms} ms): ${r.detail}`);
  if (afterFailures.length) process.stderr.write(`[controller-replicas-service] ${label} failures after election:\n  ${afterFailures.join('\n  ')}\n`);
  return { figures, afterFailures };
}

beforeAll(async () => {
  await source.listen();
  source.set('/m', { value: VALUE });
  dir = mkdtempSync(path.join(os.tmpdir(), 'keda-ts-replicas-'));
  grpcPort = await freePort();
  releaseLock = await acquireClusterLock(EXTERNAL_METRICS_API_LOCK);
}, 330_000);

afterAll(async () => {
  try {
    if (registered) await unregisterApiService(kc, apiService()).catch(() => undefined);
    await stopApps([...adapter, ...controllers.map((c) => c.app)]);
    await proxy?.stop();
    await source.close();
    if (dir && process.env['KEDA_E2E_KEEP_STATE'] !== '1') rmSync(dir, { recursive: true, force: true });
  } finally {
    releaseLock?.();
  }
}, 90_000);

describe('controller replicas behind one Service', () => {
  it('the Service leads only to the leader: no failed metric request once a successor is elected', async () => {
    const certs = await writeCertDir(path.join(dir, 'certs'), [`${ADAPTER_SERVICE}.${ns.name}.svc`]);
    certDir = certs.dir;
    // The chart's gRPC Service: no selector, KEDA's name and port.
    await apply(kc, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: SERVICE },
      spec: { type: 'ClusterIP', ports: [{ name: 'metricsservice', port: 9666, targetPort: grpcPort, protocol: 'TCP', appProtocol: 'grpc' }] },
    } as k8s.KubernetesObject, ns.name);
    await apply(kc, deploymentManifest(SO, 1), ns.name);
    await apply(kc, {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata: { name: SO },
      spec: {
        scaleTargetRef: { name: SO },
        pollingInterval: 5,
        minReplicaCount: 1,
        maxReplicaCount: 5,
        triggers: [{ type: 'metrics-api', metadata: { url: source.url('/m'), valueLocation: 'value', targetValue: '5' } }],
      },
    } as k8s.KubernetesObject, ns.name);

    proxy = new LoopbackServiceProxy({ kubeConfig: kc, namespace: ns.name, serviceName: SERVICE, portName: 'metricsservice', podNetwork: POD_NETWORK });
    await proxy.start();

    const [a, b] = await Promise.all([start('ctrl-a', '192.0.2.2'), start('ctrl-b', '192.0.2.3')]);
    const leader = await waitFor(() => [a, b].find((c) => becameLeaderAt(c).length === 1), { description: 'a leader', timeoutMs: 30_000, intervalMs: 100 });
    const standby = leader === a ? b : a;
    const slice = await waitFor(async () => {
      const s = await readSlice();
      return readyIn(s).join() === addressOf.get(leader) ? s : undefined;
    }, { description: `the EndpointSlice ${SLICE} naming ${leader.label}`, timeoutMs: 20_000, intervalMs: 100 });
    expect(slice.metadata?.labels).toMatchObject({ 'kubernetes.io/service-name': SERVICE, 'endpointslice.kubernetes.io/managed-by': 'keda-ts-controller' });
    expect(slice.metadata?.ownerReferences).toEqual([expect.objectContaining({ kind: 'Service', name: SERVICE, controller: true })]);
    expect(slice.ports).toEqual([expect.objectContaining({ name: 'metricsservice', port: grpcPort, protocol: 'TCP' })]);
    expect(slice.endpoints?.[0]).toMatchObject({ addresses: [addressOf.get(leader)], conditions: { ready: true, serving: true, terminating: false }, targetRef: { kind: 'Pod', name: leader.label } });
    const serviceProxy = proxy;
    await waitFor(() => serviceProxy.endpoints.map((e) => e.address).join() === addressOf.get(leader), { description: 'the proxy following the slice', timeoutMs: 10_000, intervalMs: 100 });

    // A standby is Ready but refuses gRPC: it can never answer GetMetrics, right or wrong.
    expect(await refusesGrpc(addressOf.get(standby) ?? '')).toBe(true);

    // The leader keeps its slice: deleted, it is re-created; changed, it is put right.
    let t = Date.now();
    await discovery.deleteNamespacedEndpointSlice({ name: SLICE, namespace: ns.name });
    await waitFor(async () => readyIn(await readSlice()).join() === addressOf.get(leader), { description: 'the slice re-created', timeoutMs: 15_000, intervalMs: 100 });
    const recreatedMs = Date.now() - t;
    t = Date.now();
    const current = await readSlice();
    if (!current) throw new Error(`${SLICE} is gone`);
    await discovery.replaceNamespacedEndpointSlice({
      name: SLICE,
      namespace: ns.name,
      body: { ...current, endpoints: [{ addresses: ['192.0.2.9'], conditions: { ready: true } }] },
    });
    await waitFor(async () => readyIn(await readSlice()).join() === addressOf.get(leader), { description: 'the slice put right', timeoutMs: 15_000, intervalMs: 100 });
    const fixedMs = Date.now() - t;
    process.stderr.write(`[controller-replicas-service] slice re-created after ${recreatedMs} ms, drift fixed after ${fixedMs} ms\n`);

    // The adapter dials the Service (the proxy), and is the external metrics API.
    const adapterStartedAt = Date.now();
    const securePort = await freePort();
    mkdirSync(path.join(dir, 'adapter'), { recursive: true });
    adapter = await startApps(readClusterInfo().kubeconfig, [
      adapterSpec({ securePort, metricsPort: await freePort(), certDir: certs.dir, controller: proxy.address, authority: 'keda-operator.keda.svc' }),
    ], path.join(dir, 'adapter'));
    await registerApiServiceToLocalhost(kc, { ...apiService(), port: securePort, caPem: certs.caPem });
    registered = true;
    await waitFor(async () => (await getMetric()).ok, { description: 'the metric through the aggregator', timeoutMs: 60_000, intervalMs: 250 });

    // SIGKILL of the leader: nothing unpublishes it; the successor overwrites the slice.
    let loop = requestLoop();
    await new Promise((r) => setTimeout(r, 3_000));
    const killedAt = Date.now();
    await killHard(leader);
    await waitFor(() => becameLeaderAt(standby).length === 1, { description: `${standby.label} taking over`, timeoutMs: 30_000, intervalMs: 100 });
    const electedB = becameLeaderAt(standby)[0];
    await new Promise((r) => setTimeout(r, 10_000));
    await loop.stop();
    const switchB = proxy.history.find((h) => h.at >= killedAt && h.endpoints.join() === `${addressOf.get(standby)}:${grpcPort}`)?.at;
    const killed = summarize('SIGKILL', loop.requests, electedB, killedAt, switchB);

    // SIGTERM of the leader: it marks itself terminating in the slice, releases the Lease, and the
    // standby started meanwhile takes over at once.
    const third = await start('ctrl-c', '192.0.2.4');
    expect(await refusesGrpc('192.0.2.4')).toBe(true);
    loop = requestLoop();
    await new Promise((r) => setTimeout(r, 3_000));
    const stoppedAt = Date.now();
    const stopping = standby.app.process.stop(20_000);
    await waitFor(() => becameLeaderAt(third).length === 1, { description: `${third.label} taking over after SIGTERM`, timeoutMs: 30_000, intervalMs: 100 });
    const electedC = becameLeaderAt(third)[0];
    await stopping;
    await new Promise((r) => setTimeout(r, 10_000));
    await loop.stop();
    const switchC = proxy.history.find((h) => h.at >= stoppedAt && h.endpoints.join() === `192.0.2.4:${grpcPort}`)?.at;
    const termed = summarize('SIGTERM', loop.requests, electedC, stoppedAt, switchC);
    const stoppedLog = logLines(standby.logFile).map((l) => l.msg);
    expect(stoppedLog).toContain('marked this replica not ready in the leader EndpointSlice');
    expect(stoppedLog.indexOf('marked this replica not ready in the leader EndpointSlice')).toBeLessThan(stoppedLog.indexOf('released the leader election lease'));

    // From the adapter's start on (before it, the test itself changed the slice), the Service only ever
    // led to one address at a time, and only to a replica that led by then.
    for (const h of proxy.history.filter((x) => x.at >= adapterStartedAt)) {
      expect(h.endpoints.length).toBeLessThanOrEqual(1);
      const owner = controllers.find((c) => h.endpoints[0] === `${addressOf.get(c)}:${grpcPort}`);
      if (h.endpoints.length) expect(owner && becameLeaderAt(owner).some((at) => at <= h.at + 50)).toBe(true);
    }
    process.stderr.write(`[controller-replicas-service] proxy history: ${JSON.stringify(proxy.history.map((h) => ({ at: new Date(h.at).toISOString(), endpoints: h.endpoints })))}\n`);
    expect(readyIn(await readSlice())).toEqual(['192.0.2.4']);

    expect(killed.afterFailures).toEqual([]);
    expect(termed.afterFailures).toEqual([]);
    expect(killed.figures.requestsAfterElection).toBeGreaterThan(20);
    expect(termed.figures.requestsAfterElection).toBeGreaterThan(20);
  }, 300_000);
});
