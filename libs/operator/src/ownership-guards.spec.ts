/**
 * Controller-side ownership guards (issue 17 §6), with no webhook in the way: a second
 * ScaledObject on a scaled target, an HPA of the generated name that is not ours, an HPA already
 * scaling the target. Nothing of the other owner is overwritten or deleted.
 */
import type { ScaledObject, HorizontalPodAutoscaler } from '@keda-ts/api';
import { KubeApiError, type EventRecorder, type KubeClient } from '@keda-ts/k8s';
import { externalMetricSpec, metricTargetMilli, param } from '@keda-ts/scaler-sdk';
import { createRegistry, defineScaler, type ScalerContext } from '@keda-ts/scalers';
import { hpaTargetKey, scaledObjectTargetKey } from '@keda-ts/scaling';
import { ScaledObjectReconciler, type ScaleLoopControl } from './scaledobject-reconciler';
import { ScalersCache } from './scalers-cache';
import { TargetIndex } from './target-index';

const fakeScaler = defineScaler({
  type: 'fake-queue',
  description: 'test',
  params: { target: param.float({ name: 'target', order: ['triggerMetadata'], default: '1', description: 't' }) },
  create: (config, input) => ({
    type: 'fake-queue',
    getMetricSpecForScaling: () => [externalMetricSpec(`s${input.triggerIndex}-fake`, metricTargetMilli('AverageValue', config.target))],
    getMetricsAndActivity: async (name) => ({ metrics: [{ metricName: name, value: 0, timestamp: new Date() }], isActive: false }),
    close: async () => undefined,
  }),
});

type Obj = { metadata: Record<string, unknown> & { name: string; namespace?: string; uid?: string }; [k: string]: unknown };

const NS = 'team-a';
const SO_BASE = `/apis/keda.sh/v1alpha1/namespaces/${NS}/scaledobjects`;
const HPA_BASE = `/apis/autoscaling/v2/namespaces/${NS}/horizontalpodautoscalers`;

/** A tiny API server: objects by path, merge patches of metadata and status, creates, replaces, deletes. */
class FakeKube {
  readonly objects = new Map<string, Obj>();
  readonly writes: string[] = [];
  private uid = 0;

  async resolveKind(apiVersion: string, kind: string) {
    return { group: 'apps', version: 'v1', resource: `${kind.toLowerCase()}s`, kind, namespaced: true, scalable: true, apiVersion };
  }
  async get<T>(path: string): Promise<T> {
    const obj = this.objects.get(path);
    if (!obj) throw Object.assign(new Error(`not found ${path}`), { status: 404 });
    return structuredClone(obj) as T;
  }
  async create<T>(path: string, body: Obj): Promise<T> {
    this.writes.push(`create ${path}/${body.metadata.name}`);
    const full = `${path}/${body.metadata.name}`;
    if (this.objects.has(full)) throw new KubeApiError('POST', path, 409, 'AlreadyExists', '');
    const obj = structuredClone(body);
    obj.metadata.uid = `hpa-uid-${++this.uid}`;
    this.objects.set(full, obj);
    return obj as T;
  }
  async replace<T>(path: string, body: Obj): Promise<T> {
    this.writes.push(`replace ${path}`);
    this.objects.set(path, structuredClone(body));
    return body as T;
  }
  async patch<T>(path: string, body: { metadata?: Record<string, unknown>; status?: Record<string, unknown> }): Promise<T> {
    const base = path.replace(/\/status$/, '');
    const obj = this.objects.get(base);
    if (!obj) throw Object.assign(new Error('not found'), { status: 404 });
    const { resourceVersion: _rv, ...meta } = body.metadata ?? {};
    Object.assign(obj.metadata, meta);
    if (body.status) {
      const status = { ...((obj['status'] as Record<string, unknown>) ?? {}) };
      for (const [k, v] of Object.entries(body.status)) {
        if (v === null) delete status[k];
        else status[k] = v;
      }
      obj['status'] = status;
    }
    return structuredClone(obj) as T;
  }
  async delete<T>(path: string, body?: { preconditions?: { uid?: string } }): Promise<T> {
    this.writes.push(`delete ${path}`);
    const obj = this.objects.get(path);
    if (!obj) throw Object.assign(new Error('not found'), { status: 404 });
    if (body?.preconditions?.uid && body.preconditions.uid !== obj.metadata.uid) throw new KubeApiError('DELETE', path, 409, 'Conflict', '');
    this.objects.delete(path);
    return {} as T;
  }
  async updateScale(): Promise<void> {
    this.writes.push('updateScale');
  }
}

