/**
 * A ScaledObject whose source keeps failing must reach a status that stops changing (issue 17):
 * the scale loop, the reconciler and a lagging informer together, with fakes.
 */
import type { ScaledObject } from '@keda-ts/api';
import { KubeApiError, type EventRecorder, type KubeClient, type PodReader } from '@keda-ts/k8s';
import { externalMetricSpec, metricTargetMilli, param } from '@keda-ts/scaler-sdk';
import { createRegistry, defineScaler, type ScalerContext } from '@keda-ts/scalers';
import { HEALTH_COUNT_WRITE_INTERVAL_MS } from '@keda-ts/scaling';
import { HealthLedger } from './health-ledger';
import { scaledObjectChangeMatters } from './scaledobject-controller';
import { ScaledObjectPoller } from './scaledobject-poller';
import { ScaledObjectReconciler, type ScaleLoopControl } from './scaledobject-reconciler';
import { ScalersCache } from './scalers-cache';

const refused = defineScaler({
  type: 'refused',
  description: 'test',
  params: { target: param.float({ name: 'target', order: ['triggerMetadata'], default: '5', description: 't' }) },
  create: (config, input) => ({
    type: 'refused',
    getMetricSpecForScaling: () => [externalMetricSpec(`s${input.triggerIndex}-refused`, metricTargetMilli('AverageValue', config.target))],
    getMetricsAndActivity: async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:1');
    },
    close: async () => undefined,
  }),
});

type Obj = { metadata: Record<string, unknown> & { name: string; resourceVersion?: string; uid?: string }; status?: Record<string, unknown>; [k: string]: unknown };
const NS = 'flood';
const SO_PATH = `/apis/keda.sh/v1alpha1/namespaces/${NS}/scaledobjects/failing`;
/** A JSON copy, as from the API (structuredClone would give objects of another realm under jest, unequal to isDeepStrictEqual). */
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** An API server for one ScaledObject and its HPA: resourceVersion preconditions, merge patches of status. */
class FakeKube {
  private rv = 1;
  readonly objects = new Map<string, Obj>();
  readonly statusPatches: Record<string, unknown>[] = [];
  /** Every stored version of the ScaledObject, in order: what its watch delivers. */
  readonly versions: Obj[] = [];

  async resolveKind(apiVersion: string, kind: string) {
    return { group: 'apps', version: 'v1', resource: `${kind.toLowerCase()}s`, kind, namespaced: true, scalable: true, apiVersion };
  }
  async get<T>(path: string): Promise<T> {
    const obj = this.objects.get(path);
    if (!obj) throw Object.assign(new Error(`not found ${path}`), { status: 404 });
    return clone(obj) as T;
  }
  async create<T>(path: string, body: Obj): Promise<T> {
    this.objects.set(`${path}/${body.metadata.name}`, { ...clone(body), metadata: { ...body.metadata, uid: 'hpa-uid', resourceVersion: String(++this.rv) } });
    return body as T;
  }
  async replace<T>(path: string, body: Obj): Promise<T> {
    this.objects.set(path, clone(body));
    return body as T;
  }
  async patch<T>(path: string, body: { metadata?: Record<string, unknown>; status?: Record<string, unknown> }): Promise<T> {
    const base = path.replace(/\/status$/, '');
    const obj = this.objects.get(base)!;
    const { resourceVersion: precondition, ...meta } = body.metadata ?? {};
    if (precondition !== undefined && precondition !== obj.metadata.resourceVersion) throw new KubeApiError('PATCH', path, 409, 'Conflict', 'the object has been modified');
    Object.assign(obj.metadata, meta);
    if (body.status) {
      this.statusPatches.push(body.status);
      const status = { ...(obj.status ?? {}) };
      for (const [k, v] of Object.entries(body.status)) {
        if (v === null) delete status[k];
        else status[k] = v;
      }
      obj.status = status;
    }
    obj.metadata.resourceVersion = String(++this.rv);
    if (base === SO_PATH) this.versions.push(clone(obj));
    return clone(obj) as T;
  }
  async delete<T>(): Promise<T> {
    return {} as T;
  }
}

