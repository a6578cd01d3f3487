import type { ScaledObject } from '@keda-ts/api';
import {
  desiredHpa,
  desiredHpaBehavior,
  hpaDifferences,
  hpaNameLabelValue,
  hpaNeedsUpdate,
  isDeepDerivative,
  normalizeHpaBehavior,
  type DesiredHpaInput,
} from './hpa';
import type { HorizontalPodAutoscaler, MetricSpec } from '@keda-ts/api';
import { scaledObject } from '../test/fixtures';

const external = (name: string, averageValue = '5'): MetricSpec => ({
  type: 'External',
  external: { metric: { name }, target: { type: 'AverageValue', averageValue } },
});
const resource = (name: string): MetricSpec => ({
  type: 'Resource',
  resource: { name, target: { type: 'Utilization', averageUtilization: 50 } },
});
const containerResource = (name: string): MetricSpec => ({
  type: 'ContainerResource',
  containerResource: { name, container: 'app', target: { type: 'Utilization', averageUtilization: 50 } },
});
const SELECTOR = { matchLabels: { 'scaledobject.keda.sh/name': 'orders' } };

function build(overrides: Partial<DesiredHpaInput> = {}, so: ScaledObject = scaledObject()) {
  return desiredHpa({
    so,
    targetGvk: { group: 'apps', version: 'v1', kind: 'Deployment' },
    metricSpecs: [external('s0-rabbitmq-orders')],
    kedaVersion: '2.20.2',
    pausedScaleIn: false,
    pausedScaleOut: false,
    ...overrides,
  });
}

function hpaOf(result: ReturnType<typeof build>): HorizontalPodAutoscaler {
  if (!result.ok) throw new Error(result.error);
  return result.hpa;
}

