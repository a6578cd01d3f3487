import type { ScaledObject } from '@keda-ts/api';
import type { MetricSpec, MetricsAndActivity, Scaler } from '@keda-ts/scaler-sdk';
import { evaluateMetrics, type EvaluationInput, type MetricReading } from './metric-evaluation';
import type { BuiltScalers } from './scalers-cache';

const NOW = new Date('2025-01-01T00:00:00Z');

type Behaviour = number | Error | 'hang' | 'hang-ignoring-signal' | ((signal?: AbortSignal) => Promise<MetricsAndActivity>);

/** A scaler with one External metric `s<index>-fake` (or a Resource metric for `cpu`). */
function fakeScaler(index: number, behaviour: Behaviour, opts: { target?: string; type?: 'AverageValue' | 'Value'; activation?: number; resource?: boolean } = {}) {
  const metricName = `s${index}-fake`;
  const calls: string[] = [];
  const scaler: Scaler = {
    type: opts.resource ? 'cpu' : 'fake',
    getMetricSpecForScaling: (): MetricSpec[] =>
      opts.resource
        ? [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }]
        : [
            {
              type: 'External',
              external: {
                metric: { name: metricName },
                target: opts.type === 'Value' ? { type: 'Value', value: opts.target ?? '5' } : { type: 'AverageValue', averageValue: opts.target ?? '5' },
              },
            },
          ],
    async getMetricsAndActivity(name, options) {
      calls.push(name);
      if (typeof behaviour === 'function') return behaviour(options?.signal);
      if (behaviour instanceof Error) throw behaviour;
      if (behaviour === 'hang-ignoring-signal') return new Promise(() => undefined);
      if (behaviour === 'hang') {
        return new Promise((_, reject) => options?.signal?.addEventListener('abort', () => reject(new Error('request timed out'))));
      }
      return { metrics: [{ metricName: name, value: behaviour, timestamp: NOW }], isActive: behaviour > (opts.activation ?? 0) };
    },
    close: async () => undefined,
  };
  return { scaler, calls, metricName };
}

function built(...entries: { scaler: Scaler; name?: string; cached?: boolean }[]): BuiltScalers {
  return {
    generation: 1,
    scalers: entries.map((e, index) => ({ index, triggerName: e.name, triggerType: e.scaler.type, useCachedMetrics: !!e.cached, scaler: e.scaler })),
  };
}

function so(spec: Partial<ScaledObject['spec']> = {}, triggerNames: (string | undefined)[] = ['', '']): ScaledObject {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name: 'web', namespace: 'ns', uid: 'u1', generation: 1 },
    spec: {
      scaleTargetRef: { name: 'web' },
      triggers: triggerNames.map((name) => ({ type: 'fake', ...(name ? { name } : {}), metadata: {} })),
      ...spec,
    },
  } as ScaledObject;
}

function input(overrides: Partial<EvaluationInput> & Pick<EvaluationInput, 'so' | 'built'>): EvaluationInput {
  return {
    health: undefined,
    currentReplicas: async () => 4,
    readyPods: async () => 2,
    timeoutMs: 1000,
    now: () => NOW,
    ...overrides,
  };
}

