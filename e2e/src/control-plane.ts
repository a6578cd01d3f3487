import { execFile } from 'node:child_process';
import { promises as fs, mkdtempSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

import { ensureToolchain, Toolchain } from './toolchain';
import { generatePki, Pki } from './pki';
import {
  freePort,
  ManagedProcess,
  reapStaleControlPlanes,
  recordOwner,
  stateRoot,
  waitHealthy,
} from './processes';


export interface ControlPlaneOptions {
  /** Number of kwok fake nodes (default 3). */
  nodes?: number;
  /** `--horizontal-pod-autoscaler-sync-period` of kube-controller-manager (default 2s; upstream 15s). */
  hpaSyncPeriod?: string;
  /** `--horizontal-pod-autoscaler-downscale-stabilization` (default 0s; upstream 5m). HPA spec.behavior overrides it. */
  hpaDownscaleStabilization?: string;
  /** Write an API server audit log (metadata level) to `<stateDir>/audit.log`. */
  auditLog?: boolean;
  /** Progress lines; defaults to stderr. */
  log?: (line: string) => void;
}

/** What a started control plane exposes; also written to `<stateDir>/cluster.json`. */
export interface ClusterInfo {
  stateDir: string;
  kubeconfig: string;
  server: string;
  kubernetesVersion: string;
  kubectl: string;
  pki: Pki;
  auditLog?: string;
  ports: Record<string, number>;
}

const KCM_CONTROLLERS = [
  'horizontal-pod-autoscaler-controller',
  'deployment-controller',
  'replicaset-controller',
  'statefulset-controller',
  'job-controller',
  'cronjob-controller',
  'garbage-collector-controller',
  'ttl-after-finished-controller',
  'namespace-controller',
  'serviceaccount-controller',
  'pod-garbage-collector-controller',
  // Removes the not-ready taint the API server puts on new Nodes once kwok reports them Ready.
  'node-lifecycle-controller',
  'disruption-controller',
];

/** Annotation kwok manages nodes by; the fake nodes carry it. */
export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';

function kubeconfigYaml(server: string, pki: Pki, user: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: keda-ts-local',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority: ${pki.caCert}`,
    'users:',
    `- name: ${user}`,
    '  user:',
    `    client-certificate: ${pki.adminCert}`,
    `    client-key: ${pki.adminKey}`,
    'contexts:',
    '- name: keda-ts-local',
    '  context:',
    '    cluster: keda-ts-local',
    `    user: ${user}`,
    'current-context: keda-ts-local',
    '',
  ].join('\n');
}

function fakeNodesYaml(count: number): string {
  const nodes: string[] = [];
  for (let i = 0; i < count; i++) {
    nodes.push(`apiVersion: v1
kind: Node
metadata:
  name: kwok-node-${i}
  annotations:
    ${KWOK_NODE_ANNOTATION}: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    type: kwok
    kubernetes.io/hostname: kwok-node-${i}
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
spec: {}
status:
  allocatable: { cpu: "32", memory: 256Gi, pods: "110" }
  capacity: { cpu: "32", memory: 256Gi, pods: "110" }
`);
  }
  return nodes.join('---\n');
}

/**
 * etcd, kube-apiserver (aggregation layer on), kube-controller-manager (HPA, Deployment, Job...),
 * kube-scheduler and kwok with fake Nodes, all on 127.0.0.1 with fresh PKI, free ports and a temp
 * state dir. `stop()` tears everything down; a stopped instance can be started again.
 */
/** Components `LocalControlPlane.restartComponent` can restart. */
export type ControlPlaneComponent = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler' | 'kwok';

export class LocalControlPlane {
  private processes: ManagedProcess[] = [];
  /** How each component's health is probed, for restarts. */
  private readonly probes = new Map<string, { probe: Parameters<typeof waitHealthy>[1]; timeoutMs: number }>();
  private info?: ClusterInfo;
  private readonly exitHandler = () => this.processes.forEach((p) => p.killNow());

  constructor(private readonly options: ControlPlaneOptions = {}) {}

  get cluster(): ClusterInfo {
    if (!this.info) throw new Error('the local control plane is not started');
    return this.info;
  }

  private log(line: string): void {
    (this.options.log ?? ((l: string) => process.stderr.write(`[control-plane] ${l}\n`)))(line);
  }

