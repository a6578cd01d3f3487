/**
 * Scalers benchmark (issue 7): N ScaledObjects (default 1,000) spread over prometheus, redis,
 * postgresql and kafka triggers at pollingInterval 5 s, each server real and local, the
 * controller's Operator in this Node process against a real local control plane. Reports per
 * server: calls per trigger per polling interval (target <= 1), open connections from this
 * process (target: bounded by the pool size, not by N) and poll errors (target 0).
 *
 * Every kind asked for (--kinds, default all four) must run: an unknown kind, a scaler missing from
 * @keda-ts/scalers or a server that does not start fails the run (exit code 1, the reason on
 * stderr) after stopping the servers already started; nothing is left out silently.
 *
 * Not a rate-driven load: the Operator's own scale loops poll (there is no open-loop generator here).
 *
 *   node --import tsx --conditions=@keda-ts/source e2e/bench/scalers-1000.ts [--objects 1000] [--seconds 30] [--kinds prometheus,postgresql] [--qps 50]
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { Operator } from '@keda-ts/operator';
import { createLogger } from '@keda-ts/runtime';
import type { Scaler } from '@keda-ts/scaler-sdk';
import { scalers, type ScalerRegistry } from '@keda-ts/scalers';
import { LocalControlPlane } from '../src/control-plane';
import { installCrds } from '../src/crds';
import * as servers from '../src/servers';
import { ensureToolchain } from '../src/toolchain';

const POLLING_INTERVAL_SECONDS = 5;

const argValue = (name: string): string | undefined => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const objects = Number(argValue('objects') ?? 1000);
const seconds = Number(argValue('seconds') ?? 30);
const onlyKinds = argValue('kinds')?.split(',');
/** Client-side API rate limit of the Operator (the controller's --kube-api-qps / --kube-api-burst). */
const qps = Number(argValue('qps') ?? 50);

/** One trigger kind of the benchmark: its server, trigger and server-side counters. */
interface BenchKind {
  type: string;
  /** The TCP port the scalers connect to (for counting open connections). */
  port: number;
  trigger(i: number): { metadata: Record<string, string>; env?: Record<string, string> };
  /** Requests the server has served for the scalers (monotonic), when the server can tell. */
  serverCalls?(): Promise<number>;
  stop(): Promise<void>;
}

type KindFactory = () => Promise<BenchKind>;

function httpGetText(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
}

const KINDS: Record<string, KindFactory> = {
  async prometheus() {
    const prom = await servers.startTestServer(servers.prometheusServer());
    return {
      type: 'prometheus',
      port: prom.ports.http,
      trigger: (i) => ({ metadata: { serverAddress: servers.prometheusUrl(prom.ports.http), query: `vector(0) * ${i}`, threshold: '5' } }),
      async serverCalls() {
        // Prometheus counts its own API requests per handler.
        const text = await httpGetText(prom.ports.http, '/metrics');
        let total = 0;
        for (const m of text.matchAll(/^prometheus_http_requests_total\{[^}]*handler="\/api\/v1\/query"[^}]*\} (\d+)/gm)) total += Number(m[1]);
        return total;
      },
      stop: () => prom.stop(),
    };
  },

  async postgresql() {
    const pg = await servers.startTestServer(servers.postgresqlServer());
    const login = servers.postgresqlLogin();
    // Every poll takes a number from this sequence (and reports 0): an exact server-side count of queries.
    await servers.psql(pg.ports.pg, 'CREATE SEQUENCE bench_calls');
    return {
      type: 'postgresql',
      port: pg.ports.pg,
      trigger: () => ({
        metadata: {
          host: '127.0.0.1',
          port: String(pg.ports.pg),
          userName: login.user,
          dbName: login.database,
          sslmode: 'disable',
          passwordFromEnv: 'PG_PASSWORD',
          query: "SELECT nextval('bench_calls') * 0",
          targetQueryValue: '5',
        },
        env: { PG_PASSWORD: login.password },
      }),
      serverCalls: async () => Number(await servers.psql(pg.ports.pg, 'SELECT last_value FROM bench_calls')),
      stop: () => pg.stop(),
    };
  },

  async redis() {
    const redis = await servers.startTestServer(servers.redisServer());
    return {
      type: 'redis',
      port: redis.ports.redis,
      trigger: () => ({ metadata: { address: `127.0.0.1:${redis.ports.redis}`, listName: 'bench-list', listLength: '5' } }),
      async serverCalls() {
        const info = await servers.tcpRequest(redis.ports.redis, 'INFO commandstats\r\n', 2000);
        let total = 0;
        // Requests from clients: one EVALSHA per poll. The TYPE and LLEN that its script runs inside
        // the server are counted by commandstats too, but are no round trips: left out.
        const insideScript = new Set(['info', 'type', 'llen', 'zcard', 'scard', 'hlen']);
        for (const m of info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)) if (!insideScript.has(m[1])) total += Number(m[2]);
        return total;
      },
      stop: () => redis.stop(),
    };
  },

  async kafka() {
    const tools = await ensureToolchain('extras');
    const kafka = await servers.startTestServer(servers.kafkaServer({ libsDir: tools.kafkaLibsDir, logRequests: true }));
    const brokers = `127.0.0.1:${kafka.ports.plain}`;
    // The broker does not create topics on demand: make the topic, and commit every group to the
    // end of it, so the triggers are inactive (lag 0) like the other kinds.
    const groups = Array.from({ length: 10 }, (_, g) => `bench-${g}`);
    await servers.prepareKafkaTopic(kafka.ports.plain, { topic: 'bench', partitions: 3, caughtUpGroups: groups });
    return {
      type: 'kafka',
      port: kafka.ports.plain,
      trigger: (i) => ({
        metadata: { bootstrapServers: brokers, consumerGroup: groups[i % groups.length], topic: 'bench', lagThreshold: '5' },
      }),
      // Requests the broker logged for the scalers' client id: the polls of one 50 ms window share one
      // OffsetFetch (every group) and one ListOffsets (every topic); coordinators are looked up once.
      serverCalls: async () => servers.kafkaRequestCount(kafka.logFile),
      stop: () => kafka.stop(),
    };
  },
};

