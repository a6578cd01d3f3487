/**
 * Soak (issue 9): N ScaledObjects with metrics-api triggers against a local HTTP server on a real
 * local control plane, the controller as a real process (the built bundle apps/controller/dist/main.js),
 * for --minutes after warm-up. Every 10 s it samples the controller's resident memory and CPU time
 * from /proc/<pid>; a controller that exits is started again and counted as a restart.
 *
 * Reports: restarts, RSS growth per hour (least-squares fit over the measured samples, as % of the
 * mean), mCPU and MiB per 1,000 ScaledObjects, scale-loop lag percentiles (from the controller's
 * `scale-loop lag report` log lines, --scale-loop-lag-report-interval), metric requests served
 * against those expected, warnings by message, and the load average of the (shared) machine.
 *
 *   npx nx run controller:build
 *   node --import tsx --conditions=@keda-ts/source e2e/bench/soak.ts \
 *     [--objects 10000] [--minutes 30] [--polling-interval 30] [--warmup-minutes 3] [--qps 300] [--reconciles 20]
 */
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '@keda-ts/k8s';
import { LocalControlPlane } from '../src/control-plane';
import { installCrds } from '../src/crds';
import { appBundle } from '../src/local-system';
import { freePort, ManagedProcess, sleep, waitHealthy } from '../src/processes';
import { slope } from './stats';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const objects = arg('objects', 10_000);
const minutes = arg('minutes', 30);
const pollingInterval = arg('polling-interval', 30);
const warmupMinutes = arg('warmup-minutes', 3);
/** The controller's --kube-api-qps while it reconciles everything; raised so setup takes minutes. */
const qps = arg('qps', 300);
/** ScaledObjects reconciled at once while the objects are created (KEDA's default is 5). */
const reconciles = arg('reconciles', 20);
const sampleSeconds = 10;
const lagReportSeconds = 60;

