#!/usr/bin/env -S npx tsx --conditions=@keda-ts/source
/**
 * keda-local-cluster: the local control plane as a command.
 *   up      start etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok, install the CRDs
 *   start   the same (or the cluster KUBECONFIG points at), plus the three built apps  (what `npm start` runs)
 *   build   build the pinned binaries only
 * Ctrl-C stops everything that was started.
 */
import { existsSync } from 'node:fs';
import { LocalControlPlane, runKubectl } from './control-plane';
import { ensureToolchain } from './toolchain';
import { installCrds } from './crds';
import { defaultAppSpecs, RunningApp, startApps, stopApps } from './local-system';
import { probeOnce } from './processes';
import { writeCertDir } from './certs';
import { registerApiServiceToLocalhost, unregisterApiService } from './testing/registration';
import { KubeConfig } from '@kubernetes/client-node';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

function usage(): never {
  process.stdout.write(`usage: keda-local-cluster <up|start|build> [--nodes N]

  up      start a local control plane on 127.0.0.1 and install the keda.sh CRDs
  start   like up (or use the cluster that KUBECONFIG points at), then run the controller,
          metrics-adapter and webhook against it
  build   build the pinned control-plane binaries (cached under ~/.cache/keda-ts/tools)

Ctrl-C stops everything this command started.
`);
  process.exit(0);
}

async function reachable(kubeconfig: string, kubectl: string): Promise<boolean> {
  try {
    await runKubectl(kubectl, kubeconfig, ['get', '--raw=/readyz', '--request-timeout=5s']);
    return true;
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (!command || command === '--help' || command === '-h') usage();
  const nodesFlag = rest.indexOf('--nodes');
  const nodes = nodesFlag >= 0 ? Number(rest[nodesFlag + 1]) : 3;

  if (command === 'build') {
    const tools = await ensureToolchain('all');
    process.stdout.write(JSON.stringify(tools, null, 2) + '\n');
    return;
  }
  if (command !== 'up' && command !== 'start') usage();

  let controlPlane: LocalControlPlane | undefined;
  let apps: RunningApp[] = [];
  let stopping = false;
  let cleanup: (() => Promise<void>) | undefined;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write('\nstopping...\n');
    // The APIService goes first: while it is unavailable, namespace deletion and GC stall.
    await cleanup?.().catch(() => undefined);
    await stopApps(apps);
    await controlPlane?.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  const tools = await ensureToolchain('control-plane');
  let kubeconfig = command === 'start' ? process.env['KUBECONFIG'] : undefined;
  if (kubeconfig && existsSync(kubeconfig) && (await reachable(kubeconfig, tools.kubectl))) {
    process.stderr.write(`using the cluster of KUBECONFIG=${kubeconfig}\n`);
  } else {
    controlPlane = new LocalControlPlane({ nodes });
    try {
      kubeconfig = (await controlPlane.start()).kubeconfig;
    } catch (err) {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      return stop(1);
    }
  }
  let certDir: string | undefined;
  let grpcPort: number | undefined;
  try {
    const kc = kubeconfig;
    await installCrds((args, input) => runKubectl(tools.kubectl, kc, args, input));
    if (command === 'start') {
      certDir = mkdtempSync(path.join(os.tmpdir(), 'keda-ts-certs-'));
      const certs = await writeCertDir(certDir);
      const defaults = await defaultAppSpecs(certDir);
      const { specs, ports } = defaults;
      grpcPort = ports.grpc;
      apps = await startApps(kc, specs);
      // The metrics adapter behind external.metrics.k8s.io, reached through an ExternalName Service to localhost.
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromFile(kc);
      const apiService = { group: 'external.metrics.k8s.io', version: 'v1beta1', namespace: 'keda', serviceName: 'keda-metrics-apiserver' };
      await registerApiServiceToLocalhost(kubeConfig, { ...apiService, port: ports.adapterSecure, caPem: certs.caPem });
      cleanup = async () => {
        await unregisterApiService(kubeConfig, apiService);
        if (certDir) rmSync(certDir, { recursive: true, force: true });
      };
    }
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    await stop(1);
    return;
  }
  for (const a of apps) {
    process.stderr.write(`${a.name}: probes on http://127.0.0.1:${a.healthPort} (log ${a.process.logFile})\n`);
  }
  process.stdout.write(`export KUBECONFIG=${kubeconfig}\n`);
  process.stderr.write(`
Try it:
  export KUBECONFIG=${kubeconfig}
  kubectl get crd | grep keda.sh
  kubectl apply -f - <<'YAML'
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: { name: demo }
spec:
  scaleTargetRef: { name: demo }
  triggers: [{ type: cron, metadata: { timezone: UTC, start: "0 * * * *", end: "30 * * * *", desiredReplicas: "2" } }]
YAML
  kubectl get so
${
  certDir && grpcPort
    ? `  # why it scales (or not), from the controller's own record:
  KEDA_TS_CONTROLLER_ADDRESS=127.0.0.1:${grpcPort} KEDA_TS_CERT_DIR=${certDir} node apps/cli/dist/main.js explain so/demo
`
    : ''
}(kubectl for this Kubernetes version: ${tools.kubectl})
Ctrl-C stops everything.
`);
  // Stay up; watch that the apps keep running.
  setInterval(() => {
    for (const a of apps) {
      void probeOnce({ url: `http://127.0.0.1:${a.healthPort}/healthz` }).then((code) => {
        if (code !== 200 && !stopping) process.stderr.write(`${a.name} is not healthy (HTTP ${code}); log ${a.process.logFile}\n`);
      });
    }
  }, 10_000);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
