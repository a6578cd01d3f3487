import type { ScaledObject, ScaledObjectStatus } from '@keda-ts/api';
import { KubeApiError, type KubeClient } from '@keda-ts/k8s';
import { patchScaledObjectStatus, rebaseStatus, statusDelta } from './status';

const c = (type: string, status: string, reason = 'r') => ({ type, status, reason, message: `${type} ${status}` });

describe('statusDelta', () => {
  it('only changed fields; undefined clears with null', () => {
    expect(statusDelta({ hpaName: 'a', pausedReplicaCount: 2 }, { hpaName: 'a' } as ScaledObjectStatus)).toEqual({ pausedReplicaCount: null });
    expect(statusDelta(undefined, { hpaName: 'a' } as ScaledObjectStatus)).toEqual({ hpaName: 'a' });
  });
});

describe('rebaseStatus', () => {
  it('re-applies only the changed condition types and fields on top of the latest status', () => {
    const stale = { conditions: [c('Ready', 'True'), c('Active', 'True'), c('Paused', 'True')], lastActiveTime: 't0' } as ScaledObjectStatus;
    const mine = { conditions: [c('Ready', 'True'), c('Active', 'False'), c('Paused', 'True')], lastActiveTime: 't0', health: { m: { numberOfFailures: 1, status: 'Failing' } } } as ScaledObjectStatus;
    const latest = { conditions: [c('Ready', 'True'), c('Active', 'True'), c('Paused', 'False')], lastActiveTime: 't0', hpaName: 'keda-hpa-web' } as ScaledObjectStatus;
    expect(rebaseStatus(latest, stale, mine)).toEqual({
      conditions: [c('Ready', 'True'), c('Active', 'False'), c('Paused', 'False')],
      lastActiveTime: 't0',
      hpaName: 'keda-hpa-web',
      health: { m: { numberOfFailures: 1, status: 'Failing' } },
    });
  });
});

describe('patchScaledObjectStatus', () => {
  const so = (rv: string, status: ScaledObjectStatus): ScaledObject =>
    ({ metadata: { name: 'web', namespace: 'ns', resourceVersion: rv }, spec: { scaleTargetRef: { name: 'web' }, triggers: [] }, status }) as unknown as ScaledObject;

  it('sends nothing when nothing changed', async () => {
    const client = { patch: jest.fn(), get: jest.fn() } as unknown as KubeClient;
    const s = { hpaName: 'a' } as ScaledObjectStatus;
    expect(await patchScaledObjectStatus(client, so('1', s), s, { ...s })).toBeUndefined();
    expect(client.patch).not.toHaveBeenCalled();
  });

  it('patches with the resourceVersion precondition, and rebases on the live object after a conflict', async () => {
    const stale = { conditions: [c('Active', 'True'), c('Paused', 'True')] } as ScaledObjectStatus;
    const live = so('2', { conditions: [c('Active', 'True'), c('Paused', 'False')] } as ScaledObjectStatus);
    const patches: unknown[] = [];
    const client = {
      patch: jest.fn(async (_path: string, body: { metadata?: { resourceVersion?: string } }) => {
        patches.push(body);
        if (body.metadata?.resourceVersion === '1') throw new KubeApiError('PATCH', 'x', 409, 'Conflict', 'the object has been modified');
        return live;
      }),
      get: jest.fn(async () => live),
    } as unknown as KubeClient;
    await patchScaledObjectStatus(client, so('1', stale), stale, { conditions: [c('Active', 'False'), c('Paused', 'True')] } as ScaledObjectStatus);
    expect(patches).toEqual([
      { metadata: { resourceVersion: '1' }, status: { conditions: [c('Active', 'False'), c('Paused', 'True')] } },
      { metadata: { resourceVersion: '2' }, status: { conditions: [c('Active', 'False'), c('Paused', 'False')] } },
    ]);
  });
});
