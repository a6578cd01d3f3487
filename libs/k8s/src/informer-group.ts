import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '@keda-ts/runtime';
import type { KubeClient } from './kube-client';
import { Watched, type WatchableObject, type WatchedOptions } from './informer';

/** What to watch: WatchedOptions without the logger (the group's is used). */
export type InformerSpec = Omit<WatchedOptions, 'logger'>;

/**
 * When an informer starts. `dependency` informers (HPAs, workloads, Secrets...) start first and
 * sync; `primary` ones (ScaledObjects, ScaledJobs) start after, so that the first reconcile of each
 * object finds every cache it reads already filled.
 */
export type InformerRole = 'dependency' | 'primary';

/** The collection path of `resource` under `groupVersionPath` (e.g. `/apis/apps/v1`) in `namespace` ('' = all). */
export const collectionPath = (groupVersionPath: string, resource: string, namespace: string): string =>
  namespace ? `${groupVersionPath}/namespaces/${namespace}/${resource}` : `${groupVersionPath}/${resource}`;

/**
 * One resource watched over a set of namespaces ('' = all): one informer per namespace, as the
 * chart's per-namespace RBAC needs when WATCH_NAMESPACE lists namespaces.
 */
export class NamespacedWatch<T extends WatchableObject> {
  constructor(readonly informers: readonly { namespace: string; watched: Watched<T> }[]) {}

  /** The informer whose cache holds `namespace`, if any. */
  covering(namespace: string): Watched<T> | undefined {
    return this.informers.find((i) => i.namespace === '' || i.namespace === namespace)?.watched;
  }

  get all(): Watched<T>[] {
    return this.informers.map((i) => i.watched);
  }

  get(name: string, namespace: string): T | undefined {
    return this.covering(namespace)?.get(name, namespace);
  }

  list(namespace?: string): T[] {
    return namespace === undefined ? this.all.flatMap((w) => w.list()) : [...(this.covering(namespace)?.list(namespace) ?? [])];
  }

  get hasSynced(): boolean {
    return this.informers.every((i) => i.watched.hasSynced);
  }
}

/**
 * The informers of one process, shared: every controller asks the group for what it watches, and
 * the same collection (path, selectors, transform) is listed and watched once however many
 * controllers read it. The group starts them in order (dependencies, then primaries) and stops
 * them together.
 */
export class InformerGroup {
  private readonly byKey = new Map<string, { watched: Watched<WatchableObject>; role: InformerRole }>();
  private readonly transformIds = new Map<(obj: KubernetesObject) => KubernetesObject, number>();
  private started = false;

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly client: KubeClient,
    private readonly logger: Logger,
  ) {}

  /** The informer of one collection; a second request for the same collection gets the same one. */
  watch<T extends WatchableObject>(spec: InformerSpec, role: InformerRole = 'dependency'): Watched<T> {
    const key = this.keyOf(spec);
    const existing = this.byKey.get(key);
    if (existing) {
      // A collection some controller needs before its objects are reconciled stays a dependency.
      if (role === 'dependency') existing.role = 'dependency';
      return existing.watched as unknown as Watched<T>;
    }
    if (this.started) throw new Error(`informer for ${spec.path} requested after the informers started`);
    const watched = new Watched<T>(this.kubeConfig, this.client, { ...spec, logger: this.logger });
    this.byKey.set(key, { watched: watched as unknown as Watched<WatchableObject>, role });
    return watched;
  }

  /** `resource` of `groupVersionPath` in each of `namespaces` ('' = all). */
  namespaced<T extends WatchableObject>(
    namespaces: readonly string[],
    groupVersionPath: string,
    resource: string,
    spec: Omit<InformerSpec, 'path'> = {},
    role: InformerRole = 'dependency',
  ): NamespacedWatch<T> {
    return new NamespacedWatch(
      [...new Set(namespaces)].map((namespace) => ({ namespace, watched: this.watch<T>({ ...spec, path: collectionPath(groupVersionPath, resource, namespace) }, role) })),
    );
  }

  get all(): Watched<WatchableObject>[] {
    return [...this.byKey.values()].map((e) => e.watched);
  }

  get size(): number {
    return this.byKey.size;
  }

  /** Starts the dependency informers, waits for their first lists, then starts the primary ones. */
  async start(): Promise<void> {
    this.started = true;
    const of = (role: InformerRole) => [...this.byKey.values()].filter((e) => e.role === role).map((e) => e.watched);
    const dependencies = of('dependency');
    await Promise.all(dependencies.map((w) => w.start()));
    await Promise.all(dependencies.map((w) => w.waitForSync()));
    await Promise.all(of('primary').map((w) => w.start()));
  }

  get hasSynced(): boolean {
    return this.all.every((w) => w.hasSynced);
  }

  async waitForSync(): Promise<void> {
    await Promise.all(this.all.map((w) => w.waitForSync()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.all.map((w) => w.stop()));
  }

  private keyOf(spec: InformerSpec): string {
    let transform = 0;
    if (spec.transform) {
      transform = this.transformIds.get(spec.transform) ?? this.transformIds.size + 1;
      this.transformIds.set(spec.transform, transform);
    }
    return JSON.stringify([spec.path, spec.labelSelector ?? '', spec.fieldSelector ?? '', transform, spec.pageSize ?? 0]);
  }
}
