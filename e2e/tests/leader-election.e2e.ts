/**
 * Leader election between controller processes on the real control plane (issue 9): exactly one
 * of two leads; a SIGKILLed leader is replaced within 17 s; a SIGTERMed one hands over at once;
 * at no moment do two processes write scale, status or HPAs (checked in the API server's audit
 * log, where each process's User-Agent carries its identity); only the leader serves gRPC.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeCertDir } from '../src/certs';
import { stopApps } from '../src/local-system';
import { freePort } from '../src/processes';
import {
  apply,
  auditedWrites,
  becameLeaderAt,
  deploymentManifest,
  k8s,
  killHard,
  kubeConfig,
  logLines,
  MetricsSource,
  readClusterInfo,
  startController,
  useTestNamespace,
  waitFor,
  type ControllerProcess,
} from '../src/testing';

const ns = useTestNamespace('lease');
const kc = kubeConfig();
const LEASE = 'keda-ts-e2e-lease';
const source = new MetricsSource();
const controllers: ControllerProcess[] = [];
let grpcPort = 0;
let dir = '';
let certDir = '';

const coordination = kc.makeApiClient(k8s.CoordinationV1Api);
const apps = kc.makeApiClient(k8s.AppsV1Api);

async function holder(): Promise<string | undefined> {
  try {
    const lease = await coordination.readNamespacedLease({ name: LEASE, namespace: ns.name });
    return lease.spec?.holderIdentity || undefined;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

async function start(label: string): Promise<ControllerProcess> {
  return startController(readClusterInfo().kubeconfig, label, [
    '--leader-elect',
    `--leader-election-id=${LEASE}`,
    `--pod-namespace=${ns.name}`,
    `--pod-name=${label}`,
    `--watch-namespace=${ns.name}`,
    // Every controller is configured with the same gRPC address, as behind one Service: only the leader binds it.
    `--metrics-service-bind-address=127.0.0.1:${grpcPort}`,
    `--cert-dir=${certDir}`,
    `--metrics-bind-address=127.0.0.1:${await freePort()}`,
  ], dir).then((c) => {
    controllers.push(c);
    return c;
  });
}

function grpcListening(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(grpcPort, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

const replicas = async (name: string) => (await apps.readNamespacedDeployment({ name, namespace: ns.name })).spec?.replicas;

/** Whose writes these are: the identity inside the User-Agent. */
function writerOf(userAgent: string): string | undefined {
  return controllers.find((c) => userAgent.includes(c.identity))?.identity;
}

beforeAll(async () => {
  await source.listen();
  dir = mkdtempSync(path.join(os.tmpdir(), 'keda-ts-lease-'));
  certDir = (await writeCertDir(path.join(dir, 'certs'))).dir;
  grpcPort = await freePort();
});

