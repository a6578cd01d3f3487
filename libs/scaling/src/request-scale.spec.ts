import { cooldownState, requestScale, requestScaleInputFor, type RequestScaleInput } from './request-scale';
import { scaledObject } from '../test/fixtures';

const NOW = new Date('2026-01-01T12:00:00Z');
const secondsAgo = (s: number) => new Date(NOW.getTime() - s * 1000);

/** A poll of a fresh ScaledObject (created an hour ago, never active) with default cooldowns. */
function input(overrides: Partial<RequestScaleInput> = {}): RequestScaleInput {
  return {
    currentReplicas: 0,
    isActive: false,
    isError: false,
    forceActivation: false,
    pausedScaleIn: false,
    pausedScaleOut: false,
    creationTimestamp: secondsAgo(3600),
    cooldownPeriodSeconds: 300,
    initialCooldownPeriodSeconds: 0,
    now: NOW,
    activeMetricNames: ['s0-rabbitmq-orders'],
    scaleTarget: { kind: 'apps/v1.Deployment', namespace: 'shop', name: 'orders-consumer' },
    ...overrides,
  };
}

const READY = {
  type: 'Ready',
  status: 'True',
  reason: 'ScaledObjectReady',
  message: 'ScaledObject is defined correctly and is ready for scaling',
};
const ACTIVE = {
  type: 'Active',
  status: 'True',
  reason: 'ScalerActive',
  message: 'Scaling is performed because triggers are active',
};
const ACTIVE_FORCED = {
  ...ACTIVE,
  message: 'Scaling is performed because activation is being forced by annotation',
};
const NOT_ACTIVE = {
  type: 'Active',
  status: 'False',
  reason: 'ScalerNotActive',
  message: 'Scaling is not performed because triggers are not active',
};
const COOLDOWN = {
  type: 'Active',
  status: 'False',
  reason: 'ScalerCooldown',
  message: 'Scaler cooling down because triggers are not active',
};
const PARTIAL = {
  type: 'Ready',
  status: 'Unknown',
  reason: 'PartialTriggerError',
  message: 'Some triggers defined in ScaledObject are not working correctly',
};
const TRIGGER_ERROR = {
  type: 'Ready',
  status: 'False',
  reason: 'TriggerError',
  message: 'Triggers defined in ScaledObject are not working correctly',
};

interface Row {
  rule: string;
  given: Partial<RequestScaleInput>;
  action: string;
  scaleTo?: number;
  conditions: object[];
  setLastActiveTime: boolean;
}

