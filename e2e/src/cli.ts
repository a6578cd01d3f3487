#!/usr/bin/env -S npx tsx --conditions=@keda-ts/source
/**
 * keda-local-cluster: the local control plane as a command.
 *   up      start etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok, install the CRDs
 *   start   the same (or the cluster KUBECONFIG points at), plus the three built apps, registered with the
 *           API server as the APIService external.metrics.k8s.io and the ValidatingWebhookConfiguration
 *           keda-admission (by URL on 127.0.0.1; both removed on exit)  (what `npm start` runs)
 *   build   build the pinned binaries only
 * Ctrl-C stops everything that was started.
 */
import { existsSync } from 'node:fs';
import { LocalControlPlane, runKubectl } from './control-plane';
import { ensureToolchain } from './toolchain';
import { installCrds } from './crds';
import { appIdentities, type AppName } from './identities';
import { defaultAppSpecs, RunningApp, startApps, stopApps } from './local-system';
import { probeOnce } from './processes';
import { writeCertDir } from './certs';
import {
  registerApiServiceToLocalhost,
  registerValidatingWebhookByUrl,
  unregisterApiService,
  unregisterValidatingWebhook,
  type WebhookByUrl,
} from './testing/registration';
import { KubeConfig } from '@kubernetes/client-node';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

function usage(): never {
  process.stdout.write(`usage: keda-local-cluster <up|start|build> [--nodes N]

  up      start a local control plane on 127.0.0.1 and install the keda.sh CRDs
  start   like up (or use the cluster that KUBECONFIG points at), then run the controller,
          metrics-adapter and webhook against it, each as its chart ServiceAccount with the
          chart's RBAC (applied to the cluster), and register the adapter (APIService
          v1beta1.external.metrics.k8s.io) and the webhook (ValidatingWebhookConfiguration
          keda-admission) on 127.0.0.1; both registrations are removed on exit
  build   build the pinned control-plane binaries (cached under ~/.cache/keda-ts/tools)

Ctrl-C stops everything this command started.
`);
  process.exit(0);
}

/** The name KEDA's chart gives the ValidatingWebhookConfiguration. */
const WEBHOOK_CONFIGURATION = 'keda-admission';

/**
 * The chart's six validating webhooks (charts/keda/templates/webhooks), registered by URL on 127.0.0.1
 * instead of through the Service, with the chart's default failurePolicy (Ignore: while the webhook
 * is down, objects are admitted unchecked) and timeout.
 */
