/**
 * `kubernetes-workload` (KEDA kubernetes_workload_scaler.go): the number of pods matching
 * `podSelector` (Succeeded/Failed pods not counted) in the ScaledObject's namespace.
 */
import { ALL_NAMESPACES, externalMetricSpec, externalMetricType, isActiveValue, kubernetesWorkloadDescriptor, metricName, metricTargetMilli, metricValue, type MetricsAndActivity, type Scaler } from '@keda-ts/scaler-sdk';
import { implementScaler } from '../../implementation';

export const kubernetesWorkloadScaler = implementScaler(kubernetesWorkloadDescriptor, (config, input, ctx): Scaler => {
  const namespace =
    config.namespace === ALL_NAMESPACES ? '' : config.namespace || input.scalableObject.namespace;
  const name = metricName(input.triggerIndex, `workload-${namespace}`);
  const spec = externalMetricSpec(name, metricTargetMilli(externalMetricType(input.metricType), config.value));
  return {
    type: 'kubernetes-workload',
    getMetricSpecForScaling: () => [structuredClone(spec)],
    async getMetricsAndActivity(requested, options): Promise<MetricsAndActivity> {
      let pods: number;
      try {
        pods = await ctx.kubernetes.countPods(namespace, config.podSelector, { signal: options?.signal });
      } catch (err) {
        throw new Error(`error inspecting kubernetes workload: ${(err as Error).message}`, { cause: err });
      }
      return {
        metrics: [metricValue(requested, pods, ctx.now())],
        isActive: isActiveValue(pods, config.activationValue),
      };
    },
    async close() {
      // nothing to release
    },
  };
});
