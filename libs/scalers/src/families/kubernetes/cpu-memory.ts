/**
 * `cpu` and `memory` (KEDA cpu_memory_scaler.go): no external metric; the HPA gets a Resource
 * metric, or a ContainerResource metric when `containerName` is set. Always active, so these
 * triggers alone never scale to zero.
 */
import { cpuDescriptor, memoryDescriptor, resourceTarget, type CpuMemoryConfig, type MetricSpec, type Scaler, type ScalerDescriptor, type ScalerInput } from '@keda-ts/scaler-sdk';
import { implementScaler } from '../../implementation';

class CpuMemoryScaler implements Scaler {
  constructor(
    readonly type: 'cpu' | 'memory',
    private readonly spec: MetricSpec,
  ) {}

  getMetricSpecForScaling(): MetricSpec[] {
    return [structuredClone(this.spec)];
  }

  getMetricsAndActivity(): Promise<never> {
    return Promise.reject(
      new Error(
        `the ${this.type} scaler has no external metric (the HPA reads ${this.type} from metrics.k8s.io) and is always active; do not poll it`,
      ),
    );
  }

  async close(): Promise<void> {
    // nothing to release
  }
}

function create(resource: 'cpu' | 'memory', config: CpuMemoryConfig, input: ScalerInput): Scaler {
  const t = resourceTarget(config, input);
  if ('error' in t) throw new Error(t.error);
  const spec: MetricSpec = config.containerName
    ? { type: 'ContainerResource', containerResource: { name: resource, container: config.containerName, target: t.target } }
    : { type: 'Resource', resource: { name: resource, target: t.target } };
  return new CpuMemoryScaler(resource, spec);
}

const implement = (resource: 'cpu' | 'memory', descriptor: ScalerDescriptor<typeof cpuDescriptor.params>) =>
  implementScaler(descriptor, (config, input) => create(resource, config, input));

export const cpuScaler = implement('cpu', cpuDescriptor);
export const memoryScaler = implement('memory', memoryDescriptor);