function scaledObject(name: string, created: string, extra: { target?: string; annotations?: Record<string, string>; spec?: Partial<ScaledObject['spec']> } = {}): ScaledObject {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: {
      name,
      namespace: NS,
      uid: `uid-${name}`,
      generation: 1,
      resourceVersion: '1',
      creationTimestamp: created,
      ...(extra.annotations ? { annotations: extra.annotations } : {}),
    },
    spec: { scaleTargetRef: { name: extra.target ?? 'web' }, minReplicaCount: 1, triggers: [{ type: 'fake-queue', metadata: { target: '1' } }], ...extra.spec },
  } as ScaledObject;
}

function hpa(name: string, opts: { target?: string; owner?: { kind: string; name: string; uid: string; apiVersion?: string }; annotations?: Record<string, string> } = {}): HorizontalPodAutoscaler {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: {
      name,
      namespace: NS,
      uid: `uid-of-${name}`,
      resourceVersion: '5',
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
      ...(opts.owner
        ? { ownerReferences: [{ apiVersion: opts.owner.apiVersion ?? 'keda.sh/v1alpha1', kind: opts.owner.kind, name: opts.owner.name, uid: opts.owner.uid, controller: true }] }
        : {}),
    },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: opts.target ?? 'web' }, minReplicas: 1, maxReplicas: 3 },
  } as HorizontalPodAutoscaler;
}

function setup(objects: (ScaledObject | HorizontalPodAutoscaler)[]) {
  const kube = new FakeKube();
  for (const o of objects) {
    const base = o.kind === 'ScaledObject' ? SO_BASE : HPA_BASE;
    kube.objects.set(`${base}/${o.metadata?.name}`, structuredClone(o) as unknown as Obj);
  }
  const events: { reason: string; note: string }[] = [];
  const recorder = { emit: (_s: unknown, e: { reason: string; note: string }) => events.push(e) } as unknown as EventRecorder;
  const logger = { info: () => undefined, warn: () => undefined, debug: () => undefined, error: () => undefined } as never;
  const ctx: ScalerContext = { httpTimeoutMs: 1000, now: () => new Date(), kubernetes: { countPods: async () => 0 } };
  const scalers = new ScalersCache(createRegistry([fakeScaler]), ctx, async () => ({ resolvedEnv: {}, authParams: () => ({}) }));
  const running = new Map<string, number>();
  const loops: ScaleLoopControl & { started: string[] } = {
    started: [],
    start(key) {
      const had = running.has(key);
      running.set(key, 1);
      this.started.push(key);
      return had;
    },
    stop: (key) => running.delete(key),
    generation: (key) => running.get(key),
  };
  const all = (base: string) => [...kube.objects.entries()].filter(([p]) => p.startsWith(`${base}/`)).map(([, o]) => structuredClone(o));
  // The indexes as the Operator keeps them from its informers (rebuilt from the fake store per call).
  const soIndex = () => {
    const index = new TargetIndex<ScaledObject>(scaledObjectTargetKey);
    for (const o of all(SO_BASE)) index.apply('add', o as unknown as ScaledObject);
    return index;
  };
  const hpaIndex = () => {
    const index = new TargetIndex<HorizontalPodAutoscaler>(hpaTargetKey);
    for (const o of all(HPA_BASE)) index.apply('add', o as unknown as HorizontalPodAutoscaler);
    return index;
  };
  const reconciler = new ScaledObjectReconciler({
    client: kube as unknown as KubeClient,
    events: recorder,
    scalers,
    loops,
    logger,
    kedaVersion: '2.20.2',
    getScaledObject: (_ns, name) => {
      const o = kube.objects.get(`${SO_BASE}/${name}`);
      return o ? (structuredClone(o) as unknown as ScaledObject) : undefined;
    },
    cachedHpa: (_ns, name) => {
      const o = kube.objects.get(`${HPA_BASE}/${name}`);
      return o ? (structuredClone(o) as unknown as HorizontalPodAutoscaler) : null;
    },
    cachedReplicas: () => 1,
    scaledObjectsOnTarget: (key) => soIndex().on(key),
    hpasOnTarget: (key) => hpaIndex().on(key),
  });
  const reconcile = (name: string) => reconciler.reconcile(NS, name).then(() => undefined, (err: Error) => err);
  const ready = (name: string) =>
    ((kube.objects.get(`${SO_BASE}/${name}`)?.['status'] as ScaledObject['status'])?.conditions ?? []).find((c) => c.type === 'Ready');
  const hpaOf = (name: string) => kube.objects.get(`${HPA_BASE}/${name}`) as unknown as HorizontalPodAutoscaler | undefined;
  return { kube, events, loops, reconcile, ready, hpaOf };
}

