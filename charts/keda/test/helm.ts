import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';

export const WORKSPACE_ROOT = path.resolve(__dirname, '..', '..', '..');
export const CHART_DIR = path.join(WORKSPACE_ROOT, 'charts', 'keda');
export const RELEASE_NAMESPACE = 'keda';

/** Kubernetes version of the local control plane; `helm template` renders for it. */
export const KUBERNETES_VERSION = /^KUBERNETES_VERSION=(\S+)/m.exec(
  readFileSync(path.join(WORKSPACE_ROOT, 'e2e/toolchain/versions.env'), 'utf8'),
)?.[1] as string;

let helmPath: string | undefined;

/** The pinned helm: HELM_BIN, else what e2e/toolchain/build.sh built (a cached no-op after the first run). */
export function helmBin(): string {
  if (helmPath) return helmPath;
  helmPath = process.env['HELM_BIN'];
  if (!helmPath) {
    const out = execFileSync('bash', [path.join(WORKSPACE_ROOT, 'e2e/toolchain/build.sh'), 'extras'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    helmPath = /^HELM_BIN=(.+)$/m.exec(out)?.[1];
    if (!helmPath) throw new Error(`e2e/toolchain/build.sh extras printed no HELM_BIN:\n${out}`);
  }
  return helmPath;
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // Rendered manifests are checked structurally; the tests narrow what they read.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [key: string]: any;
}

export interface HelmResult {
  status: number;
  stdout: string;
  /** stderr without helm's note about the symlinked CRD directory. */
  stderr: string;
}

export function helm(args: string[]): HelmResult {
  const r = spawnSync(helmBin(), args, { cwd: WORKSPACE_ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const stderr = (r.stderr ?? '')
    .split('\n')
    .filter((l) => !l.includes('found symbolic link in path'))
    .join('\n')
    .trim();
  return { status: r.status ?? 1, stdout: r.stdout ?? '', stderr };
}

/** `--set` pairs and values files as helm arguments. */
export function valueArgs(set: Record<string, string | number | boolean> = {}, files: string[] = []): string[] {
  return [
    ...files.flatMap((f) => ['-f', path.isAbsolute(f) ? f : path.join(CHART_DIR, f)]),
    ...Object.entries(set).flatMap(([k, v]) => [typeof v === 'string' ? '--set-string' : '--set', `${k}=${v}`]),
  ];
}

export function parseManifests(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`rendered YAML does not parse: ${d.errors.map((e) => e.message).join('; ')}`);
      return d.toJS({ maxAliasCount: -1 }) as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null && typeof o === 'object');
}

/** `helm template` of the umbrella chart into namespace keda; throws with helm's message on failure. */
export function render(set: Record<string, string | number | boolean> = {}, files: string[] = []): K8sObject[] {
  const r = helm([
    'template',
    'keda',
    CHART_DIR,
    '--namespace',
    RELEASE_NAMESPACE,
    `--kube-version=${KUBERNETES_VERSION}`,
    ...valueArgs(set, files),
  ]);
  if (r.status !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  return parseManifests(r.stdout);
}

/** helm's error for values that must be refused. */
export function renderError(set: Record<string, string | number | boolean>): string {
  const r = helm(['template', 'keda', CHART_DIR, `--kube-version=${KUBERNETES_VERSION}`, ...valueArgs(set)]);
  if (r.status === 0) throw new Error(`helm template accepted ${JSON.stringify(set)}`);
  return r.stderr;
}

export function find(objects: K8sObject[], kind: string, name: string, namespace?: string): K8sObject {
  const found = objects.find(
    (o) => o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace),
  );
  if (!found) {
    const have = objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ');
    throw new Error(`no ${kind} ${name}${namespace ? ` in ${namespace}` : ''}; rendered: ${have}`);
  }
  return found;
}

export function has(objects: K8sObject[], kind: string, name: string): boolean {
  return objects.some((o) => o.kind === kind && o.metadata.name === name);
}

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
  nonResourceURLs?: string[];
}

const matches = (list: string[] | undefined, value: string) => (list ?? []).some((x) => x === '*' || x === value);
// RBAC resources: `*` is every resource and subresource, `*/scale` every resource's scale subresource.
const matchesResource = (list: string[] | undefined, value: string) =>
  (list ?? []).some((x) => x === '*' || x === value || (x.startsWith('*/') && value.endsWith(x.slice(1))));

/**
 * Whether `rules` allow `verb` on `group`/`resource` (optionally a named object), the way the RBAC
 * authorizer decides: a rule with resourceNames only matches requests for one of those names.
 */
export function allows(rules: PolicyRule[], verb: string, group: string, resource: string, name?: string): boolean {
  return rules.some(
    (r) =>
      matches(r.verbs, verb) &&
      matches(r.apiGroups, group) &&
      matchesResource(r.resources, resource) &&
      (!r.resourceNames || r.resourceNames.length === 0 || (name !== undefined && r.resourceNames.includes(name))),
  );
}

/** The RBAC rules bound to ServiceAccount `sa` (namespace keda), cluster-wide and per namespace. */
export function rulesOf(objects: K8sObject[], sa: string): { cluster: PolicyRule[]; byNamespace: Record<string, PolicyRule[]> } {
  const isSubject = (b: K8sObject) =>
    (b['subjects'] as { kind: string; name: string; namespace?: string }[]).some(
      (s) => s.kind === 'ServiceAccount' && s.name === sa && s.namespace === RELEASE_NAMESPACE,
    );
  const roleRules = (kind: string, name: string, namespace?: string): PolicyRule[] =>
    objects.find((o) => o.kind === kind && o.metadata.name === name && (kind === 'ClusterRole' || o.metadata.namespace === namespace))?.[
      'rules'
    ] ?? [];
  const cluster = objects
    .filter((o) => o.kind === 'ClusterRoleBinding' && isSubject(o))
    .flatMap((b) => roleRules(b['roleRef'].kind, b['roleRef'].name));
  const byNamespace: Record<string, PolicyRule[]> = {};
  for (const b of objects.filter((o) => o.kind === 'RoleBinding' && isSubject(o))) {
    const ns = b.metadata.namespace as string;
    byNamespace[ns] = [...(byNamespace[ns] ?? []), ...roleRules(b['roleRef'].kind, b['roleRef'].name, ns)];
  }
  return { cluster, byNamespace };
}
