import { isDeepStrictEqual } from 'node:util';
import type { ScaledObject, ScaledObjectStatus } from '@keda-ts/api';
import { API_GROUP, API_VERSION } from '@keda-ts/api';
import { KubeClient, resourcePath } from '@keda-ts/k8s';

export const scaledObjectsResource = { group: API_GROUP, version: API_VERSION, resource: 'scaledobjects' };

/**
 * Merge-patches the fields of `next` that differ from `current` into the status subresource.
 * Nothing is sent when nothing changed; `null` clears a field.
 */
export async function patchScaledObjectStatus(
  client: KubeClient,
  so: ScaledObject,
  current: ScaledObjectStatus | undefined,
  next: ScaledObjectStatus,
): Promise<ScaledObject | undefined> {
  const delta: Record<string, unknown> = {};
  const keys = new Set([...Object.keys(current ?? {}), ...Object.keys(next)]) as Set<keyof ScaledObjectStatus>;
  for (const key of keys) {
    const before = current?.[key];
    const after = next[key];
    if (!isDeepStrictEqual(before, after)) delta[key] = after === undefined ? null : after;
  }
  if (Object.keys(delta).length === 0) return undefined;
  return client.patch<ScaledObject>(
    resourcePath(scaledObjectsResource, so.metadata?.namespace, so.metadata?.name, 'status'),
    { status: delta },
  );
}
