import type { k8s } from './kube';

export interface DeploymentManifestOptions {
  /** Container image (default `registry.invalid/x:1`: kwok never pulls it). */
  image?: string;
  /** Container name (default `main`). */
  containerName?: string;
  /** Container resources; omitted from the manifest when not given. */
  resources?: k8s.V1ResourceRequirements;
}

/**
 * An `apps/v1` Deployment named `name` with one container, selecting its Pods by `app: <name>`.
 * Apply it with `apply(kc, deploymentManifest('web', 2), ns.name)`.
 */
export function deploymentManifest(
  name: string,
  replicas: number,
  { image = 'registry.invalid/x:1', containerName = 'main', resources }: DeploymentManifestOptions = {},
): k8s.V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: containerName, image, ...(resources ? { resources } : {}) }] },
      },
    },
  };
}
