import type { ScaledObject, HorizontalPodAutoscaler } from '@keda-ts/api';
import { KubeConfig } from '@kubernetes/client-node';
import { WriteRefusedError } from '@keda-ts/k8s';
import { createRegistry } from '@keda-ts/scalers';
import { createLogger } from '@keda-ts/runtime';
import { Operator } from './operator';
import { hpaChangeMatters, scaledObjectChangeMatters } from './scaledobject-controller';
import { slimWorkload } from './workload-cache';

function so(patch: { generation?: number; annotations?: Record<string, string>; labels?: Record<string, string>; deletionTimestamp?: string; ready?: string; status?: Record<string, unknown> } = {}): ScaledObject {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: {
      name: 'web',
      namespace: 'ns',
      generation: patch.generation ?? 1,
      resourceVersion: String(Math.random()),
      ...(patch.annotations ? { annotations: patch.annotations } : {}),
      ...(patch.labels ? { labels: patch.labels } : {}),
      ...(patch.deletionTimestamp ? { deletionTimestamp: patch.deletionTimestamp } : {}),
    },
    spec: { scaleTargetRef: { name: 'web' }, triggers: [] },
    status: {
      ...(patch.ready ? { conditions: [{ type: 'Ready', status: patch.ready, reason: 'x', message: 'y' }] } : {}),
      ...(patch.status ?? {}),
    },
  } as unknown as ScaledObject;
}

describe('scaledObjectChangeMatters (C-2)', () => {
  it.each([
    ['an add (no old object)', undefined, so(), true],
    ['a spec change (generation)', so({ generation: 1 }), so({ generation: 2 }), true],
    ['a status-only update', so({ ready: 'True' }), so({ ready: 'True', status: { lastActiveTime: '2025-01-01T00:00:00Z' } }), false],
    ['an unrelated annotation', so({ annotations: { a: '1' } }), so({ annotations: { a: '2' } }), false],
    ['a label change', so({ labels: { a: '1' } }), so({ labels: { a: '2' } }), false],
    ['paused added', so(), so({ annotations: { 'autoscaling.keda.sh/paused': 'true' } }), true],
    ['paused value changed', so({ annotations: { 'autoscaling.keda.sh/paused': 'true' } }), so({ annotations: { 'autoscaling.keda.sh/paused': 'false' } }), true],
    ['paused-replicas changed', so({ annotations: { 'autoscaling.keda.sh/paused-replicas': '1' } }), so({ annotations: { 'autoscaling.keda.sh/paused-replicas': '2' } }), true],
    ['paused-scale-in removed', so({ annotations: { 'autoscaling.keda.sh/paused-scale-in': 'true' } }), so(), true],
    ['paused-scale-out added', so(), so({ annotations: { 'autoscaling.keda.sh/paused-scale-out': 'true' } }), true],
    ['force-activation added', so(), so({ annotations: { 'autoscaling.keda.sh/force-activation': 'true' } }), true],
    ['deletion started', so(), so({ deletionTimestamp: '2025-01-01T00:00:00Z' }), true],
    ['Ready becomes True', so({ ready: 'False' }), so({ ready: 'True' }), true],
    ['Ready from none to True', so(), so({ ready: 'True' }), true],
    ['Ready becomes False', so({ ready: 'True' }), so({ ready: 'False' }), false],
    ['Ready stays True', so({ ready: 'True' }), so({ ready: 'True' }), false],
  ] as const)('%s', (_name, old, obj, want) => {
    expect(scaledObjectChangeMatters(old, obj)).toBe(want);
  });

  // The reconciler's own status write (its resourceVersion): only its Ready=True is ignored.
  it.each([
    ['Ready becomes True by the reconciler itself', so({ ready: 'False' }), so({ ready: 'True' }), false],
    ['Ready from none to True by the reconciler itself', so(), so({ ready: 'True' }), false],
    ['a spec change seen with the reconciler write', so({ generation: 1, ready: 'False' }), so({ generation: 2, ready: 'True' }), true],
    ['paused added with the reconciler write', so({ ready: 'False' }), so({ ready: 'True', annotations: { 'autoscaling.keda.sh/paused': 'true' } }), true],
    ['deletion seen with the reconciler write', so(), so({ deletionTimestamp: '2025-01-01T00:00:00Z' }), true],
  ] as const)('own write: %s', (_name, old, obj, want) => {
    expect(scaledObjectChangeMatters(old, obj, true)).toBe(want);
  });
});

function hpa(patch: { labels?: Record<string, string>; annotations?: Record<string, string>; maxReplicas?: number; status?: Record<string, unknown> } = {}): HorizontalPodAutoscaler {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'keda-hpa-web', namespace: 'ns', resourceVersion: String(Math.random()), labels: patch.labels, annotations: patch.annotations },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 1, maxReplicas: patch.maxReplicas ?? 10 },
    status: patch.status ?? {},
  } as unknown as HorizontalPodAutoscaler;
}