const CLOCK_TICKS = 100; // USER_HZ on Linux
const PAGE = 4096;
const log = (msg: string, extra: Record<string, unknown> = {}) =>
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), msg, ...extra })}\n`);

interface Sample {
  t: number; // seconds since start
  rssBytes: number;
  cpuSeconds: number;
}

function sampleProc(pid: number, t0: number): Sample | undefined {
  try {
    // Fields after the command name (which may hold spaces): utime is field 14, stime 15; statm's second is resident pages.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    const rssBytes = Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE;
    return { t: (performance.now() - t0) / 1000, rssBytes, cpuSeconds };
  } catch {
    return undefined;
  }
}

/** Reads the lines appended to a log file since the last call. */
class LogTail {
  private offset = 0;
  private rest = '';
  constructor(private readonly file: string) {}
  lines(): string[] {
    let size: number;
    try {
      size = statSync(this.file).size;
    } catch {
      return [];
    }
    if (size <= this.offset) return [];
    const fd = openSync(this.file, 'r');
    const buf = Buffer.alloc(size - this.offset);
    readSync(fd, buf, 0, buf.length, this.offset);
    closeSync(fd);
    this.offset = size;
    const text = this.rest + buf.toString('utf8');
    const parts = text.split('\n');
    this.rest = parts.pop() ?? '';
    return parts;
  }
}

interface LagReport {
  count: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

async function main(): Promise<void> {
  const t0 = performance.now();
  // SIGINT during setup or warm-up: stop and clean up (the control plane's processes run detached).
  let aborted = false;
  const onSetupInterrupt = () => {
    aborted = true;
  };
  process.on('SIGINT', onSetupInterrupt);
  const checkAborted = () => {
    if (aborted) throw new Error('interrupted before the measurement started');
  };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keda-ts-soak-'));
  // Idle workloads: the HPA has nothing to do at 0 replicas; a long sync period keeps kube-controller-manager quiet.
  const cp = new LocalControlPlane({ nodes: 1, hpaSyncPeriod: '60s', log: () => undefined });
  const info = await cp.start();
  let served = 0;
  const metrics = http.createServer((_req, res) => {
    served++;
    res.end('{"value":0}');
  });
  await new Promise<void>((r) => metrics.listen(0, '127.0.0.1', r));
  const port = (metrics.address() as AddressInfo).port;
  let controller: ManagedProcess | undefined;
  try {
    await installCrds((args, input) => cp.kubectl(args, input));
    await cp.kubectl(['create', 'namespace', 'soak']);

    const bundle = appBundle('controller');
    statSync(bundle); // build it first: npx nx run controller:build
    const healthPort = await freePort();
    controller = new ManagedProcess(
      'controller',
      process.execPath,
      [
        bundle,
        `--kubeconfig=${info.kubeconfig}`,
        `--health-probe-bind-address=127.0.0.1:${healthPort}`,
        `--metrics-bind-address=127.0.0.1:${await freePort()}`,
        `--cert-dir=${dir}/no-certs`,
        '--watch-namespace=soak',
        `--kube-api-qps=${qps}`,
        `--kube-api-burst=${Math.round(qps * 1.5)}`,
        `--scaledobject-max-reconciles=${reconciles}`,
        `--scale-loop-lag-report-interval=${lagReportSeconds}`,
        '--log-level=info',
      ],
      dir,
    );
    controller.start();
    await waitHealthy(controller, { url: `http://127.0.0.1:${healthPort}/readyz` }, 120_000);
    const tail = new LogTail(controller.logFile);

    // The controller's footprint with nothing to do, after its start-up settled.
    await sleep(15_000);
    const baseline = sampleProc(controller.pid!, t0)!;
    log('controller idle', { rssMiB: +(baseline.rssBytes / 2 ** 20).toFixed(1) });

    // Targets at 0 replicas with inactive triggers: the steady state of idle workloads. Created by
    // concurrent POSTs (kubectl parsing YAML would make 10,000 of each take many minutes).
    const setupStarted = performance.now();
    const kc = new KubeConfig();
    kc.loadFromFile(info.kubeconfig);
    const creator = new KubeClient(kc, { qps: 2_000, burst: 2_000 });
    const create = async (i: number) => {
      await creator.create('/apis/apps/v1/namespaces/soak/deployments', {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: `w${i}`, namespace: 'soak' },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: `w${i}` } },
          template: { metadata: { labels: { app: `w${i}` } }, spec: { containers: [{ name: 'm', image: 'registry.invalid/x:1' }] } },
        },
      });
      await creator.create('/apis/keda.sh/v1alpha1/namespaces/soak/scaledobjects', {
        apiVersion: 'keda.sh/v1alpha1',
        kind: 'ScaledObject',
        metadata: { name: `w${i}`, namespace: 'soak' },
        spec: {
          scaleTargetRef: { name: `w${i}` },
          pollingInterval,
          minReplicaCount: 0,
          triggers: [{ type: 'metrics-api', metadata: { url: `http://127.0.0.1:${port}/m`, valueLocation: 'value', targetValue: '5' } }],
        },
      });
    };
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < objects && !aborted) {
          const i = next++;
          await create(i);
          if ((i + 1) % 1000 === 0) log('created', { objects: i + 1 });
        }
      }),
    );
    creator.close();
    checkAborted();
    log('objects created', { seconds: +((performance.now() - setupStarted) / 1000).toFixed(0) });

    // Scale loops all running: the controller's own count in its lag reports.
    const samples: Sample[] = [];
    const lagReports: (LagReport & { t: number })[] = [];
    const warnings = new Map<string, number>();
    let restarts = 0;
    let measuring = false;
    let loopsRunning = 0;
    const drainLog = () => {
      for (const line of tail.lines()) {
        let entry: { level?: number; msg?: string; scaleLoopLag?: LagReport; scaleLoops?: number };
        try {
          entry = JSON.parse(line);
        } catch {
          continue;
        }
        if (entry.msg === 'scale-loop lag report' && entry.scaleLoopLag) {
          loopsRunning = entry.scaleLoops ?? 0;
          if (measuring) lagReports.push({ t: (performance.now() - t0) / 1000, ...entry.scaleLoopLag });
        } else if (measuring && (entry.level ?? 0) >= 40) {
          warnings.set(entry.msg ?? '?', (warnings.get(entry.msg ?? '?') ?? 0) + 1);
        }
      }
    };
    const sampler = setInterval(() => {
      if (!controller!.running) {
        restarts++;
        log('controller exited; starting it again', { restarts, tail: controller!.logTail(10) });
        controller!.start();
        return;
      }
      const s = sampleProc(controller!.pid!, t0);
      if (s && measuring) samples.push(s);
      drainLog();
    }, sampleSeconds * 1000);
    while (loopsRunning < objects) {
      checkAborted();
      await sleep(5_000);
      drainLog();
    }
    const readySeconds = (performance.now() - setupStarted) / 1000;
    log('every scale loop running', { seconds: +readySeconds.toFixed(0) });
    for (const end = performance.now() + warmupMinutes * 60_000; performance.now() < end; ) {
      checkAborted();
      await sleep(1_000);
    }
    process.off('SIGINT', onSetupInterrupt);

    measuring = true;
    const servedBefore = served;
    const measureStarted = performance.now();
    const loadBefore = os.loadavg();
    const progress = setInterval(() => {
      const last = samples.at(-1);
      // Enough to report from if the run is cut short.
      if (last)
        log('sample', {
          minutes: +((performance.now() - measureStarted) / 60_000).toFixed(1),
          rssMiB: +(last.rssBytes / 2 ** 20).toFixed(1),
          rssGrowthMiBPerHour: +(slope(samples.map((s) => ({ x: s.t / 3600, y: s.rssBytes }))) / 2 ** 20).toFixed(1),
          mCpu: +(((last.cpuSeconds - samples[0].cpuSeconds) / Math.max(1, last.t - samples[0].t)) * 1000).toFixed(0),
          restarts,
          lastLag: lagReports.at(-1),
          served: served - servedBefore,
          load: os.loadavg().map((l) => +l.toFixed(2)),
        });
    }, 60_000);
    const loadSamples: number[] = [];
    const loadSampler = setInterval(() => loadSamples.push(os.loadavg()[0]), 60_000);
    // Ctrl-C (SIGINT) ends the measurement early and still reports; before it, SIGINT just cleans up.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, minutes * 60_000);
      process.once('SIGINT', () => {
        log('SIGINT: ending the measurement early');
        clearTimeout(timer);
        resolve();
      });
    });
    drainLog();
    measuring = false;
    clearInterval(sampler);
    clearInterval(progress);
    clearInterval(loadSampler);
    const measuredSeconds = (performance.now() - measureStarted) / 1000;
    const servedDuring = served - servedBefore;

    const first = samples[0];
    const last = samples.at(-1)!;
    const meanRss = samples.reduce((s, x) => s + x.rssBytes, 0) / samples.length;
    const rssSlopePerHour = slope(samples.map((s) => ({ x: s.t / 3600, y: s.rssBytes })));
    const mCpu = ((last.cpuSeconds - first.cpuSeconds) / (last.t - first.t)) * 1000;
    const per1000 = (v: number) => +((v / objects) * 1000).toFixed(1);
    const sortedBy = (k: keyof LagReport) => lagReports.map((r) => r[k]).sort((a, b) => a - b);
    const median = (xs: number[]) => xs[Math.floor(xs.length / 2)] ?? 0;
    const result = {
      objects,
      pollingIntervalSeconds: pollingInterval,
      kubeApiQps: qps,
      warmupMinutes,
      measuredMinutes: +(measuredSeconds / 60).toFixed(1),
      setup: { createAndReconcileSeconds: +readySeconds.toFixed(0) },
      restarts,
      rss: {
        idleControllerMiB: +(baseline.rssBytes / 2 ** 20).toFixed(1),
        firstMiB: +(first.rssBytes / 2 ** 20).toFixed(1),
        lastMiB: +(last.rssBytes / 2 ** 20).toFixed(1),
        maxMiB: +(Math.max(...samples.map((s) => s.rssBytes)) / 2 ** 20).toFixed(1),
        growthMiBPerHour: +(rssSlopePerHour / 2 ** 20).toFixed(1),
        growthPercentPerHour: +((rssSlopePerHour / meanRss) * 100).toFixed(2),
        samples: samples.length,
      },
      perThousandObjects: {
        mCpu: per1000(mCpu),
        rssMiB: per1000(meanRss / 2 ** 20),
        rssAboveIdleMiB: per1000((meanRss - baseline.rssBytes) / 2 ** 20),
      },
      controllerMCpu: +mCpu.toFixed(0),
      // Per lag report window (lagReportSeconds): median of the windows' p50, worst window's p95/p99, overall max.
      scaleLoopLagMs: {
        windows: lagReports.length,
        polls: lagReports.reduce((s, r) => s + r.count, 0),
        p50: median(sortedBy('p50Ms')),
        p95Worst: sortedBy('p95Ms').at(-1) ?? 0,
        p99Worst: sortedBy('p99Ms').at(-1) ?? 0,
        p99Median: median(sortedBy('p99Ms')),
        max: sortedBy('maxMs').at(-1) ?? 0,
      },
      metricRequests: { served: servedDuring, expected: Math.round((objects * measuredSeconds) / pollingInterval) },
      warningsByMessage: Object.fromEntries(warnings),
      loadAverage: {
        atStart: loadBefore.map((l) => +l.toFixed(2)),
        atEnd: os.loadavg().map((l) => +l.toFixed(2)),
        oneMinuteMean: +(loadSamples.reduce((s, l) => s + l, 0) / Math.max(1, loadSamples.length)).toFixed(2),
        cores: os.cpus().length,
      },
      logs: dir,
    };
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } finally {
    await controller?.stop(10_000).catch(() => undefined);
    metrics.close();
    await cp.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
