/**
 * Minimal Kubernetes object metadata types. Kept local so that this package has no dependency on a
 * Kubernetes client library; the shapes are compatible with `V1ObjectMeta` / `V1ListMeta`.
 */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  /** RFC 3339 timestamp (some clients hand out `Date` objects instead). */
  creationTimestamp?: string | Date;
  deletionTimestamp?: string | Date;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
}

export interface ListMeta {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}