describe('hpaChangeMatters (C-3)', () => {
  it.each([
    ['an add', undefined, hpa(), false],
    ['a status-only update (HPA sync)', hpa({ status: { currentReplicas: 1 } }), hpa({ status: { currentReplicas: 2 } }), false],
    ['a spec edit', hpa({ maxReplicas: 10 }), hpa({ maxReplicas: 3 }), true],
    ['a label edit', hpa({ labels: { a: '1' } }), hpa({ labels: { a: '2' } }), true],
    ['an annotation edit', hpa(), hpa({ annotations: { a: '1' } }), true],
    ['no labels vs empty labels', hpa(), hpa({ labels: {} }), false],
  ] as const)('%s', (_name, old, obj, want) => {
    expect(hpaChangeMatters(old, obj)).toBe(want);
  });
});

describe('hpaChangeMatters: deep derivative of the spec (C-3)', () => {
  const withSpec = (spec: Record<string, unknown>) => ({ ...hpa(), spec: { ...hpa().spec, ...spec } }) as unknown as HorizontalPodAutoscaler;
  const metric = (name: string) => ({ type: 'External', external: { metric: { name }, target: { type: 'AverageValue', averageValue: '5' } } });

  it('a field removed from the new spec is a derivative: no reconcile', () => {
    expect(hpaChangeMatters(withSpec({ behavior: { scaleDown: { selectPolicy: 'Disabled' } } }), withSpec({}))).toBe(false);
  });
  it('a field added or edited is not: reconcile', () => {
    expect(hpaChangeMatters(withSpec({}), withSpec({ behavior: { scaleDown: { selectPolicy: 'Disabled' } } }))).toBe(true);
  });
  it('a different number of metrics: reconcile, even when one is removed', () => {
    expect(hpaChangeMatters(withSpec({ metrics: [metric('a'), metric('b')] }), withSpec({ metrics: [metric('a')] }))).toBe(true);
  });
  it('quantities are compared by value', () => {
    const q = (v: string) => ({ metrics: [{ type: 'External', external: { metric: { name: 'a' }, target: { type: 'AverageValue', averageValue: v } } }] });
    expect(hpaChangeMatters(withSpec(q('1000m')), withSpec(q('1')))).toBe(false);
    expect(hpaChangeMatters(withSpec(q('1')), withSpec(q('2')))).toBe(true);
  });
});

describe('Operator leadership fence', () => {
  // Nothing listens on port 1: a write that is sent fails with ECONNREFUSED, a refused one never leaves.
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }],
    users: [{ name: 'u', token: 't' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  const make = (standby: boolean) =>
    new Operator({ kubeConfig, logger: createLogger({ component: 'test', version: '0.0.0', destination: { write: () => undefined } }), registry: createRegistry([]), kedaVersion: 'test', standby });
  const patchScale = (op: Operator) => op.client.patch('/apis/apps/v1/namespaces/n/deployments/d/scale', { spec: { replicas: 0 } });

  it('a standby refuses every write until it leads, and again the moment it stops leading', async () => {
    const op = make(true);
    expect(op.isLeading).toBe(false);
    await expect(patchScale(op)).rejects.toBeInstanceOf(WriteRefusedError);
    op.startLeading();
    expect(op.isLeading).toBe(true);
    await expect(patchScale(op)).rejects.toThrow(/ECONNREFUSED/);
    op.stopLeading();
    await expect(patchScale(op)).rejects.toThrow('not sent: this replica is not the leader');
    await op.stop();
  });

  it('without leader election it leads from the start; after stop() it writes nothing', async () => {
    const op = make(false);
    expect(op.isLeading).toBe(true);
    await expect(patchScale(op)).rejects.toThrow(/ECONNREFUSED/);
    await op.stop();
    expect(op.isLeading).toBe(false);
    await expect(patchScale(op)).rejects.toBeInstanceOf(WriteRefusedError);
  });
});

describe('slimWorkload (what the Deployment/StatefulSet caches keep)', () => {
  it('keeps identity, replicas and the pod template; drops status, annotations and managedFields', () => {
    const template = { metadata: { labels: { app: 'w' } }, spec: { containers: [{ name: 'm', image: 'x', env: [{ name: 'E', value: '1' }] }] } };
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: 'w',
        namespace: 'n',
        uid: 'u',
        resourceVersion: '7',
        generation: 3,
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"big":"json"}' },
        managedFields: [{ manager: 'kubectl' }],
      },
      spec: { replicas: 0, selector: { matchLabels: { app: 'w' } }, template },
      status: { observedGeneration: 3, conditions: [{ type: 'Available', status: 'True' }] },
    };
    expect(slimWorkload(deployment)).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'w', namespace: 'n', uid: 'u', resourceVersion: '7', generation: 3 },
      spec: { replicas: 0, template },
    });
  });

  it('keeps a nil replicas nil (counted as 1 by the loops)', () => {
    expect((slimWorkload({ metadata: { name: 'w' }, spec: {} } as never) as { spec: { replicas?: number } }).spec.replicas).toBeUndefined();
  });
});