function setup(opts: { fallback?: { failureThreshold: number; replicas: number }; ignoreOwnWrites?: boolean }) {
  const kube = new FakeKube();
  const so = {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name: 'failing', namespace: NS, uid: 'so-uid', generation: 1, resourceVersion: '1', creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { scaleTargetRef: { name: 'failing' }, pollingInterval: 1, minReplicaCount: 0, triggers: [{ type: 'refused', metadata: {} }], ...(opts.fallback ? { fallback: opts.fallback } : {}) },
  };
  kube.objects.set(SO_PATH, clone(so) as unknown as Obj);
  // The informer: a copy that lags behind the store until `deliver()`.
  let informer = clone(so) as unknown as ScaledObject;
  let delivered = 0;
  const queue = new Set<string>();
  let clock = Date.parse('2026-01-01T01:00:00Z');
  const logger = { info: () => undefined, warn: () => undefined, debug: () => undefined, error: () => undefined } as never;
  const events = { emit: () => undefined } as unknown as EventRecorder;
  const ctx: ScalerContext = { httpTimeoutMs: 1000, now: () => new Date(clock), kubernetes: { countPods: async () => 0 } };
  const scalers = new ScalersCache(createRegistry([refused]), ctx, async () => ({ resolvedEnv: {}, authParams: () => ({}) }));
  let generation: number | undefined;
  const loops: ScaleLoopControl = {
    start: () => {
      const had = generation !== undefined;
      generation = 1;
      return had;
    },
    stop: () => true,
    generation: () => generation,
  };
  const client = kube as unknown as KubeClient;
  const reconciler = new ScaledObjectReconciler({ client, events, scalers, loops, logger, kedaVersion: '2.20.2', getScaledObject: () => clone(informer), cachedHpa: () => null, cachedReplicas: () => 0 });
  const health = new HealthLedger(() => clock);
  const poller = new ScaledObjectPoller({
    client,
    pods: {} as PodReader,
    events,
    scalers,
    logger,
    getScaledObject: () => clone(informer),
    now: () => new Date(clock),
    cachedReplicas: () => 0,
    metricTimeoutMs: 1000,
    health,
  });
  /** The watch delivers what was stored since the last delivery; updates that matter queue a reconcile (as the Operator's handler). */
  const deliver = () => {
    for (; delivered < kube.versions.length; delivered++) {
      const next = clone(kube.versions[delivered]) as unknown as ScaledObject;
      const own = !opts.ignoreOwnWrites && reconciler.isOwnStatusWrite(NS, 'failing', next.metadata?.resourceVersion);
      if (scaledObjectChangeMatters(informer, next, own)) queue.add(`${NS}/failing`);
      informer = next;
    }
  };
  const reconcileQueued = async () => {
    const due = queue.size;
    queue.clear();
    if (due) await reconciler.reconcile(NS, 'failing');
  };
  const statusNow = () => kube.objects.get(SO_PATH)!.status as ScaledObject['status'];
  return {
    kube,
    poller,
    deliver,
    reconcileQueued,
    statusNow,
    tick: (ms: number) => (clock += ms),
    start: async () => {
      await reconciler.reconcile(NS, 'failing');
    },
  };
}

/**
 * One second of a loaded controller: the poll writes, the informer shows it, and only then does
 * the reconcile queued a second earlier run (late, behind a busy queue and rate limiter).
 */
async function second(h: ReturnType<typeof setup>): Promise<void> {
  h.tick(1000);
  await h.poller.poll(`${NS}/failing`);
  h.deliver();
  await h.reconcileQueued();
  h.deliver();
}

describe('a ScaledObject whose source keeps failing (no fallback)', () => {
  it('settles: after the first polls its status is not written again', async () => {
    const h = setup({});
    await h.start();
    h.deliver();
    for (let i = 0; i < 5; i++) await second(h);
    const settledAt = h.kube.statusPatches.length;
    for (let i = 0; i < 60; i++) await second(h);
    expect(h.kube.statusPatches.length - settledAt).toBe(0);
    const ready = h.statusNow()?.conditions?.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'TriggerError' });
  });

  it('(the cause) reconciling on the reconciler\'s own Ready=True makes the loop and the reconciler write each other back every poll', async () => {
    const h = setup({ ignoreOwnWrites: true });
    await h.start();
    h.deliver();
    for (let i = 0; i < 5; i++) await second(h);
    const before = h.kube.statusPatches.length;
    for (let i = 0; i < 60; i++) await second(h);
    expect(h.kube.statusPatches.length - before).toBeGreaterThanOrEqual(60);
  });
});

describe('a ScaledObject whose source keeps failing, with a fallback (failureThreshold 3)', () => {
  it('writes every count up to the fallback, then at most one count per HEALTH_COUNT_WRITE_INTERVAL_MS, and keeps counting in between', async () => {
    const h = setup({ fallback: { failureThreshold: 3, replicas: 2 } });
    await h.start();
    h.deliver();
    const counts: number[] = [];
    const seen = () => {
      const n = (h.statusNow()?.health as Record<string, { numberOfFailures?: number }> | undefined)?.['s0-refused']?.numberOfFailures;
      if (n !== undefined && counts.at(-1) !== n) counts.push(n);
    };
    for (let i = 0; i < 95; i++) {
      await second(h);
      seen();
    }
    // 1..4 as they happen (4 > 3: fallback), then every 30 s.
    expect(counts.slice(0, 4)).toEqual([1, 2, 3, 4]);
    const later = counts.slice(4);
    expect(later.length).toBe(Math.floor((95 - 4) / (HEALTH_COUNT_WRITE_INTERVAL_MS / 1000)));
    // The count keeps its meaning (consecutive failures) between writes.
    expect(later[0]).toBe(4 + HEALTH_COUNT_WRITE_INTERVAL_MS / 1000);
    expect(h.statusNow()?.conditions?.find((c) => c.type === 'Fallback')).toMatchObject({ status: 'True' });
    const healthWrites = h.kube.statusPatches.filter((p) => 'health' in p).length;
    expect(healthWrites).toBeLessThanOrEqual(4 + later.length + 1);
  });
});