const OLD = '2026-01-01T00:00:00Z';
const NEW = '2026-01-02T00:00:00Z';
const SECOND_SO = (other: string) =>
  `ScaledObject doesn't have correct scaleTargetRef specification: the workload 'web' of type 'apps/v1.Deployment' is already managed by the ScaledObject '${other}'`;

describe('a second ScaledObject on a target already scaled by another', () => {
  it('the newer one gets Ready=False naming the older, creates no HPA and starts no loop; the older is not disturbed', async () => {
    const t = setup([scaledObject('first', OLD), scaledObject('second', NEW)]);
    expect(await t.reconcile('first')).toBeUndefined();
    expect(t.ready('first')).toMatchObject({ status: 'True' });
    expect(t.hpaOf('keda-hpa-first')).toBeDefined();

    const err = await t.reconcile('second');
    expect(err?.message).toBe(SECOND_SO('first'));
    expect(t.ready('second')).toEqual({ type: 'Ready', status: 'False', reason: 'ScaledObjectCheckFailed', message: SECOND_SO('first') });
    expect(t.hpaOf('keda-hpa-second')).toBeUndefined();
    expect(t.loops.started).toEqual([`${NS}/first`]);
    expect(t.events).toContainEqual(expect.objectContaining({ reason: 'ScaledObjectCheckFailed', note: SECOND_SO('first') }));

    // The first keeps working, also when reconciled after the second (e.g. after a restart).
    const writesBefore = t.kube.writes.length;
    expect(await t.reconcile('first')).toBeUndefined();
    expect(t.kube.writes.slice(writesBefore).filter((w) => w.includes('horizontalpodautoscalers'))).toEqual([]);
    expect(t.ready('first')).toMatchObject({ status: 'True' });
  });

  it('whichever is reconciled first, the older wins (creationTimestamp), a tie goes to the first name', async () => {
    const t = setup([scaledObject('zeta', OLD), scaledObject('alpha', NEW)]);
    expect((await t.reconcile('alpha'))?.message).toBe(SECOND_SO('zeta'));
    expect(await t.reconcile('zeta')).toBeUndefined();
    const tie = setup([scaledObject('b', OLD), scaledObject('a', OLD)]);
    expect((await tie.reconcile('b'))?.message).toBe(SECOND_SO('a'));
    expect(await tie.reconcile('a')).toBeUndefined();
  });

  it('the one that already has its HPA on the target keeps it, even when another is older', async () => {
    const t = setup([
      scaledObject('newer', NEW),
      scaledObject('older', OLD),
      hpa('keda-hpa-newer', { owner: { kind: 'ScaledObject', name: 'newer', uid: 'uid-newer' } }),
    ]);
    expect((await t.reconcile('older'))?.message).toBe(SECOND_SO('newer'));
    expect(t.hpaOf('keda-hpa-older')).toBeUndefined();
    expect(t.hpaOf('keda-hpa-newer')).toBeDefined();
  });

  it('when both already have an HPA (made before the guard), the loser removes only its own', async () => {
    const t = setup([
      scaledObject('first', OLD),
      scaledObject('second', NEW),
      hpa('keda-hpa-first', { owner: { kind: 'ScaledObject', name: 'first', uid: 'uid-first' } }),
      hpa('keda-hpa-second', { owner: { kind: 'ScaledObject', name: 'second', uid: 'uid-second' } }),
    ]);
    expect((await t.reconcile('second'))?.message).toBe(SECOND_SO('first'));
    expect(t.hpaOf('keda-hpa-second')).toBeUndefined();
    expect(t.hpaOf('keda-hpa-first')).toBeDefined();
    expect(t.kube.writes).toEqual([`delete ${HPA_BASE}/keda-hpa-second`]);
  });

  it('a paused loser with paused-replicas never writes the target scale', async () => {
    const t = setup([scaledObject('first', OLD), scaledObject('second', NEW, { annotations: { 'autoscaling.keda.sh/paused-replicas': '0' } })]);
    expect((await t.reconcile('second'))?.message).toBe(SECOND_SO('first'));
    expect(t.kube.writes.filter((w) => w.includes('scale') && !w.includes('scaledobjects'))).toEqual([]);
  });

  it('ScaledObjects on different targets do not interfere', async () => {
    const t = setup([scaledObject('first', OLD), scaledObject('second', NEW, { target: 'api' })]);
    expect(await t.reconcile('second')).toBeUndefined();
    expect(await t.reconcile('first')).toBeUndefined();
  });
});

