/**
 * Soak (issues 9 and 24): N ScaledObjects with metrics-api triggers against a local HTTP server on a
 * real local control plane, under churn, with the built controller and metrics adapter as real
 * processes (apps/<name>/dist/main.js, started as the e2e tests start them: `startApps`, each with a
 * token of its chart ServiceAccount and the chart's RBAC; gRPC over mTLS between them), for
 * --minutes after warm-up.
 *
 * Every trigger is active: the source answers 10 against targetValue 5, so KEDA scales each target
 * Deployment from 0 to 1 and its HPA exists (maxReplicaCount 1 keeps it at one Pod on the kwok
 * Nodes). The adapter is registered as the external.metrics.k8s.io APIService (as the e2e tests do,
 * `registerApiServiceToLocalhost`) and serves the real HPA controller of kube-controller-manager,
 * which calls it through the aggregator for every HPA each --hpa-sync-seconds.
 *
 * Churn: from the start of the warm-up, every minute --churn-percent of the ScaledObjects (default
 * 10 %) are replaced: the oldest ScaledObject and its Deployment are deleted and a new pair with a
 * new name is created, one replacement at a time, spread evenly over the minute (scheduled times:
 * a replacement that starts late counts in `churn.maxStartLagMs`; failed replacements in `churn.errors`).
 *
 * Every 10 s it samples each process's (controller, adapter) resident memory and CPU time from
 * /proc/<pid>. A process that exits is started again and counted as a failure (`restarts`, and the
 * exit code is 1). Samples of different runs of a process are never mixed: the RSS slope and the CPU
 * are fitted over the longest run without a restart (`fittedOver` says which and how long).
 *
 * Reports per process: restarts, RSS growth per hour (least-squares fit, MiB and % of the mean RSS:
 * flat memory is near 0), mCPU, and MiB / mCPU per 1,000 ScaledObjects; scale-loop lag percentiles
 * (from the controller's `scale-loop lag report` log lines, --scale-loop-lag-report-interval), the
 * metric requests the source and the adapter served, HPAs and active targets at the start and end,
 * warnings by message, and the load average of the (shared) machine.
 *
 *   npx nx run-many -t build -p controller,metrics-adapter
 *   node --import tsx --conditions=@keda-ts/source e2e/bench/soak.ts \
 *     [--objects 10000] [--minutes 30] [--polling-interval 30] [--warmup-minutes 3] [--qps 300] [--reconciles 20] \
 *     [--churn-percent 10] [--hpa-sync-seconds 60]
 */
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import { mkdtempSync, statSync, openSync, readSync, closeSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '@keda-ts/k8s';
import { appCertDir, writeCertDir } from '../src/certs';
import { LocalControlPlane } from '../src/control-plane';
import { installCrds } from '../src/crds';
import { adapterSpec, startApps, stopApps, type RunningApp } from '../src/local-system';
import { freePort, sleep } from '../src/processes';
import { registerApiServiceToLocalhost, unregisterApiService } from '../src/testing/registration';
import { slope } from './stats';
import { createWorkload, deleteWorkload, forEachConcurrently, procSample } from './workload';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a number >= 0, got ${JSON.stringify(process.argv[i + 1])}`);
  return v;
};
const objects = arg('objects', 10_000);
const minutes = arg('minutes', 30);
const pollingInterval = arg('polling-interval', 30);
const warmupMinutes = arg('warmup-minutes', 3);
/** The controller's --kube-api-qps while it reconciles everything; raised so setup takes minutes. */
const qps = arg('qps', 300);
/** ScaledObjects reconciled at once while the objects are created (KEDA's default is 5). */
const reconciles = arg('reconciles', 20);
/** ScaledObjects replaced per minute, in % of --objects. */
const churnPercent = arg('churn-percent', 10);
/** kube-controller-manager's --horizontal-pod-autoscaler-sync-period: each HPA asks the adapter this often. */
const hpaSyncSeconds = arg('hpa-sync-seconds', 60);
const sampleSeconds = 10;
const lagReportSeconds = 60;
const NS = 'soak';

const log = (msg: string, extra: Record<string, unknown> = {}) =>
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), msg, ...extra })}\n`);
const mib = (bytes: number) => +(bytes / 2 ** 20).toFixed(1);

