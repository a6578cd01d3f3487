import {
  API_GROUP,
  API_VERSION,
  type ClusterTriggerAuthentication,
  type TriggerAuthentication,
} from '@keda-ts/api';
import { InformerGroup, KubeClient, WorkQueue, isNotFound, type ManagedController, type NamespacedWatch, type Watched, type WatchableObject, type WatchEventType } from '@keda-ts/k8s';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '@keda-ts/runtime';
import { ApiAuthReader } from './api-reader';
import { AuthDependencies } from './dependencies';
import { TriggerAuthResolver } from './resolver';
import { ALLOWED_NAMESPACES_ANNOTATION } from './secret-policy';
import {
  referenceKey,
  type AuthObjectReader,
  type IssuedToken,
  type ConfigMapObject,
  type ResolvedTriggerAuth,
  type ScalableForAuth,
  type SecretObject,
  type ServiceAccountObject,
} from './types';

/**
 * Secret types that never hold scaler credentials and can be large (Helm keeps whole releases in
 * Secrets): kept out of the informer cache. A reference to one is still served, by a direct GET.
 */
export const UNCACHED_SECRET_TYPES = ['helm.sh/release.v1', 'kubernetes.io/service-account-token'];

export interface TriggerAuthWatchOptions {
  kubeConfig: KubeConfig;
  client: KubeClient;
  logger: Logger;
  /** The process's shared informers (the controller manager's); absent: its own, started and stopped with it. */
  informers?: InformerGroup;
  /** WATCH_NAMESPACE; empty = all. */
  watchNamespaces?: string[];
  /** WATCH_LABEL_SELECTOR_FOR_TRIGGERAUTH. */
  triggerAuthLabelSelector?: string;
  clusterObjectNamespace: string;
  restrictSecretAccess?: boolean;
  filePathAuthRootPath?: string;
  boundServiceAccountTokenExpirySeconds?: number;
  /** --bound-service-account-token-audience (empty: the API server's default audience). */
  boundServiceAccountTokenAudiences?: readonly string[];
  /** POD_NAMESPACE: its protected Secrets never resolve (secret-policy.ts). */
  controllerNamespace?: string;
  /** --cert-secret-name. */
  certSecretName?: string;
}

