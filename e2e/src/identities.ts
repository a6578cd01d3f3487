/**
 * The apps' chart identities: the ServiceAccounts and RBAC that `helm template charts/keda` renders,
 * applied to the cluster, and one kubeconfig per app with a TokenRequest token of its own
 * ServiceAccount (controller -> keda-operator, metrics-adapter -> keda-metrics-server, webhook ->
 * keda-webhook, all in the namespace `keda`), as the chart's Deployments run them. `startApps` runs
 * every app with these, never with the admin certificate: a rule missing from the chart fails the
 * tests that need it.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import { runKubectl } from './control-plane';
import { ensureToolchain } from './toolchain';

export type AppName = 'controller' | 'metrics-adapter' | 'webhook';

/** The chart the RBAC comes from, the release name and namespace the chart's defaults name KEDA's objects with. */
export const CHART_DIR = path.resolve(__dirname, '..', '..', 'charts', 'keda');
export const RELEASE_NAME = 'keda';
export const RELEASE_NAMESPACE = 'keda';

/** Kinds taken from the rendered chart. */
const RBAC_KINDS = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

/** The chart's `app.kubernetes.io/component` of each app's ServiceAccount. */
const COMPONENT_OF: Record<AppName, string> = { controller: 'operator', 'metrics-adapter': 'metrics-adapter', webhook: 'webhook' };

/** Lifetime of the tokens (TokenRequest expirationSeconds); reused until less than an hour is left. */
const TOKEN_SECONDS = 24 * 3600;
const FIELD_MANAGER = 'keda-ts-identities';

export interface AppIdentity {
  app: AppName;
  serviceAccount: { namespace: string; name: string };
  /** `system:serviceaccount:<namespace>:<name>` */
  username: string;
  /** A kubeconfig with the cluster's server and CA and the ServiceAccount's token. */
  kubeconfig: string;
  /** When the token expires (ms since the epoch). */
  expiresAt: number;
}

export type AppIdentities = Record<AppName, AppIdentity>;

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; ownerReferences?: unknown[] };
  rules?: { apiGroups?: string[]; resources?: string[]; resourceNames?: string[]; verbs: string[] }[];
  roleRef?: { apiGroup: string; kind: string; name: string };
  subjects?: { kind: string; name: string; namespace?: string; apiGroup?: string }[];
  [key: string]: unknown;
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(cmd)} ${args.join(' ')} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

/**
 * `helm template keda charts/keda --namespace <namespace>` with `--set-string` values; the RBAC kinds
 * only (ServiceAccounts, ClusterRoles, ClusterRoleBindings, Roles, RoleBindings).
 */
export async function renderChartRbac(options: { namespace?: string; values?: Record<string, string> } = {}): Promise<K8sObject[]> {
  const { helm } = await ensureToolchain('helm');
  const set = Object.entries(options.values ?? {}).flatMap(([k, v]) => ['--set-string', `${k}=${v}`]);
  const out = await run(helm, ['template', RELEASE_NAME, CHART_DIR, '--namespace', options.namespace ?? RELEASE_NAMESPACE, ...set]);
  return parseAllDocuments(out)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => !!o && RBAC_KINDS.has(o.kind));
}

/** Server-side apply (idempotent, safe when several test workers apply the same objects at once). */
async function applyObjects(kubectl: string, kubeconfig: string, objects: K8sObject[]): Promise<void> {
  if (!objects.length) return;
  const yaml = objects.map((o) => stringify(o)).join('---\n');
  await runKubectl(kubectl, kubeconfig, ['apply', '--server-side', '--force-conflicts', `--field-manager=${FIELD_MANAGER}`, '-f', '-'], yaml);
}

/** Server URL and CA (PEM) of the kubeconfig's current cluster. */
function clusterOf(kubeconfig: string): { server: string; caPem?: string; skipTLSVerify: boolean } {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error(`${kubeconfig} has no current cluster`);
  const caPem = cluster.caData ? Buffer.from(cluster.caData, 'base64').toString('utf8') : cluster.caFile ? readFileSync(cluster.caFile, 'utf8') : undefined;
  return { server: cluster.server, caPem, skipTLSVerify: cluster.skipTLSVerify };
}

function tokenKubeconfig(cluster: ReturnType<typeof clusterOf>, user: string, token: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'keda-ts',
        cluster: {
          server: cluster.server,
          ...(cluster.caPem ? { 'certificate-authority-data': Buffer.from(cluster.caPem).toString('base64') } : {}),
          ...(cluster.skipTLSVerify ? { 'insecure-skip-tls-verify': true } : {}),
        },
      },
    ],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: 'keda-ts', context: { cluster: 'keda-ts', user } }],
    'current-context': 'keda-ts',
  });
}