interface Sample {
  t: number; // seconds since start
  run: number; // the process's run: 0, then +1 after each restart
  rssBytes: number;
  cpuSeconds: number;
}

/** One process watched by the soak: samples, restarts. */
interface Watched {
  app: RunningApp;
  samples: Sample[];
  restarts: number;
  run: number;
  idle?: Sample;
}

/** The samples of the longest run (by time covered) without a restart. */
function longestRun(samples: Sample[]): Sample[] {
  const runs = new Map<number, Sample[]>();
  for (const s of samples) runs.set(s.run, [...(runs.get(s.run) ?? []), s]);
  let best: Sample[] = [];
  for (const r of runs.values()) if (r.length && (!best.length || r.at(-1)!.t - r[0].t > best.at(-1)!.t - best[0].t)) best = r;
  return best;
}

/** RSS and CPU figures of one process over the longest run without a restart. */
function processReport(w: Watched, objectCount: number) {
  const all = w.samples;
  const fit = longestRun(all);
  if (fit.length < 2) return { restarts: w.restarts, samples: all.length, error: 'fewer than 2 samples in one run: nothing to fit' };
  const first = fit[0];
  const last = fit.at(-1)!;
  const meanRss = fit.reduce((s, x) => s + x.rssBytes, 0) / fit.length;
  const slopePerHour = slope(fit.map((s) => ({ x: s.t / 3600, y: s.rssBytes })));
  const mCpu = ((last.cpuSeconds - first.cpuSeconds) / (last.t - first.t)) * 1000;
  const per1000 = (v: number) => +((v / objectCount) * 1000).toFixed(1);
  return {
    restarts: w.restarts,
    fittedOver: {
      note: 'RSS slope and CPU fitted over the longest run of this process without a restart only',
      run: first.run,
      runs: w.run + 1,
      samples: fit.length,
      minutes: +((last.t - first.t) / 60).toFixed(1),
    },
    rss: {
      idleMiB: w.idle ? mib(w.idle.rssBytes) : undefined,
      firstMiB: mib(first.rssBytes),
      lastMiB: mib(last.rssBytes),
      meanMiB: mib(meanRss),
      maxMiB: mib(Math.max(...fit.map((s) => s.rssBytes))),
      growthMiBPerHour: mib(slopePerHour),
      growthPercentOfMeanPerHour: +((slopePerHour / meanRss) * 100).toFixed(2),
    },
    mCpu: +mCpu.toFixed(0),
    perThousandObjects: {
      mCpu: per1000(mCpu),
      rssMiB: per1000(meanRss / 2 ** 20),
      ...(w.idle ? { rssAboveIdleMiB: per1000((meanRss - w.idle.rssBytes) / 2 ** 20) } : {}),
    },
  };
}

/** Reads the lines appended to a log file since the last call (from the start again after a truncation). */
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
    if (size < this.offset) this.offset = 0;
    if (size === this.offset) return [];
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

/** Sum of one counter over its series in Prometheus text. */
async function scrapeCounter(url: string, name: string): Promise<number> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  let sum = 0;
  for (const line of (await res.text()).split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m && m[1] === name) sum += Number(m[3]);
  }
  return sum;
}