describe('desiredHpa (§2.4)', () => {
  it('C-28/C-30/C-31/C-33/C-34/C-36/C-42: the default HPA', () => {
    expect(hpaOf(build())).toEqual({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: {
        name: 'keda-hpa-orders',
        namespace: 'shop',
        labels: {
          'app.kubernetes.io/name': 'keda-hpa-orders',
          'app.kubernetes.io/version': '2.20.2',
          'app.kubernetes.io/part-of': 'orders',
          'app.kubernetes.io/managed-by': 'keda-operator',
        },
        ownerReferences: [
          {
            apiVersion: 'keda.sh/v1alpha1',
            kind: 'ScaledObject',
            name: 'orders',
            uid: 'uid-1',
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: {
        scaleTargetRef: { name: 'orders-consumer', kind: 'Deployment', apiVersion: 'apps/v1' },
        minReplicas: 1,
        maxReplicas: 100,
        metrics: [
          {
            type: 'External',
            external: {
              metric: { name: 's0-rabbitmq-orders', selector: SELECTOR },
              target: { type: 'AverageValue', averageValue: '5' },
            },
          },
        ],
      },
    });
  });

  it.each<
    [
      string,
      Partial<ScaledObject['spec']>,
      Partial<NonNullable<ScaledObject['metadata']>>,
      Partial<DesiredHpaInput>,
      (hpa: HorizontalPodAutoscaler) => unknown,
      unknown,
    ]
  >([
    [
      'C-28 custom name',
      { advanced: { horizontalPodAutoscalerConfig: { name: 'custom' } } },
      {},
      {},
      (h) => h.metadata.name,
      'custom',
    ],
    [
      'C-31 name label cut to 63 and trimmed',
      { advanced: { horizontalPodAutoscalerConfig: { name: `${'a'.repeat(62)}-bbb` } } },
      {},
      {},
      (h) => h.metadata.labels?.['app.kubernetes.io/name'],
      'a'.repeat(62),
    ],
    [
      'C-31 SO labels are copied on top of the defaults',
      {},
      { labels: { team: 'x', 'app.kubernetes.io/part-of': 'shop', 'scaledobject.keda.sh/name': 'orders' } },
      {},
      (h) => h.metadata.labels,
      {
        'app.kubernetes.io/name': 'keda-hpa-orders',
        'app.kubernetes.io/version': '2.20.2',
        'app.kubernetes.io/part-of': 'shop',
        'app.kubernetes.io/managed-by': 'keda-operator',
        team: 'x',
        'scaledobject.keda.sh/name': 'orders',
      },
    ],
    [
      'C-31 hpa-excluded-labels are not copied',
      {},
      {
        labels: { team: 'x', secret: 'y', other: 'z' },
        annotations: { 'scaledobject.keda.sh/hpa-excluded-labels': 'secret,other' },
      },
      {},
      (h) => [h.metadata.labels?.['team'], h.metadata.labels?.['secret'], h.metadata.labels?.['other']],
      ['x', undefined, undefined],
    ],
    [
      'C-32 annotations are an exact copy',
      {},
      { annotations: { a: '1', 'autoscaling.keda.sh/paused-scale-in': 'true' } },
      {},
      (h) => h.metadata.annotations,
      { a: '1', 'autoscaling.keda.sh/paused-scale-in': 'true' },
    ],
    ['C-32 no annotations, none on the HPA', {}, {}, {}, (h) => 'annotations' in h.metadata, false],
    [
      'C-33 core group apiVersion',
      { scaleTargetRef: { name: 'x', apiVersion: 'v1', kind: 'ReplicationController' } },
      {},
      { targetGvk: { group: '', version: 'v1', kind: 'ReplicationController' } },
      (h) => h.spec.scaleTargetRef,
      { name: 'x', kind: 'ReplicationController', apiVersion: 'v1' },
    ],
    [
      'C-33 custom resource',
      { scaleTargetRef: { name: 'r', apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout' } },
      {},
      { targetGvk: { group: 'argoproj.io', version: 'v1alpha1', kind: 'Rollout' } },
      (h) => h.spec.scaleTargetRef,
      { name: 'r', kind: 'Rollout', apiVersion: 'argoproj.io/v1alpha1' },
    ],
    [
      'C-34/C-70 min 0 → HPA min 1',
      { minReplicaCount: 0, maxReplicaCount: 7 },
      {},
      {},
      (h) => [h.spec.minReplicas, h.spec.maxReplicas],
      [1, 7],
    ],
    ['C-34 min 3', { minReplicaCount: 3 }, {}, {}, (h) => [h.spec.minReplicas, h.spec.maxReplicas], [3, 100]],
    [
      'C-35 behavior copied verbatim',
      {
        advanced: {
          horizontalPodAutoscalerConfig: { behavior: { scaleDown: { stabilizationWindowSeconds: 10 } } },
        },
      },
      {},
      {},
      (h) => h.spec.behavior,
      { scaleDown: { stabilizationWindowSeconds: 10 } },
    ],
    ['C-35 no behavior', {}, {}, {}, (h) => 'behavior' in h.spec, false],
    [
      'C-35/C-89 paused-scale-in disables scaleDown',
      {},
      {},
      { pausedScaleIn: true },
      (h) => h.spec.behavior,
      { scaleDown: { selectPolicy: 'Disabled' } },
    ],
    [
      'C-35/C-90 paused-scale-out disables scaleUp',
      {
        advanced: {
          horizontalPodAutoscalerConfig: {
            behavior: { scaleUp: { stabilizationWindowSeconds: 5, selectPolicy: 'Max' } },
          },
        },
      },
      {},
      { pausedScaleOut: true },
      (h) => h.spec.behavior,
      { scaleUp: { stabilizationWindowSeconds: 5, selectPolicy: 'Disabled' } },
    ],
    [
      'C-36 External specs get the selector, sorted by type',
      {},
      {},
      { metricSpecs: [resource('cpu'), external('s1-a'), containerResource('memory')] },
      (h) => h.spec.metrics?.map((m) => [m.type, m.external?.metric.selector]),
      [
        ['ContainerResource', undefined],
        ['External', SELECTOR],
        ['Resource', undefined],
      ],
    ],
    [
      'C-36 same types keep trigger order',
      {},
      {},
      { metricSpecs: [external('s0-b'), resource('cpu'), external('s2-a')] },
      (h) => h.spec.metrics?.map((m) => m.external?.metric.name ?? m.resource?.name),
      ['s0-b', 's2-a', 'cpu'],
    ],
    [
      'C-39 modifiers: Resource kept, ContainerResource dropped, composite-metric added',
      { advanced: { scalingModifiers: { formula: 'a', target: '2.5' } } },
      {},
      { metricSpecs: [external('s0-a'), resource('cpu'), containerResource('memory')] },
      (h) => h.spec.metrics,
      [
        resource('cpu'),
        {
          type: 'External',
          external: {
            metric: { name: 'composite-metric', selector: SELECTOR },
            target: { type: 'AverageValue', averageValue: '2500m' },
          },
        },
      ],
    ],
    [
      'C-39 modifiers with metricType Value',
      { advanced: { scalingModifiers: { formula: 'a', target: '10', metricType: 'Value' } } },
      {},
      {},
      (h) => h.spec.metrics?.[0]?.external?.target,
      { type: 'Value', value: '10' },
    ],
    [
      'C-39 modifiers with target 0: no composite',
      { advanced: { scalingModifiers: { formula: 'a', target: '0' } } },
      {},
      {},
      (h) => h.spec.metrics?.[0]?.external?.metric.name,
      's0-rabbitmq-orders',
    ],
  ])('%s', (_rule, spec, metadata, overrides, pick, expected) => {
    const so = scaledObject(spec, metadata);
    expect(pick(hpaOf(build(overrides, so)))).toEqual(expected);
  });

  it('C-36 does not change the metric specs it is given', () => {
    const specs = [external('s0-a')];
    const before = structuredClone(specs);
    build({ metricSpecs: specs });
    expect(specs).toEqual(before);
  });

  it('C-35 does not change the ScaledObject behavior', () => {
    const so = scaledObject({
      advanced: { horizontalPodAutoscalerConfig: { behavior: { scaleDown: { selectPolicy: 'Max' } } } },
    });
    build({ pausedScaleIn: true }, so);
    expect(so.spec.advanced?.horizontalPodAutoscalerConfig?.behavior).toEqual({
      scaleDown: { selectPolicy: 'Max' },
    });
  });

  it('C-40 status side effects: metric names and pruned health', () => {
    const so = scaledObject();
    so.status = {
      health: {
        's0-a': { numberOfFailures: 2, status: 'Failing' },
        gone: { numberOfFailures: 1, status: 'Failing' },
      },
    };
    const result = build(
      { metricSpecs: [external('s0-a'), resource('cpu'), containerResource('memory'), external('s1-b')] },
      so,
    );
    expect(result.ok && result.status).toEqual({
      externalMetricNames: ['s0-a', 's1-b'],
      resourceMetricNames: ['cpu'],
      health: { 's0-a': { numberOfFailures: 2, status: 'Failing' } },
    });
  });

  it('C-39 status: compositeScalerName', () => {
    const result = build({}, scaledObject({ advanced: { scalingModifiers: { formula: 'a', target: '2' } } }));
    expect(result.ok && result.status.compositeScalerName).toBe('composite-metric');
    expect(result.ok && result.status.externalMetricNames).toEqual(['s0-rabbitmq-orders']);
  });

  it.each<[string, Partial<DesiredHpaInput>, ScaledObject, string]>([
    [
      'C-38 duplicate external metric name',
      { metricSpecs: [external('s0-a'), external('s0-a')] },
      scaledObject(),
      'metricName s0-a defined multiple times in ScaledObject orders',
    ],
    [
      'C-38 no metric specs',
      { metricSpecs: [] },
      scaledObject(),
      'no metric specs returned from scalers for ScaledObject shop/orders',
    ],
    [
      'C-39 Utilization for modifiers',
      {},
      scaledObject({
        advanced: { scalingModifiers: { formula: 'a', target: '2', metricType: 'Utilization' } },
      }),
      'error metric target type is Utilization, but it needs to be AverageValue or Value for external metrics',
    ],
    [
      'C-30 the ownerReference needs metadata.uid',
      {},
      scaledObject({}, { uid: '' }),
      "metadata.uid of the ScaledObject is required: it goes into the HPA's ownerReference",
    ],
  ])('%s', (_rule, overrides, so, error) => {
    expect(build(overrides, so)).toEqual({ ok: false, error });
  });
});

describe('hpaNameLabelValue (C-31)', () => {
  it.each([
    ['keda-hpa-orders', 'keda-hpa-orders'],
    ['a'.repeat(63), 'a'.repeat(63)],
    [`${'a'.repeat(60)}-.-x`, 'a'.repeat(60)],
    [`${'a'.repeat(62)}9z`, `${'a'.repeat(62)}9`],
  ])('%p → %p', (name, expected) => {
    expect(hpaNameLabelValue(name)).toBe(expected);
  });
});

describe('desiredHpaBehavior (C-35)', () => {
  it.each([
    ['no behavior, no pause', undefined, false, false, undefined],
    [
      'both paused',
      undefined,
      true,
      true,
      { scaleDown: { selectPolicy: 'Disabled' }, scaleUp: { selectPolicy: 'Disabled' } },
    ],
  ])('%s', (_what, behavior, pausedIn, pausedOut, expected) => {
    const so = scaledObject(behavior ? { advanced: { horizontalPodAutoscalerConfig: { behavior } } } : {});
    expect(desiredHpaBehavior(so, pausedIn, pausedOut)).toEqual(expected);
  });
});

describe('isDeepDerivative (C-41: equality.Semantic.DeepDerivative)', () => {
  it.each<[string, unknown, unknown, boolean]>([
    ['unset desired is ignored', undefined, 5, true],
    ['empty string is ignored', '', 'x', true],
    ['empty map is ignored', {}, { a: 1 }, true],
    ['empty array is ignored', [], [1], true],
    ['extra fields in existing are fine', { a: 1 }, { a: 1, b: 2 }, true],
    ['different values', { a: 1 }, { a: 2 }, false],
    ['missing in existing', { a: 1 }, {}, false],
    ['arrays compare on the desired length', [1], [1, 2], true],
    ['longer desired array', [1, 2], [1], false],
    ['quantities by value', { averageValue: '1500m' }, { averageValue: '1.5' }, true],
    ['different quantities', { value: '1' }, { value: '2' }, false],
    ['numbers are compared, 0 included', { a: 0 }, { a: 1 }, false],
  ])('%s', (_what, desired, existing, expected) => {
    expect(isDeepDerivative(desired, existing)).toBe(expected);
  });
});

describe('normalizeHpaBehavior (API-server defaults)', () => {
  it('leaves no behavior alone', () => {
    expect(normalizeHpaBehavior(undefined)).toBeUndefined();
  });

  it('fills the missing direction and fields', () => {
    expect(normalizeHpaBehavior({ scaleDown: { selectPolicy: 'Disabled' } })).toEqual({
      scaleUp: {
        stabilizationWindowSeconds: 0,
        selectPolicy: 'Max',
        policies: [
          { type: 'Pods', value: 4, periodSeconds: 15 },
          { type: 'Percent', value: 100, periodSeconds: 15 },
        ],
      },
      scaleDown: { selectPolicy: 'Disabled', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] },
    });
  });
});

describe('hpaNeedsUpdate (C-41)', () => {
  const desired = hpaOf(build());
  const clone = () => structuredClone(desired);

  it.each<[string, (existing: HorizontalPodAutoscaler) => void, string[]]>([
    ['C-41 identical', () => undefined, []],
    [
      'C-41 the API server added status, defaults and extra labels',
      (e) => {
        e.status = { currentReplicas: 1 };
        e.metadata.labels = { ...e.metadata.labels, extra: 'x' };
        e.metadata.uid = 'hpa-uid';
      },
      [],
    ],
    [
      'C-41 quantities written differently',
      (e) => {
        const target = e.spec.metrics?.[0]?.external?.target;
        if (target) target.averageValue = '5000m';
      },
      [],
    ],
    [
      'C-41 metric count differs',
      (e) => e.spec.metrics?.push(resource('cpu')),
      ['spec.metrics has 2 entries, want 1'],
    ],
    [
      'C-41 a metric was removed (derivative alone would miss it)',
      (e) => e.spec.metrics?.splice(0, 1),
      ['spec.metrics has 0 entries, want 1', 'spec differs'],
    ],
    [
      'C-41 target changed',
      (e) => {
        const target = e.spec.metrics?.[0]?.external?.target;
        if (target) target.averageValue = '6';
      },
      ['spec differs'],
    ],
    ['C-41 maxReplicas changed', (e) => (e.spec.maxReplicas = 10), ['spec differs']],
    [
      'C-41/C-89 paused-scale-in removed: behavior back to nil',
      (e) => (e.spec.behavior = normalizeHpaBehavior({ scaleDown: { selectPolicy: 'Disabled' } })),
      ['spec.behavior differs'],
    ],
    [
      'C-41 a label differs',
      (e) => (e.metadata.labels = { ...e.metadata.labels, 'app.kubernetes.io/version': 'old' }),
      ['metadata.labels differ'],
    ],
    [
      'C-41 desired has no annotations but existing has',
      (e) => (e.metadata.annotations = { a: '1' }),
      ['metadata.annotations differ'],
    ],
    [
      'C-102 ownership not transferred yet',
      (e) => (e.metadata.ownerReferences = []),
      ['metadata.ownerReferences lack the controller reference to ScaledObject orders'],
    ],
  ])('%s', (_rule, mutate, reasons) => {
    const existing = clone();
    mutate(existing);
    expect(hpaDifferences(existing, desired)).toEqual(reasons);
    expect(hpaNeedsUpdate(existing, desired)).toBe(reasons.length > 0);
  });

  it('C-41 a stored behavior with API-server defaults equals the desired paused behavior', () => {
    const pausedDesired = hpaOf(build({ pausedScaleIn: true }));
    const existing = structuredClone(pausedDesired);
    existing.spec.behavior = normalizeHpaBehavior(pausedDesired.spec.behavior);
    expect(hpaDifferences(existing, pausedDesired)).toEqual([]);
  });

  it('C-41 annotations that differ in value', () => {
    const so = scaledObject({}, { annotations: { a: '1' } });
    const want = hpaOf(build({}, so));
    const existing = structuredClone(want);
    existing.metadata.annotations = { a: '2' };
    expect(hpaDifferences(existing, want)).toEqual(['metadata.annotations differ']);
  });
});
