import {
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesObject,
  type KubernetesListObject,
} from '@kubernetes/client-node';
import type { Logger } from '@keda-ts/runtime';
import type { KubeClient } from './kube-client';

export type WatchEventType = 'add' | 'update' | 'delete';
export type WatchHandler<T> = (type: WatchEventType, obj: T, old: T | undefined) => void;

export interface WatchedOptions {
  /** API path of the collection, e.g. `/apis/keda.sh/v1alpha1/scaledobjects` or `.../namespaces/x/scaledobjects`. */
  path: string;
  labelSelector?: string;
  /** e.g. `type!=helm.sh/release.v1`: objects the caller never needs stay out of memory. */
  fieldSelector?: string;
  logger: Logger;
  /** Restart delay after a watch error; doubles up to 30 s. */
  restartDelayMs?: number;
  /**
   * Trims each object before it is cached and handed to handlers (client-go's SetTransform);
   * default {@link dropManagedFields}, as no cache reads them. It
   * changes the object in place: the list+watch cache underneath holds the same object, so what
   * is dropped here is not kept anywhere.
   */
  transform?: (obj: WatchableObject) => void;
  /** Objects per list request (`limit`); default 500. */
  pageSize?: number;
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * A transform for caches that never read managedFields or the last-applied annotation: together
 * they are usually most of an object's size.
 */
export function dropManagedFields(obj: WatchableObject): void {
  const metadata = obj.metadata as { managedFields?: unknown; annotations?: Record<string, string> } | undefined;
  if (!metadata) return;
  delete metadata.managedFields;
  if (metadata.annotations && LAST_APPLIED in metadata.annotations) delete metadata.annotations[LAST_APPLIED];
}

/** Any Kubernetes object shape (our generated types as well as client-node's). */
export interface WatchableObject {
  metadata?: { name?: string; namespace?: string };
}

export const objectKey = (obj: WatchableObject): string =>
  obj.metadata?.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : (obj.metadata?.name ?? '');

/**
 * An informer: a list+watch cache of one collection that restarts itself after errors and tells
 * handlers the previous version of an object, so callers can filter updates (generation changed,
 * an annotation changed...) as controller-runtime predicates do.
 */
export class Watched<T extends WatchableObject> {
  private readonly informer;
  private readonly previous = new Map<string, T>();
  private readonly handlers: WatchHandler<T>[] = [];
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private stopped = false;
  private failures = 0;
  private restartTimer?: NodeJS.Timeout;

  constructor(
    kubeConfig: KubeConfig,
    client: KubeClient,
    private readonly options: WatchedOptions,
  ) {
    const query = new URLSearchParams();
    if (options.labelSelector) query.set('labelSelector', options.labelSelector);
    if (options.fieldSelector) query.set('fieldSelector', options.fieldSelector);
    const listPath = query.size ? `${options.path}?${query.toString()}` : options.path;
    this.informer = new ListWatch<KubernetesObject>(
      options.path,
      new Watch(kubeConfig),
      // client-node signals "connect" before it lists, so synced is marked once a list's items
      // are in the cache: ListWatch adds them right after this promise settles, before any macrotask.
      () =>
        this.listAll(client, listPath).then((list) => {
          setImmediate(() => this.markSynced());
          return list;
        }),
      false,
      options.labelSelector,
      options.fieldSelector,
    );
    this.informer.on('add', (obj) => this.dispatch('add', obj as T));
    this.informer.on('update', (obj) => this.dispatch('update', obj as T));
    this.informer.on('delete', (obj) => this.dispatch('delete', obj as T));
    this.informer.on('connect', () => {
      this.failures = 0;
    });
    this.informer.on('error', (err) => this.restart(err));
  }

  /**
   * The whole collection, in pages of `pageSize` (as client-go's reflector lists): one response
   * of 10,000 objects is a string of tens of MB, and the process keeps that peak as resident memory.
   */
  private async listAll(client: KubeClient, listPath: string): Promise<KubernetesListObject<KubernetesObject>> {
    const pageSize = this.options.pageSize ?? 500;
    const sep = listPath.includes('?') ? '&' : '?';
    let first: KubernetesListObject<KubernetesObject> | undefined;
    const items: KubernetesObject[] = [];
    let token = '';
    do {
      const page = await client.get<KubernetesListObject<KubernetesObject>>(
        `${listPath}${sep}limit=${pageSize}${token ? `&continue=${encodeURIComponent(token)}` : ''}`,
      );
      first ??= page;
      for (const item of page.items ?? []) items.push(item);
      token = page.metadata?._continue ?? (page.metadata as { continue?: string } | undefined)?.continue ?? '';
    } while (token);
    return { ...first, items };
  }

  private markSynced(): void {
    if (this.synced || this.stopped) return;
    this.synced = true;
    this.syncWaiters.forEach((w) => w());
    this.syncWaiters = [];
  }

  private dispatch(type: WatchEventType, obj: T): void {
    (this.options.transform ?? dropManagedFields)(obj);
    const key = objectKey(obj);
    const old = this.previous.get(key);
    if (type === 'delete') this.previous.delete(key);
    else this.previous.set(key, obj);
    for (const h of this.handlers) {
      try {
        h(type, obj, old);
      } catch (err) {
        this.options.logger.error({ err, path: this.options.path, key }, 'watch handler failed');
      }
    }
  }

  private restart(err: unknown): void {
    if (this.stopped) return;
    this.failures++;
    const delay = Math.min(30_000, (this.options.restartDelayMs ?? 500) * 2 ** (this.failures - 1));
    this.options.logger.warn(
      { path: this.options.path, err: err instanceof Error ? err.message : String(err), retryInMs: delay },
      'watch failed; restarting',
    );
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (!this.stopped) void this.informer.start().catch((e: unknown) => this.restart(e));
    }, delay);
    this.restartTimer.unref?.();
  }

  on(handler: WatchHandler<T>): void {
    this.handlers.push(handler);
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.informer.start().catch((e: unknown) => this.restart(e));
  }

  /** Resolves once the first list is in the cache. */
  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((r) => this.syncWaiters.push(r));
  }

  get hasSynced(): boolean {
    return this.synced;
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer.get(name, namespace) as T | undefined;
  }

  list(namespace?: string): readonly T[] {
    return this.informer.list(namespace) as readonly T[];
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await this.informer.stop();
  }
}