/** HPAs in the namespace and Deployments with at least one replica (paged lists). */
async function activeState(client: KubeClient): Promise<{ hpas: number; activeTargets: number }> {
  const count = async (url: string, test: (item: { spec?: { replicas?: number } }) => boolean) => {
    let n = 0;
    let token = '';
    do {
      const page = await client.get<{ items: { spec?: { replicas?: number } }[]; metadata?: { continue?: string } }>(
        `${url}?limit=1000${token ? `&continue=${encodeURIComponent(token)}` : ''}`,
      );
      n += page.items.filter(test).length;
      token = page.metadata?.continue ?? '';
    } while (token);
    return n;
  };
  return {
    hpas: await count(`/apis/autoscaling/v2/namespaces/${NS}/horizontalpodautoscalers`, () => true),
    activeTargets: await count(`/apis/apps/v1/namespaces/${NS}/deployments`, (d) => (d.spec?.replicas ?? 0) >= 1),
  };
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
  // One Pod per active target (and the churned ones while they go): kwok Nodes take 110 Pods each.
  const nodes = Math.max(1, Math.ceil((objects * (1 + churnPercent / 100)) / 100));
  const cp = new LocalControlPlane({ nodes, hpaSyncPeriod: `${hpaSyncSeconds}s`, log: () => undefined });
  const info = await cp.start();
  let served = 0;
  const metrics = http.createServer((_req, res) => {
    served++;
    res.end('{"value":10}');
  });
  await new Promise<void>((r) => metrics.listen(0, '127.0.0.1', r));
  const port = (metrics.address() as AddressInfo).port;
  const kc = new KubeConfig();
  kc.loadFromFile(info.kubeconfig);
  const apiService = { group: 'external.metrics.k8s.io', version: 'v1beta1', namespace: 'keda', serviceName: 'keda-metrics-apiserver' };
  let registered = false;
  let apps: RunningApp[] = [];
  const creator = new KubeClient(kc, { qps: 2_000, burst: 2_000 });
  const timers: NodeJS.Timeout[] = [];
  let churning = false;
  let churnDone: Promise<void> | undefined;
  try {
    await installCrds((args, input) => cp.kubectl(args, input));
    await cp.kubectl(['create', 'namespace', NS]);

    const certs = await writeCertDir(path.join(dir, 'certs'));
    const grpcPort = await freePort();
    const securePort = await freePort();
    const adapterMetricsPort = await freePort();
    apps = await startApps(
      info.kubeconfig,
      [
        {
          name: 'controller',
          args: [
            `--metrics-service-bind-address=127.0.0.1:${grpcPort}`,
            `--cert-dir=${appCertDir(certs.dir, 'controller')}`,
            `--watch-namespace=${NS}`,
            `--kube-api-qps=${qps}`,
            `--kube-api-burst=${Math.round(qps * 1.5)}`,
            `--scaledobject-max-reconciles=${reconciles}`,
            `--scale-loop-lag-report-interval=${lagReportSeconds}`,
            '--log-level=info',
          ],
        },
        adapterSpec({
          securePort,
          metricsPort: adapterMetricsPort,
          certDir: appCertDir(certs.dir, 'metrics-adapter'),
          grpcPort,
          authority: 'keda-operator.keda.svc',
          extraArgs: ['--log-level=warn'],
        }),
      ],
      dir,
    );
    await registerApiServiceToLocalhost(kc, { ...apiService, port: securePort, caPem: certs.caPem });
    registered = true;
    const watched: Record<'controller' | 'adapter', Watched> = {
      controller: { app: apps.find((a) => a.name === 'controller')!, samples: [], restarts: 0, run: 0 },
      adapter: { app: apps.find((a) => a.name === 'metrics-adapter')!, samples: [], restarts: 0, run: 0 },
    };
    const tail = new LogTail(watched.controller.app.process.logFile);
    const adapterRequests = () => scrapeCounter(`http://127.0.0.1:${adapterMetricsPort}/metrics`, 'apiserver_request_total');

    // Each process's footprint with nothing to do, after its start-up settled.
    await sleep(15_000);
    for (const [name, w] of Object.entries(watched)) {
      const s = procSample(w.app.process.pid!);
      if (!s) throw new Error(`${name} exited during start-up: ${w.app.process.logTail(20)}`);
      w.idle = { t: (performance.now() - t0) / 1000, run: 0, ...s };
      log(`${name} idle`, { rssMiB: mib(s.rssBytes) });
    }

    // Targets at 0 replicas whose triggers are active: KEDA scales each to 1 and creates its HPA.
    const setupStarted = performance.now();
    const live: string[] = [];
    let nextName = 0;
    const create = async () => {
      const name = `w${nextName++}`;
      await createWorkload(creator, { namespace: NS, name, replicas: 0, url: `http://127.0.0.1:${port}/m`, pollingInterval, maxReplicaCount: 1 });
      live.push(name);
    };
    await forEachConcurrently(
      objects,
      16,
      async () => {
        checkAborted();
        await create();
      },
      (done) => log('created', { objects: done }),
    );
    checkAborted();
    log('objects created', { seconds: +((performance.now() - setupStarted) / 1000).toFixed(0) });

    const lagReports: (LagReport & { t: number })[] = [];
    const warnings = new Map<string, number>();
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
    // From here on every 10 s: a process that exited is started again (a failure, and a new run); the others are sampled.
    timers.push(
      setInterval(() => {
        for (const [name, w] of Object.entries(watched)) {
          if (!w.app.process.running) {
            w.restarts++;
            w.run++;
            log(`${name} exited; starting it again`, { restarts: w.restarts, tail: w.app.process.logTail(10) });
            w.app.process.start();
            continue;
          }
          const s = procSample(w.app.process.pid!);
          if (s && measuring) w.samples.push({ t: (performance.now() - t0) / 1000, run: w.run, ...s });
        }
        drainLog();
      }, sampleSeconds * 1000),
    );
    // Scale loops all running (the controller's own count in its lag reports) and every target active with its HPA.
    let state = { hpas: 0, activeTargets: 0 };
    for (;;) {
      checkAborted();
      await sleep(5_000);
      drainLog();
      if (loopsRunning < objects) continue;
      state = await activeState(creator);
      if (state.hpas >= objects && state.activeTargets >= objects) break;
      log('waiting for the HPAs and active targets', { scaleLoops: loopsRunning, ...state });
    }
    const readySeconds = (performance.now() - setupStarted) / 1000;
    log('every scale loop running, every target active with its HPA', { seconds: +readySeconds.toFixed(0) });

    // Churn, from the warm-up on: replacements due at even intervals, one after the other.
    const perMinute = Math.round((objects * churnPercent) / 100);
    const churn = { replaced: 0, errors: 0, maxStartLagMs: 0, errorSamples: [] as string[] };
    churning = perMinute > 0;
    if (churning) {
      const churnStarted = performance.now();
      const gapMs = 60_000 / perMinute;
      churnDone = (async () => {
        for (let k = 0; churning; k++) {
          const due = churnStarted + k * gapMs;
          const wait = due - performance.now();
          if (wait > 0) await sleep(wait);
          if (!churning) break;
          churn.maxStartLagMs = Math.max(churn.maxStartLagMs, performance.now() - due);
          const victim = live.shift();
          try {
            if (victim) await deleteWorkload(creator, NS, victim);
            await create();
            churn.replaced++;
          } catch (err) {
            churn.errors++;
            if (churn.errorSamples.length < 5) churn.errorSamples.push((err as Error).message.slice(0, 300));
          }
        }
      })();
    }
    for (const end = performance.now() + warmupMinutes * 60_000; performance.now() < end; ) {
      checkAborted();
      await sleep(1_000);
    }
    process.off('SIGINT', onSetupInterrupt);

    measuring = true;
    const stateBefore = await activeState(creator);
    const servedBefore = served;
    const adapterRequestsBefore = await adapterRequests();
    const replacedBefore = churn.replaced;
    const churnErrorsBefore = churn.errors;
    const measureStarted = performance.now();
    const loadBefore = os.loadavg();
    const loadSamples: number[] = [];
    timers.push(
      setInterval(() => {
        loadSamples.push(os.loadavg()[0]);
        // Enough to report from if the run is cut short.
        const now = (w: Watched) => {
          const fit = longestRun(w.samples);
          const last = fit.at(-1);
          if (!last || fit.length < 2) return undefined;
          return {
            rssMiB: mib(last.rssBytes),
            rssGrowthMiBPerHour: mib(slope(fit.map((s) => ({ x: s.t / 3600, y: s.rssBytes })))),
            mCpu: +(((last.cpuSeconds - fit[0].cpuSeconds) / Math.max(1, last.t - fit[0].t)) * 1000).toFixed(0),
            restarts: w.restarts,
          };
        };
        log('sample', {
          minutes: +((performance.now() - measureStarted) / 60_000).toFixed(1),
          controller: now(watched.controller),
          adapter: now(watched.adapter),
          lastLag: lagReports.at(-1),
          replaced: churn.replaced - replacedBefore,
          churnErrors: churn.errors - churnErrorsBefore,
          served: served - servedBefore,
          load: os.loadavg().map((l) => +l.toFixed(2)),
        });
      }, 60_000),
    );
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
    const measuredSeconds = (performance.now() - measureStarted) / 1000;
    const servedDuring = served - servedBefore;
    const adapterServed = (await adapterRequests()) - adapterRequestsBefore;
    const replacedDuring = churn.replaced - replacedBefore;
    const churnErrorsDuring = churn.errors - churnErrorsBefore;
    const stateAfter = await activeState(creator);
    churning = false;
    await churnDone;
    for (const t of timers) clearInterval(t);

    const sortedBy = (k: keyof LagReport) => lagReports.map((r) => r[k]).sort((a, b) => a - b);
    const median = (xs: number[]) => xs[Math.floor(xs.length / 2)] ?? 0;
    const restarts = watched.controller.restarts + watched.adapter.restarts;
    const result = {
      objects,
      pollingIntervalSeconds: pollingInterval,
      hpaSyncSeconds,
      kubeApiQps: qps,
      warmupMinutes,
      measuredMinutes: +(measuredSeconds / 60).toFixed(1),
      setup: { createAndActivateSeconds: +readySeconds.toFixed(0), kwokNodes: nodes },
      failed: restarts > 0 || churnErrorsDuring > 0,
      restarts: { controller: watched.controller.restarts, adapter: watched.adapter.restarts },
      controller: processReport(watched.controller, objects),
      adapter: processReport(watched.adapter, objects),
      churn: {
        percentPerMinute: churnPercent,
        scheduledPerMinute: perMinute,
        replacedPerMinute: +(replacedDuring / (measuredSeconds / 60)).toFixed(1),
        replaced: replacedDuring,
        errors: churnErrorsDuring,
        errorSamples: churn.errorSamples,
        maxStartLagMs: +churn.maxStartLagMs.toFixed(0),
      },
      activity: { atStart: stateBefore, atEnd: stateAfter },
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
      metricRequests: {
        sourceServed: servedDuring,
        // The scale loops' polls, plus one read per metric request the adapter forwarded to the controller.
        sourceExpectedPollsPlusAdapterReads: Math.round((objects * measuredSeconds) / pollingInterval) + adapterServed,
        adapterServed,
        adapterExpectedFromHpas: Math.round((objects * measuredSeconds) / hpaSyncSeconds),
      },
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
    if (result.failed) {
      log('FAILED: a process restarted or replacements failed during the measurement (see restarts, churn.errors)');
      process.exitCode = 1;
    }
  } finally {
    churning = false;
    for (const t of timers) clearInterval(t);
    await churnDone?.catch(() => undefined);
    creator.close();
    if (registered) await unregisterApiService(kc, apiService).catch(() => undefined);
    await stopApps(apps);
    metrics.closeAllConnections();
    metrics.close();
    await cp.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
