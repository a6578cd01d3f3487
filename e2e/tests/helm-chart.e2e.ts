import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { LocalControlPlane } from '../src/control-plane';
import { KEDA_CRD_NAMES } from '../src/crds';
import { waitFor } from '../src/testing';
import { ensureToolchain } from '../src/toolchain';

/*
 * `helm install` of charts/keda into a control plane of its own (the run's shared cluster already has
 * the CRDs, applied by the global setup, and other test files use it), then `helm upgrade` and
 * `helm uninstall`. That cluster has no Pod network: Service ClusterIPs lead nowhere. So the install
 * uses KEDA v2.20's own values.yaml (ci/keda-v2.20-values.yaml) with ci/install-test-values.yaml on top, which
 * leaves out the APIService and the ValidatingWebhookConfiguration;
 * nothing then makes the API server dial the adapter or the webhook. Their rendering is covered by the
 * chart's unit tests (charts/keda/test). Pods are scheduled onto a kwok node but no image is pulled.
 */

const CHART = path.resolve(__dirname, '..', '..', 'charts', 'keda');
const RELEASE = 'keda';
const NAMESPACE = 'keda';
const INSTALL_VALUES = path.join(CHART, 'ci', 'install-test-values.yaml');
// KEDA v2.20's own default values.yaml (a copy): the release is installed and upgraded with it, as a KEDA
// user's values would be, with INSTALL_VALUES on top.
const KEDA_VALUES = path.join(CHART, 'ci', 'keda-v2.20-values.yaml');

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

const cp = new LocalControlPlane({ nodes: 1, log: () => undefined });
let helmBin: string;
let helmHome: string;
const timings: Record<string, number> = {};

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** helm against the test's control plane, with its config and cache in a temp dir. */
async function helm(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    ...process.env,
    KUBECONFIG: cp.cluster.kubeconfig,
    HELM_CONFIG_HOME: path.join(helmHome, 'config'),
    HELM_CACHE_HOME: path.join(helmHome, 'cache'),
    HELM_DATA_HOME: path.join(helmHome, 'data'),
  };
  const r = await run(helmBin, args, env);
  // charts/keda/generated-crds links to the generated CRDs; helm notes every symlink it follows.
  r.stderr = r.stderr
    .split('\n')
    .filter((l) => !l.includes('found symbolic link in path'))
    .join('\n')
    .trim();
  return r;
}

async function timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await fn();
  } finally {
    timings[name] = Date.now() - started;
  }
}

/** The release's objects, from `helm get manifest` (the chart puts every namespaced object in a namespace). */
async function releaseObjects(): Promise<Obj[]> {
  const r = await helm(['get', 'manifest', RELEASE, '--namespace', NAMESPACE]);
  expect(r.stderr).toBe('');
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null)
    .map((o) => ({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.metadata.name, namespace: o.metadata.namespace } }));
}