const rows: Row[] = [
  // §2.8 active
  {
    rule: 'C-60a active at 0 → 1',
    given: { isActive: true },
    action: 'activate',
    scaleTo: 1,
    conditions: [READY, ACTIVE],
    setLastActiveTime: true,
  },
  {
    rule: 'C-60a active at 0 → min',
    given: { isActive: true, minReplicaCount: 3 },
    action: 'activate',
    scaleTo: 3,
    conditions: [READY, ACTIVE],
    setLastActiveTime: true,
  },
  {
    rule: 'C-60a/C-69 idle set, current < min → min',
    given: { isActive: true, idleReplicaCount: 0, minReplicaCount: 2, currentReplicas: 1 },
    action: 'activate',
    scaleTo: 2,
    conditions: [READY, ACTIVE],
    setLastActiveTime: true,
  },
  {
    rule: 'C-60a/C-71 min 0: from 0 to 1 only through the operator',
    given: { isActive: true, minReplicaCount: 0 },
    action: 'activate',
    scaleTo: 1,
    conditions: [READY, ACTIVE],
    setLastActiveTime: true,
  },
  {
    rule: 'C-60a activation wins over isError',
    given: { isActive: true, isError: true },
    action: 'activate',
    scaleTo: 1,
    conditions: [READY, ACTIVE],
    setLastActiveTime: true,
  },
  {
    rule: 'C-60a/C-90 paused-scale-out blocks activation',
    given: { isActive: true, pausedScaleOut: true },
    action: 'none',
    conditions: [READY, ACTIVE],
    setLastActiveTime: false,
  },
  {
    rule: 'C-60b active with error, replicas > 0',
    given: { isActive: true, isError: true, currentReplicas: 2 },
    action: 'none',
    conditions: [PARTIAL, ACTIVE],
    setLastActiveTime: false,
  },
  {
    rule: 'C-60c active, replicas > 0: HPA scales, lastActiveTime refreshed',
    given: { isActive: true, currentReplicas: 2 },
    action: 'none',
    conditions: [READY, ACTIVE],
    setLastActiveTime: true,
  },
  {
    rule: 'C-60c/C-56 min ≥ 1 without idle: nothing',
    given: { isActive: true, currentReplicas: 2, minReplicaCount: 2 },
    action: 'none',
    conditions: [READY, ACTIVE],
    setLastActiveTime: true,
  },
  {
    rule: "C-60c current below min without idle is the HPA's job",
    given: { isActive: true, currentReplicas: 1, minReplicaCount: 3 },
    action: 'none',
    conditions: [READY, ACTIVE],
    setLastActiveTime: true,
  },
  // §2.14 force activation
  {
    rule: 'C-92 forced activation from 0 → min',
    given: { forceActivation: true, idleReplicaCount: 0, minReplicaCount: 2 },
    action: 'activate',
    scaleTo: 2,
    conditions: [READY, ACTIVE_FORCED],
    setLastActiveTime: true,
  },
  {
    rule: 'C-92 forced while already running',
    given: { forceActivation: true, currentReplicas: 2, minReplicaCount: 2 },
    action: 'none',
    conditions: [READY, ACTIVE_FORCED],
    setLastActiveTime: true,
  },
  {
    rule: 'C-92 forced and active uses the forced message',
    given: { forceActivation: true, isActive: true, currentReplicas: 2 },
    action: 'none',
    conditions: [READY, ACTIVE_FORCED],
    setLastActiveTime: true,
  },
  // §2.8 inactive
  {
    rule: 'C-61a error + fallback.replicas ≠ 0 keeps replicas',
    given: { isError: true, fallback: { replicas: 3 }, currentReplicas: 2 },
    action: 'none',
    conditions: [READY, NOT_ACTIVE],
    setLastActiveTime: false,
  },
  {
    rule: 'C-61a → C-61c when fallback.replicas is 0',
    given: { isError: true, fallback: { replicas: 0 }, currentReplicas: 2 },
    action: 'deactivate',
    scaleTo: 0,
    conditions: [READY, NOT_ACTIVE],
    setLastActiveTime: false,
  },
  {
    rule: 'C-61b error without fallback',
    given: { isError: true, currentReplicas: 2 },
    action: 'none',
    conditions: [TRIGGER_ERROR, NOT_ACTIVE],
    setLastActiveTime: false,
  },
  {
    rule: 'C-61c/C-67 inactive new SO scales to 0 at the first poll',
    given: { currentReplicas: 4 },
    action: 'deactivate',
    scaleTo: 0,
    conditions: [READY, NOT_ACTIVE],
    setLastActiveTime: false,
  },
  {
    rule: 'C-61c/C-68 idle 0, min 2, 4 running → 0',
    given: { currentReplicas: 4, idleReplicaCount: 0, minReplicaCount: 2 },
    action: 'deactivate',
    scaleTo: 0,
    conditions: [READY, NOT_ACTIVE],
    setLastActiveTime: false,
  },
  {
    rule: 'C-65 idle target wins over min',
    given: { currentReplicas: 4, idleReplicaCount: 1, minReplicaCount: 3 },
    action: 'deactivate',
    scaleTo: 1,
    conditions: [READY, NOT_ACTIVE],
    setLastActiveTime: false,
  },
  {
    rule: 'C-61c/C-63 paused-scale-in blocks scale to zero',
    given: { currentReplicas: 4, pausedScaleIn: true },
    action: 'none',
    conditions: [READY, NOT_ACTIVE],
    setLastActiveTime: false,
  },
  {
    rule: 'C-66 cooldown not elapsed',
    given: { currentReplicas: 2, lastActiveTime: secondsAgo(100) },
    action: 'none',
    conditions: [READY, COOLDOWN],
    setLastActiveTime: false,
  },
  {
    rule: 'C-64 cooldown elapsed',
    given: { currentReplicas: 2, lastActiveTime: secondsAgo(301) },
    action: 'deactivate',
    scaleTo: 0,
    conditions: [READY, NOT_ACTIVE],
    setLastActiveTime: false,
  },
  {
    rule: 'C-64 exactly at the deadline is still cooling down (Before is strict)',
    given: { currentReplicas: 2, lastActiveTime: secondsAgo(300) },
    action: 'none',
    conditions: [READY, COOLDOWN],
    setLastActiveTime: false,
  },
  {
    rule: 'C-64/C-67 initialCooldownPeriod delays the first scale-in',
    given: { currentReplicas: 2, creationTimestamp: secondsAgo(30), initialCooldownPeriodSeconds: 60 },
    action: 'none',
    conditions: [READY, COOLDOWN],
    setLastActiveTime: false,
  },
  {
    rule: 'C-64 initialCooldownPeriod elapsed',
    given: { currentReplicas: 2, creationTimestamp: secondsAgo(61), initialCooldownPeriodSeconds: 60 },
    action: 'deactivate',
    scaleTo: 0,
    conditions: [READY, NOT_ACTIVE],
    setLastActiveTime: false,
  },
  {
    rule: 'C-64 initialCooldownPeriod only applies without lastActiveTime',
    given: {
      currentReplicas: 2,
      creationTimestamp: secondsAgo(30),
      initialCooldownPeriodSeconds: 60,
      lastActiveTime: secondsAgo(301),
    },
    action: 'deactivate',
    scaleTo: 0,
    conditions: [READY, NOT_ACTIVE],
    setLastActiveTime: false,
  },
  {
    rule: 'C-61d/C-73 below min without idle: min at once, no cooldown',
    given: { currentReplicas: 0, minReplicaCount: 5, lastActiveTime: secondsAgo(1) },
    action: 'raiseToMin',
    scaleTo: 5,
    conditions: [READY, NOT_ACTIVE],
    setLastActiveTime: false,
  },
  {
    rule: 'C-61e at 0 with min 0: nothing',
    given: { currentReplicas: 0 },
    action: 'none',
    conditions: [READY, NOT_ACTIVE],
    setLastActiveTime: false,
  },
  {
    rule: 'C-61e/C-56 at min ≥ 1: nothing (HPA owns it)',
    given: { currentReplicas: 3, minReplicaCount: 3 },
    action: 'none',
    conditions: [READY, NOT_ACTIVE],
    setLastActiveTime: false,
  },
  {
    rule: 'C-61e at idle: nothing',
    given: { currentReplicas: 0, idleReplicaCount: 0, minReplicaCount: 2 },
    action: 'none',
    conditions: [READY, NOT_ACTIVE],
    setLastActiveTime: false,
  },
  {
    rule: 'C-61e idle set and below min is not raised while inactive',
    given: { currentReplicas: 1, idleReplicaCount: 1, minReplicaCount: 3 },
    action: 'none',
    conditions: [READY, NOT_ACTIVE],
    setLastActiveTime: false,
  },
  {
    rule: 'C-73 min lowered to 0 while inactive: scale to 0 after cooldown',
    given: { currentReplicas: 3, minReplicaCount: 0, lastActiveTime: secondsAgo(400) },
    action: 'deactivate',
    scaleTo: 0,
    conditions: [READY, NOT_ACTIVE],
    setLastActiveTime: false,
  },
  // §2.8 C-58/C-59
  {
    rule: 'C-59 fully paused: only Paused=True',
    given: { fullyPaused: true, isActive: true },
    action: 'none',
    conditions: [
      READY,
      { type: 'Paused', status: 'True', reason: 'ScaledObjectPaused', message: 'ScaledObject is paused' },
    ],
    setLastActiveTime: false,
  },
  {
    rule: 'C-58 current replicas unreadable',
    given: { currentReplicasError: new Error('boom'), isActive: true },
    action: 'none',
    conditions: [
      {
        type: 'Ready',
        status: 'False',
        reason: 'ErrorGettingCurrentReplicas',
        message: 'Error getting current replicas count for ScaleTarget: boom',
      },
    ],
    setLastActiveTime: false,
  },
];