function webhookRegistration(port: number, caPem: string): WebhookByUrl {
  const rule = (resource: string) => ({ apiGroups: ['keda.sh'], apiVersions: ['v1alpha1'], resources: [resource], operations: ['CREATE', 'UPDATE'] });
  const hook = (name: string, kind: string, resource: string) => ({ name, path: `/validate-keda-sh-v1alpha1-${kind}`, rules: [rule(resource)] });
  const eventingHook = (name: string, kind: string, resource: string) => ({
    name,
    path: `/validate-eventing-keda-sh-v1alpha1-${kind}`,
    rules: [{ ...rule(resource), apiGroups: ['eventing.keda.sh'] }],
  });
  return {
    configurationName: WEBHOOK_CONFIGURATION,
    port,
    caPem,
    failurePolicy: 'Ignore',
    timeoutSeconds: 10,
    webhooks: [
      hook('vscaledobject.kb.io', 'scaledobject', 'scaledobjects'),
      hook('vscaledjob.kb.io', 'scaledjob', 'scaledjobs'),
      hook('vstriggerauthentication.kb.io', 'triggerauthentication', 'triggerauthentications'),
      hook('vsclustertriggerauthentication.kb.io', 'clustertriggerauthentication', 'clustertriggerauthentications'),
      eventingHook('vcloudeventsource.kb.io', 'cloudeventsource', 'cloudeventsources'),
      eventingHook('vclustercloudeventsource.kb.io', 'clustercloudeventsource', 'clustercloudeventsources'),
    ],
  };
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
    // The registrations (webhook, APIService) go first, while the apps still serve them.
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
  let operatorCertDir: string | undefined;
  let grpcPort: number | undefined;
  try {
    const kc = kubeconfig;
    await installCrds((args, input) => runKubectl(tools.kubectl, kc, args, input));
    if (command === 'start') {
      certDir = mkdtempSync(path.join(os.tmpdir(), 'keda-ts-certs-'));
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromFile(kc);
      const apiService = { group: 'external.metrics.k8s.io', version: 'v1beta1', namespace: 'keda', serviceName: 'keda-metrics-apiserver' };
      // Set before anything is registered, so that a start-up failing half-way removes what it did
      // (deleting what does not exist is a no-op). The registrations go first: the webhook's
      // while its server is still up, and the APIService because namespace deletion and GC stall
      // while it is unavailable.
      const dirs = [certDir];
      cleanup = async () => {
        await unregisterValidatingWebhook(kubeConfig, WEBHOOK_CONFIGURATION).catch((err: unknown) =>
          process.stderr.write(`removing ValidatingWebhookConfiguration ${WEBHOOK_CONFIGURATION} failed: ${String(err)}\n`),
        );
        await unregisterApiService(kubeConfig, apiService).catch((err: unknown) =>
          process.stderr.write(`removing APIService ${apiService.version}.${apiService.group} failed: ${String(err)}\n`),
        );
        for (const d of dirs) rmSync(d, { recursive: true, force: true });
      };
      // One CA; each app its own certificate in its own dir (certDir/apps/<app>), as the chart mounts
      // them; an operator certificate for `keda-ts explain` in certDir/operator.
      const certs = await writeCertDir(certDir);
      operatorCertDir = certs.operatorDir;
      const defaults = await defaultAppSpecs(certDir);
      const { specs, ports } = defaults;
      grpcPort = ports.grpc;
      // Each app as its chart ServiceAccount with the chart's RBAC (never the admin kubeconfig).
      apps = await startApps(kc, specs);
      const identities = await appIdentities(kc);
      process.stderr.write(
        `apps run with the RBAC of helm template charts/keda, as ${apps.map((a) => `${a.name}: ${identities[a.name as AppName].username}`).join(', ')}\n`,
      );
      // The metrics adapter behind external.metrics.k8s.io, reached through an ExternalName Service to localhost.
      await registerApiServiceToLocalhost(kubeConfig, { ...apiService, port: ports.adapterSecure, caPem: certs.caPem });
      // The admission webhook, called by the API server at https://127.0.0.1:<port>/validate-...
      await registerValidatingWebhookByUrl(kubeConfig, webhookRegistration(ports.webhook, certs.caPem));
      process.stderr.write(
        `registered APIService ${apiService.version}.${apiService.group} and ValidatingWebhookConfiguration ${WEBHOOK_CONFIGURATION} (removed on exit)\n`,
      );
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
  # the workload to scale (on the local control plane its Pods run on kwok's fake Nodes)
  kubectl create deployment demo --image=registry.k8s.io/pause:3.10
  # a ScaledObject for it: 2 replicas from minute 0 to 30 of every hour, 0 for the rest
  kubectl apply -f - <<'YAML'
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: { name: demo }
spec:
  scaleTargetRef: { name: demo }
  triggers: [{ type: cron, metadata: { timezone: UTC, start: "0 * * * *", end: "30 * * * *", desiredReplicas: "2" } }]
YAML
${command === 'start' ? '  kubectl wait so/demo --for=condition=Ready --timeout=60s\n' : ''}  kubectl get so,hpa,deployment
${
  command === 'start'
    ? `  # a second ScaledObject for the same Deployment: the admission webhook refuses it
  # (admission webhook "vscaledobject.kb.io" denied the request: ... already managed by the ScaledObject 'demo')
  kubectl apply -f - <<'YAML'
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: { name: demo-again }
spec:
  scaleTargetRef: { name: demo }
  triggers: [{ type: cron, metadata: { timezone: UTC, start: "30 * * * *", end: "0 * * * *", desiredReplicas: "3" } }]
YAML
`
    : ''
}${
  operatorCertDir && grpcPort
    ? `  # why it scales (or not), from the controller's own record (with an operator certificate):
  KEDA_TS_CONTROLLER_ADDRESS=127.0.0.1:${grpcPort} KEDA_TS_CERT_DIR=${operatorCertDir} node apps/cli/dist/main.js explain so/demo
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
