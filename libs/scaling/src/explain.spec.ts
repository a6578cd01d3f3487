import { explainPoll, explainScaledJobPoll, explanationConditionMessage, formatDuration, predictReplicas, type PollObservation, type TriggerObservation } from './explain';

const trigger = (over: Partial<TriggerObservation> = {}): TriggerObservation => ({
  index: 0,
  type: 'rabbitmq',
  metricName: 's0-rabbitmq-orders',
  value: 3,
  activation: { parameter: 'activationValue', threshold: 5 },
  target: { type: 'AverageValue', value: 10 },
  isActive: false,
  outcome: 'ok',
  latencyMs: 4,
  ...over,
});

const poll = (over: Partial<PollObservation> = {}): PollObservation => ({
  triggers: [trigger()],
  decision: { action: 'none', rule: 'inactive' },
  currentReplicas: 0,
  minReplicaCount: 0,
  maxReplicaCount: 100,
  hpaName: 'keda-hpa-orders',
  ...over,
});

describe('explainPoll', () => {
  it.each<[string, PollObservation, Partial<ReturnType<typeof explainPoll>>, RegExp[]]>([
    [
      'held at 0 by an activation threshold names the trigger, its value and the threshold',
      poll(),
      { outcome: 'held-inactive', reason: 'HeldByActivation' },
      [/held at 0 replicas: no trigger is active: trigger 0 \(rabbitmq\) value 3 is not above activationValue 5/],
    ],
    [
      'cooldown shows the time left',
      poll({ currentReplicas: 2, decision: { action: 'none', rule: 'cooling-down', cooldownRemainingMs: 250_000 } }),
      { outcome: 'cooldown', reason: 'CoolingDown' },
      [/scale-in to 0 in 4m10s/],
    ],
    [
      'paused',
      poll({ decision: { action: 'none', rule: 'paused' } }),
      { outcome: 'paused', reason: 'Paused' },
      [/paused by annotation/],
    ],
    [
      'fallback shows the failing trigger and its error',
      poll({
        currentReplicas: 3,
        fallbackReplicas: 3,
        triggers: [trigger({ outcome: 'fallback', isActive: true, value: undefined, error: 'connect ECONNREFUSED 127.0.0.1:5672' })],
      }),
      { outcome: 'fallback', reason: 'Fallback' },
      [/fallback in effect \(fallback.replicas 3\): trigger 0 \(rabbitmq\) failed and its fallback stands in: connect ECONNREFUSED 127.0.0.1:5672/],
    ],
    [
      'activation names the active trigger and the write',
      poll({ triggers: [trigger({ value: 12, isActive: true })], decision: { action: 'activate', rule: 'activate', scaleTo: 1 } }),
      { outcome: 'activated', reason: 'Activated' },
      [/activated: trigger 0 \(rabbitmq\) value 12 is above activationValue 5; scaled 0 -> 1/],
    ],
    [
      'a failed write is said',
      poll({ triggers: [trigger({ value: 12, isActive: true })], decision: { action: 'activate', rule: 'activate', scaleTo: 1 }, wrote: false }),
      { outcome: 'activated' },
      [/writing 1 replicas FAILED/],
    ],
    [
      'forced activation',
      poll({ forceActivation: true, decision: { action: 'activate', rule: 'activate', scaleTo: 1 } }),
      { outcome: 'activated' },
      [/forced by annotation autoscaling.keda.sh\/force-activation/],
    ],
    [
      'deactivation after the cooldown',
      poll({ currentReplicas: 4, decision: { action: 'deactivate', rule: 'deactivate', scaleTo: 0 } }),
      { outcome: 'deactivated' },
      [/deactivated after the cooldown: no trigger is active; scaled 4 -> 0/],
    ],
    [
      'handed to the HPA with its arithmetic',
      poll({ currentReplicas: 3, triggers: [trigger({ value: 25, isActive: true })], decision: { action: 'none', rule: 'active' } }),
      { outcome: 'handed-to-hpa', reason: 'HandedToHPA' },
      [/active at 3 replicas; the HPA keda-hpa-orders scales between 1 and 100: s0-rabbitmq-orders: 25 \/ target 10 per replica -> 3 replicas/],
    ],
    [
      'raise to min',
      poll({ minReplicaCount: 2, decision: { action: 'raiseToMin', rule: 'raise-to-min', scaleTo: 2 } }),
      { outcome: 'raised-to-min' },
      [/below minReplicaCount 2; raised 0 -> 2/],
    ],
    [
      'a failing trigger without fallback',
      poll({ triggers: [trigger({ outcome: 'error', value: undefined, error: 'ACCESS_REFUSED' })], decision: { action: 'none', rule: 'trigger-error' } }),
      { outcome: 'error', reason: 'TriggerError' },
      [/trigger 0 \(rabbitmq\) failed: ACCESS_REFUSED/],
    ],
    [
      'current replicas unknown',
      poll({ currentReplicas: undefined, decision: { action: 'none', rule: 'replicas-unreadable' } }),
      { outcome: 'error' },
      [/could not be read/],
    ],
    [
      'paused scale-out while active at 0',
      poll({ pausedScaleOut: true, triggers: [trigger({ value: 9, isActive: true })], decision: { action: 'none', rule: 'activation-held-by-paused-scale-out' } }),
      { outcome: 'paused' },
      [/paused-scale-out/],
    ],
    [
      'inactive above min without idle: the HPA keeps it',
      poll({ currentReplicas: 2, minReplicaCount: 2 }),
      { outcome: 'held-inactive' },
      [/inactive at 2 replicas \(minReplicaCount 2\)/],
    ],
    [
      'formula error',
      poll({ composite: { formula: 'a + b', error: 'undefined symbol b' }, currentReplicas: 1 }),
      { outcome: 'error' },
      [/formula failed: undefined symbol b/],
    ],
  ])('%s', (_name, input, want, patterns) => {
    const got = explainPoll(input);
    expect(got).toMatchObject(want);
    for (const p of patterns) expect(got.summary).toMatch(p);
  });

  it('hints at what would change the outcome', () => {
    expect(explainPoll(poll()).hints).toEqual(['s0-rabbitmq-orders activates when its value exceeds activationValue 5 (now 3)']);
  });

  it('builds one condition message from the summary and the first hint, bounded', () => {
    const e = explainPoll(poll());
    expect(explanationConditionMessage(e)).toBe(`${e.summary}. To change it: ${e.hints[0]}`);
    expect(explanationConditionMessage({ ...e, summary: 'x'.repeat(5000) })).toHaveLength(1024);
  });

  it.each([
    [0, '0s'],
    [1, '1s'],
    [59_000, '59s'],
    [61_000, '1m1s'],
    [3_720_000, '1h2m'],
  ])('formatDuration(%d) = %s', (ms, want) => expect(formatDuration(ms)).toBe(want));
});