type AuthObjectKind = 'TriggerAuthentication' | 'ClusterTriggerAuthentication' | 'Secret' | 'ConfigMap';
type Obj = WatchableObject & {
  metadata?: { generation?: number; resourceVersion?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  data?: unknown;
  binaryData?: unknown;
  type?: string;
};

const KEDA_API = `/apis/${API_GROUP}/${API_VERSION}`;
const keda = (resource: string) => (ns: string) => (ns ? `${KEDA_API}/namespaces/${ns}/${resource}` : `${KEDA_API}/${resource}`);

/** Reads from the informer caches; outside them (or a Secret of an uncached type) with a GET. */
export class InformerAuthReader implements AuthObjectReader {
  constructor(
    private readonly watch: {
      tas: NamespacedWatch<TriggerAuthentication>;
      ctas: Watched<ClusterTriggerAuthentication>;
      secrets: NamespacedWatch<SecretObject>;
      configMaps: NamespacedWatch<ConfigMapObject>;
    },
    private readonly api: ApiAuthReader,
  ) {}

  async triggerAuthentication(namespace: string, name: string): Promise<TriggerAuthentication | undefined> {
    const w = this.watch.tas.covering(namespace);
    return w?.hasSynced ? w.get(name, namespace) : this.api.triggerAuthentication(namespace, name);
  }

  async clusterTriggerAuthentication(name: string): Promise<ClusterTriggerAuthentication | undefined> {
    return this.watch.ctas.hasSynced ? this.watch.ctas.get(name) : this.api.clusterTriggerAuthentication(name);
  }

  async secret(namespace: string, name: string): Promise<SecretObject | undefined> {
    const w = this.watch.secrets.covering(namespace);
    return (w?.hasSynced ? w.get(name, namespace) : undefined) ?? this.api.secret(namespace, name);
  }

  async configMap(namespace: string, name: string): Promise<ConfigMapObject | undefined> {
    const w = this.watch.configMaps.covering(namespace);
    return w?.hasSynced ? w.get(name, namespace) : this.api.configMap(namespace, name);
  }

  serviceAccount(namespace: string, name: string): Promise<ServiceAccountObject | undefined> {
    return this.api.serviceAccount(namespace, name);
  }

  serviceAccountToken(namespace: string, name: string, expirationSeconds: number, audiences?: readonly string[]): Promise<IssuedToken> {
    return this.api.serviceAccountToken(namespace, name, expirationSeconds, audiences);
  }
}


const refOf = (kind: AuthObjectKind, obj: Obj) => ({
  kind,
  namespace: kind === 'ClusterTriggerAuthentication' ? '' : (obj.metadata?.namespace ?? ''),
  name: obj.metadata?.name ?? '',
});

/**
 * The reference key whose dependents must rebuild after this watch event, or undefined when the
 * event changes nothing they read: Secrets/ConfigMaps by their data, TA/CTA by their generation
 * (status writes, including ours, leave it alone). Adds and deletes always count.
 */
export function changedReference(kind: AuthObjectKind, type: WatchEventType, obj: Obj, old: Obj | undefined): string | undefined {
  if (type === 'update') {
    const same =
      kind === 'Secret' || kind === 'ConfigMap'
        ? JSON.stringify(old?.data ?? {}) === JSON.stringify(obj.data ?? {}) &&
          JSON.stringify(old?.binaryData ?? {}) === JSON.stringify(obj.binaryData ?? {}) &&
          // What secret-policy.ts reads: a Secret newly labelled not-for-triggers stops resolving at once.
          JSON.stringify(old?.metadata?.labels ?? {}) === JSON.stringify(obj.metadata?.labels ?? {}) &&
          old?.type === obj.type
        : old?.metadata?.generation === obj.metadata?.generation &&
          // The namespaces a ClusterTriggerAuthentication may be used from are an annotation (no generation bump).
          old?.metadata?.annotations?.[ALLOWED_NAMESPACES_ANNOTATION] === obj.metadata?.annotations?.[ALLOWED_NAMESPACES_ANNOTATION];
    if (same) return undefined;
  }
  return referenceKey(refOf(kind, obj));
}

/**
 * The controller's view of trigger authentication, shared by the ScaledObject and ScaledJob
 * controllers: informers of TriggerAuthentications, ClusterTriggerAuthentications, Secrets and
 * ConfigMaps, a resolver reading from them, and the index of which scalable object read what.
 * `resolveFor` records the dependencies; `onDependencyChange` tells which dependents must rebuild
 * their scalers when one of those objects changes. It also keeps `status.scaledobjects` /
 * `status.scaledjobs` of each TA/CTA up to date.
 */
export class TriggerAuthWatch implements ManagedController {
  readonly name = 'trigger authentication';
  readonly resolver: TriggerAuthResolver;
  readonly reader: InformerAuthReader;
  readonly dependencies = new AuthDependencies();
  readonly triggerAuthentications: NamespacedWatch<TriggerAuthentication>;
  readonly clusterTriggerAuthentications: Watched<ClusterTriggerAuthentication>;
  private readonly secrets: NamespacedWatch<SecretObject>;
  private readonly configMaps: NamespacedWatch<ConfigMapObject>;
  private readonly handlers: ((dependent: string, changed: string) => void)[] = [];
  /** Per dependent: rebuilds its scalers before its boundServiceAccountToken tokens expire. */
  private readonly tokenRefresh = new Map<string, NodeJS.Timeout>();
  private readonly statusQueue: WorkQueue;
  /** Informers of its own, when no shared group was given. */
  private readonly ownInformers?: InformerGroup;

  constructor(private readonly options: TriggerAuthWatchOptions) {
    this.statusQueue = new WorkQueue((key) => this.updateStatus(key), {
      concurrency: 2,
      baseBackoffMs: 200,
      maxBackoffMs: 30_000,
      onError: (key, err, retryInMs) =>
        options.logger.warn({ key, err: err instanceof Error ? err.message : String(err), retryInMs }, 'trigger authentication status update failed; retrying'),
    });
    const namespaces = options.watchNamespaces?.length ? options.watchNamespaces : [''];
    const withClusterNs = namespaces.includes('') ? [''] : [...namespaces, options.clusterObjectNamespace];
    const informers = options.informers ?? (this.ownInformers = new InformerGroup(options.kubeConfig, options.client, options.logger));
    this.triggerAuthentications = informers.namespaced(namespaces, KEDA_API, 'triggerauthentications', { labelSelector: options.triggerAuthLabelSelector });
    this.clusterTriggerAuthentications = informers.watch({ path: keda('clustertriggerauthentications')(''), labelSelector: options.triggerAuthLabelSelector });
    // KEDA_RESTRICT_SECRET_ACCESS: Secrets only from the KEDA namespace (and only those are cached).
    this.secrets = informers.namespaced(options.restrictSecretAccess ? [options.clusterObjectNamespace] : withClusterNs, '/api/v1', 'secrets', {
      fieldSelector: UNCACHED_SECRET_TYPES.map((t) => `type!=${t}`).join(','),
    });
    this.configMaps = informers.namespaced(withClusterNs, '/api/v1', 'configmaps');
    const api = new ApiAuthReader(options.client);
    this.reader = new InformerAuthReader(
      { tas: this.triggerAuthentications, ctas: this.clusterTriggerAuthentications, secrets: this.secrets, configMaps: this.configMaps },
      api,
    );
    this.resolver = new TriggerAuthResolver(this.reader, {
      clusterObjectNamespace: options.clusterObjectNamespace,
      restrictSecretAccess: options.restrictSecretAccess,
      filePathAuthRootPath: options.filePathAuthRootPath,
      boundServiceAccountTokenExpirySeconds: options.boundServiceAccountTokenExpirySeconds,
      boundServiceAccountTokenAudiences: options.boundServiceAccountTokenAudiences,
      controllerNamespace: options.controllerNamespace,
      certSecretName: options.certSecretName,
      logger: options.logger,
    });

    const forward = (kind: AuthObjectKind) => (type: WatchEventType, obj: Obj, old: Obj | undefined) => {
      const key = changedReference(kind, type, obj, old);
      if (key) this.changed(key);
    };
    for (const w of this.secrets.all) w.on(forward('Secret'));
    for (const w of this.configMaps.all) w.on(forward('ConfigMap'));
    for (const w of this.triggerAuthentications.all) w.on(forward('TriggerAuthentication'));
    this.clusterTriggerAuthentications.on(forward('ClusterTriggerAuthentication'));
  }

  /**
   * Resolves the authentication of one scalable object and records what it read under `dependent`
   * (`dependentKey('ScaledObject', ns, name)`), plus `extraObjects` (e.g. its scale target's key).
   */
  async resolveFor(dependent: string, scalable: ScalableForAuth, extraObjects: string[] = []): Promise<ResolvedTriggerAuth> {
    // Record the TA/CTA references first, so that a resolution that fails still rebuilds on their change.
    const authRefs = scalable.triggers.flatMap((t) => {
      const ref = t.authenticationRef;
      if (!ref?.name) return [];
      const cluster = ref.kind === 'ClusterTriggerAuthentication';
      return [referenceKey({ kind: cluster ? 'ClusterTriggerAuthentication' : 'TriggerAuthentication', namespace: cluster ? '' : scalable.namespace, name: ref.name })];
    });
    try {
      const resolved = await this.resolver.resolve(scalable);
      this.track(dependent, [...resolved.references.map(referenceKey), ...extraObjects]);
      this.scheduleTokenRefresh(dependent, resolved.tokensExpireAt);
      return resolved;
    } catch (err) {
      // What the failed resolution may have needed: keep the old keys, add the auth objects.
      this.track(dependent, [...new Set([...this.dependencies.objectsOf(dependent), ...authRefs, ...extraObjects])]);
      throw err;
    }
  }

  /**
   * Tokens are refreshed at 80 % of their lifetime (as the kubelet rotates projected tokens): the
   * dependent's handlers run as for a changed object, which rebuilds its scalers with new tokens.
   */
  private scheduleTokenRefresh(dependent: string, expiresAt: number | undefined): void {
    clearTimeout(this.tokenRefresh.get(dependent));
    this.tokenRefresh.delete(dependent);
    if (expiresAt === undefined) return;
    const inMs = Math.max(1000, Math.floor((expiresAt - Date.now()) * 0.8));
    const timer = setTimeout(() => {
      this.tokenRefresh.delete(dependent);
      this.notify(dependent, `ServiceAccountToken/${dependent}`);
    }, inMs);
    timer.unref?.();
    this.tokenRefresh.set(dependent, timer);
  }

  /** A scalable object is gone. */
  forget(dependent: string): void {
    this.scheduleTokenRefresh(dependent, undefined);
    for (const o of this.dependencies.forget(dependent)) this.statusChanged(o);
  }

  /** `handler(dependent, changedObjectKey)` for every dependent of a changed object. */
  onDependencyChange(handler: (dependent: string, changed: string) => void): void {
    this.handlers.push(handler);
  }

  /** Tells the dependents of `objectKey` (any key recorded through `resolveFor`) that it changed. */
  changed(objectKey: string): void {
    const dependents = this.dependencies.dependents(objectKey);
    // A TA/CTA created after its referrers: write them into its status.
    if (dependents.length) this.statusChanged(objectKey);
    for (const dependent of dependents) this.notify(dependent, objectKey);
  }

  private notify(dependent: string, objectKey: string): void {
    for (const h of this.handlers) {
      try {
        h(dependent, objectKey);
      } catch (err) {
        this.options.logger.error({ err, dependent, objectKey }, 'dependency change handler failed');
      }
    }
  }

  private track(dependent: string, objects: string[]): void {
    const { added, removed } = this.dependencies.record(dependent, objects);
    for (const o of [...added, ...removed]) this.statusChanged(o);
  }

  private statusChanged(objectKey: string): void {
    if (objectKey.startsWith('TriggerAuthentication/') || objectKey.startsWith('ClusterTriggerAuthentication/')) this.statusQueue.add(objectKey);
  }

  /** status.scaledobjects / status.scaledjobs: comma-separated names of the referrers. */
  private async updateStatus(objectKey: string): Promise<void> {
    const [kind, namespace, ...rest] = objectKey.split('/');
    const name = rest.join('/');
    const cluster = kind === 'ClusterTriggerAuthentication';
    const current = cluster ? this.clusterTriggerAuthentications.get(name) : this.triggerAuthentications.covering(namespace)?.get(name, namespace);
    if (!current || current.metadata?.deletionTimestamp) return;
    const names = (k: string) =>
      [...new Set(this.dependencies.dependents(objectKey).filter((d) => d.startsWith(`${k}/`)).map((d) => d.split('/').slice(2).join('/')))].sort().join(',');
    const want = { scaledobjects: names('ScaledObject'), scaledjobs: names('ScaledJob') };
    const have = { scaledobjects: current.status?.scaledobjects ?? '', scaledjobs: current.status?.scaledjobs ?? '' };
    if (want.scaledobjects === have.scaledobjects && want.scaledjobs === have.scaledjobs) return;
    const path = cluster
      ? `${keda('clustertriggerauthentications')('')}/${encodeURIComponent(name)}/status`
      : `${keda('triggerauthentications')(namespace)}/${encodeURIComponent(name)}/status`;
    try {
      await this.options.client.patch(path, { status: { scaledobjects: want.scaledobjects || null, scaledjobs: want.scaledjobs || null } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  get informers(): Watched<Obj>[] {
    return [
      ...this.triggerAuthentications.all,
      this.clusterTriggerAuthentications,
      ...this.secrets.all,
      ...this.configMaps.all,
    ] as Watched<Obj>[];
  }

  /** Starts its own informers; with a shared group, the group's owner starts them. */
  async start(): Promise<void> {
    await this.ownInformers?.start();
  }

  async waitForSync(): Promise<void> {
    await Promise.all(this.informers.map((w) => w.waitForSync()));
  }

  async stop(): Promise<void> {
    for (const timer of this.tokenRefresh.values()) clearTimeout(timer);
    this.tokenRefresh.clear();
    await this.ownInformers?.stop();
    await this.statusQueue.stop();
  }
}
