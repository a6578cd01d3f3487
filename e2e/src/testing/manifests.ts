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

export interface ExternalMetricHpaOptions {
  /** The external metric the HPA reads (e.g. `s0-x`). */
  metricName: string;
  /** Its `scaledobject.keda.sh/name` selector, as the HPA of a ScaledObject has it (default: the HPA's name). */
  scaledObject?: string;
  minReplicas?: number;
  maxReplicas: number;
  /** The AverageValue target (default `2`). */
  averageValue?: string;
}

/**
 * An `autoscaling/v2` HPA named `name` on the Deployment of the same name, reading one external
 * metric through the adapter, like the HPA the controller writes for a ScaledObject.
 */
export function externalMetricHpaManifest(name: string, o: ExternalMetricHpaOptions): k8s.V2HorizontalPodAutoscaler {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      minReplicas: o.minReplicas ?? 1,
      maxReplicas: o.maxReplicas,
      metrics: [
        {
          type: 'External',
          external: {
            metric: { name: o.metricName, selector: { matchLabels: { 'scaledobject.keda.sh/name': o.scaledObject ?? name } } },
            target: { type: 'AverageValue', averageValue: o.averageValue ?? '2' },
          },
        },
      ],
    },
  };
}