describe('predictReplicas', () => {
  const m = (value: number | undefined, type = 'AverageValue', target = 10) => ({ metricName: 's0-x', value, target: { type, value: target } });
  it.each([
    ['inactive -> min', { isActive: false, metrics: [m(3)], minReplicaCount: 0, maxReplicaCount: 10 }, 0, /minReplicaCount/],
    ['inactive -> idle', { isActive: false, metrics: [m(3)], minReplicaCount: 2, maxReplicaCount: 10, idleReplicaCount: 0 }, 0, /idleReplicaCount/],
    ['AverageValue', { isActive: true, metrics: [m(25)], minReplicaCount: 0, maxReplicaCount: 10 }, 3, /ceil\(25 \/ 10\) = 3/],
    ['capped at max', { isActive: true, metrics: [m(500)], minReplicaCount: 0, maxReplicaCount: 10 }, 10, /-> 10 within \[1, 10\]/],
    ['raised to min', { isActive: true, metrics: [m(1)], minReplicaCount: 3, maxReplicaCount: 10 }, 3, /-> 3 within \[3, 10\]/],
    ['Value uses the current count', { isActive: true, metrics: [m(20, 'Value')], currentReplicas: 2, minReplicaCount: 0, maxReplicaCount: 10 }, 4, /ceil\(2 \* 20 \/ 10\) = 4/],
    ['largest metric wins', { isActive: true, metrics: [m(25), m(61)], minReplicaCount: 0, maxReplicaCount: 10 }, 7, /= 7/],
    ['no metric', { isActive: true, metrics: [m(undefined)], minReplicaCount: 0, maxReplicaCount: 10 }, 1, /at least 1/],
  ])('%s', (_name, input, replicas, reason) => {
    const got = predictReplicas(input);
    expect(got.replicas).toBe(replicas);
    expect(got.reason).toMatch(reason);
  });
});

describe('explainScaledJobPoll', () => {
  const base = { running: 2, pending: 1, strategy: 'default', maxReplicaCount: 10, created: 0 };
  it.each([
    ['jobs created', { ...base, triggers: [trigger({ value: 7, isActive: true })], decision: { count: 4, rule: 'scale', isActive: true, scaleTo: 7, maxScale: 7 }, created: 4 }, 'jobs-created', /created 4 of 4 Jobs for 7 pending events: trigger 0 \(rabbitmq\) value 7 is above activationValue 5; 2 running, 1 pending, maxReplicaCount 10, strategy default/],
    ['a failed creation is said', { ...base, triggers: [trigger({ value: 7, isActive: true })], decision: { count: 4, rule: 'scale', isActive: true, scaleTo: 7, maxScale: 7 }, created: 3 }, 'jobs-created', /\(1 creations FAILED\)/],
    ['inactive', { ...base, triggers: [trigger()], decision: { count: 0, rule: 'inactive', isActive: false, scaleTo: 0, maxScale: 0 } }, 'no-jobs', /no Jobs: no trigger is active: trigger 0 \(rabbitmq\) value 3 is not above activationValue 5/],
    ['covered', { ...base, running: 9, triggers: [trigger({ value: 9, isActive: true })], decision: { count: 0, rule: 'all-exist', isActive: true, scaleTo: 9, maxScale: 9 } }, 'no-jobs', /9 pending events are covered/],
    ['broker down', { ...base, triggers: [trigger({ outcome: 'error', error: 'ECONNREFUSED', value: undefined })], decision: { count: 0, rule: 'inactive', isActive: false, scaleTo: 0, maxScale: 0 } }, 'error', /no Jobs: trigger 0 \(rabbitmq\) failed: ECONNREFUSED/],
    ['not built', { ...base, triggers: [], buildError: 'missing required parameter "queueName"', decision: { count: 0, rule: 'inactive', isActive: false, scaleTo: 0, maxScale: 0 } }, 'error', /could not be read: missing required parameter/],
  ] as const)('%s', (_name, input, outcome, summary) => {
    const got = explainScaledJobPoll(input as never);
    expect(got.outcome).toBe(outcome);
    expect(got.summary).toMatch(summary);
  });
  it('hints at maxReplicaCount when it holds Jobs back', () => {
    const got = explainScaledJobPoll({ ...base, running: 10, pending: 0, triggers: [trigger({ value: 30, isActive: true })], decision: { count: 0, rule: 'all-exist', isActive: true, scaleTo: 30, maxScale: 10 } });
    expect(got.hints).toEqual(['maxReplicaCount 10 is reached; raise it to run more Jobs at once']);
  });
});
