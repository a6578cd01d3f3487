import type { TriggerAuthentication } from '@keda-ts/api';
import { triggerAuthAction } from './controller';

function ta(patch: { generation?: number; finalizers?: string[]; deletionTimestamp?: string } = {}): TriggerAuthentication {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'TriggerAuthentication',
    metadata: { name: 'ta', namespace: 'app', generation: patch.generation ?? 1, finalizers: patch.finalizers, deletionTimestamp: patch.deletionTimestamp },
    spec: {},
  };
}
const F = ['finalizer.keda.sh'];

describe('triggerAuthAction (spec §2.6)', () => {
  it.each([
    ['new object: finalizer and Added', 'TriggerAuthentication', ta(), undefined, { kind: 'addFinalizer', event: { reason: 'TriggerAuthenticationAdded', note: 'New TriggerAuthentication configured' } }],
    ['has finalizer, generation 1 seen before', 'TriggerAuthentication', ta({ finalizers: F }), 1, { kind: 'none' }],
    [
      'TA update: KEDA reason string is ClusterTriggerAuthenticationUpdated',
      'TriggerAuthentication',
      ta({ finalizers: F, generation: 2 }),
      1,
      { kind: 'event', event: { reason: 'ClusterTriggerAuthenticationUpdated', note: 'TriggerAuthentication updated' } },
    ],
    [
      'CTA update',
      'ClusterTriggerAuthentication',
      ta({ finalizers: F, generation: 3 }),
      2,
      { kind: 'event', event: { reason: 'ClusterTriggerAuthenticationUpdated', note: 'ClusterTriggerAuthentication updated' } },
    ],
    ['finalizer removed by someone, event already sent', 'TriggerAuthentication', ta({ generation: 2 }), 2, { kind: 'addFinalizer', event: { reason: '', note: '' } }],
    [
      'deleting with finalizer',
      'ClusterTriggerAuthentication',
      ta({ finalizers: F, deletionTimestamp: '2026-01-01T00:00:00Z' }),
      1,
      { kind: 'removeFinalizer', event: { reason: 'ClusterTriggerAuthenticationDeleted', note: 'ClusterTriggerAuthentication was deleted' } },
    ],
    ['deleting without finalizer', 'TriggerAuthentication', ta({ deletionTimestamp: '2026-01-01T00:00:00Z' }), 1, { kind: 'none' }],
  ] as const)('%s', (_name, kind, obj, last, want) => {
    expect(triggerAuthAction(kind, obj, last)).toEqual(want);
  });
});