describe('requestScale (§2.8..§2.11, §2.13, §2.14)', () => {
  it.each(rows.map((row) => [row.rule, row] as const))('%s', (_rule, row) => {
    const decision = requestScale(input(row.given));
    expect(decision.action).toBe(row.action);
    expect(decision.scaleTo).toBe(row.scaleTo);
    expect(decision.conditions).toEqual(row.conditions);
    expect(decision.setLastActiveTime).toBe(row.setLastActiveTime);
    if (row.scaleTo === undefined || decision.action === 'raiseToMin') expect(decision.event).toBeUndefined();
  });

  it('C-60a activation events: triggered by the active metric names joined with ;', () => {
    const decision = requestScale(
      input({ isActive: true, minReplicaCount: 2, activeMetricNames: ['s0-a', 's1-b'] }),
    );
    expect(decision.event).toEqual({
      type: 'Normal',
      reason: 'KEDAScaleTargetActivated',
      note: 'Scaled apps/v1.Deployment shop/orders-consumer from 0 to 2, triggered by s0-a;s1-b',
    });
    expect(decision.failureEvent).toEqual({
      type: 'Warning',
      reason: 'KEDAScaleTargetActivationFailed',
      note: 'Failed to scale apps/v1.Deployment shop/orders-consumer from 0 to 2',
    });
  });

  it('C-92 forced activation note', () => {
    const decision = requestScale(input({ forceActivation: true, activeMetricNames: [] }));
    expect(decision.event?.note).toBe(
      'Scaled apps/v1.Deployment shop/orders-consumer from 0 to 1, caused by forced activation annotation',
    );
  });

  it('C-65 deactivation events', () => {
    const decision = requestScale(input({ currentReplicas: 4, idleReplicaCount: 0, minReplicaCount: 2 }));
    expect(decision.event).toEqual({
      type: 'Normal',
      reason: 'KEDAScaleTargetDeactivated',
      note: 'Deactivated apps/v1.Deployment shop/orders-consumer from 4 to 0',
    });
    expect(decision.failureEvent).toEqual({
      type: 'Warning',
      reason: 'KEDAScaleTargetDeactivationFailed',
      note: 'Failed to deactivate apps/v1.Deployment shop/orders-consumer from 4 to 0',
    });
  });

  it('C-66 reports the remaining cooldown', () => {
    const decision = requestScale(input({ currentReplicas: 2, lastActiveTime: secondsAgo(100) }));
    expect(decision.cooldownRemainingMs).toBe(200_000);
    expect(decision.rule).toBe('cooling-down');
  });
});

