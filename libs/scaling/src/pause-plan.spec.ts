import { pausePlan } from './pause-plan';

const PAUSED = {
  type: 'Paused',
  status: 'True',
  reason: 'ScaledObjectPaused',
  message: 'ScaledObject is paused',
};
const UNPAUSED = {
  type: 'Paused',
  status: 'False',
  reason: 'ScaledObjectUnpaused',
  message: 'pause annotation removed for ScaledObject',
};
const READY_PAUSED = {
  type: 'Ready',
  status: 'True',
  reason: 'ScaledObjectReady',
  message: 'ScaledObject is paused',
};
const PAUSED_EVENT = { type: 'Normal', reason: 'ScaledObjectPaused', note: 'ScaledObject is paused' };
const UNPAUSED_EVENT = {
  type: 'Normal',
  reason: 'ScaledObjectUnpaused',
  note: 'pause annotation removed for ScaledObject',
};

const P = 'autoscaling.keda.sh/paused';
const PR = 'autoscaling.keda.sh/paused-replicas';
const PIN = 'autoscaling.keda.sh/paused-scale-in';
const POUT = 'autoscaling.keda.sh/paused-scale-out';

describe('pausePlan (§2.13)', () => {
  it.each<[string, Record<string, string> | undefined, boolean, object]>([
    [
      'C-85 paused=true, first time',
      { [P]: 'true' },
      false,
      {
        fullPause: true,
        statusPausedReplicaCount: null,
        transition: 'paused',
        pausedCondition: PAUSED,
        readyCondition: READY_PAUSED,
        event: PAUSED_EVENT,
      },
    ],
    [
      'C-85 the event only on the transition',
      { [P]: 'true' },
      true,
      {
        fullPause: true,
        transition: 'none',
        pausedCondition: PAUSED,
        readyCondition: READY_PAUSED,
        event: undefined,
      },
    ],
    [
      'C-85 an unparsable paused value counts as true',
      { [P]: 'yes please' },
      false,
      { fullPause: true, transition: 'paused' },
    ],
    [
      'C-85 paused=false is no pause',
      { [P]: 'false' },
      false,
      { fullPause: false, transition: 'none', pausedCondition: undefined, event: undefined },
    ],
    [
      'C-85 paused-replicas=N',
      { [PR]: '3' },
      false,
      { fullPause: true, pausedReplicas: 3, statusPausedReplicaCount: 3, transition: 'paused' },
    ],
    [
      'C-85 paused-replicas=0',
      { [PR]: '0' },
      false,
      { fullPause: true, pausedReplicas: 0, statusPausedReplicaCount: 0 },
    ],
    [
      'C-86 paused and paused-replicas: replicas win',
      { [P]: 'true', [PR]: '5' },
      true,
      { fullPause: true, pausedReplicas: 5, statusPausedReplicaCount: 5 },
    ],
    [
      'C-87 paused-replicas → paused keeps replicas where they are',
      { [P]: 'true' },
      true,
      { fullPause: true, pausedReplicas: undefined, statusPausedReplicaCount: null },
    ],
    [
      'C-88 unpause: annotations removed',
      {},
      true,
      {
        fullPause: false,
        transition: 'unpaused',
        pausedCondition: UNPAUSED,
        event: UNPAUSED_EVENT,
        statusPausedReplicaCount: null,
        readyCondition: undefined,
      },
    ],
    [
      'C-88 unpause: paused=false',
      { [P]: 'false' },
      true,
      { transition: 'unpaused', pausedCondition: UNPAUSED },
    ],
    [
      'C-88 nothing to do without annotations',
      undefined,
      false,
      { fullPause: false, transition: 'none', pausedCondition: undefined, event: undefined },
    ],
    [
      'C-89 paused-scale-in',
      { [PIN]: 'true' },
      false,
      {
        fullPause: false,
        scaleInPaused: true,
        scaleOutPaused: false,
        transition: 'paused',
        pausedCondition: PAUSED,
        readyCondition: undefined,
        event: PAUSED_EVENT,
      },
    ],
    [
      'C-89 removing paused-scale-in unpauses',
      { [PIN]: 'false' },
      true,
      { scaleInPaused: false, transition: 'unpaused', pausedCondition: UNPAUSED },
    ],
    [
      'C-90 paused-scale-out',
      { [POUT]: '1' },
      false,
      { fullPause: false, scaleInPaused: false, scaleOutPaused: true, transition: 'paused' },
    ],
    [
      'C-91 full pause wins over scale-in/out',
      { [PIN]: 'true', [POUT]: 'true', [P]: 'true' },
      false,
      { fullPause: true, scaleInPaused: true, scaleOutPaused: true, readyCondition: READY_PAUSED },
    ],
    [
      'C-88 full pause lifted, scale-in still set: stays paused, count cleared',
      { [PIN]: 'true' },
      true,
      { fullPause: false, transition: 'none', pausedCondition: PAUSED, statusPausedReplicaCount: null },
    ],
  ])('%s', (_rule, annotations, statusPaused, expected) => {
    const plan = pausePlan(annotations, statusPaused);
    const entries = Object.entries(expected);
    // undefined in a row means "absent from the plan".
    expect(plan).toMatchObject(Object.fromEntries(entries.filter(([, v]) => v !== undefined)));
    for (const [key, value] of entries) if (value === undefined) expect(plan).not.toHaveProperty(key);
    expect(plan.problems).toEqual([]);
  });

  it('C-85 a non-integer paused-replicas is a reconcile error', () => {
    const plan = pausePlan({ [PR]: 'five' }, false);
    expect(plan.fullPause).toBe(true);
    expect(plan.pausedReplicas).toBeUndefined();
    expect(plan.problems).toEqual([
      {
        field: 'metadata.annotations["autoscaling.keda.sh/paused-replicas"]',
        message: expect.stringContaining('must be an int32'),
      },
    ]);
  });
});