/** A directory lock (mkdir) shared by the processes of one machine; a lock older than a minute is stale. */
async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${dir}.lock`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      try {
        if (Date.now() - statSync(lock).mtimeMs > 60_000) rmSync(lock, { recursive: true, force: true });
      } catch {
        // released meanwhile
      }
      if (Date.now() > deadline) throw new Error(`${lock} still held after 120 s`, { cause: err });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Where the identities of the cluster of `adminKubeconfig` are kept: next to it, one directory per cluster. */
export function identitiesDir(adminKubeconfig: string): string {
  const { server, caPem } = clusterOf(adminKubeconfig);
  const id = createHash('sha256').update(`${server}\n${caPem ?? ''}`).digest('hex').slice(0, 12);
  return path.join(path.dirname(path.resolve(adminKubeconfig)), 'keda-ts-identities', id);
}

interface CacheFile {
  rbacHash: string;
  identities: AppIdentities;
}

const inProcess = new Map<string, Promise<AppIdentities>>();

/**
 * Applies the chart's RBAC (namespace `keda`, release `keda`) to the cluster of `adminKubeconfig`
 * and returns, per app, a kubeconfig with a 24 h token of its chart ServiceAccount. Cached per
 * cluster (in this process, and in files next to the admin kubeconfig for other processes): the
 * RBAC is applied again when the rendered chart changed, tokens are renewed with less than an hour left.
 */
export function appIdentities(adminKubeconfig: string): Promise<AppIdentities> {
  const key = path.resolve(adminKubeconfig);
  const cached = inProcess.get(key);
  const fresh = (ids: AppIdentities) => Object.values(ids).every((i) => i.expiresAt - Date.now() > 3_600_000);
  const p = (cached ?? Promise.reject(new Error('none'))).then(
    (ids) => (fresh(ids) ? ids : setUpIdentities(key)),
    () => setUpIdentities(key),
  );
  inProcess.set(key, p);
  p.catch(() => inProcess.delete(key));
  return p;
}

async function setUpIdentities(adminKubeconfig: string): Promise<AppIdentities> {
  const dir = identitiesDir(adminKubeconfig);
  mkdirSync(path.dirname(dir), { recursive: true });
  const rbac = await renderChartRbac();
  const rbacHash = createHash('sha256').update(JSON.stringify(rbac)).digest('hex');
  return withLock(dir, async () => {
    const cacheFile = path.join(dir, 'identities.json');
    let cache: CacheFile | undefined;
    try {
      cache = JSON.parse(readFileSync(cacheFile, 'utf8')) as CacheFile;
    } catch {
      cache = undefined;
    }
    const { kubectl } = await ensureToolchain('control-plane');
    if (cache?.rbacHash !== rbacHash) {
      const namespace: K8sObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: RELEASE_NAMESPACE } };
      await applyObjects(kubectl, adminKubeconfig, [namespace, ...rbac]);
    }
    if (cache?.rbacHash === rbacHash && Object.values(cache.identities).every((i) => i.expiresAt - Date.now() > 3_600_000)) {
      return cache.identities;
    }
    mkdirSync(dir, { recursive: true });
    const cluster = clusterOf(adminKubeconfig);
    const identities = {} as AppIdentities;
    for (const app of Object.keys(COMPONENT_OF) as AppName[]) {
      const sa = rbac.find((o) => o.kind === 'ServiceAccount' && o.metadata.labels?.['app.kubernetes.io/component'] === COMPONENT_OF[app]);
      if (!sa) throw new Error(`helm template ${CHART_DIR} rendered no ServiceAccount with app.kubernetes.io/component=${COMPONENT_OF[app]}`);
      const serviceAccount = { namespace: sa.metadata.namespace ?? RELEASE_NAMESPACE, name: sa.metadata.name };
      const requestedAt = Date.now();
      const token = (
        await runKubectl(kubectl, adminKubeconfig, ['create', 'token', serviceAccount.name, '-n', serviceAccount.namespace, `--duration=${TOKEN_SECONDS}s`])
      ).trim();
      const username = `system:serviceaccount:${serviceAccount.namespace}:${serviceAccount.name}`;
      const file = path.join(dir, `${app}.kubeconfig`);
      writeFileSync(`${file}.tmp`, tokenKubeconfig(cluster, username, token), { mode: 0o600 });
      renameSync(`${file}.tmp`, file);
      identities[app] = { app, serviceAccount, username, kubeconfig: file, expiresAt: requestedAt + TOKEN_SECONDS * 1000 };
    }
    writeFileSync(`${cacheFile}.tmp`, JSON.stringify({ rbacHash, identities } satisfies CacheFile, null, 2));
    renameSync(`${cacheFile}.tmp`, cacheFile);
    return identities;
  });
}

/** The last value of `--name=value` / `--name value` in `args`. */
function flagValue(args: string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i].startsWith(`--${name}=`)) value = args[i].slice(name.length + 3);
    else if (args[i] === `--${name}` && i + 1 < args.length && !args[i + 1].startsWith('--')) value = args[++i];
  }
  return value;
}

function flagOn(args: string[], name: string): boolean {
  const last = args.filter((a) => a === `--${name}` || a.startsWith(`--${name}=`)).pop();
  return last !== undefined && (last === `--${name}` || /=(true|1)$/i.test(last));
}

const binding = (subject: AppIdentity) => [{ kind: 'ServiceAccount', name: subject.serviceAccount.name, namespace: subject.serviceAccount.namespace }];

/**
 * The RBAC an operator would give the controller for flags that move its namespaced objects out of
 * the chart's defaults, the way the chart does it: the chart rendered with the matching values
 * (release namespace = `--pod-namespace`, `operator.leaderElectionID` = `--leader-election-id`,
 * `certificates.secretName` = `--cert-secret-name`), its release-namespace Role bound there to the
 * controller's ServiceAccount; with `--enable-cert-rotation` and a `--validating-webhook-name` other
 * than the chart's, the chart's webhook-patching rule for that name. Nothing for the defaults (the
 * chart's own RBAC covers them). Other apps have no such flags.
 */
export async function configurationRbac(identities: AppIdentities, app: AppName, args: string[]): Promise<K8sObject[]> {
  if (app !== 'controller') return [];
  const me = identities.controller;
  const podNamespace = flagValue(args, 'pod-namespace') ?? RELEASE_NAMESPACE;
  const leaseName = flagValue(args, 'leader-election-id') ?? 'operator.keda.sh';
  const certSecret = flagValue(args, 'cert-secret-name') ?? 'kedaorg-certs';
  const webhookName = flagValue(args, 'validating-webhook-name') ?? 'keda-admission';
  const rotation = flagOn(args, 'enable-cert-rotation');
  const out: K8sObject[] = [];
  const moved = podNamespace !== RELEASE_NAMESPACE || leaseName !== 'operator.keda.sh' || certSecret !== 'kedaorg-certs';
  const customWebhook = rotation && webhookName !== 'keda-admission';
  if (!moved && !customWebhook) return out;
  const rendered = await renderChartRbac({
    namespace: podNamespace,
    values: { 'operator.leaderElectionID': leaseName, 'certificates.secretName': certSecret },
  });
  const suffix = createHash('sha256').update(JSON.stringify([podNamespace, leaseName, certSecret, webhookName])).digest('hex').slice(0, 8);
  if (moved) {
    const role = rendered.find((o) => o.kind === 'Role' && o.metadata.namespace === podNamespace && o.rules?.some((r) => r.resources?.includes('leases') || r.resources?.includes('secrets')));
    const roleBinding = rendered.find((o) => o.kind === 'RoleBinding' && o.metadata.namespace === podNamespace && o.roleRef?.name === role?.metadata.name);
    if (!role || !roleBinding) throw new Error(`the chart rendered for namespace ${podNamespace} has no controller Role and RoleBinding there`);
    // In KEDA's own namespace the chart's objects already exist: these get a name of their own.
    const own = (n: string) => (podNamespace === RELEASE_NAMESPACE ? `${n}-${suffix}` : n);
    out.push(
      { ...role, metadata: { ...role.metadata, name: own(role.metadata.name) } },
      {
        ...roleBinding,
        metadata: { ...roleBinding.metadata, name: own(roleBinding.metadata.name) },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: own(role.metadata.name) },
        subjects: binding(me),
      },
    );
  }
  if (customWebhook) {
    const minimal = rendered.find((o) => o.kind === 'ClusterRole' && o.rules?.some((r) => r.resources?.includes('validatingwebhookconfigurations')));
    const rules = minimal?.rules?.filter((r) => r.resources?.includes('validatingwebhookconfigurations')).map((r) => ({ ...r, resourceNames: [webhookName] }));
    if (!minimal || !rules?.length) throw new Error('the chart renders no rule for patching the ValidatingWebhookConfiguration');
    const name = `${minimal.metadata.name}-webhook-${suffix}`;
    const labels = minimal.metadata.labels;
    out.push(
      { apiVersion: minimal.apiVersion, kind: 'ClusterRole', metadata: { name, labels }, rules },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
        subjects: binding(me),
      },
    );
  }
  return out;
}

/**
 * Applies `configurationRbac` for one app's flags. Cluster-scoped objects made for a test namespace
 * are owned by that Namespace, so they go when it is deleted.
 */
export async function grantConfiguration(adminKubeconfig: string, identities: AppIdentities, app: AppName, args: string[]): Promise<void> {
  const objects = await configurationRbac(identities, app, args);
  if (!objects.length) return;
  const { kubectl } = await ensureToolchain('control-plane');
  const podNamespace = flagValue(args, 'pod-namespace');
  if (podNamespace && podNamespace !== RELEASE_NAMESPACE) {
    const uid = (await runKubectl(kubectl, adminKubeconfig, ['get', 'namespace', podNamespace, '-o', 'jsonpath={.metadata.uid}'])).trim();
    for (const o of objects) {
      if (!o.metadata.namespace) o.metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'Namespace', name: podNamespace, uid }];
    }
  }
  await applyObjects(kubectl, adminKubeconfig, objects);
}