/** Established TCP connections to 127.0.0.1:port (from any local process: here, the Operator). */
function openConnections(port: number): number {
  let n = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4) continue;
      const remotePort = parseInt(cols[2].split(':')[1] ?? '', 16);
      if (remotePort === port && cols[3] === '01') n++;
    }
  }
  return n;
}

/** The default registry, counting polls and poll errors per trigger type. */
function countingRegistry(base: ScalerRegistry, polls: Map<string, number>, errors: Map<string, string[]>): ScalerRegistry {
  return {
    types: () => base.types(),
    descriptor: (t) => base.descriptor(t),
    validate: (i) => base.validate(i),
    build(input, ctx): Scaler {
      const scaler = base.build(input, ctx);
      const type = input.triggerType;
      return {
        type: scaler.type,
        getMetricSpecForScaling: () => scaler.getMetricSpecForScaling(),
        close: () => scaler.close(),
        async getMetricsAndActivity(name, options) {
          polls.set(type, (polls.get(type) ?? 0) + 1);
          try {
            return await scaler.getMetricsAndActivity(name, options);
          } catch (err) {
            const list = errors.get(type) ?? [];
            if (list.length < 1000) list.push((err as Error).message);
            errors.set(type, list);
            throw err;
          }
        },
      };
    },
  };
}