describe('an HPA of the generated name that this ScaledObject does not own', () => {
  const cases: [string, HorizontalPodAutoscaler, string][] = [
    ['no owner', hpa('keda-hpa-mine', { target: 'elsewhere' }), "the HPA 'keda-hpa-mine' already exists and was not created by KEDA for this ScaledObject"],
    [
      'another ScaledObject',
      hpa('keda-hpa-mine', { target: 'elsewhere', owner: { kind: 'ScaledObject', name: 'other', uid: 'uid-other' } }),
      "the HPA 'keda-hpa-mine' is already managed by the ScaledObject 'other'",
    ],
    [
      'another kind',
      hpa('keda-hpa-mine', { target: 'elsewhere', owner: { kind: 'Rollout', name: 'ro', uid: 'u', apiVersion: 'argoproj.io/v1alpha1' } }),
      "the HPA 'keda-hpa-mine' is already managed by the Rollout 'ro'",
    ],
    [
      'an earlier ScaledObject of the same name',
      hpa('keda-hpa-mine', { target: 'elsewhere', owner: { kind: 'ScaledObject', name: 'mine', uid: 'uid-gone' } }),
      "the HPA 'keda-hpa-mine' belongs to an earlier ScaledObject 'mine' (uid uid-gone) that the garbage collector has not removed yet",
    ],
  ];
  for (const [what, existing, message] of cases) {
    it(`(${what}): Ready=False naming the owner; the HPA is neither replaced nor deleted, also not on deletion`, async () => {
      const t = setup([scaledObject('mine', OLD), existing]);
      const before = JSON.stringify(t.hpaOf('keda-hpa-mine'));
      const err = await t.reconcile('mine');
      const full = `failed to ensure HPA is correctly created for ScaledObject: ${message}`;
      expect(err?.message).toBe(full);
      expect(t.ready('mine')).toEqual({ type: 'Ready', status: 'False', reason: 'ScaledObjectCheckFailed', message: full });
      expect(JSON.stringify(t.hpaOf('keda-hpa-mine'))).toBe(before);
      expect(t.loops.started).toEqual([]);

      // Deleting the ScaledObject leaves the HPA alone.
      const so = t.kube.objects.get(`${SO_BASE}/mine`) as Obj;
      so.metadata['deletionTimestamp'] = NEW;
      expect(await t.reconcile('mine')).toBeUndefined();
      expect(JSON.stringify(t.hpaOf('keda-hpa-mine'))).toBe(before);
      expect(t.kube.writes.filter((w) => w.includes('horizontalpodautoscalers'))).toEqual([]);
    });
  }

  it('an HPA created meanwhile (409 on create) is checked live and not replaced', async () => {
    const t = setup([scaledObject('mine', OLD)]);
    const kube = t.kube;
    const realCreate = kube.create.bind(kube);
    kube.create = async <T,>(path: string, body: Obj): Promise<T> => {
      if (path.includes('horizontalpodautoscalers')) kube.objects.set(`${path}/${body.metadata.name}`, structuredClone(hpa('keda-hpa-mine')) as unknown as Obj);
      return realCreate(path, body);
    };
    const err = await t.reconcile('mine');
    expect(err?.message).toBe("failed to ensure HPA is correctly created for ScaledObject: the HPA 'keda-hpa-mine' already exists and was not created by KEDA for this ScaledObject");
    expect(kube.writes.filter((w) => w.startsWith('replace'))).toEqual([]);
  });

  it('a pause deletes only an HPA this ScaledObject owns', async () => {
    const t = setup([scaledObject('mine', OLD, { annotations: { 'autoscaling.keda.sh/paused': 'true' } }), hpa('keda-hpa-mine', { target: 'elsewhere' })]);
    await t.reconcile('mine');
    expect(t.hpaOf('keda-hpa-mine')).toBeDefined();
  });

  it('its own HPA is updated and, on deletion, removed (with the uid as a precondition)', async () => {
    const t = setup([scaledObject('mine', OLD), hpa('keda-hpa-mine', { owner: { kind: 'ScaledObject', name: 'mine', uid: 'uid-mine' } })]);
    expect(await t.reconcile('mine')).toBeUndefined();
    expect(t.kube.writes).toContain(`replace ${HPA_BASE}/keda-hpa-mine`);
    (t.kube.objects.get(`${SO_BASE}/mine`) as Obj).metadata['deletionTimestamp'] = NEW;
    await t.reconcile('mine');
    expect(t.hpaOf('keda-hpa-mine')).toBeUndefined();
  });
});

