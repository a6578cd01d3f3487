/**
 * Event flood (issue 17, "Bounded Events" and "Bounded polls"): --objects ScaledObjects whose
 * sources fail, at pollingInterval 1, next to --healthy ScaledObjects whose source answers, on a
 * real local control plane with the controller as a real process (the built bundle).
 *
 * Two phases: the healthy objects alone (--baseline-minutes), then with the failing ones added
 * (warm-up, then --minutes measured). Reports:
 *   - Event objects per failing ScaledObject (max, mean) listed from the API, and their series counts;
 *   - controller RSS over the measured window: min / max / first / last, drift % and fitted growth;
 *   - API requests of the controller per second (from the API server's audit log, by the
 *     controller's User-Agent), Events and the rest apart, against --kube-api-qps (one limiter each);
 *   - healthy ScaledObjects' scale-loop lag p50/p99/max in both phases, measured at the source:
 *     each poll's arrival against the one planned pollingInterval after the previous;
 *   - dropped Events, scaler reads in flight/waiting and poll errors from the controller's /metrics;
 *   - failures of the bench itself, and what was skipped (only phases turned off by the flags: a
 *     missing audit log, which the control plane is started with, fails the run).
 *
 * Not a rate-driven load (the controller's scale loops poll); the lag percentiles come from an HDR
 * histogram like e2e/bench/open-loop.ts's.
 *
 *   npx nx run controller:build
 *   node --import tsx --conditions=@keda-ts/source e2e/bench/event-flood.ts \
 *     [--objects 1000] [--minutes 5] [--healthy 20] [--baseline-minutes 1] [--warmup-seconds 60] \
 *     [--failure refused|500|hang] [--qps 20]
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '@keda-ts/k8s';
import { LocalControlPlane } from '../src/control-plane';
import { installCrds } from '../src/crds';
import { appBundle } from '../src/local-system';
import { freePort, ManagedProcess, sleep, waitHealthy } from '../src/processes';
import * as hdr from 'hdr-histogram-js';
import { summary } from './open-loop';
import { slope } from './stats';
import type { AuditEvent } from '../src/testing/controllers';

const argOf = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const num = (name: string, fallback: number) => {
  const v = argOf(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number >= 0, got ${JSON.stringify(v)}`);
  return n;
};
const objects = num('objects', 1000);
const minutes = num('minutes', 5);
const healthy = num('healthy', 20);
const baselineMinutes = num('baseline-minutes', 1);
const warmupSeconds = num('warmup-seconds', 60);
const qps = num('qps', 20);
const failure = argOf('failure') ?? 'refused';
if (!['refused', '500', 'hang'].includes(failure)) throw new Error(`--failure must be refused, 500 or hang, got ${failure}`);
const NS = 'flood';
const POLLING_INTERVAL_S = 1;
const SAMPLE_MS = 5_000;
const PAGE = 4096;

const log = (msg: string, extra: Record<string, unknown> = {}) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), msg, ...extra })}\n`);
const round = (v: number, digits = 1) => +v.toFixed(digits);
const mib = (bytes: number) => round(bytes / 2 ** 20);

function rssOf(pid: number): number | undefined {
  try {
    return Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE;
  } catch {
    return undefined;
  }
}

/**
 * Scale-loop lag of the healthy objects, seen at their source: a loop plans its next poll one
 * pollingInterval after the start of the previous, so each arrival is late by (gap - interval).
 * Includes everything between the plan and the request: timers, the read-slot wait, connecting.
 */
class ArrivalLag {
  private readonly last = new Map<string, number>();
  lags: number[] = [];
  measuring = false;

  arrived(key: string, at: number): void {
    const previous = this.last.get(key);
    this.last.set(key, at);
    if (previous !== undefined && this.measuring) this.lags.push(Math.max(0, at - previous - POLLING_INTERVAL_S * 1000));
  }

  summary() {
    // The same histogram (µs, 3 significant digits) as the open-loop generator's percentiles.
    const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
    for (const ms of this.lags) h.recordValue(Math.max(1, Math.round(ms * 1000)));
    const s = summary(h);
    h.destroy();
    return { polls: this.lags.length, p50Ms: round(s.p50Ms), p99Ms: round(s.p99Ms), maxMs: round(this.lags.length ? s.maxMs : 0) };
  }

  take() {
    const s = this.summary();
    this.lags = [];
    return s;
  }

  get seen(): number {
    return this.last.size;
  }
}

/** Sums of the controller's /metrics series we report (prom text format, no exemplars). */
function parseMetrics(text: string): Map<string, number> {
  const sums = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const [, name, labels = ''] = m;
    const value = Number(m[3]);
    if (!Number.isFinite(value)) continue;
    const key = name === 'keda_ts_events_dropped_total' ? `${name}${labels}` : name;
    sums.set(key, (sums.get(key) ?? 0) + value);
  }
  return sums;
}