describe('evaluateMetrics', () => {
  it('C-51: activity is the OR over triggers; no health is tracked without fallback', async () => {
    const a = fakeScaler(0, 1, { activation: 5 });
    const b = fakeScaler(1, 7, { activation: 5 });
    const ev = await evaluateMetrics(input({ so: so(), built: built(a, b), health: { x: { numberOfFailures: 1, status: 'Failing' } } as never }));
    expect(ev.isActive).toBe(true);
    expect(ev.isError).toBe(false);
    expect(ev.activeMetricNames).toEqual(['s1-fake']);
    expect(ev.readings.map((r) => [r.metricName, r.outcome, r.isActive, r.metrics[0]?.value])).toEqual([
      ['s0-fake', 'ok', false, 1],
      ['s1-fake', 'ok', true, 7],
    ]);
    expect(ev.trackHealth).toBe(false);
    expect(ev.onlyResourceTriggers).toBe(false);
  });

  it('a scaler error is passed on: isError, inactive, the message kept; others still count', async () => {
    const a = fakeScaler(0, new Error('error requesting metrics endpoint: 500'));
    const b = fakeScaler(1, 9);
    const ev = await evaluateMetrics(input({ so: so(), built: built(a, b) }));
    expect(ev.isError).toBe(true);
    expect(ev.isActive).toBe(true);
    expect(ev.readings[0]).toMatchObject({ outcome: 'error', isActive: false, error: 'error requesting metrics endpoint: 500', metrics: [] });
    expect(ev.activeMetricNames).toEqual(['s1-fake']);
  });

  it('bounds each read by timeoutMs, even when the scaler ignores the abort signal', async () => {
    for (const behaviour of ['hang', 'hang-ignoring-signal'] as const) {
      const a = fakeScaler(0, behaviour);
      const b = fakeScaler(1, 9);
      const started = Date.now();
      const ev = await evaluateMetrics(input({ so: so(), built: built(a, b), timeoutMs: 50 }));
      expect(Date.now() - started).toBeLessThan(1000);
      expect(ev.readings[0].outcome).toBe('error');
      expect(ev.readings[0].error).toBeTruthy();
      expect(ev.readings[1].outcome).toBe('ok');
    }
  });

  it('a getMetricSpecForScaling failure is an error reading for that trigger', async () => {
    const a = fakeScaler(0, 1);
    a.scaler.getMetricSpecForScaling = () => {
      throw new Error('bad spec');
    };
    const ev = await evaluateMetrics(input({ so: so({}, ['']), built: built(a) }));
    expect(ev.isError).toBe(true);
    expect(ev.readings[0]).toMatchObject({ metricName: 's0', outcome: 'error', error: 'bad spec' });
  });

  it('only reads the wanted metric names (case-insensitive)', async () => {
    const a = fakeScaler(0, 1);
    const b = fakeScaler(1, 2);
    const ev = await evaluateMetrics(input({ so: so(), built: built(a, b), metricNames: ['S1-FAKE'] }));
    expect(ev.readings.map((r) => r.metricName)).toEqual(['s1-fake']);
    expect(a.calls).toEqual([]);
  });

  it('C-53: cpu/memory-only triggers are always active unless an error occurred', async () => {
    const cpu = fakeScaler(0, 0, { resource: true });
    const ev = await evaluateMetrics(input({ so: so({}, ['']), built: built(cpu) }));
    expect(ev.onlyResourceTriggers).toBe(true);
    expect(ev.isActive).toBe(true);
    expect(ev.readings).toEqual([]);
  });

  describe('fallback (C-74..C-80)', () => {
    const fallbackSo = (fallback: NonNullable<ScaledObject['spec']['fallback']>) => so({ fallback }, ['']);

    it('C-74, C-80: a failure at or below the threshold is counted and passed on', async () => {
      const a = fakeScaler(0, new Error('boom'));
      const ev = await evaluateMetrics(input({ so: fallbackSo({ failureThreshold: 2, replicas: 3 }), built: built(a) }));
      expect(ev.trackHealth).toBe(true);
      expect(ev.health).toEqual({ 's0-fake': { numberOfFailures: 1, status: 'Failing' } });
      expect(ev.isError).toBe(true);
      expect(ev.readings[0]).toMatchObject({ outcome: 'error', error: 'boom' });
    });

    it('C-76, C-78, C-79: above the threshold the static fallback stands in as target x replicas and is active', async () => {
      const a = fakeScaler(0, new Error('boom'), { target: '5' });
      const health = { 's0-fake': { numberOfFailures: 2, status: 'Failing' } };
      const ev = await evaluateMetrics(input({ so: fallbackSo({ failureThreshold: 2, replicas: 3 }), built: built(a), health: health as never }));
      expect(ev.health).toEqual({ 's0-fake': { numberOfFailures: 3, status: 'Failing' } });
      expect(ev.isError).toBe(false);
      expect(ev.isActive).toBe(true);
      expect(ev.activeMetricNames).toEqual(['s0-fake']);
      expect(ev.readings[0]).toMatchObject({ outcome: 'fallback', isActive: true, error: undefined, metrics: [{ metricName: 's0-fake', value: 15, timestamp: NOW }] });
      // The input map is not mutated.
      expect(health['s0-fake'].numberOfFailures).toBe(2);
    });

    it('a successful read resets the health to Happy', async () => {
      const a = fakeScaler(0, 1);
      const ev = await evaluateMetrics(
        input({ so: fallbackSo({ failureThreshold: 2, replicas: 3 }), built: built(a), health: { 's0-fake': { numberOfFailures: 5, status: 'Failing' } } as never }),
      );
      expect(ev.health).toEqual({ 's0-fake': { numberOfFailures: 0, status: 'Happy' } });
      expect(ev.readings[0].outcome).toBe('ok');
    });

    it.each([
      ['currentReplicas', 4, 4],
      ['currentReplicasIfHigher', 4, 4],
      ['currentReplicasIfHigher', 1, 3],
      ['currentReplicasIfLower', 4, 3],
      ['currentReplicasIfLower', 1, 1],
      ['static', 9, 3],
    ] as const)('C-77: behavior %s with %i current replicas -> R = %i', async (behavior, current, r) => {
      const a = fakeScaler(0, new Error('boom'), { target: '2' });
      const ev = await evaluateMetrics(
        input({
          so: fallbackSo({ failureThreshold: 0, replicas: 3, behavior }),
          built: built(a),
          currentReplicas: async () => current,
        }),
      );
      expect(ev.readings[0]).toMatchObject({ outcome: 'fallback', metrics: [{ value: 2 * r }] });
    });

    it('C-77: when the current replicas are needed but unknown, the scaler error is passed on', async () => {
      const a = fakeScaler(0, new Error('boom'));
      const ev = await evaluateMetrics(
        input({
          so: fallbackSo({ failureThreshold: 0, replicas: 3, behavior: 'currentReplicas' }),
          built: built(a),
          currentReplicas: async () => {
            throw new Error('no scale');
          },
        }),
      );
      expect(ev.isError).toBe(true);
      expect(ev.readings[0]).toMatchObject({ outcome: 'error', error: 'boom' });
    });

    it('C-78: a Value target divides by the ready pods; no ready pods fails the fallback', async () => {
      const a = fakeScaler(0, new Error('boom'), { target: '10', type: 'Value' });
      const ev = await evaluateMetrics(input({ so: fallbackSo({ failureThreshold: 0, replicas: 4 }), built: built(a), readyPods: async () => 2 }));
      expect(ev.readings[0]).toMatchObject({ outcome: 'fallback', metrics: [{ value: 20 }] });
      const none = await evaluateMetrics(input({ so: fallbackSo({ failureThreshold: 0, replicas: 4 }), built: built(a), readyPods: async () => 0 }));
      expect(none.isError).toBe(true);
      expect(none.readings[0].outcome).toBe('error');
      expect(none.readings[0].error).toMatch(/^error performing fallback/);
    });
  });

  describe('scaling modifiers (M-15..M-18, C-52, C-81, C-82)', () => {
    const modSo = (extra: Partial<ScaledObject['spec']> = {}, activationTarget = '5') =>
      so({ advanced: { scalingModifiers: { formula: 'a + b', target: '10', activationTarget } }, ...extra }, ['a', 'b']);

    it('the composite value is the formula over named triggers; activation is composite > activationTarget', async () => {
      const inactive = await evaluateMetrics(input({ so: modSo(), built: built({ ...fakeScaler(0, 1), name: 'a' }, { ...fakeScaler(1, 2), name: 'b' }) }));
      expect(inactive.composite).toEqual({ value: 3 });
      expect(inactive.isActive).toBe(false);
      // Neither trigger is above its own activation (10), but 4 + 3 > 5.
      const active = await evaluateMetrics(
        input({ so: modSo(), built: built({ ...fakeScaler(0, 4, { activation: 10 }), name: 'a' }, { ...fakeScaler(1, 3, { activation: 10 }), name: 'b' }) }),
      );
      expect(active.composite).toEqual({ value: 7 });
      expect(active.isActive).toBe(true);
    });

    it('C-52: any trigger error makes the object inactive', async () => {
      const ev = await evaluateMetrics(
        input({ so: modSo({}, '0'), built: built({ ...fakeScaler(0, new Error('down')), name: 'a' }, { ...fakeScaler(1, 50), name: 'b' }) }),
      );
      expect(ev.isError).toBe(true);
      expect(ev.isActive).toBe(false);
    });

    it('C-82: with a (non-scalingModifiers) fallback the composite is the first fallback value, the formula is not evaluated', async () => {
      const ev = await evaluateMetrics(
        input({
          so: modSo({ fallback: { failureThreshold: 0, replicas: 3 } }),
          built: built({ ...fakeScaler(0, new Error('down')), name: 'a' }, { ...fakeScaler(1, 1), name: 'b' }),
        }),
      );
      // target 10 (the modifiers target) x 3 replicas.
      expect(ev.composite).toEqual({ value: 30 });
      expect(ev.isError).toBe(false);
      expect(ev.isActive).toBe(true);
    });

    it('C-81: behavior scalingModifiers makes a failing trigger nil; a nil result is fallback.replicas x target', async () => {
      const spec = {
        fallback: { failureThreshold: 0, replicas: 2, behavior: 'scalingModifiers' as const },
        advanced: { scalingModifiers: { formula: 'a ?? b', target: '10', activationTarget: '1' } },
      };
      const chained = await evaluateMetrics(input({ so: so(spec, ['a', 'b']), built: built({ ...fakeScaler(0, new Error('down')), name: 'a' }, { ...fakeScaler(1, 6), name: 'b' }) }));
      expect(chained.readings[0].outcome).toBe('formulaNil');
      expect(chained.isError).toBe(false);
      expect(chained.composite).toEqual({ value: 6 });
      expect(chained.isActive).toBe(true);
      const bothNil = await evaluateMetrics(
        input({ so: so(spec, ['a', 'b']), built: built({ ...fakeScaler(0, new Error('down')), name: 'a' }, { ...fakeScaler(1, new Error('down')), name: 'b' }) }),
      );
      expect(bothNil.composite).toEqual({ value: 20 });
    });

    it('a formula that does not compile is an inactive composite with its error', async () => {
      const bad = so({ advanced: { scalingModifiers: { formula: 'a +', target: '10' } } }, ['a', 'b']);
      const ev = await evaluateMetrics(input({ so: bad, built: built({ ...fakeScaler(0, 50), name: 'a' }, { ...fakeScaler(1, 50), name: 'b' }) }));
      expect(ev.composite?.error).toBeTruthy();
      expect(ev.isActive).toBe(false);
    });
  });

  describe('useCachedMetrics (M-12, M-13)', () => {
    it('a cached reading is used without calling the scaler and is not counted in health again', async () => {
      const a = fakeScaler(0, new Error('must not be called'));
      const cachedReading: MetricReading = {
        triggerIndex: 0,
        triggerType: 'fake',
        metricName: 's0-fake',
        metrics: [{ metricName: 's0-fake', value: 12, timestamp: NOW }],
        isActive: true,
        outcome: 'ok',
        latencyMs: 1,
      };
      const ev = await evaluateMetrics(
        input({
          so: so({ fallback: { failureThreshold: 1, replicas: 1 } }, ['']),
          built: built({ ...a, cached: true }),
          cached: new Map([['s0-fake', cachedReading]]),
          health: { 's0-fake': { numberOfFailures: 1, status: 'Failing' } } as never,
        }),
      );
      expect(a.calls).toEqual([]);
      expect(ev.readings[0]).toBe(cachedReading);
      expect(ev.health).toEqual({ 's0-fake': { numberOfFailures: 1, status: 'Failing' } });
      expect(ev.isActive).toBe(true);
    });

    it('a trigger without useCachedMetrics ignores the cache', async () => {
      const a = fakeScaler(0, 3);
      const stale: MetricReading = { triggerIndex: 0, triggerType: 'fake', metricName: 's0-fake', metrics: [], isActive: true, outcome: 'ok', latencyMs: 0 };
      const ev = await evaluateMetrics(input({ so: so({}, ['']), built: built(a), cached: new Map([['s0-fake', stale]]) }));
      expect(a.calls).toEqual(['s0-fake']);
      expect(ev.readings[0].metrics[0].value).toBe(3);
    });
  });
});
