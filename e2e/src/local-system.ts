import { existsSync, mkdtempSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { appCertDir } from './certs';
import { appIdentities, grantConfiguration, RELEASE_NAMESPACE } from './identities';
import { freePort, ManagedProcess, waitHealthy } from './processes';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** One of the three services, as `npm start` runs it: the built bundle under apps/<name>/dist. */
export interface AppProcessSpec {
  name: 'controller' | 'metrics-adapter' | 'webhook';
  /** Extra flags besides --kubeconfig and the probe address. */
  args?: string[];
  /** Extra environment variables (e.g. OTEL_EXPORTER_OTLP_ENDPOINT for the controller). */
  env?: NodeJS.ProcessEnv;
}

export interface RunningApp {
  name: string;
  process: ManagedProcess;
  healthPort: number;
}

/**
 * Node flags each app runs with, the same as its image's ENTRYPOINT (apps/<name>/Dockerfile).
 * `--no-warnings`: the apps log node's process warnings as JSON themselves (libs/runtime), so
 * node's plain-text copy is silenced.
 *
 * Controller and metrics adapter: `--heap-growing-percent=25` lets V8's old generation grow to 1.25x
 * what survived the last full collection (by default it may grow to several times that before
 * collecting), and `--max-semi-space-size=4` caps the young generation at 4 MiB per semi-space
 * (default up to 16). Their live heaps are small (the controller's ~90 MiB with 1,000 ScaledObjects,
 * heap snapshots in one-replica.ts), but with V8's defaults the resident memory was 4-6x that and
 * doubled under metric load (e2e/bench/one-replica.ts: 378 -> 597 MiB at 500 requests/s; with these
 * flags 215 -> 232 MiB); the price is more frequent collections, measured in docs/operations.md.
 *
 * Webhook: `--optimize-for-size` (a young generation of 1 MiB per semi-space, an old generation
 * grown in smaller steps). Its live heap is under 50 MiB with 10,000 ScaledObjects and HPAs cached,
 * but V8's defaults let it reach 150+ MiB resident (issue 5's bound); the cost is about 0.2 ms more
 * CPU per admission. The controller cannot take that flag: it doubled its CPU per poll.
 */
const SMALL_HEAP_FLAGS = ['--heap-growing-percent=25', '--max-semi-space-size=4'];
export const APP_NODE_FLAGS: Readonly<Record<AppProcessSpec['name'], readonly string[]>> = {
  controller: ['--no-warnings', ...SMALL_HEAP_FLAGS],
  'metrics-adapter': ['--no-warnings', ...SMALL_HEAP_FLAGS],
  webhook: ['--no-warnings', '--optimize-for-size'],
};

export function appBundle(name: string): string {
  return path.join(REPO_ROOT, 'apps', name, 'dist', 'main.js');
}

/**
 * Starts the built apps against the cluster of `kubeconfig` (an admin kubeconfig), each with its
 * probes on a free 127.0.0.1 port, and waits until every /readyz answers 200.
 *
 * Each app runs as the chart runs it: with a token of its own chart ServiceAccount (controller ->
 * keda/keda-operator, metrics-adapter -> keda/keda-metrics-server, webhook -> keda/keda-webhook) and
 * the RBAC `helm template charts/keda` renders (e2e/src/identities.ts), never with the admin
 * certificate; and with POD_NAMESPACE=keda, as the chart's Deployments set it. Flags that move the
 * controller's namespaced objects elsewhere (--pod-namespace, --leader-election-id, ...) get the
 * chart's Role for that configuration (`grantConfiguration`).
 */
export async function startApps(kubeconfig: string, specs: AppProcessSpec[], logDir?: string): Promise<RunningApp[]> {
  const dir = logDir ?? mkdtempSync(path.join(os.tmpdir(), 'keda-ts-apps-'));
  const running: RunningApp[] = [];
  try {
    const identities = await appIdentities(kubeconfig);
    for (const spec of specs) await grantConfiguration(kubeconfig, identities, spec.name, spec.args ?? []);
    for (const spec of specs) {
      const bundle = appBundle(spec.name);
      if (!existsSync(bundle)) throw new Error(`${bundle} is missing: build it first (npx nx run ${spec.name}:build)`);
      const healthPort = await freePort();
      // Prometheus metrics default to KEDA's :8080; several apps on one machine need their own port.
      const args = spec.args ?? [];
      const metricsFlag = spec.name === 'metrics-adapter' ? '--port' : '--metrics-bind-address';
      const metricsValue = spec.name === 'metrics-adapter' ? `${await freePort()}` : `127.0.0.1:${await freePort()}`;
      const metricsPort = args.some((a) => a.startsWith(`${metricsFlag}=`) || a === metricsFlag) ? [] : [`${metricsFlag}=${metricsValue}`];
      // KEDA_E2E_NODE_ARGS adds node flags to every app, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
      const nodeArgs = process.env['KEDA_E2E_NODE_ARGS']?.split(' ').filter(Boolean) ?? [];
      const proc = new ManagedProcess(spec.name, process.execPath, [
        ...APP_NODE_FLAGS[spec.name],
        ...nodeArgs,
        bundle,
        `--kubeconfig=${identities[spec.name].kubeconfig}`,
        `--health-probe-bind-address=127.0.0.1:${healthPort}`,
        ...metricsPort,
        ...args,
      ], dir, { ...process.env, POD_NAMESPACE: RELEASE_NAMESPACE, ...spec.env });
      proc.start();
      running.push({ name: spec.name, process: proc, healthPort });
    }
    await Promise.all(running.map((a) => waitHealthy(a.process, { url: `http://127.0.0.1:${a.healthPort}/readyz` }, 60_000)));
    return running;
  } catch (err) {
    await stopApps(running);
    throw err;
  }
}

export async function stopApps(apps: RunningApp[]): Promise<void> {
  await Promise.all(apps.map((a) => a.process.stop(10_000)));
}

/** How a test runs the metrics adapter on loopback. */
export interface AdapterSpecOptions {
  /** The HTTPS port the aggregator calls. */
  securePort: number;
  /** The /metrics port; absent: the adapter's default. */
  metricsPort?: number;
  /** The adapter's mounted cert dir (its serving pair, its gRPC client pair, ca.crt). */
  certDir: string;
  /** The controller's gRPC port on 127.0.0.1, or `controller` for any other `host:port`. */
  grpcPort?: number;
  controller?: string;
  /** --metrics-service-grpc-authority (the name the controller's certificate carries). */
  authority?: string;
  extraArgs?: string[];
}

/** The metrics adapter's process spec: on 127.0.0.1, calling the controller at `grpcPort` (or `controller`). */
export function adapterSpec(options: AdapterSpecOptions): AppProcessSpec {
  const controller = options.controller ?? `127.0.0.1:${options.grpcPort}`;
  return {
    name: 'metrics-adapter',
    args: [
      '--bind-address=127.0.0.1',
      `--secure-port=${options.securePort}`,
      ...(options.metricsPort === undefined ? [] : [`--port=${options.metricsPort}`]),
      `--cert-dir=${options.certDir}`,
      `--metrics-service-address=${controller}`,
      ...(options.authority ? [`--metrics-service-grpc-authority=${options.authority}`] : []),
      ...(options.extraArgs ?? []),
    ],
  };
}

/** Ports `npm start` gives the apps (all on 127.0.0.1). */
export interface SystemPorts {
  grpc: number;
  adapterSecure: number;
  webhook: number;
}

/**
 * The flags `npm start` gives each app so that all three run side by side on loopback, each with
 * its own cert dir as the chart mounts it (see writeCertDir: `<certDir>/apps/<app>`, falling back
 * to `certDir` itself for a flat dir): the controller serves gRPC with tls.crt, the adapter calls it
 * with metrics-adapter-client.crt and serves HTTPS with metrics-adapter.crt, the webhook serves
 * HTTPS with webhook.crt (from `webhookCertDir` when given).
 */
export async function defaultAppSpecs(
  certDir: string,
  options: { webhookCertDir?: string } = {},
): Promise<{ specs: AppProcessSpec[]; ports: SystemPorts }> {
  const ports = { grpc: await freePort(), adapterSecure: await freePort(), webhook: await freePort() };
  const specs: AppProcessSpec[] = [
    {
      name: 'controller',
      args: [
        `--metrics-bind-address=127.0.0.1:${await freePort()}`,
        `--metrics-service-bind-address=127.0.0.1:${ports.grpc}`,
        `--cert-dir=${appCertDir(certDir, 'controller')}`,
      ],
    },
    adapterSpec({ securePort: ports.adapterSecure, metricsPort: await freePort(), certDir: appCertDir(certDir, 'metrics-adapter'), grpcPort: ports.grpc }),
    {
      name: 'webhook',
      args: [
        `--port=${ports.webhook}`,
        `--cert-dir=${options.webhookCertDir ?? appCertDir(certDir, 'webhook')}`,
        `--metrics-bind-address=127.0.0.1:${await freePort()}`,
      ],
    },
  ];
  return { specs, ports };
}