async function main(): Promise<void> {
  const wanted = onlyKinds ?? Object.keys(KINDS);
  const cp = new LocalControlPlane({ nodes: 1, hpaSyncPeriod: '15s', log: () => undefined });
  const kinds: BenchKind[] = [];
  let operator: Operator | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      await operator?.stop().catch(() => undefined);
      await Promise.allSettled(kinds.map((k) => k.stop()));
      await cp.stop();
    })());
  // An interrupted run still stops its servers and control plane.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`${signal}: stopping the servers and the control plane\n`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  try {
    for (const name of wanted) {
      if (!KINDS[name]) throw new Error(`unknown kind ${name} (kinds: ${Object.keys(KINDS).join(', ')})`);
      if (!scalers.descriptor(name)) throw new Error(`the ${name} scaler is not registered in @keda-ts/scalers`);
    }
    for (const name of wanted) {
      try {
        kinds.push(await KINDS[name]());
      } catch (err) {
        throw new Error(`the ${name} server did not start: ${(err as Error).message}`, { cause: err });
      }
    }
    for (const kind of kinds) {
      const sample = kind.trigger(0);
      const problems = scalers.validate({
        triggerIndex: 0,
        triggerType: kind.type,
        metadata: sample.metadata,
        resolvedEnv: sample.env ?? {},
        authParams: {},
        scalableObject: { kind: 'ScaledObject', namespace: 'bench', name: 'w0' },
      });
      if (problems.length > 0) throw new Error(`${kind.type} trigger of the benchmark is invalid: ${problems.map((p) => p.message).join('; ')}`);
    }

    const info = await cp.start();
    await installCrds((args, input) => cp.kubectl(args, input));
    await cp.kubectl(['create', 'namespace', 'bench']);
    const perKind = new Map<string, number>();
    const docs: string[] = [];
    for (let i = 0; i < objects; i++) {
      const kind = kinds[i % kinds.length];
      perKind.set(kind.type, (perKind.get(kind.type) ?? 0) + 1);
      const { metadata, env } = kind.trigger(i);
      const envList = Object.entries(env ?? {}).map(([name, value]) => ({ name, value }));
      // Targets at 0 replicas with inactive triggers: the steady state of idle workloads (no HPA traffic).
      docs.push(
        JSON.stringify({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: `w${i}`, namespace: 'bench' },
          spec: {
            replicas: 0,
            selector: { matchLabels: { app: `w${i}` } },
            template: { metadata: { labels: { app: `w${i}` } }, spec: { containers: [{ name: 'm', image: 'registry.invalid/x:1', env: envList }] } },
          },
        }),
        JSON.stringify({
          apiVersion: 'keda.sh/v1alpha1',
          kind: 'ScaledObject',
          metadata: { name: `w${i}`, namespace: 'bench' },
          spec: {
            scaleTargetRef: { name: `w${i}` },
            pollingInterval: POLLING_INTERVAL_SECONDS,
            minReplicaCount: 0,
            triggers: [{ type: kind.type, metadata }],
          },
        }),
      );
    }
    for (let i = 0; i < docs.length; i += 200) await cp.kubectl(['apply', '-f', '-'], docs.slice(i, i + 200).join('\n---\n'));

    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(info.kubeconfig);
    const polls = new Map<string, number>();
    const errors = new Map<string, string[]>();
    operator = new Operator({
      kubeConfig,
      logger: createLogger({ component: 'bench', version: 'bench', level: 'error' }),
      registry: countingRegistry(scalers, polls, errors),
      kedaVersion: 'bench',
      watchNamespaces: ['bench'],
      qps,
      burst: Math.round(qps * 1.5),
    });
    const started = performance.now();
    await operator.start();
    while (operator.scaleLoopCount < objects) await new Promise((r) => setTimeout(r, 200));
    const readySeconds = (performance.now() - started) / 1000;
    // Let every loop complete a full interval before measuring.
    await new Promise((r) => setTimeout(r, (POLLING_INTERVAL_SECONDS + 2) * 1000));

    const pollsBefore = new Map(polls);
    const errorsBefore = new Map([...errors].map(([k, v]) => [k, v.length]));
    const serverBefore = new Map<string, number>();
    for (const k of kinds) if (k.serverCalls) serverBefore.set(k.type, await k.serverCalls());
    const maxConnections = new Map<string, number>();
    const t0 = performance.now();
    while (performance.now() - t0 < seconds * 1000) {
      for (const k of kinds) maxConnections.set(k.type, Math.max(maxConnections.get(k.type) ?? 0, openConnections(k.port)));
      await new Promise((r) => setTimeout(r, 500));
    }
    const measured = (performance.now() - t0) / 1000;
    const intervals = measured / POLLING_INTERVAL_SECONDS;
    const report: Record<string, unknown> = {};
    for (const k of kinds) {
      const triggers = perKind.get(k.type) ?? 0;
      const clientPolls = (polls.get(k.type) ?? 0) - (pollsBefore.get(k.type) ?? 0);
      const serverCalls = k.serverCalls ? (await k.serverCalls()) - (serverBefore.get(k.type) ?? 0) : undefined;
      const newErrors = (errors.get(k.type) ?? []).slice(errorsBefore.get(k.type) ?? 0);
      report[k.type] = {
        triggers,
        pollsPerTriggerPerInterval: +(clientPolls / triggers / intervals).toFixed(3),
        serverCallsPerTriggerPerInterval: serverCalls === undefined ? 'not countable server-side' : +(serverCalls / triggers / intervals).toFixed(3),
        openConnectionsMax: maxConnections.get(k.type),
        openConnectionsAtEnd: openConnections(k.port),
        pollErrors: newErrors.length,
        pollErrorSamples: [...new Set(newErrors)].slice(0, 3),
      };
    }
    process.stdout.write(
      JSON.stringify(
        {
          objects,
          pollingIntervalSeconds: POLLING_INTERVAL_SECONDS,
          measuredSeconds: +measured.toFixed(1),
          allScaleLoopsRunningAfterSeconds: +readySeconds.toFixed(1),
          rssMiB: +(process.memoryUsage().rss / 2 ** 20).toFixed(1),
          kinds: report,
        },
        null,
        2,
      ) + '\n',
    );
  } finally {
    await cleanup();
  }
}

main().then(
  // Idle pool connections and timers of the in-process Operator would keep the process alive.
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
