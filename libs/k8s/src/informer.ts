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
   * Applied to every listed and watched object before it enters the cache (client-go's
   * TransformFunc): drop what the caller never reads so that thousands of cached objects stay small.
   * Default: {@link stripManagedFields}. Must return an object with the same metadata name/namespace.
   */
  transform?: (obj: KubernetesObject) => KubernetesObject;
  /** Objects per list request (`limit`); default 500. */
  pageSize?: number;
}

/**
 * Drops `metadata.managedFields` (server-side apply bookkeeping, often larger than the rest of the
 * object) and returns the same object. Nothing we cache is ever written back whole.
 */
export function stripManagedFields<T extends KubernetesObject>(obj: T): T {
  if (obj.metadata && 'managedFields' in obj.metadata) delete obj.metadata.managedFields;
  return obj;
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * A transform for caches that never read managedFields or the last-applied annotation: together
 * they are usually most of an object's size.
 */
export function dropManagedFields<T extends KubernetesObject>(obj: T): T {
  stripManagedFields(obj);
  const annotations = obj.metadata?.annotations;
  if (annotations && LAST_APPLIED in annotations) delete annotations[LAST_APPLIED];
  return obj;
}

/** A Watch whose events carry transformed objects (ERROR events' Status objects pass unchanged). */
class TransformingWatch extends Watch {
  constructor(
    kubeConfig: KubeConfig,
    private readonly transform: (obj: KubernetesObject) => KubernetesObject,
  ) {
    super(kubeConfig);
  }

  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: any, watchObj?: any) => void, // eslint-disable-line @typescript-eslint/no-explicit-any
    done: (err: any) => void, // eslint-disable-line @typescript-eslint/no-explicit-any
  ): Promise<AbortController> {
    return super.watch(path, queryParams, (phase, apiObj, watchObj) => {
      callback(phase, phase === 'ERROR' || phase === 'BOOKMARK' || !apiObj ? apiObj : this.transform(apiObj), watchObj);
    }, done);
  }
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
    const transform = options.transform ?? stripManagedFields;
    this.informer = new ListWatch<KubernetesObject>(
      options.path,
      new TransformingWatch(kubeConfig, transform),
      // client-node signals "connect" before it lists, so synced is marked once a list's items
      // are in the cache: ListWatch adds them right after this promise settles, before any macrotask.
      () =>
        this.listAll(client, listPath, transform).then((list) => {
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
   * Each page is transformed as it arrives, so only the trimmed objects of earlier pages are held.
   */
  private async listAll(client: KubeClient, listPath: string, transform: (obj: KubernetesObject) => KubernetesObject): Promise<KubernetesListObject<KubernetesObject>> {
    const pageSize = this.options.pageSize ?? 500;
    const sep = listPath.includes('?') ? '&' : '?';
    let first: KubernetesListObject<KubernetesObject> | undefined;
    const items: KubernetesObject[] = [];
    let token = '';
    do {
      const page = await client.get<KubernetesListObject<KubernetesObject>>(
        `${listPath}${sep}limit=${pageSize}${token ? `&continue=${encodeURIComponent(token)}` : ''}`,
      );
      first ??= { ...page, items: [] };
      for (const item of page.items ?? []) items.push(transform(item));
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
