/**
 * Controller crashes and restarts in the middle of scaling (issue 9), through the whole loop:
 * metrics-api source -> controller (leader-elected, two replicas) -> adapter -> real HPA. Five
 * ScaledObjects scale out and back in while the leader is SIGKILLed twice: every target ends at
 * its expected count and none is ever scaled to 0 while its source is active. A graceful handover
 * during a cooldown neither resets nor skips it (lastActiveTime survives). The audit log shows one
 * writer at a time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeCertDir } from '../src/certs';
import { adapterSpec, startApps, stopApps, type RunningApp } from '../src/local-system';
import { freePort } from '../src/processes';
import {
  acquireClusterLock,
  apply,
  auditedWrites,
  becameLeaderAt,
  deploymentManifest,
  EXTERNAL_METRICS_API_LOCK,
  k8s,
  killHard,
  kubeConfig,
  MetricsSource,
  readClusterInfo,
  readObject,
  registerApiServiceToLocalhost,
  startController,
  unregisterApiService,
  useTestNamespace,
  waitFor,
  type ControllerProcess,
} from '../src/testing';

const ns = useTestNamespace('crash');
const kc = kubeConfig();
const SERVICE = 'keda-metrics-apiserver';
const LEASE = 'keda-ts-crash';
const apiService = () => ({ group: 'external.metrics.k8s.io', version: 'v1beta1', namespace: ns.name, serviceName: SERVICE });
const source = new MetricsSource();
const controllers: ControllerProcess[] = [];
let adapter: RunningApp[] = [];
let dir = '';
let certDir = '';
let grpcPort = 0;
let registered = false;
let releaseLock: (() => void) | undefined;
const appsApi = kc.makeApiClient(k8s.AppsV1Api);
const coordination = kc.makeApiClient(k8s.CoordinationV1Api);

async function startReplica(label: string): Promise<ControllerProcess> {
  const c = await startController(readClusterInfo().kubeconfig, label, [
    '--leader-elect',
    `--leader-election-id=${LEASE}`,
    `--pod-namespace=${ns.name}`,
    `--watch-namespace=${ns.name}`,
    `--metrics-service-bind-address=127.0.0.1:${grpcPort}`,
    `--cert-dir=${certDir}`,
    `--metrics-bind-address=127.0.0.1:${await freePort()}`,
  ], dir);
  controllers.push(c);
  return c;
}

async function leader(): Promise<ControllerProcess> {
  let holder: string | undefined;
  return waitFor(
    async () => {
      holder = (await coordination.readNamespacedLease({ name: LEASE, namespace: ns.name })).spec?.holderIdentity ?? undefined;
      const c = controllers.find((x) => x.identity === holder);
      return c && becameLeaderAt(c).length > 0 && c.app.process.running ? c : undefined;
    },
    { description: () => `a running leader (Lease holder ${holder})`, timeoutMs: 40_000, intervalMs: 200 },
  );
}

/** Replica counts of the test's Deployments over time, sampled every 250 ms. */
const history: { at: number; replicas: Record<string, number> }[] = [];
let sampling = false;
async function sample(): Promise<void> {
  while (sampling) {
    try {
      const list = await appsApi.listNamespacedDeployment({ namespace: ns.name });
      history.push({ at: Date.now(), replicas: Object.fromEntries(list.items.map((d) => [d.metadata?.name ?? '', d.spec?.replicas ?? 0])) });
    } catch {
      /* the next sample */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
const latest = (name: string) => history.at(-1)?.replicas[name];

beforeAll(async () => {
  releaseLock = await acquireClusterLock(EXTERNAL_METRICS_API_LOCK);
  await source.listen();
  dir = mkdtempSync(path.join(os.tmpdir(), 'keda-ts-crash-'));
  const certs = await writeCertDir(path.join(dir, 'certs'), [`${SERVICE}.${ns.name}.svc`]);
  certDir = certs.dir;
  grpcPort = await freePort();
  const securePort = await freePort();
  await startReplica('ctrl-a');
  await startReplica('ctrl-b');
  adapter = await startApps(
    readClusterInfo().kubeconfig,
    [
      adapterSpec({ securePort, metricsPort: await freePort(), certDir: certDir, grpcPort, authority: 'keda-operator.keda.svc' }),
    ],
    path.join(dir),
  );
  await registerApiServiceToLocalhost(kc, { ...apiService(), port: securePort, caPem: certs.caPem });
  registered = true;
  sampling = true;
  void sample();
}, 240_000);

afterAll(async () => {
  sampling = false;
  if (registered) await unregisterApiService(kc, apiService());
  await stopApps([...adapter, ...controllers.map((c) => c.app)]);
  await source.close();
  if (dir && process.env['KEDA_E2E_KEEP_STATE'] !== '1') rmSync(dir, { recursive: true, force: true });
  releaseLock?.();
}, 90_000);

async function scaledObject(name: string, cooldownPeriod: number, maxReplicaCount = 6): Promise<void> {
  await apply(kc, deploymentManifest(name, 0), ns.name);
  await apply(
    kc,
    {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata: { name },
      spec: {
        scaleTargetRef: { name },
        pollingInterval: 1,
        cooldownPeriod,
        minReplicaCount: 0,
        maxReplicaCount,
        triggers: [{ type: 'metrics-api', metadata: { url: source.url(`/${name}`), valueLocation: 'value', targetValue: '10', activationTargetValue: '5' } }],
      },
    } as k8s.KubernetesObject,
    ns.name,
  );
}

async function allAt(expected: Record<string, number>, what: string, timeoutMs = 150_000): Promise<void> {
  await waitFor(() => Object.entries(expected).every(([n, want]) => latest(n) === want), {
    description: () => `${what}: want ${JSON.stringify(expected)}, now ${JSON.stringify(history.at(-1)?.replicas)}`,
    timeoutMs,
    intervalMs: 300,
  });
}

const names = ['w0', 'w1', 'w2', 'w3', 'w4'];

describe('controller crashes while scaling', () => {
  it('five ScaledObjects scale out and back in across two SIGKILLed leaders: every target ends where expected, none drops to 0 while active', async () => {
    for (const n of names) {
      source.set(`/${n}`, { value: 0 });
      await scaledObject(n, 3);
    }
    await allAt(Object.fromEntries(names.map((n) => [n, 0])), 'idle targets');

    // Out: source i reports 10 x (i + 2), so the HPA wants i + 2 replicas (2..6).
    const activeSince = Date.now();
    names.forEach((n, i) => source.set(`/${n}`, { value: 10 * (i + 2) }));
    await waitFor(() => names.filter((n) => (latest(n) ?? 0) >= 1).length >= 3, { description: 'scale-out under way', timeoutMs: 60_000, intervalMs: 100 });
    const first = await leader();
    await killHard(first);
    await startReplica('ctrl-c');
    await allAt(Object.fromEntries(names.map((n, i) => [n, i + 2])), 'scaled out after the first crash');

    // Back in to 1 each (value 10: active, one replica), with the next leader killed half-way.
    names.forEach((n) => source.set(`/${n}`, { value: 10 }));
    await waitFor(() => names.filter((n) => latest(n) === 1).length >= 2, { description: 'scale-in under way', timeoutMs: 90_000, intervalMs: 100 });
    const second = await leader();
    expect(second.identity).not.toBe(first.identity);
    await killHard(second);
    await startReplica('ctrl-d');
    await allAt(Object.fromEntries(names.map((n) => [n, 1])), 'scaled in to 1 after the second crash');
    const activeUntil = Date.now();

    // None ever went to 0 while its source was active.
    const window = history.filter((h) => h.at > activeSince && h.at < activeUntil);
    const drops = names.flatMap((n) => {
      const activated = window.findIndex((h) => (h.replicas[n] ?? 0) > 0);
      return window.slice(activated).filter((h) => h.replicas[n] === 0).map((h) => `${n} at ${new Date(h.at).toISOString()}`);
    });
    expect(drops).toEqual([]);
    expect(names.every((n) => window.some((h) => (h.replicas[n] ?? 0) > 0))).toBe(true);

    // Idle: the controller deactivates every target after its cooldown.
    names.forEach((n) => source.set(`/${n}`, { value: 0 }));
    await allAt(Object.fromEntries(names.map((n) => [n, 0])), 'deactivated', 90_000);
  }, 600_000);

  it('a graceful handover during a cooldown keeps lastActiveTime: the target idles at lastActiveTime + cooldownPeriod, not earlier, not later', async () => {
    const COOLDOWN_S = 30;
    source.set('/cool', { value: 8 });
    await scaledObject('cool', COOLDOWN_S, 3);
    await allAt({ cool: 1 }, 'cool activated', 60_000);
    const readLastActive = async () =>
      (
        await readObject<k8s.KubernetesObject & { status?: { lastActiveTime?: string } }>(kc, {
          apiVersion: 'keda.sh/v1alpha1',
          kind: 'ScaledObject',
          name: 'cool',
          namespace: ns.name,
        })
      )?.status?.lastActiveTime;
    // Active polls move lastActiveTime on (beyond the activation) ...
    const activatedAt = await readLastActive();
    await waitFor(async () => (await readLastActive()) !== activatedAt, { description: 'lastActiveTime moving on while active', timeoutMs: 30_000 });
    source.set('/cool', { value: 0 });
    const idleSince = Date.now();
    // ... and settles on the last active poll.
    let lastActive = await readLastActive();
    await waitFor(
      async () => {
        await new Promise((r) => setTimeout(r, 2_500));
        const now = await readLastActive();
        const settled = now === lastActive;
        lastActive = now;
        return settled;
      },
      { description: 'lastActiveTime settling', timeoutMs: 30_000, intervalMs: 10 },
    );
    const lastActiveAt = Date.parse(lastActive ?? '');
    expect(Number.isNaN(lastActiveAt)).toBe(false);

    const current = await leader();
    await current.app.process.stop(20_000);
    const next = await leader();
    expect(next.identity).not.toBe(current.identity);
    expect(await readLastActive()).toBe(lastActive);

    await allAt({ cool: 0 }, 'cool idled after its cooldown', 90_000);
    const idledAt = history.find((h) => h.at > idleSince && h.replicas['cool'] === 0)?.at ?? 0;
    const afterMs = idledAt - lastActiveAt;
    const transitions = history
      .filter((h, i) => i > 0 && h.replicas['cool'] !== history[i - 1].replicas['cool'])
      .map((h) => `${new Date(h.at).toISOString()} ${h.replicas['cool']}`);
    process.stderr.write(
      `[controller-restart] idled ${afterMs} ms after lastActiveTime ${lastActive} (cooldown ${COOLDOWN_S} s); source idle since ${new Date(idleSince).toISOString()}; replicas of cool: ${transitions.join(', ')}\n`,
    );
    // lastActiveTime has second precision; a reset cooldown would idle >= 30 s after the handover,
    // a skipped one right after it.
    expect(afterMs).toBeGreaterThanOrEqual(COOLDOWN_S * 1000 - 1000);
    expect(afterMs).toBeLessThan(COOLDOWN_S * 1000 + 8_000);
    expect(await readLastActive()).toBe(lastActive);
  }, 300_000);

  it('the audit log shows one writer at a time, in leadership order', () => {
    const writerOf = (ua: string) => controllers.find((c) => ua.includes(c.identity))?.identity;
    const writers = auditedWrites(readClusterInfo().auditLog, ns.name)
      .filter((w) => w.resource !== 'leases')
      .map((w) => writerOf(w.userAgent))
      .filter((w): w is string => w !== undefined);
    const runs = writers.filter((w, i) => i === 0 || writers[i - 1] !== w);
    // Each leader's writes form one run; no leader writes again after its successor started.
    expect(new Set(runs).size).toBe(runs.length);
    expect(runs.length).toBeGreaterThanOrEqual(3);
  });
});
