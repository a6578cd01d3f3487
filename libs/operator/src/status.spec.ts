import type { ScaledObject, ScaledObjectStatus } from '@keda-ts/api';
import { KubeApiError, type KubeClient } from '@keda-ts/k8s';
import { rebaseStatus, scaledObjectStatusWriter, statusDelta } from './status';

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

describe('StatusWriter', () => {
  const so = (rv: string, status: ScaledObjectStatus): ScaledObject =>
    ({ metadata: { name: 'web', namespace: 'ns', resourceVersion: rv }, spec: { scaleTargetRef: { name: 'web' }, triggers: [] }, status }) as unknown as ScaledObject;

  it('sends nothing when nothing changed', async () => {
    const client = { patch: jest.fn(), get: jest.fn() } as unknown as KubeClient;
    const s = { hpaName: 'a' } as ScaledObjectStatus;
    expect(await scaledObjectStatusWriter(client).write(so('1', s), s, { ...s })).toBeUndefined();
    expect(client.patch).not.toHaveBeenCalled();
  });

  it('a rider alone sends nothing; it goes with a write that is sent anyway, also after a conflict', async () => {
    const patches: unknown[] = [];
    const live = so('2', { hpaName: 'b', conditions: [c('Active', 'True')] } as ScaledObjectStatus);
    const client = {
      patch: jest.fn(async (_path: string, body: { metadata?: { resourceVersion?: string } }) => {
        patches.push(body);
        if (body.metadata?.resourceVersion === '1') throw new KubeApiError('PATCH', 'x', 409, 'Conflict', 'the object has been modified');
        return live;
      }),
      get: jest.fn(async () => live),
    } as unknown as KubeClient;
    const writer = scaledObjectStatusWriter(client);
    const s = { conditions: [c('Active', 'True')], lastActiveTime: '2026-01-01T00:00:00Z' } as ScaledObjectStatus;
    const rider = { lastActiveTime: '2026-01-01T00:00:40Z' };
    expect(await writer.write(so('1', s), s, { ...s }, rider)).toBeUndefined();
    expect(client.patch).not.toHaveBeenCalled();
    await writer.write(so('1', s), s, { ...s, conditions: [c('Active', 'False')] }, rider);
    expect(patches).toEqual([
      { metadata: { resourceVersion: '1' }, status: { conditions: [c('Active', 'False')], lastActiveTime: '2026-01-01T00:00:40Z' } },
      { metadata: { resourceVersion: '2' }, status: { conditions: [c('Active', 'False')], lastActiveTime: '2026-01-01T00:00:40Z' } },
    ]);
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
    await scaledObjectStatusWriter(client).write(so('1', stale), stale, { conditions: [c('Active', 'False'), c('Paused', 'True')] } as ScaledObjectStatus);
    expect(patches).toEqual([
      { metadata: { resourceVersion: '1' }, status: { conditions: [c('Active', 'False'), c('Paused', 'True')] } },
      { metadata: { resourceVersion: '2' }, status: { conditions: [c('Active', 'False'), c('Paused', 'False')] } },
    ]);
  });

  it('builds on its own last write while the informer still shows the version that write replaced', async () => {
    let version = 10;
    const liveStatus: { current: ScaledObjectStatus } = { current: { conditions: [c('Active', 'False')] } as ScaledObjectStatus };
    const patches: { metadata?: { resourceVersion?: string }; status: ScaledObjectStatus }[] = [];
    const client = {
      patch: jest.fn(async (_path: string, body: { metadata?: { resourceVersion?: string }; status: ScaledObjectStatus }) => {
        patches.push(body);
        if (body.metadata?.resourceVersion !== String(version)) throw new KubeApiError('PATCH', 'x', 409, 'Conflict', 'the object has been modified');
        version++;
        liveStatus.current = { ...liveStatus.current, ...body.status };
        return so(String(version), liveStatus.current);
      }),
      get: jest.fn(async () => so(String(version), liveStatus.current)),
    } as unknown as KubeClient;
    const writer = scaledObjectStatusWriter(client);
    const informerCopy = so('10', liveStatus.current);
    const active = { conditions: [c('Active', 'True')] } as ScaledObjectStatus;
    const withTime = { conditions: [c('Active', 'True')], lastActiveTime: 't1' } as ScaledObjectStatus;
    const later = { conditions: [c('Active', 'True')], lastActiveTime: 't2' } as ScaledObjectStatus;
    // Three writes from the same stale informer copy (rv 10): no conflict, no GET.
    await writer.write(informerCopy, informerCopy.status, active);
    await writer.write(informerCopy, informerCopy.status, withTime);
    await writer.write(informerCopy, informerCopy.status, later);
    expect(patches.map((p) => p.metadata?.resourceVersion)).toEqual(['10', '11', '12']);
    expect(patches[2].status).toEqual({ lastActiveTime: 't2' });
    // The informer caught up with the first write only: still a version our chain replaced.
    await writer.write(so('11', active), active, { ...later, lastActiveTime: 't3' });
    expect(patches.at(-1)).toEqual({ metadata: { resourceVersion: '13' }, status: { lastActiveTime: 't3' } });
    // Someone else wrote (rv 20, unknown to the chain): the informer's copy is the base again.
    version = 20;
    liveStatus.current = { conditions: [c('Active', 'True'), c('Paused', 'True')], lastActiveTime: 't3' } as ScaledObjectStatus;
    const theirs = so('20', liveStatus.current);
    await writer.write(theirs, theirs.status, { ...liveStatus.current, lastActiveTime: 't4' } as ScaledObjectStatus);
    expect(patches.at(-1)).toEqual({ metadata: { resourceVersion: '20' }, status: { lastActiveTime: 't4' } });
    expect(client.get).not.toHaveBeenCalled();
  });

  it('sends one write per object at a time: a second writer waits and builds on the first write', async () => {
    let version = 1;
    const sent: { rv?: string; status: ScaledObjectStatus }[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const client = {
      patch: jest.fn(async (_path: string, body: { metadata?: { resourceVersion?: string }; status: ScaledObjectStatus }) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        sent.push({ rv: body.metadata?.resourceVersion, status: body.status });
        if (body.metadata?.resourceVersion !== String(version)) throw new KubeApiError('PATCH', 'x', 409, 'Conflict', 'the object has been modified');
        version++;
        return so(String(version), { conditions: [c('Ready', 'True')], ...body.status } as ScaledObjectStatus);
      }),
      get: jest.fn(),
    } as unknown as KubeClient;
    const writer = scaledObjectStatusWriter(client);
    const informerCopy = so('1', {} as ScaledObjectStatus);
    // The reconciler and the scale loop write from the same informer copy at the same moment.
    await Promise.all([
      writer.write(informerCopy, informerCopy.status, { hpaName: 'keda-hpa-web' } as ScaledObjectStatus),
      writer.write(informerCopy, informerCopy.status, { lastActiveTime: 't1' } as ScaledObjectStatus),
    ]);
    expect(maxInFlight).toBe(1);
    expect(sent.map((w) => w.rv)).toEqual(['1', '2']);
    expect(client.get).not.toHaveBeenCalled();
  });
});
