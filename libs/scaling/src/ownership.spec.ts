import {
  foreignHpaOnTarget,
  foreignHpaProblem,
  hpaTargetKey,
  isControlledBy,
  otherHpaMessage,
  otherScaledObjectMessage,
  scaledObjectTargetKey,
  targetOwner,
  type HpaForOwnership,
  type ScaledObjectForOwnership,
} from './ownership';

const so = (name: string, created?: string, uid = `uid-${name}`, annotations?: Record<string, string>, hpaName?: string): ScaledObjectForOwnership => ({
  metadata: { name, namespace: 'ns', uid, ...(created ? { creationTimestamp: created } : {}), ...(annotations ? { annotations } : {}) },
  spec: { scaleTargetRef: { name: 'web' }, ...(hpaName ? { advanced: { horizontalPodAutoscalerConfig: { name: hpaName } } } : {}) } as never,
});

const hpa = (name: string, owner?: { kind: string; name: string; uid: string; apiVersion?: string }, annotations?: Record<string, string>): HpaForOwnership => ({
  metadata: {
    name,
    namespace: 'ns',
    ...(annotations ? { annotations } : {}),
    ...(owner ? { ownerReferences: [{ apiVersion: owner.apiVersion ?? 'keda.sh/v1alpha1', controller: true, ...owner }] } : {}),
  },
  spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' } },
});

describe('target keys', () => {
  it('a ScaledObject and the HPA scaling the same Deployment share a key (default apiVersion/kind)', () => {
    expect(scaledObjectTargetKey(so('a'))).toBe('ns/apps/v1.Deployment/web');
    expect(hpaTargetKey(hpa('h'))).toBe('ns/apps/v1.Deployment/web');
  });
});

describe('targetOwner', () => {
  it('prefers the HPA holder, then the oldest, then the first name; missing timestamps sort last', () => {
    const a = so('a', '2026-01-02T00:00:00Z');
    const b = so('b', '2026-01-01T00:00:00Z');
    const c = so('c', '2026-01-01T00:00:00Z');
    const d = so('d');
    expect(targetOwner([a, b, c, d], new Set())?.metadata?.name).toBe('b');
    expect(targetOwner([d, c, b, a], new Set())?.metadata?.name).toBe('b');
    expect(targetOwner([a, b, c], new Set(['uid-a']))?.metadata?.name).toBe('a');
    expect(targetOwner([d, so('e')], new Set())?.metadata?.name).toBe('d');
    expect(targetOwner([], new Set())).toBeUndefined();
  });
});

describe('foreignHpaProblem', () => {
  it('is undefined for our own HPA and for an asked transfer', () => {
    expect(foreignHpaProblem(so('a'), hpa('keda-hpa-a', { kind: 'ScaledObject', name: 'a', uid: 'uid-a' }))).toBeUndefined();
    expect(foreignHpaProblem(so('a', undefined, 'uid-a', { 'scaledobject.keda.sh/transfer-hpa-ownership': 'true' }, 'legacy'), hpa('legacy'))).toBeUndefined();
  });
  it('names the owner, or says it was not created by KEDA', () => {
    expect(foreignHpaProblem(so('a'), hpa('keda-hpa-a'))).toBe("the HPA 'keda-hpa-a' already exists and was not created by KEDA for this ScaledObject");
    expect(foreignHpaProblem(so('a'), hpa('keda-hpa-a', { kind: 'ScaledObject', name: 'b', uid: 'uid-b' }))).toBe(
      "the HPA 'keda-hpa-a' is already managed by the ScaledObject 'b'",
    );
    // A ScaledObject of another API group is not KEDA's.
    expect(foreignHpaProblem(so('a'), hpa('keda-hpa-a', { kind: 'ScaledObject', name: 'a', uid: 'uid-a', apiVersion: 'evil.io/v1' }))).toBe(
      "the HPA 'keda-hpa-a' is already managed by the ScaledObject 'a'",
    );
    // The transfer annotation without the name in advanced settings takes nothing over.
    expect(foreignHpaProblem(so('a', undefined, 'uid-a', { 'scaledobject.keda.sh/transfer-hpa-ownership': 'true' }), hpa('keda-hpa-a'))).toBeDefined();
  });
});

describe('foreignHpaOnTarget', () => {
  it('skips our own, other claimants\', ignored and transferred HPAs; otherwise the first by name', () => {
    const me = so('a');
    expect(foreignHpaOnTarget(me, [hpa('keda-hpa-a', { kind: 'ScaledObject', name: 'a', uid: 'uid-a' })], new Set())).toBeUndefined();
    expect(foreignHpaOnTarget(me, [hpa('keda-hpa-b', { kind: 'ScaledObject', name: 'b', uid: 'uid-b' })], new Set(['uid-b']))).toBeUndefined();
    expect(foreignHpaOnTarget(me, [hpa('m', undefined, { 'validations.keda.sh/hpa-ownership': 'false' })], new Set())).toBeUndefined();
    expect(foreignHpaOnTarget(me, [hpa('z'), hpa('m')], new Set())?.metadata?.name).toBe('m');
    expect(otherHpaMessage(me, 'm')).toBe("the workload 'web' of type 'apps/v1.Deployment' is already managed by the hpa 'm'");
    expect(otherScaledObjectMessage(me, 'b')).toBe("the workload 'web' of type 'apps/v1.Deployment' is already managed by the ScaledObject 'b'");
  });
});

describe('isControlledBy', () => {
  it('needs a controller ownerReference with the uid', () => {
    expect(isControlledBy({ metadata: { ownerReferences: [{ uid: 'u', controller: true }] } }, 'u')).toBe(true);
    expect(isControlledBy({ metadata: { ownerReferences: [{ uid: 'u' }] } }, 'u')).toBe(false);
    expect(isControlledBy({ metadata: {} }, 'u')).toBe(false);
    expect(isControlledBy({ metadata: { ownerReferences: [{ uid: '', controller: true }] } }, undefined)).toBe(false);
  });
});