  async start(): Promise<ClusterInfo> {
    if (this.info) return this.info;
    const started = Date.now();
    for (const dir of reapStaleControlPlanes()) this.log(`stopped the leftovers of an earlier run in ${dir}`);
    const tools = await ensureToolchain('control-plane');
    const stateDir = mkdtempSync(path.join(stateRoot, 'keda-ts-cp-'));
    const logDir = path.join(stateDir, 'logs');
    await fs.mkdir(logDir, { recursive: true });
    process.on('exit', this.exitHandler);
    try {
      this.info = await this.bringUp(tools, stateDir, logDir);
    } catch (err) {
      await this.stopProcesses();
      process.off('exit', this.exitHandler);
      throw err;
    }
    await fs.writeFile(path.join(stateDir, 'cluster.json'), JSON.stringify(this.info, null, 2));
    this.log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s: KUBECONFIG=${this.info.kubeconfig}`);
    return this.info;
  }

  private async bringUp(tools: Toolchain, stateDir: string, logDir: string): Promise<ClusterInfo> {
    const o = this.options;
    const pki = await generatePki(path.join(stateDir, 'pki'));
    const ca = readFileSync(pki.caCert);
    const ports = {
      etcd: await freePort(),
      etcdPeer: await freePort(),
      apiserver: await freePort(),
      controllerManager: await freePort(),
      scheduler: await freePort(),
      kwok: await freePort(),
    };
    const server = `https://127.0.0.1:${ports.apiserver}`;
    const kubeconfig = path.join(stateDir, 'kubeconfig');
    await fs.writeFile(kubeconfig, kubeconfigYaml(server, pki, 'admin'));
    const record = () => recordOwner(stateDir, this.processes.map((p) => p.pid ?? 0));
    const launch = (name: string, cmd: string, args: string[]) => {
      const p = new ManagedProcess(name, cmd, args, logDir);
      p.start();
      this.processes.push(p);
      record();
      return p;
    };

    const etcdUrl = `http://127.0.0.1:${ports.etcd}`;
    const peerUrl = `http://127.0.0.1:${ports.etcdPeer}`;
    const etcd = launch('etcd', tools.etcd, [
      `--data-dir=${path.join(stateDir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=default=${peerUrl}`,
      '--unsafe-no-fsync=true',
      '--quota-backend-bytes=8589934592',
      '--log-level=warn',
    ]);
    this.probes.set('etcd', { probe: { url: `${etcdUrl}/health` }, timeoutMs: 30_000 });
    await waitHealthy(etcd, { url: `${etcdUrl}/health` }, 30_000);
    this.log('etcd healthy');

    const auditLog = o.auditLog ? path.join(stateDir, 'audit.log') : undefined;
    const auditArgs: string[] = [];
    if (auditLog) {
      const policy = path.join(stateDir, 'audit-policy.yaml');
      await fs.writeFile(
        policy,
        'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: ["RequestReceived"]\nrules:\n- level: Metadata\n',
      );
      auditArgs.push(`--audit-policy-file=${policy}`, `--audit-log-path=${auditLog}`, '--audit-log-format=json');
    }
    const apiserver = launch('kube-apiserver', tools.kubeApiserver, [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.apiserver}`,
      '--advertise-address=127.0.0.1',
      // The "kubernetes" Service's endpoints would be 127.0.0.1, which Endpoints validation forbids.
      '--endpoint-reconciler-type=none',
      `--cert-dir=${path.join(stateDir, 'apiserver-certs')}`,
      `--tls-cert-file=${pki.apiserverCert}`,
      `--tls-private-key-file=${pki.apiserverKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--service-account-issuer=${server}`,
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--authorization-mode=Node,RBAC',
      '--allow-privileged=true',
      // No kubelet mounts tokens here; the ServiceAccount admission plugin would only get in the way.
      '--disable-admission-plugins=ServiceAccount',
      // Aggregation layer: the front-proxy CA is published in kube-system/extension-apiserver-authentication.
      `--requestheader-client-ca-file=${pki.frontProxyCaCert}`,
      '--requestheader-allowed-names=front-proxy-client',
      '--requestheader-username-headers=X-Remote-User',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      `--proxy-client-cert-file=${pki.frontProxyClientCert}`,
      `--proxy-client-key-file=${pki.frontProxyClientKey}`,
      ...auditArgs,
    ]);
    this.probes.set('kube-apiserver', { probe: { url: `${server}/readyz`, ca }, timeoutMs: 90_000 });
    await waitHealthy(apiserver, { url: `${server}/readyz`, ca }, 90_000);
    this.log('kube-apiserver ready');

    const kcm = launch('kube-controller-manager', tools.kubeControllerManager, [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.controllerManager}`,
      `--cert-dir=${path.join(stateDir, 'kcm-certs')}`,
      '--leader-elect=false',
      // Each controller as its own ServiceAccount (kube-system/horizontal-pod-autoscaler, ...) with the
      // API server's bootstrap roles, as in a real cluster: the HPA controller reaches the metrics
      // adapter through the aggregator as that ServiceAccount, and the adapter's SubjectAccessReview decides.
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${pki.serviceAccountKey}`,
      `--controllers=${KCM_CONTROLLERS.join(',')}`,
      `--horizontal-pod-autoscaler-sync-period=${o.hpaSyncPeriod ?? '2s'}`,
      `--horizontal-pod-autoscaler-downscale-stabilization=${o.hpaDownscaleStabilization ?? '0s'}`,
      `--root-ca-file=${pki.caCert}`,
      '--kube-api-qps=200',
      '--kube-api-burst=400',
    ]);
    const scheduler = launch('kube-scheduler', tools.kubeScheduler, [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.scheduler}`,
      `--cert-dir=${path.join(stateDir, 'scheduler-certs')}`,
      '--leader-elect=false',
      '--kube-api-qps=200',
      '--kube-api-burst=400',
    ]);
    const kwok = launch('kwok', tools.kwok, [
      `--kubeconfig=${kubeconfig}`,
      `--config=${path.join(tools.kwokStagesDir, 'fast')}`,
      '--manage-all-nodes=false',
      `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
      // Fake pod IPs: nothing may ever dial them (they are not on this machine).
      '--cidr=10.0.0.0/24',
      '--node-ip=10.0.0.1',
      '--node-lease-duration-seconds=40',
      `--server-address=127.0.0.1:${ports.kwok}`,
    ]);
    this.probes.set('kube-controller-manager', { probe: { url: `https://127.0.0.1:${ports.controllerManager}/healthz`, insecure: true }, timeoutMs: 60_000 });
    this.probes.set('kube-scheduler', { probe: { url: `https://127.0.0.1:${ports.scheduler}/healthz`, insecure: true }, timeoutMs: 60_000 });
    this.probes.set('kwok', { probe: { url: `http://127.0.0.1:${ports.kwok}/healthz` }, timeoutMs: 60_000 });
    await Promise.all([
      waitHealthy(kcm, { url: `https://127.0.0.1:${ports.controllerManager}/healthz`, insecure: true }, 60_000),
      waitHealthy(scheduler, { url: `https://127.0.0.1:${ports.scheduler}/healthz`, insecure: true }, 60_000),
      waitHealthy(kwok, { url: `http://127.0.0.1:${ports.kwok}/healthz` }, 60_000),
    ]);
    this.log('kube-controller-manager, kube-scheduler and kwok healthy');

    const kubectl = (args: string[], input?: string) => runKubectl(tools.kubectl, kubeconfig, args, input);
    await kubectl(['apply', '-f', '-'], fakeNodesYaml(o.nodes ?? 3));
    await kubectl(['wait', '--for=condition=Ready', 'node', '--all', '--timeout=60s']);
    this.log(`${o.nodes ?? 3} kwok nodes Ready`);

    return {
      stateDir,
      kubeconfig,
      server,
      kubernetesVersion: tools.kubernetesVersion,
      kubectl: tools.kubectl,
      pki,
      auditLog,
      ports,
    };
  }

  /**
   * Kills one component (SIGKILL: no graceful shutdown), keeps it down for `downMs`, starts it
   * again with the same flags, ports and data, and resolves once it is healthy. Clients see the
   * outage as refused connections and broken watches, as in a crash of that component.
   */
  async restartComponent(name: ControlPlaneComponent, options: { downMs?: number } = {}): Promise<{ downMs: number }> {
    const proc = this.processes.find((p) => p.name === name);
    const health = this.probes.get(name);
    if (!proc || !health) throw new Error(`no running component ${name} (components: ${this.processes.map((p) => p.name).join(', ')})`);
    const killedAt = Date.now();
    await proc.kill();
    if (options.downMs) await new Promise((r) => setTimeout(r, options.downMs));
    proc.start();
    recordOwner(this.cluster.stateDir, this.processes.map((p) => p.pid ?? 0));
    await waitHealthy(proc, health.probe, health.timeoutMs);
    this.log(`${name} restarted; down ${Date.now() - killedAt} ms`);
    return { downMs: Date.now() - killedAt };
  }

  /** The process id of a running component (for benchmarks that read its CPU and memory). */
  pidOf(name: ControlPlaneComponent): number | undefined {
    return this.processes.find((p) => p.name === name)?.pid;
  }

  /** Runs kubectl against this control plane; resolves with stdout. */
  kubectl(args: string[], input?: string): Promise<string> {
    return runKubectl(this.cluster.kubectl, this.cluster.kubeconfig, args, input);
  }

  private async stopProcesses(): Promise<void> {
    // Reverse start order: kwok and the controllers first, etcd last.
    for (const p of [...this.processes].reverse()) await p.stop();
    this.processes = [];
  }

  async stop(options: { keepState?: boolean } = {}): Promise<void> {
    const info = this.info;
    await this.stopProcesses();
    process.off('exit', this.exitHandler);
    this.info = undefined;
    if (info && !options.keepState) await fs.rm(info.stateDir, { recursive: true, force: true });
  }
}

/** Runs kubectl with `--kubeconfig`; the error names the command and carries kubectl's stderr. */
export async function runKubectl(kubectlBin: string, kubeconfig: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      kubectlBin,
      [`--kubeconfig=${kubeconfig}`, ...args],
      { maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`kubectl ${args.join(' ')} failed: ${stderr || err.message}`));
        else resolve(stdout);
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

