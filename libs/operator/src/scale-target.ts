import { effectiveScaleTargetRef, gvkString, type ScaledObject } from '@keda-ts/api';
import { isNotFound, KubeApiError, KubeClient, PodReader, resourcePath, type ResolvedResource } from '@keda-ts/k8s';

/** The workload a ScaledObject scales, resolved through discovery. */
export interface ScaleTarget {
  resource: ResolvedResource;
  namespace: string;
  name: string;
  /** `<group>/<version>.<Kind>`, e.g. `apps/v1.Deployment` (status.scaleTargetKind). */
  gvkString: string;
}

/** A scale target that cannot be used, with KEDA's message (C-23, C-24). */
export class ScaleTargetError extends Error {}

/** The scale target's apiVersion and kind name no resource the API server serves (or discovery failed). */
export class ScaleTargetKindError extends Error {
  override readonly name = 'ScaleTargetKindError';
}

export async function resolveScaleTarget(client: KubeClient, so: ScaledObject): Promise<ScaleTarget> {
  const ref = effectiveScaleTargetRef(so);
  const apiVersion = ref.group ? `${ref.group}/${ref.version}` : ref.version;
  const resource = await client.resolveKind(apiVersion, ref.kind).catch((err: unknown) => {
    throw new ScaleTargetKindError(err instanceof Error ? err.message : String(err), { cause: err });
  });
  const namespace = so.metadata?.namespace ?? 'default';
  const target = { resource, namespace, name: ref.name, gvkString: gvkString(ref) };
  if (!resource.scalable) {
    try {
      await client.get(resourcePath(resource, namespace, ref.name));
    } catch (err) {
      if (isNotFound(err)) throw new ScaleTargetError("Target resource doesn't exist");
      // The chart grants /scale of every kind but no read of the kinds themselves: without the right
      // to read it, the target's existence is unknown, and that it has no /scale (discovery) is what counts.
      if (!(err instanceof KubeApiError && err.status === 403)) throw err;
    }
    throw new ScaleTargetError("Target resource doesn't expose /scale subresource");
  }
  return target;
}

export interface ScaleState {
  replicas: number;
  /** `status.selector` of the /scale subresource (label selector of the pods). */
  selector?: string;
}

export async function readScale(client: KubeClient, target: ScaleTarget): Promise<ScaleState> {
  try {
    const scale = await client.get<{ spec?: { replicas?: number }; status?: { selector?: string } }>(
      resourcePath(target.resource, target.namespace, target.name, 'scale'),
    );
    return { replicas: scale.spec?.replicas ?? 0, selector: scale.status?.selector };
  } catch (err) {
    if (isNotFound(err)) throw new ScaleTargetError("Target resource doesn't exist");
    throw err;
  }
}

export function writeScale(client: KubeClient, target: ScaleTarget, replicas: number): Promise<number> {
  return client.updateScale(target.resource, target.namespace, target.name, replicas);
}

/** The target as the reconciler recorded it in status (scaleTargetGVKR), without a lookup. */
export function scaleTargetFromStatus(so: ScaledObject): ScaleTarget | undefined {
  const gvkr = so.status?.scaleTargetGVKR;
  if (!gvkr) return undefined;
  return {
    resource: { ...gvkr, namespaced: true, scalable: true },
    namespace: so.metadata?.namespace ?? '',
    name: so.spec.scaleTargetRef.name,
    gvkString: so.status?.scaleTargetKind ?? '',
  };
}

/** Running and Ready pods of the target, found through the `/scale` selector (for the Value fallback, C-78). */
export async function readyPodsOf(client: KubeClient, pods: PodReader, target: ScaleTarget): Promise<number> {
  const scale = await readScale(client, target);
  return scale.selector ? pods.countReadyPods(target.namespace, scale.selector) : 0;
}