/** Which of `objects` the API server has, as kubectl names them (`kind.group/name`). */
async function existing(objects: Obj[]): Promise<string[]> {
  const out = await cp.kubectl(['get', '-f', '-', '-o', 'name', '--ignore-not-found'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  return out.trim().split('\n').filter(Boolean).sort();
}

interface CrdState {
  metadata: { name: string; deletionTimestamp?: string; finalizers?: string[] };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

/** Each CRD among `names` that still exists: its finalizers and its Terminating condition. */
async function crdStates(names: string[]): Promise<string[]> {
  if (names.length === 0) return [];
  const out = await cp.kubectl(['get', 'crd', ...names, '-o', 'json', '--ignore-not-found']);
  if (!out.trim()) return [];
  const parsed = JSON.parse(out) as { items?: CrdState[] } & CrdState;
  return (parsed.items ?? [parsed]).map((crd) => {
    const terminating = crd.status?.conditions?.find((c) => c.type === 'Terminating');
    return `${crd.metadata.name}: deletionTimestamp ${crd.metadata.deletionTimestamp ?? 'none'}, finalizers ${JSON.stringify(crd.metadata.finalizers ?? [])}, Terminating ${terminating ? `${terminating.status} ${terminating.reason ?? ''} ${terminating.message ?? ''}`.trim() : 'absent'}`;
  });
}

/** What kube-apiserver logged about finalizing CRDs (its errors say why one is held). */
function crdFinalizerLog(): string[] {
  const log = readFileSync(path.join(cp.cluster.stateDir, 'logs', 'kube-apiserver.log'), 'utf8');
  return log.split('\n').filter((l) => /crd_finalizer|CRDFinalizer|keda\.sh failed with/.test(l)).slice(-10);
}

/**
 * Waits until none of `objects` exists. kube-apiserver's CRD finalizer removes a deleted CRD once it
 * has listed and deleted the CRD's instances. Its list fails with "storage is (re)initializing" while
 * the CRD's watch cache starts (here: right after the upgrade), and each failure doubles its retry
 * delay (up to 1,000 s). On a busy CI machine that held the ScaledJob CRD, which had no instances,
 * for over 150 s. An update to a CRD queues it again at once, so CRDs still held after a minute are
 * annotated once; what held them is printed then, and in the error if they never go.
 */
async function waitUntilGone(objects: Obj[]): Promise<void> {
  // HELM_E2E_REQUEUE_AFTER_MS=1 exercises the requeue on a machine where CRDs go at once.
  const requeueAfterMs = Number(process.env.HELM_E2E_REQUEUE_AFTER_MS ?? 60_000);
  const started = Date.now();
  let left: string[] = [];
  let requeued = false;
  const crdsLeft = () => left.filter((n) => n.startsWith('customresourcedefinition')).map((n) => n.split('/')[1]);
  try {
    await waitFor(
      async () => {
        left = await existing(objects);
        if (left.length === 0) return true;
        if (!requeued && crdsLeft().length > 0 && Date.now() - started >= requeueAfterMs) {
          requeued = true;
          const held = await crdStates(crdsLeft());
          process.stderr.write(`[helm-chart] CRDs still held, queued again:\n  ${[...held, ...crdFinalizerLog()].join('\n  ')}\n`);
          // A CRD can be removed in between; the next poll tells.
          await cp.kubectl(['annotate', '--overwrite', 'crd', ...crdsLeft(), `keda-ts.dev/requeued-at=${Date.now()}`]).catch(() => undefined);
        }
        return false;
      },
      { description: () => `every installed object to be gone; left: ${JSON.stringify(left)}`, timeoutMs: requeueAfterMs + 120_000 },
    );
  } catch (err) {
    if (crdsLeft().length === 0) throw err;
    throw new Error(`${(err as Error).message}; CRDs: ${JSON.stringify(await crdStates(crdsLeft()))}; kube-apiserver: ${JSON.stringify(crdFinalizerLog())}`, { cause: err });
  }
}

describe('helm install of charts/keda into a real control plane', () => {
  let installed: Obj[] = [];

  beforeAll(async () => {
    helmHome = mkdtempSync(path.join(os.tmpdir(), 'keda-ts-helm-'));
    const [tools] = await Promise.all([ensureToolchain('extras'), timed('control plane start', () => cp.start())]);
    helmBin = tools.helm;
    await cp.kubectl(['create', 'namespace', NAMESPACE]);
  }, 180_000);

  afterAll(async () => {
    process.stderr.write(
      `[helm-chart] ${Object.entries(timings)
        .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
        .join(', ')}\n`,
    );
    await cp.stop();
    rmSync(helmHome, { recursive: true, force: true });
  });

  it('refuses values that break the schema, naming the field, and creates nothing', async () => {
    const r = await helm([
      'install', 'bad', CHART, '--namespace', NAMESPACE,
      '--set', 'webhooks.failurePolicy=Never', '--set', 'operator.replicaCount=-1', '--set', 'controller.enabled=true',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("values don't meet the specifications of the schema");
    expect(r.stderr).toContain("at '/webhooks/failurePolicy': value must be one of 'Ignore', 'Fail'");
    expect(r.stderr).toContain("at '/operator/replicaCount': minimum: got -1, want 0");
    expect(r.stderr).toContain("additional properties 'controller' not allowed");
    expect((await helm(['list', '--all', '--namespace', NAMESPACE, '-q'])).stdout.trim()).toBe('');
    expect((await cp.kubectl(['get', 'crd', '-o', 'name'])).trim()).toBe('');
  });

  it("installs with KEDA v2.20's values.yaml: the API server accepts every object and establishes the CRDs", async () => {
    const r = await timed('helm install', () =>
      helm(['install', RELEASE, CHART, '--namespace', NAMESPACE, '-f', KEDA_VALUES, '-f', INSTALL_VALUES, '--timeout', '2m']),
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('STATUS: deployed');
    expect(r.stdout).toContain('keda-ts 0.1.0 is installed in namespace keda');
    // KEDA's images are replaced by keda-ts's, and the KEDA settings keda-ts ignores are named.
    expect(r.stdout).toContain("KEDA's images in image.* (kedacore/keda...) were replaced by keda-ts's");
    expect(r.stdout).toContain("Accepted from KEDA's values but ignored by keda-ts");

    installed = await releaseObjects();
    const kinds = installed.map((o) => o.kind);
    expect(kinds.filter((k) => k === 'CustomResourceDefinition')).toHaveLength(KEDA_CRD_NAMES.length);
    expect(kinds.filter((k) => k === 'Deployment')).toHaveLength(3);
    expect(kinds).not.toContain('APIService');
    expect(kinds).not.toContain('ValidatingWebhookConfiguration');
    expect(await existing(installed)).toHaveLength(installed.length);

    await timed('CRDs established', () =>
      cp.kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...KEDA_CRD_NAMES.map((n) => `crd/${n}`)]),
    );
    const served = await cp.kubectl(['api-resources', '--api-group=keda.sh', '-o', 'name']);
    expect(served.trim().split('\n').sort()).toEqual(KEDA_CRD_NAMES.filter((n) => n.endsWith('.keda.sh') && !n.includes('.eventing.')).sort());

    // The certificate Secret is mounted with items: each Pod gets ca.crt and only its own leaf, ca.key
    // only the controller (as the API server stored the Deployments).
    const deployments = JSON.parse(await cp.kubectl(['get', 'deployments', '-n', NAMESPACE, '-o', 'json'])) as {
      items: { metadata: { name: string }; spec: { template: { spec: { volumes?: { name: string; secret?: { secretName: string; items?: { key: string; path: string }[] } }[] } } } }[];
    };
    const mounted = Object.fromEntries(
      deployments.items.map((d) => {
        const v = d.spec.template.spec.volumes?.find((x) => x.name === 'certificates');
        expect(v?.secret?.secretName).toBe('kedaorg-certs');
        return [d.metadata.name, (v?.secret?.items ?? []).map((i) => (i.key === i.path ? i.key : `${i.key}->${i.path}`))];
      }),
    );
    expect(mounted).toEqual({
      'keda-operator': ['ca.crt', 'ca.key', 'tls.crt', 'tls.key'],
      'keda-operator-metrics-apiserver': ['ca.crt', 'metrics-adapter-client.crt', 'metrics-adapter-client.key', 'metrics-adapter.crt', 'metrics-adapter.key'],
      'keda-admission-webhooks': ['ca.crt', 'webhook.crt', 'webhook.key'],
    });

    // The Deployments were accepted and rolled out as far as a cluster without images goes.
    await waitFor(
      async () => {
        const pods = JSON.parse(await cp.kubectl(['get', 'pods', '-n', NAMESPACE, '-o', 'json'])) as { items: { spec: { nodeName?: string } }[] };
        return pods.items.length === 3 && pods.items.every((p) => p.spec.nodeName === 'kwok-node-0');
      },
      { description: 'the three Pods scheduled onto the kwok node', timeoutMs: 60_000 },
    );
  }, 180_000);

  it("leaves the gRPC Service to the leader's EndpointSlice, which the controller's ServiceAccount may write, by name", async () => {
    // No selector: the EndpointSlice controller writes nothing for it, whatever operator.replicaCount.
    const svc = JSON.parse(await cp.kubectl(['get', 'service', 'keda-operator', '-n', NAMESPACE, '-o', 'json'])) as {
      metadata: { uid: string };
      spec: { selector?: Record<string, string>; ports: { name: string; port: number }[] };
    };
    expect(svc.spec.selector).toBeUndefined();
    expect(svc.spec.ports.map((p) => `${p.name}:${p.port}`)).toEqual(['metricsservice:9666']);
    const deployment = JSON.parse(await cp.kubectl(['get', 'deployment', 'keda-operator', '-n', NAMESPACE, '-o', 'json'])) as {
      spec: { template: { spec: { containers: { env: { name: string; value?: string; valueFrom?: unknown }[] }[] } } };
    };
    const env = deployment.spec.template.spec.containers[0].env;
    expect(env).toContainEqual({ name: 'POD_IP', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'status.podIP' } } });
    expect(env).toContainEqual({ name: 'METRICS_SERVICE_ENDPOINT_SLICE', value: 'keda-operator' });

    // What the controller's RBAC allows, asked of the API server as its ServiceAccount.
    const as = '--as=system:serviceaccount:keda:keda-operator';
    const canI = (verb: string, resource: string) =>
      cp.kubectl(['auth', 'can-i', verb, resource, '-n', NAMESPACE, as]).then((o) => o.trim(), () => 'no');
    expect(await canI('create', 'endpointslices.discovery.k8s.io')).toBe('yes');
    for (const verb of ['get', 'list', 'watch', 'update', 'patch', 'delete']) {
      expect(`${verb}: ${await canI(verb, 'endpointslices.discovery.k8s.io/keda-operator-leader')}`).toBe(`${verb}: yes`);
      expect(`${verb}: ${await canI(verb, 'endpointslices.discovery.k8s.io/other')}`).toBe(`${verb}: no`);
    }
    expect(await canI('get', 'services/keda-operator')).toBe('yes');
    expect(await canI('update', 'services/keda-operator')).toBe('no');

    // The slice a leader writes (as the ServiceAccount): accepted, kept by kube-controller-manager (its
    // EndpointSlice controller leaves slices managed by others alone), and owned by the Service.
    const slice = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'keda-operator-leader',
        namespace: NAMESPACE,
        labels: { 'kubernetes.io/service-name': 'keda-operator', 'endpointslice.kubernetes.io/managed-by': 'keda-ts-controller' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'keda-operator', uid: svc.metadata.uid, controller: true, blockOwnerDeletion: true }],
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.244.0.7'], conditions: { ready: true, serving: true, terminating: false } }],
      ports: [{ name: 'metricsservice', port: 9666, protocol: 'TCP', appProtocol: 'grpc' }],
    };
    await cp.kubectl(['create', '-f', '-', as], JSON.stringify(slice));
    await new Promise((r) => setTimeout(r, 3_000));
    const slices = JSON.parse(await cp.kubectl(['get', 'endpointslices', '-n', NAMESPACE, '-l', 'kubernetes.io/service-name=keda-operator', '-o', 'json'])) as {
      items: { metadata: { name: string }; endpoints?: { addresses: string[] }[] }[];
    };
    expect(slices.items.map((i) => `${i.metadata.name}: ${i.endpoints?.flatMap((e) => e.addresses).join()}`)).toEqual(['keda-operator-leader: 10.244.0.7']);
    installed.push({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'keda-operator-leader', namespace: NAMESPACE } });
  }, 60_000);

  it('upgrades the CRDs with the release', async () => {
    const r = await timed('helm upgrade', () =>
      helm([
        'upgrade', RELEASE, CHART, '--namespace', NAMESPACE, '-f', KEDA_VALUES, '-f', INSTALL_VALUES,
        '--set-string', 'crds.additionalAnnotations.keda-ts\\.dev/upgraded=yes',
      ]),
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const annotation = await cp.kubectl([
      'get', 'crd', 'scaledobjects.keda.sh', '-o', 'jsonpath={.metadata.annotations.keda-ts\\.dev/upgraded}',
    ]);
    expect(annotation).toBe('yes');
  }, 120_000);

  it('uninstalls everything it created (the leader EndpointSlice goes with its Service)', async () => {
    expect(installed.length).toBeGreaterThan(0);
    // Waited for here rather than with --wait: on a loaded machine helm's wait gave up with a bare
    // "context deadline exceeded"; this names whatever is left.
    const r = await timed('helm uninstall', () => helm(['uninstall', RELEASE, '--namespace', NAMESPACE]));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    await waitUntilGone(installed);
    // What the Deployments made (ReplicaSets, Pods) goes too, and so do Helm's release Secrets.
    await waitFor(
      async () =>
        (await cp.kubectl(['get', 'deploy,rs,pods,svc,sa,role,rolebinding,secret', '-n', NAMESPACE, '-o', 'name']))
          .trim()
          .split('\n')
          .filter((n) => n && !n.startsWith('serviceaccount/default'))
          .length === 0 || false,
      { description: 'the release namespace to be empty', timeoutMs: 60_000 },
    );
    expect((await cp.kubectl(['get', 'crd', '-o', 'name'])).trim()).toBe('');
    expect((await cp.kubectl(['get', 'clusterrole,clusterrolebinding', '-l', 'app.kubernetes.io/part-of=keda', '-o', 'name'])).trim()).toBe('');
  }, 300_000);

  it('never made the API server dial a Service ClusterIP', () => {
    const log = readFileSync(path.join(cp.cluster.stateDir, 'logs', 'kube-apiserver.log'), 'utf8');
    expect(log.split('\n').filter((l) => /dial tcp 10\.0\.0\.\d+/.test(l))).toEqual([]);
  });
});