afterAll(async () => {
  await stopApps(controllers.map((c) => c.app));
  await source.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('leader election between two controllers', () => {
  it('one leads, a SIGKILLed leader is replaced within 17 s, a SIGTERMed one at once, and writes never overlap', async () => {
    // Three ScaledObjects whose sources flip between active and idle, so the leader keeps writing
    // /scale and status the whole time.
    const names = ['flip-a', 'flip-b', 'flip-c'];
    for (const name of names) {
      source.set(`/${name}`, { value: 0 });
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
            cooldownPeriod: 1,
            minReplicaCount: 0,
            maxReplicaCount: 3,
            triggers: [{ type: 'metrics-api', metadata: { url: source.url(`/${name}`), valueLocation: 'value', targetValue: '5', activationTargetValue: '5' } }],
          },
        } as k8s.KubernetesObject,
        ns.name,
      );
    }
    let flipping = true;
    let active = false;
    const flipper = (async () => {
      while (flipping) {
        active = !active;
        for (const name of names) source.set(`/${name}`, { value: active ? 50 : 0 });
        await new Promise((r) => setTimeout(r, 3_000));
      }
    })();

    try {
      const [a, b] = await Promise.all([start('ctrl-a'), start('ctrl-b')]);
      const first = await waitFor(async () => {
        const h = await holder();
        return h && [a, b].some((c) => c.identity === h) ? h : undefined;
      }, {
        description: 'a holder of the Lease',
        timeoutMs: 30_000,
      });
      const leader = [a, b].find((c) => c.identity === first)!;
      const standby = leader === a ? b : a;
      await waitFor(() => becameLeaderAt(leader).length === 1, { description: `${leader.label} logging that it leads`, timeoutMs: 10_000 });
      expect(becameLeaderAt(standby)).toEqual([]);
      await waitFor(grpcListening, { description: 'the leader serving gRPC', timeoutMs: 15_000 });

      // The leader scales: every target follows the flipping source.
      await waitFor(async () => (await Promise.all(names.map(replicas))).every((r) => r === 1), { description: 'targets activated by the leader', timeoutMs: 30_000 });
      await new Promise((r) => setTimeout(r, 4_000));
      expect(becameLeaderAt(standby)).toEqual([]);

      const killedAt = Date.now();
      await killHard(leader);
      await waitFor(async () => (await holder()) === standby.identity && becameLeaderAt(standby).length === 1, {
        description: `${standby.label} taking over`,
        timeoutMs: 25_000,
        intervalMs: 100,
      });
      const takeoverMs = becameLeaderAt(standby)[0] - killedAt;
      process.stderr.write(`[leader-election] takeover after SIGKILL: ${takeoverMs} ms\n`);
      expect(takeoverMs).toBeLessThan(17_000);
      await waitFor(grpcListening, { description: 'the new leader serving gRPC', timeoutMs: 15_000 });
      // The new leader scales: the targets follow the flips again.
      const seen = new Set<number>();
      await waitFor(
        async () => {
          seen.add((await replicas(names[0])) ?? -1);
          return seen.has(0) && seen.has(1);
        },
        { description: 'the new leader scaling flip-a both ways', timeoutMs: 30_000, intervalMs: 250 },
      );

      // A restarted replica joins as a standby; a graceful stop of the leader hands over at once.
      const third = await start('ctrl-c');
      await new Promise((r) => setTimeout(r, 3_000));
      expect(becameLeaderAt(third)).toEqual([]);
      const stoppedAt = Date.now();
      await standby.app.process.stop(20_000);
      await waitFor(() => becameLeaderAt(third).length === 1, { description: `${third.label} taking over after SIGTERM`, timeoutMs: 15_000, intervalMs: 100 });
      const handoverMs = becameLeaderAt(third)[0] - stoppedAt;
      // The graceful path: loops and reconciles drained, then the Lease released, then a clean exit.
      const stoppedLog = logLines(standby.logFile).map((l) => l.msg);
      expect(stoppedLog).toEqual(expect.arrayContaining(['stopped leading', 'released the leader election lease', 'shutdown complete']));
      expect(stoppedLog.indexOf('released the leader election lease')).toBeLessThan(stoppedLog.indexOf('shutdown complete'));
      process.stderr.write(`[leader-election] handover after SIGTERM: ${handoverMs} ms\n`);
      // Drain + release, then the standby's next attempt (retry period 2 s with jitter); without the
      // release it would wait out the lease (13-15 s).
      expect(handoverMs).toBeLessThan(10_000);
      await waitFor(async () => (await replicas(names[1])) === (active ? 1 : 0), { description: 'the third leader scaling', timeoutMs: 30_000 });

      // The audit log: every write of the three processes, in order, comes from one leader at a time.
      const ourWrites = () =>
        auditedWrites(readClusterInfo().auditLog, ns.name)
          .map((w) => ({ ...w, writer: writerOf(w.userAgent) }))
          .filter((w) => w.writer && w.resource !== 'leases');
      const writes = await waitFor(() => {
        const all = ourWrites();
        return all.some((w) => w.writer === third.identity && w.subresource === 'scale') ? all : undefined;
      }, { description: `a /scale write of ${third.label} in the audit log`, timeoutMs: 30_000 });
      const order = [leader.identity, standby.identity, third.identity];
      const writers = writes.map((w) => w.writer);
      // Runs of the same writer, in leadership order: a b c, never a b a.
      const runs = writers.filter((w, i) => i === 0 || writers[i - 1] !== w);
      expect(runs).toEqual(order);
      const scaleWrites = writes.filter((w) => w.subresource === 'scale');
      const statusWrites = writes.filter((w) => w.resource === 'scaledobjects' && w.subresource === 'status');
      expect(new Set(scaleWrites.map((w) => w.writer))).toEqual(new Set(order));
      expect(new Set(statusWrites.map((w) => w.writer)).size).toBeGreaterThanOrEqual(2);
      // The successor's first write comes after the killed leader's last one.
      const lastOfKilled = Math.max(...writes.filter((w) => w.writer === leader.identity).map((w) => w.at));
      const firstOfSecond = Math.min(...writes.filter((w) => w.writer === standby.identity).map((w) => w.at));
      expect(firstOfSecond).toBeGreaterThan(lastOfKilled);
    } finally {
      flipping = false;
      await flipper;
    }
  }, 240_000);
});
