import type { KubernetesObject } from '@kubernetes/client-node';
import { resourcePath, type InformerGroup, type KubeClient, type NamespacedWatch } from '@keda-ts/k8s';
import type { ScaleTarget } from './scale-target';

export interface WorkloadObject {
  metadata?: { name?: string; namespace?: string };
  spec?: { replicas?: number; template?: unknown };
}

/** The key under which a scale target is recorded as a dependency (its pod template feeds resolvedEnv). */
export const workloadKey = (group: string, resource: string, namespace: string, name: string): string =>
  `Workload/${group}/${resource}/${namespace}/${name}`;

/**
 * What the workload caches keep of a Deployment/StatefulSet: replicas (the scale loops' current
 * count) and the pod template (resolvedEnv, auth dependencies). Status, annotations such as
 * kubectl's last-applied-configuration and managedFields are most of the object and unused.
 */
export function slimWorkload(obj: KubernetesObject): KubernetesObject {
  const { name, namespace, uid, resourceVersion, generation, deletionTimestamp } = obj.metadata ?? {};
  const spec = (obj as WorkloadObject).spec;
  // A new small object: deleting properties would leave V8 objects in slow dictionary mode.
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    metadata: { name, namespace, uid, resourceVersion, generation, ...(deletionTimestamp ? { deletionTimestamp } : {}) },
    spec: { replicas: spec?.replicas, template: spec?.template },
  } as KubernetesObject;
}

const CACHED_RESOURCES = ['deployments', 'statefulsets'] as const;

/**
 * Deployments and StatefulSets, slimmed: the scale loops read current replicas from here without
 * API calls, and the scalers' env and auth read the pod template. Other kinds of scale target are
 * read from the API.
 */
export class WorkloadCache {
  private readonly watches = new Map<string, NamespacedWatch<WorkloadObject>>();

  constructor(
    informers: InformerGroup,
    namespaces: readonly string[],
    private readonly client: KubeClient,
  ) {
    for (const resource of CACHED_RESOURCES) this.watches.set(resource, informers.namespaced(namespaces, '/apis/apps/v1', resource, { transform: slimWorkload }));
  }

  /** The cached workload; undefined when its kind is not cached or the cache has not synced. */
  cached(target: ScaleTarget): WorkloadObject | undefined {
    if (target.resource.group !== 'apps') return undefined;
    const watch = this.watches.get(target.resource.resource)?.covering(target.namespace);
    if (!watch?.hasSynced) return undefined;
    return watch.get(target.name, target.namespace);
  }

  /** `spec.replicas` from the cache; a nil spec.replicas counts as 1, as the apps/v1 default. */
  replicas(target: ScaleTarget): number | undefined {
    const obj = this.cached(target);
    return obj ? (obj.spec?.replicas ?? 1) : undefined;
  }

  /** From the cache, else from the API; undefined when it cannot be read. */
  async read(target: ScaleTarget): Promise<WorkloadObject | undefined> {
    return this.cached(target) ?? (await this.client.get<WorkloadObject>(resourcePath(target.resource, target.namespace, target.name)).catch(() => undefined));
  }

  /** Calls `handler` with the dependency key of each cached workload whose pod template changed. */
  onTemplateChange(handler: (key: string) => void): void {
    for (const [resource, watch] of this.watches)
      for (const w of watch.all)
        w.on((type, obj, old) => {
          if (type === 'update' && JSON.stringify(old?.spec?.template) === JSON.stringify(obj.spec?.template)) return;
          handler(workloadKey('apps', resource, obj.metadata?.namespace ?? '', obj.metadata?.name ?? ''));
        });
  }
}