describe('an HPA that is not ours already scaling the target', () => {
  const MESSAGE =
    "ScaledObject doesn't have correct scaleTargetRef specification: the workload 'web' of type 'apps/v1.Deployment' is already managed by the hpa 'manual'";

  it('gives Ready=False with the webhook\'s words; the HPA is untouched', async () => {
    const t = setup([scaledObject('mine', OLD), hpa('manual')]);
    expect((await t.reconcile('mine'))?.message).toBe(MESSAGE);
    expect(t.ready('mine')).toMatchObject({ status: 'False', reason: 'ScaledObjectCheckFailed', message: MESSAGE });
    expect(t.hpaOf('keda-hpa-mine')).toBeUndefined();
    expect(t.kube.writes).toEqual([]);
  });

  it('is ignored with validations.keda.sh/hpa-ownership: "false" (as by the webhook)', async () => {
    const t = setup([scaledObject('mine', OLD), hpa('manual', { annotations: { 'validations.keda.sh/hpa-ownership': 'false' } })]);
    expect(await t.reconcile('mine')).toBeUndefined();
  });

  it('is taken over when the ScaledObject asks for the transfer by name', async () => {
    const t = setup([
      scaledObject('mine', OLD, {
        annotations: { 'scaledobject.keda.sh/transfer-hpa-ownership': 'true' },
        spec: { advanced: { horizontalPodAutoscalerConfig: { name: 'manual' } } },
      }),
      hpa('manual'),
    ]);
    expect(await t.reconcile('mine')).toBeUndefined();
    expect(t.kube.writes).toEqual([`replace ${HPA_BASE}/manual`]);
  });

  it('does not oust a ScaledObject that already scales the target through its own HPA', async () => {
    const t = setup([scaledObject('mine', OLD), hpa('keda-hpa-mine', { owner: { kind: 'ScaledObject', name: 'mine', uid: 'uid-mine' } }), hpa('late')]);
    expect(await t.reconcile('mine')).toBeUndefined();
    expect(t.hpaOf('late')).toBeDefined();
  });
});

describe('TargetIndex', () => {
  it('follows adds, target changes and deletes', () => {
    const index = new TargetIndex<ScaledObject>(scaledObjectTargetKey);
    const a = scaledObject('a', OLD);
    const key = scaledObjectTargetKey(a);
    expect(index.apply('add', a)).toEqual([key]);
    const moved = scaledObject('a', OLD, { target: 'api' });
    expect(index.apply('update', moved)).toEqual([key, scaledObjectTargetKey(moved)]);
    expect(index.on(key)).toEqual([]);
    expect(index.on(scaledObjectTargetKey(moved))).toHaveLength(1);
    expect(index.apply('delete', moved)).toEqual([scaledObjectTargetKey(moved)]);
    expect(index.on(scaledObjectTargetKey(moved))).toEqual([]);
  });
});

// Not an ownership guard, but the same fake API server serves: the ScaledObjectUpdateFailed Events.
describe('ScaledObjectUpdateFailed', () => {
  it.each([
    [
      'a scale target kind that maps to no resource (C-21)',
      (kube: FakeKube) => {
        kube.resolveKind = async (apiVersion: string, kind: string) => {
          throw new Error(`no resource of kind ${kind} in ${apiVersion}`);
        };
      },
      /failed to resolve the scale target's kind: no resource of kind Deployment in apps\/v1/,
    ],
    [
      'a refused status write',
      (kube: FakeKube) => {
        const patch = kube.patch.bind(kube);
        kube.patch = async <T,>(path: string, body: Parameters<FakeKube['patch']>[1]): Promise<T> => {
          if (path.endsWith('/status')) throw new KubeApiError('PATCH', path, 422, 'Invalid', 'status refused');
          return patch<T>(path, body);
        };
      },
      /failed to update the ScaledObject status: .*422/,
    ],
  ])('%s: a Warning with the error, and the reconcile fails', async (_name, breakIt, note) => {
    const t = setup([scaledObject('so', OLD)]);
    breakIt(t.kube);
    expect(await t.reconcile('so')).toBeInstanceOf(Error);
    expect(t.events.filter((e) => e.reason === 'ScaledObjectUpdateFailed')).toEqual([expect.objectContaining({ note: expect.stringMatching(note) })]);
  });

  it('a healthy reconcile emits none', async () => {
    const t = setup([scaledObject('so', OLD)]);
    expect(await t.reconcile('so')).toBeUndefined();
    expect(t.events.map((e) => e.reason)).not.toContain('ScaledObjectUpdateFailed');
  });
});