async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return parseMetrics(await res.text());
}

/** The controller's API requests per second in [from, to), Events apart, from the audit log. */
function auditedRate(auditLog: string, userAgentPrefix: string, from: number, to: number) {
  const perSecond = { events: new Map<number, number>(), other: new Map<number, number>() };
  const byVerb: Record<string, number> = {};
  for (const line of readFileSync(auditLog, 'utf8').split('\n')) {
    if (!line.includes(userAgentPrefix)) continue;
    let e: AuditEvent;
    try {
      e = JSON.parse(line) as AuditEvent;
    } catch {
      continue;
    }
    // One line per request: ResponseComplete (watches also log ResponseStarted).
    if (e.stage !== 'ResponseComplete' || !e.userAgent?.startsWith(userAgentPrefix) || e.verb === 'watch') continue;
    const at = Date.parse(e.requestReceivedTimestamp ?? '');
    if (!(at >= from && at < to)) continue;
    const second = Math.floor((at - from) / 1000);
    const kind = e.objectRef?.resource === 'events' ? 'events' : 'other';
    perSecond[kind].set(second, (perSecond[kind].get(second) ?? 0) + 1);
    const label = `${e.verb} ${e.objectRef?.resource ?? '?'}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''}`;
    byVerb[label] = (byVerb[label] ?? 0) + 1;
  }
  const seconds = Math.max(1, Math.floor((to - from) / 1000));
  const stats = (m: Map<number, number>) => {
    const total = [...m.values()].reduce((s, v) => s + v, 0);
    const tenSecondMax = Math.max(0, ...Array.from({ length: Math.ceil(seconds / 10) }, (_, w) => {
      let sum = 0;
      for (let s = w * 10; s < w * 10 + 10; s++) sum += m.get(s) ?? 0;
      return sum / 10;
    }));
    return { total, meanPerSecond: round(total / seconds, 2), max10sWindowPerSecond: round(tenSecondMax, 2), maxInOneSecond: Math.max(0, ...m.values()) };
  };
  return { seconds, events: stats(perSecond.events), other: stats(perSecond.other), byVerb };
}

