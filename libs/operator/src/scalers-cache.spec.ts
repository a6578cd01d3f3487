import type { ScaledObject } from '@keda-ts/api';
import { param, type PushScaler, type Scaler } from '@keda-ts/scaler-sdk';
import { createRegistry, defineScaler } from '@keda-ts/scalers';
import { ScalersCache, triggerTelemetry } from './scalers-cache';
import type { ScalerSource } from './prometheus';

const ctx = { httpTimeoutMs: 1000, now: () => new Date(0), kubernetes: { countPods: () => Promise.resolve(0) } };

function so(triggers: { type: string; metadata?: Record<string, string> }[]): ScaledObject {
  return { apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', metadata: { name: 'so', namespace: 'ns', generation: 1 }, spec: { scaleTargetRef: { name: 'd' }, triggers } } as ScaledObject;
}

describe('ScalersCache: prepare and push scalers', () => {
  const events: string[] = [];
  let pushed: ((active: boolean) => void) | undefined;
  const registry = createRegistry([
    defineScaler({
      type: 'plain',
      description: 'test',
      params: {},
      create: (): Scaler => ({
        type: 'plain',
        getMetricSpecForScaling: () => [],
        getMetricsAndActivity: async () => ({ metrics: [], isActive: false }),
        close: async () => void events.push('plain closed'),
      }),
    }),
    defineScaler({
      type: 'pushy',
      description: 'test',
      params: { fail: param.bool({ name: 'fail', order: ['triggerMetadata'], default: 'false', description: 'x' }) },
      create: (config): PushScaler => {
        let specs: { type: 'External' }[] = [];
        return {
          type: 'pushy',
          prepare: async () => {
            events.push('prepared');
            if (config.fail) throw new Error('GetMetricSpec failed: unavailable');
            specs = [{ type: 'External' }];
          },
          getMetricSpecForScaling: () => specs,
          getMetricsAndActivity: async () => ({ metrics: [], isActive: true }),
          run: (onActivity) => {
            events.push('running');
            pushed = onActivity;
          },
          close: async () => void events.push('pushy closed'),
        };
      },
    }),
  ]);

  beforeEach(() => {
    events.length = 0;
    pushed = undefined;
  });

  it('awaits prepare before handing out the scalers and starts push scalers with the key and trigger index', async () => {
    const reports: [string, number, boolean][] = [];
    const cache = new ScalersCache(registry, ctx, async () => ({ resolvedEnv: {}, authParams: () => ({}) }), {
      onPushActivity: (key, index, active) => reports.push([key, index, active]),
    });
    const built = await cache.get('ns/so', so([{ type: 'plain' }, { type: 'pushy' }]));
    expect(ScalersCache.metricSpecs(built)).toEqual([{ type: 'External' }]);
    expect(events).toEqual(['prepared', 'running']);
    pushed?.(true);
    pushed?.(false);
    expect(reports).toEqual([
      ['ns/so', 1, true],
      ['ns/so', 1, false],
    ]);
    await cache.closeAll();
    expect(events).toEqual(expect.arrayContaining(['plain closed', 'pushy closed']));
  });

  it('a failing prepare is a build failure naming the trigger, and closes what was built', async () => {
    const cache = new ScalersCache(registry, ctx, async () => ({ resolvedEnv: {}, authParams: () => ({}) }), { onPushActivity: () => undefined });
    await expect(cache.get('ns/so', so([{ type: 'plain' }, { type: 'pushy', metadata: { fail: 'true' } }]))).rejects.toThrow(
      'error preparing trigger 1 (pushy): GetMetricSpec failed: unavailable',
    );
    expect(events).toEqual(expect.arrayContaining(['plain closed', 'pushy closed']));
    expect(events).not.toContain('running');
  });
});

describe('triggerTelemetry: what a scaler reports, labelled with its object and trigger', () => {
  const spec = (name: string) => ({ type: 'External' as const, external: { metric: { name }, target: { type: 'AverageValue' as const, averageValue: '1' } } });
  const scalerWith = (specs: ReturnType<typeof spec>[]) => ({ getMetricSpecForScaling: () => specs }) as unknown as Scaler;
  it.each([
    ['a ScaledObject trigger with a name', { kind: 'ScaledObject' as const, namespace: 'ns', name: 'web' }, { index: 0, type: 'prometheus', name: 'q' }, scalerWith([spec('s0-prometheus')]), { type: 'scaledobject', triggerName: 'q', metricName: 's0-prometheus' }],
    ['a ScaledJob trigger without a name', { kind: 'ScaledJob' as const, namespace: 'ns', name: 'web' }, { index: 1, type: 'metrics-api' }, scalerWith([spec('s1-metric-api-value')]), { type: 'scaledjob', triggerName: undefined, metricName: 's1-metric-api-value' }],
    ['a scaler not built yet: s<index>', { kind: 'ScaledObject' as const, namespace: 'ns', name: 'web' }, { index: 2, type: 'prometheus' }, undefined, { type: 'scaledobject', metricName: 's2' }],
  ])('%s', (_name, obj, trigger, scaler, expected) => {
    const http: [ScalerSource, number | 'error', number][] = [];
    const empty: [ScalerSource, boolean][] = [];
    const t = triggerTelemetry({ scalerHttpRequest: (...a) => void http.push(a), emptyUpstreamResponse: (...a) => void empty.push(a) }, obj, trigger, () => scaler);
    t.httpRequest(200, 0.5);
    t.httpRequest('error', 1);
    t.emptyUpstreamResponse(true);
    const source = { namespace: 'ns', name: 'web', triggerType: trigger.type, ...expected };
    expect(http).toEqual([[expect.objectContaining(source), 200, 0.5], [expect.objectContaining(source), 'error', 1]]);
    expect(empty).toEqual([[expect.objectContaining(source), true]]);
  });

  it('a throwing recorder never fails the scaler', () => {
    const t = triggerTelemetry({ scalerHttpRequest: () => { throw new Error('boom'); } }, { kind: 'ScaledObject', namespace: 'ns', name: 'web' }, { index: 0, type: 'x' }, () => undefined);
    expect(() => t.httpRequest(200, 0.1)).not.toThrow();
  });

  it('the cache gives each built scaler a context with its own telemetry', async () => {
    const seen: ScalerSource[] = [];
    const registry = createRegistry([
      defineScaler({
        type: 'talker',
        description: 'test',
        params: {},
        create: (_config, input, context) => ({
          type: 'talker',
          getMetricSpecForScaling: () => [spec(`s${input.triggerIndex}-talker`)],
          getMetricsAndActivity: async () => {
            context.telemetry?.httpRequest(200, 0.01);
            return { metrics: [], isActive: false };
          },
          close: async () => undefined,
        }),
      }),
    ]);
    const cache = new ScalersCache(registry, ctx, async () => ({ resolvedEnv: {}, authParams: () => ({}) }), { metrics: { scalerHttpRequest: (s) => void seen.push(s) } });
    const built = await cache.get('ns/so', so([{ type: 'talker' }, { type: 'talker' }]));
    for (const s of built.scalers) await s.scaler.getMetricsAndActivity('x');
    expect(seen.map((s) => s.metricName)).toEqual(['s0-talker', 's1-talker']);
    await cache.closeAll();
  });
});