describe('cooldownState (C-64)', () => {
  it.each([
    [
      'C-64 lastActiveTime + cooldown before now',
      { lastActiveTime: secondsAgo(10), cooldownPeriodSeconds: 5 },
      true,
      0,
    ],
    ['C-64 still cooling down', { lastActiveTime: secondsAgo(10), cooldownPeriodSeconds: 15 }, false, 5000],
    [
      'C-64 cooldown 0 allows at once',
      { lastActiveTime: secondsAgo(0.001), cooldownPeriodSeconds: 0 },
      true,
      0,
    ],
    [
      'C-64 no lastActiveTime, initial 0, created now',
      { creationTimestamp: NOW, initialCooldownPeriodSeconds: 0 },
      false,
      0,
    ],
  ])('%s', (_rule, given, elapsed, remainingMs) => {
    expect(cooldownState({ ...input(), ...given })).toEqual({ elapsed, remainingMs });
  });
});

describe('requestScaleInputFor', () => {
  it('reads spec, annotations and status (C-63, C-64, C-90, C-92)', () => {
    const so = scaledObject(
      {
        minReplicaCount: 2,
        idleReplicaCount: 0,
        cooldownPeriod: 60,
        fallback: { failureThreshold: 3, replicas: 4 },
      },
      {
        creationTimestamp: '2026-01-01T10:00:00Z',
        annotations: {
          'autoscaling.keda.sh/paused-scale-in': 'true',
          'autoscaling.keda.sh/force-activation': 'yes',
        },
      },
    );
    so.status = { scaleTargetKind: 'apps/v1.Deployment', lastActiveTime: '2026-01-01T11:00:00Z' };
    const built = requestScaleInputFor(so, {
      currentReplicas: 1,
      isActive: false,
      isError: false,
      activeMetricNames: [],
      now: NOW,
    });
    expect(built).toMatchObject({
      currentReplicas: 1,
      minReplicaCount: 2,
      idleReplicaCount: 0,
      cooldownPeriodSeconds: 60,
      initialCooldownPeriodSeconds: 0,
      fullyPaused: false,
      pausedScaleIn: true,
      pausedScaleOut: false,
      forceActivation: true,
      fallback: { replicas: 4 },
      creationTimestamp: new Date('2026-01-01T10:00:00Z'),
      lastActiveTime: new Date('2026-01-01T11:00:00Z'),
      scaleTarget: { kind: 'apps/v1.Deployment', namespace: 'shop', name: 'orders-consumer' },
    });
  });

  it.each([
    ['remembered later than status: the remembered time', '2026-01-01T11:00:00Z', new Date('2026-01-01T11:00:40Z'), new Date('2026-01-01T11:00:40Z')],
    ['status later than remembered (another leader wrote it): status', '2026-01-01T11:01:00Z', new Date('2026-01-01T11:00:40Z'), new Date('2026-01-01T11:01:00Z')],
    ['only remembered', undefined, new Date('2026-01-01T11:00:40Z'), new Date('2026-01-01T11:00:40Z')],
    ['only status', '2026-01-01T11:00:00Z', undefined, new Date('2026-01-01T11:00:00Z')],
    ['neither', undefined, undefined, undefined],
  ] as const)('the cooldown counts from the later of the remembered and the stored lastActiveTime: %s', (_name, stored, remembered, want) => {
    const so = scaledObject({ cooldownPeriod: 60 });
    so.status = stored ? { lastActiveTime: stored } : {};
    const built = requestScaleInputFor(so, { currentReplicas: 1, isActive: false, isError: false, activeMetricNames: [], now: NOW, lastActiveTime: remembered });
    expect(built.lastActiveTime).toEqual(want);
    expect('lastActiveTime' in built).toBe(want !== undefined);
  });

  it('C-64 defaults: cooldown 300 s, initial cooldown 0 s', () => {
    const built = requestScaleInputFor(scaledObject(), {
      currentReplicas: 0,
      isActive: false,
      isError: false,
      activeMetricNames: [],
      now: NOW,
    });
    expect(built.cooldownPeriodSeconds).toBe(300);
    expect(built.initialCooldownPeriodSeconds).toBe(0);
    expect(built.minReplicaCount).toBeUndefined();
    expect(built.lastActiveTime).toBeUndefined();
  });
});
