import type { ScaledObject } from '@keda-ts/api';
import { param, type PushScaler, type Scaler } from '@keda-ts/scaler-sdk';
import { createRegistry, defineScaler } from '@keda-ts/scalers';
import { ScalersCache } from './scalers-cache';

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
