// Test-only ScaledObject builder (excluded from the library build).
import type { ScaledObject } from '@keda-ts/api';

export function scaledObject(
  spec: Partial<ScaledObject['spec']> = {},
  metadata: Partial<NonNullable<ScaledObject['metadata']>> = {},
): ScaledObject {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name: 'orders', namespace: 'shop', uid: 'uid-1', ...metadata },
    spec: {
      scaleTargetRef: { name: 'orders-consumer' },
      triggers: [{ type: 'rabbitmq', name: 'queue', metadata: { queueName: 'orders' } }],
      ...spec,
    },
  };
}
