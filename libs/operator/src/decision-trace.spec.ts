import type { PollExplanation } from '@keda-ts/scaling';
import { DECISION_CONDITION_MIN_INTERVAL_MS, DecisionTraces, type DecisionRecord } from './decision-trace';

const explanation = (summary: string, reason = 'HeldByActivation'): PollExplanation => ({ outcome: 'held-inactive', reason, summary, hints: [] });
const record = (n: number): DecisionRecord => ({
  time: new Date(n * 1000),
  triggers: [],
  decision: { action: 'none', rule: 'inactive' },
  currentReplicas: 0,
  explanation: explanation(`poll ${n}`),
  durationMs: 1,
});

describe('DecisionTraces', () => {
  it('keeps a fixed number of entries per object, newest first', () => {
    const traces = new DecisionTraces(3);
    for (let n = 1; n <= 5; n++) traces.record('ScaledObject', 'ns', 'a', record(n));
    traces.record('ScaledJob', 'ns', 'a', record(9));
    expect(traces.list('ScaledObject', 'ns', 'a').map((r) => r.explanation.summary)).toEqual(['poll 5', 'poll 4', 'poll 3']);
    expect(traces.list('ScaledJob', 'ns', 'a')).toHaveLength(1);
    expect(traces.objects()).toEqual(['ScaledJob/ns/a', 'ScaledObject/ns/a']);
  });

  it('shares the explanation, decision and trigger target of a poll that repeats the previous one', () => {
    const traces = new DecisionTraces();
    const steady = (n: number, value: number): DecisionRecord => ({
      ...record(n),
      explanation: explanation('1 of 1 triggers active'),
      triggers: [{ index: 0, type: 'metrics-api', metricName: 's0-metric', value, target: { type: 'AverageValue', value: 5 }, isActive: true, outcome: 'ok', latencyMs: n }],
    });
    traces.record('ScaledObject', 'ns', 'a', steady(1, 5));
    traces.record('ScaledObject', 'ns', 'a', steady(2, 7));
    traces.record('ScaledObject', 'ns', 'a', { ...steady(3, 7), explanation: explanation('now different') });
    const [third, second, first] = traces.list('ScaledObject', 'ns', 'a');
    expect(second.explanation).toBe(first.explanation);
    expect(second.decision).toBe(first.decision);
    expect(second.triggers[0].target).toBe(first.triggers[0].target);
    // What differs stays each poll's own.
    expect(second.triggers[0].value).toBe(7);
    expect(second.time).toEqual(new Date(2000));
    expect(third.explanation.summary).toBe('now different');
    expect(third.explanation).not.toBe(second.explanation);
  });

  it('forgets an object with its entries', () => {
    const traces = new DecisionTraces();
    traces.record('ScaledObject', 'ns', 'a', record(1));
    traces.forget('ScaledObject', 'ns', 'a');
    expect(traces.list('ScaledObject', 'ns', 'a')).toEqual([]);
    expect(traces.objects()).toEqual([]);
  });

  it('rejects a capacity that is not a positive integer', () => {
    expect(() => new DecisionTraces(0)).toThrow('decision trace capacity must be a positive integer, got 0');
  });

  it('writes the Decision condition at once on a new reason, and a new message at most once a minute', () => {
    const traces = new DecisionTraces();
    const at = (s: number) => new Date(s * 1000);
    const due = (e: PollExplanation, s: number) => traces.conditionToWrite('ScaledObject', 'ns', 'a', e, at(s));
    expect(due(explanation('value 1'), 0)).toEqual({ type: 'Decision', status: 'True', reason: 'HeldByActivation', message: 'value 1' });
    expect(due(explanation('value 1'), 1)).toBeUndefined();
    expect(due(explanation('value 2'), 2)).toBeUndefined();
    expect(due(explanation('value 2', 'Activated'), 3)).toMatchObject({ reason: 'Activated', message: 'value 2' });
    expect(due(explanation('value 3', 'Activated'), 3 + DECISION_CONDITION_MIN_INTERVAL_MS / 1000)).toMatchObject({ message: 'value 3' });
  });
});
