/**
 * `kubernetes-workload` (KEDA kubernetes_workload_scaler.go): the number of pods matching
 * `podSelector` (Succeeded/Failed pods not counted) in the ScaledObject's namespace.
 */
import { labelSelectorError } from '@keda-ts/api';
import { describeScaler } from '../descriptor';
import { param } from '../params';

/** `namespace: "*"` counts pods in every namespace. */
export const ALL_NAMESPACES = '*';

const params = {
  podSelector: param.string({
    name: 'podSelector',
    order: ['triggerMetadata'],
    description: 'Label selector of the pods to count, e.g. `app=worker,tier in (batch)`.',
  }),
  value: param.float({
    name: 'value',
    order: ['triggerMetadata'],
    default: '0',
    description: 'Target number of matching pods per replica (must be > 0 unless the trigger only feeds scaling modifiers).',
  }),
  activationValue: param.float({
    name: 'activationValue',
    order: ['triggerMetadata'],
    default: '0',
    description: 'Active when the pod count is greater than this.',
  }),
  namespace: param.string({
    name: 'namespace',
    order: ['triggerMetadata'],
    optional: true,
    description: "Count pods in this namespace instead of the ScaledObject's; `*` means all namespaces.",
  }),
};

export const kubernetesWorkloadDescriptor = describeScaler({
  type: 'kubernetes-workload',
  description:
    'Scales on the number of pods that match a label selector (pods in phase Succeeded or Failed are not counted).',
  params,
  example: { podSelector: 'app=backend', value: '2' },
  validate(config, input) {
    const problems = [];
    if (config.value <= 0 && !input.asMetricSource)
      problems.push({ parameter: 'value', message: 'value must be a float greater than 0' });
    const selector = labelSelectorError(config.podSelector);
    if (selector) problems.push({ parameter: 'podSelector', message: `error parsing pod selector: ${selector}` });
    return problems;
  },
});