async function main(): Promise<void> {
  const skipped: string[] = [];
  const benchFailures: Record<string, number> = {};
  const fail = (what: string, err: unknown) => {
    benchFailures[what] = (benchFailures[what] ?? 0) + 1;
    if (benchFailures[what] <= 3) log(`${what} failed`, { err: err instanceof Error ? err.message : String(err) });
  };
  let interrupted = false;
  process.on('SIGINT', () => {
    interrupted = true;
    log('SIGINT: finishing early and reporting what was measured');
  });
  const wait = async (ms: number) => {
    for (const end = performance.now() + ms; performance.now() < end && !interrupted; ) await sleep(Math.min(1_000, end - performance.now()));
  };

  const bundle = appBundle('controller');
  if (!existsSync(bundle)) throw new Error(`${bundle} is missing: run npx nx run controller:build first`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'keda-ts-event-flood-'));
  const cp = new LocalControlPlane({ nodes: 1, hpaSyncPeriod: '60s', auditLog: true, log: () => undefined });
  const info = await cp.start();

  // Sources: the healthy one records each poll per object; the failing one refuses, answers 500 or hangs.
  const lag = new ArrivalLag();
  const healthyServer = http.createServer((req, res) => {
    lag.arrived(req.url ?? '', performance.now());
    res.setHeader('content-type', 'application/json');
    res.end('{"value":0}');
  });
  await new Promise<void>((r) => healthyServer.listen(0, '127.0.0.1', r));
  const healthyPort = (healthyServer.address() as AddressInfo).port;
  let failingServer: http.Server | undefined;
  let failingPort: number;
  if (failure === 'refused') failingPort = await freePort(); // nothing listens there
  else {
    let n = 0;
    failingServer = http.createServer((_req, res) => {
      if (failure === 'hang') return; // never answers: the read ends at its deadline
      res.statusCode = 500;
      res.end(`internal error ${n++}`); // varying bodies: what the similar-event aggregation is for
    });
    await new Promise<void>((r) => failingServer!.listen(0, '127.0.0.1', r));
    failingPort = (failingServer.address() as AddressInfo).port;
  }

  let controller: ManagedProcess | undefined;
  try {
    await installCrds((args, input) => cp.kubectl(args, input));
    await cp.kubectl(['create', 'namespace', NS]);
    const healthPort = await freePort();
    const metricsPort = await freePort();
    const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    controller = new ManagedProcess(
      'controller',
      process.execPath,
      [
        bundle,
        `--kubeconfig=${info.kubeconfig}`,
        `--health-probe-bind-address=127.0.0.1:${healthPort}`,
        `--metrics-bind-address=127.0.0.1:${metricsPort}`,
        `--cert-dir=${dir}/no-certs`,
        `--watch-namespace=${NS}`,
        `--kube-api-qps=${qps}`,
        `--kube-api-burst=${Math.round(qps * 1.5)}`,
        '--log-level=info',
      ],
      dir,
    );
    controller.start();
    await waitHealthy(controller, { url: `http://127.0.0.1:${healthPort}/readyz` }, 120_000);

    const kc = new KubeConfig();
    kc.loadFromFile(info.kubeconfig);
    const creator = new KubeClient(kc, { qps: 500, burst: 500 });
    const createAll = async (names: string[], url: (name: string) => string) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next < names.length && !interrupted) {
            const name = names[next++];
            try {
              await creator.create(`/apis/apps/v1/namespaces/${NS}/deployments`, {
                apiVersion: 'apps/v1',
                kind: 'Deployment',
                metadata: { name, namespace: NS },
                spec: { replicas: 0, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'm', image: 'registry.invalid/x:1' }] } } },
              });
              await creator.create(`/apis/keda.sh/v1alpha1/namespaces/${NS}/scaledobjects`, {
                apiVersion: 'keda.sh/v1alpha1',
                kind: 'ScaledObject',
                metadata: { name, namespace: NS },
                spec: {
                  scaleTargetRef: { name },
                  pollingInterval: POLLING_INTERVAL_S,
                  minReplicaCount: 0,
                  triggers: [{ type: 'metrics-api', metadata: { url: url(name), valueLocation: 'value', targetValue: '5' } }],
                },
              });
            } catch (err) {
              fail('create object', err);
            }
          }
        }),
      );
    };

    // Phase 1: the healthy objects alone.
    const healthyNames = Array.from({ length: healthy }, (_, i) => `healthy-${i}`);
    await createAll(healthyNames, (name) => `http://127.0.0.1:${healthyPort}/${name}`);
    for (const end = performance.now() + 180_000; lag.seen < healthy && performance.now() < end && !interrupted; ) await sleep(1_000);
    if (lag.seen < healthy) fail('healthy objects polled', new Error(`${lag.seen} of ${healthy} healthy objects polled within 180 s`));
    let baseline: ReturnType<ArrivalLag['summary']> | undefined;
    if (healthy === 0 || baselineMinutes === 0) skipped.push('baseline phase (--healthy 0 or --baseline-minutes 0)');
    else {
      await wait(10_000);
      lag.measuring = true;
      await wait(baselineMinutes * 60_000);
      lag.measuring = false;
      baseline = lag.take();
      log('baseline measured', baseline);
    }

    // Phase 2: add the failing objects.
    const failingNames = Array.from({ length: objects }, (_, i) => `failing-${i}`);
    const addStarted = performance.now();
    await createAll(failingNames, (name) => `http://127.0.0.1:${failingPort}/${name}`);
    log('failing objects created', { objects, seconds: round((performance.now() - addStarted) / 1000, 0) });
    // Every failing object has been polled once: its errors counter exists.
    for (const end = performance.now() + 600_000; performance.now() < end && !interrupted; ) {
      try {
        const text = await (await fetch(metricsUrl, { signal: AbortSignal.timeout(5_000) })).text();
        const erroring = text.split('\n').filter((l) => l.startsWith('keda_scaled_object_errors_total{') && l.includes('scaledObject="failing-') && !/ 0$/.test(l)).length;
        if (erroring >= objects) break;
        log('waiting for every failing object to poll', { failingWithErrors: erroring });
      } catch (err) {
        fail('scrape /metrics', err);
      }
      await sleep(5_000);
    }
    log('every failing object polled; warming up', { seconds: round((performance.now() - addStarted) / 1000, 0), warmupSeconds });
    await wait(warmupSeconds * 1000);

    // Measured window.
    const samples: { t: number; rss: number }[] = [];
    const scrapes: { t: number; inFlight: number; waiting: number }[] = [];
    const before = await scrape(metricsUrl).catch((err: unknown) => (fail('scrape /metrics', err), new Map<string, number>()));
    const from = Date.now();
    const t0 = performance.now();
    lag.measuring = true;
    let restarts = 0;
    const sampler = setInterval(() => {
      if (!controller!.running) {
        restarts++;
        log('controller exited; starting it again', { tail: controller!.logTail(10) });
        controller!.start();
        return;
      }
      const rss = rssOf(controller!.pid!);
      if (rss !== undefined) samples.push({ t: (performance.now() - t0) / 1000, rss });
      scrape(metricsUrl).then(
        (m) => scrapes.push({ t: (performance.now() - t0) / 1000, inFlight: m.get('keda_ts_scaler_reads_in_flight') ?? 0, waiting: m.get('keda_ts_scaler_reads_waiting') ?? 0 }),
        (err: unknown) => fail('scrape /metrics', err),
      );
    }, SAMPLE_MS);
    const progress = setInterval(() => {
      const last = samples.at(-1);
      log('progress', { minutes: round((performance.now() - t0) / 60_000), rssMiB: last ? mib(last.rss) : undefined, healthyLag: lag.summary() });
    }, 60_000);
    await wait(minutes * 60_000);
    clearInterval(sampler);
    clearInterval(progress);
    lag.measuring = false;
    const to = Date.now();
    const flood = lag.take();
    const after = await scrape(metricsUrl).catch((err: unknown) => (fail('scrape /metrics', err), new Map<string, number>()));
    const delta = (name: string) => round((after.get(name) ?? 0) - (before.get(name) ?? 0), 0);

    // Events from the API: Event objects and occurrences per failing ScaledObject.
    const perObject = new Map<string, { events: number; occurrences: number }>();
    let continueToken = '';
    do {
      const page = await creator.get<{ items: { regarding?: { name?: string; kind?: string }; series?: { count?: number } }[]; metadata?: { continue?: string } }>(
        `/apis/events.k8s.io/v1/namespaces/${NS}/events?limit=500${continueToken ? `&continue=${encodeURIComponent(continueToken)}` : ''}`,
      );
      for (const e of page.items) {
        const name = e.regarding?.name ?? '';
        if (e.regarding?.kind !== 'ScaledObject' || !name.startsWith('failing-')) continue;
        const entry = perObject.get(name) ?? { events: 0, occurrences: 0 };
        entry.events += 1;
        entry.occurrences += e.series?.count ?? 1;
        perObject.set(name, entry);
      }
      continueToken = page.metadata?.continue ?? '';
    } while (continueToken);
    creator.close();
    const counts = failingNames.map((n) => perObject.get(n)?.events ?? 0);

    // The control plane was asked for an audit log: without one the request rate cannot be measured, and the run fails.
    if (!info.auditLog || !existsSync(info.auditLog)) throw new Error('the control plane wrote no audit log: the API request rate cannot be measured');
    const api = auditedRate(info.auditLog, `keda-ts-controller/`, from, to);

    const rss = samples.map((s) => s.rss);
    const firstRss = rss[0] ?? 0;
    const meanRss = rss.reduce((s, v) => s + v, 0) / Math.max(1, rss.length);
    if (rss.length < 2) skipped.push('RSS drift (fewer than 2 samples)');
    if (!baseline) skipped.push('lag comparison against the baseline');
    const result = {
      objects,
      healthy,
      failure,
      pollingIntervalSeconds: POLLING_INTERVAL_S,
      measuredMinutes: round((to - from) / 60_000),
      controllerRestarts: restarts,
      eventsPerFailingScaledObject: {
        max: Math.max(0, ...counts),
        mean: round(counts.reduce((s, v) => s + v, 0) / Math.max(1, counts.length), 2),
        withoutEvents: counts.filter((c) => c === 0).length,
        occurrencesRecordedMean: round([...perObject.values()].reduce((s, v) => s + v.occurrences, 0) / Math.max(1, perObject.size), 1),
      },
      eventsDropped: {
        spam: delta('keda_ts_events_dropped_total{reason="spam"}'),
        queueFull: delta('keda_ts_events_dropped_total{reason="queue_full"}'),
      },
      controllerRssMiB: {
        samples: rss.length,
        min: mib(Math.min(...rss)),
        max: mib(Math.max(...rss)),
        first: mib(firstRss),
        last: mib(rss.at(-1) ?? 0),
        // Spread of the window against its minimum, and the end against the start.
        spreadPercent: round(((Math.max(...rss) - Math.min(...rss)) / Math.max(1, Math.min(...rss))) * 100),
        driftPercent: round((((rss.at(-1) ?? 0) - firstRss) / Math.max(1, firstRss)) * 100),
        fittedGrowthPercentPerHour: round((slope(samples.map((s) => ({ x: s.t / 3600, y: s.rss }))) / Math.max(1, meanRss)) * 100),
      },
      apiRequests: {
        clientLimitPerSecond: { other: qps, events: qps, burst: Math.round(qps * 1.5) },
        ...api,
      },
      healthyScaleLoopLagMs: { baseline, withFailing: flood },
      scalerReads: {
        inFlightMax: Math.max(0, ...scrapes.map((s) => s.inFlight)),
        waitingMax: Math.max(0, ...scrapes.map((s) => s.waiting)),
        limit: after.get('keda_ts_scaler_reads_limit'),
      },
      pollErrorsDuringWindow: delta('keda_scaled_object_errors_total'),
      benchFailures,
      skipped,
      logs: dir,
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await controller?.stop(10_000).catch(() => undefined);
    healthyServer.close();
    failingServer?.closeAllConnections();
    failingServer?.close();
    await cp.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
