/** The ScaledJob reconciler and scale-loop tick against an in-memory API server and a fake scaler. */
import type { ScaledJob } from '@keda-ts/api';
import type { EventRecorder, KubeClient, RecordedEvent } from '@keda-ts/k8s';
import { externalMetricSpec, metricTargetMilli, param } from '@keda-ts/scaler-sdk';
import { createRegistry, defineScaler, type ScalerContext } from '@keda-ts/scalers';
import { scaledJobChangeMatters } from './scaledjob-controller';
import { ScaledJobPoller, scaledJobKey } from './scaledjob-poller';
import { ScaledJobReconciler } from './scaledjob-reconciler';
import type { ScaleLoopControl } from './scaledobject-reconciler';
import { ScalersCache } from './scalers-cache';

/** What the fake queue reports; `error` makes every read fail. */
const source = { value: 0, error: undefined as string | undefined };

const fakeScaler = defineScaler({
  type: 'fake-queue',
  description: 'test',
  params: { target: param.float({ name: 'target', order: ['triggerMetadata'], default: '1', description: 't' }) },
  create: (config, input) => ({
    type: 'fake-queue',
    getMetricSpecForScaling: () => [externalMetricSpec(`s${input.triggerIndex}-fake`, metricTargetMilli('AverageValue', config.target))],
    getMetricsAndActivity: async (name) => {
      if (source.error) throw new Error(source.error);
      return { metrics: [{ metricName: name, value: source.value, timestamp: new Date() }], isActive: source.value > 0 };
    },
    close: async () => undefined,
  }),
});

type Obj = { metadata: Record<string, unknown> & { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: unknown };

/** A tiny API server: collections by path, label selectors of the form k=v, merge patches, deletes. */
class FakeKube {
  readonly objects = new Map<string, Obj>();
  readonly deletes: { path: string; body: unknown }[] = [];
  private seq = 0;

  private split(path: string): { base: string; query: URLSearchParams } {
    const [base, q] = path.split('?');
    return { base, query: new URLSearchParams(q ?? '') };
  }

  async get<T>(path: string): Promise<T> {
    const { base, query } = this.split(path);
    if (this.objects.has(base)) return structuredClone(this.objects.get(base)) as T;
    const selector = query.get('labelSelector');
    const items = [...this.objects.entries()]
      .filter(([p]) => p.startsWith(`${base}/`) && !p.slice(base.length + 1).includes('/'))
      .map(([, o]) => o)
      .filter((o) => {
        if (!selector) return true;
        const [k, v] = selector.split('=');
        return o.metadata.labels?.[k] === v;
      });
    if (items.length || base.endsWith('s')) return { items: structuredClone(items) } as T;
    throw Object.assign(new Error(`not found ${path}`), { status: 404 });
  }

  async create<T>(path: string, body: Obj): Promise<T> {
    const obj = structuredClone(body);
    const name = obj.metadata.name ?? `${obj.metadata['generateName']}${++this.seq}`;
    obj.metadata.name = name;
    this.objects.set(`${path}/${name}`, obj);
    return obj as T;
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

  async delete<T>(path: string, body?: unknown): Promise<T> {
    this.deletes.push({ path, body });
    this.objects.delete(path);
    return {} as T;
  }
}

const NS = 'shop';
const SJ_PATH = `/apis/keda.sh/v1alpha1/namespaces/${NS}/scaledjobs/worker`;
const JOBS = `/apis/batch/v1/namespaces/${NS}/jobs`;
const PODS = `/api/v1/namespaces/${NS}/pods`;

function scaledJob(spec: Partial<ScaledJob['spec']> = {}, meta: Partial<NonNullable<ScaledJob['metadata']>> = {}): ScaledJob {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledJob',
    metadata: { name: 'worker', namespace: NS, generation: 1, uid: 'uid-1', resourceVersion: '1', ...meta },
    spec: {
      jobTargetRef: { template: { spec: { containers: [{ name: 'w', image: 'busybox' }] } } } as never,
      triggers: [{ type: 'fake-queue', metadata: { target: '1' } }],
      maxReplicaCount: 10,
      ...spec,
    },
  };
}

function setup(sjIn: ScaledJob, options: { cachedJobs?: boolean; now?: () => Date } = {}) {
  const kube = new FakeKube();
  kube.objects.set(SJ_PATH, structuredClone(sjIn) as unknown as Obj);
  const events: RecordedEvent[] = [];
  const recorder = { emit: (_s: unknown, e: RecordedEvent) => events.push(e) } as unknown as EventRecorder;
  const logger = { info: () => undefined, warn: () => undefined, debug: () => undefined, error: () => undefined } as never;
  const ctx: ScalerContext = { httpTimeoutMs: 1000, now: () => new Date(), kubernetes: { countPods: async () => 0 } };
  const scalers = new ScalersCache(createRegistry([fakeScaler]), ctx, async () => ({ resolvedEnv: {}, authParams: () => ({}) }));
  const client = kube as unknown as KubeClient;
  // A JSON copy, as from the API (structuredClone gives objects of another realm under jest, unequal to isDeepStrictEqual).
  const getScaledJob = () => (kube.objects.get(SJ_PATH) as unknown as ScaledJob | undefined) && (JSON.parse(JSON.stringify(kube.objects.get(SJ_PATH))) as ScaledJob);
  const loopState = new Map<string, number>();
  const loops: ScaleLoopControl & { started: string[]; stopped: string[] } = {
    started: [],
    stopped: [],
    start(key) {
      const had = loopState.has(key);
      loopState.set(key, getScaledJob()?.metadata?.generation ?? 0);
      this.started.push(key);
      return had;
    },
    stop(key) {
      this.stopped.push(key);
      return loopState.delete(key);
    },
    generation: (key) => loopState.get(key),
  };
  const listed = (prefix: string) => [...kube.objects.entries()].filter(([p]) => p.startsWith(`${prefix}/`)).map(([, o]) => structuredClone(o));
  const poller = new ScaledJobPoller({
    client,
    events: recorder,
    scalers,
    logger,
    kedaVersion: '2.20.2',
    getScaledJob,
    now: options.now ?? (() => new Date('2026-01-01T00:00:00Z')),
    metricTimeoutMs: 1000,
    cachedJobs: options.cachedJobs ? () => ({ jobs: listed(JOBS) as never, pods: listed(PODS) as never }) : undefined,
  });
  const reconciler = new ScaledJobReconciler({ client, events: recorder, scalers, loops, logger, getScaledJob });
  const jobs = () => [...kube.objects.entries()].filter(([p]) => p.startsWith(`${JOBS}/`)).map(([, o]) => o);
  const status = () => (kube.objects.get(SJ_PATH) as unknown as ScaledJob).status;
  const condition = (type: string) => status()?.conditions?.find((c) => c.type === type);
  return { kube, events, poller, reconciler, loops, jobs, status, condition, key: scaledJobKey(NS, 'worker') };
}

function finish(kube: FakeKube, name: string, as: 'Complete' | 'Failed', completionTime?: string) {
  const job = kube.objects.get(`${JOBS}/${name}`) as Obj;
  job['status'] = { conditions: [{ type: as, status: 'True' }], completionTime };
}

beforeEach(() => {
  source.value = 0;
  source.error = undefined;
});

describe('ScaledJob scale loop tick', () => {
  it('creates nothing without messages, then one Job per message up to the strategy, labelled and owned', async () => {
    const t = setup(scaledJob());
    await t.poller.poll(t.key);
    expect(t.jobs()).toHaveLength(0);
    expect(t.condition('Active')).toMatchObject({ status: 'False', reason: 'ScalerNotActive' });
    expect(t.condition('Ready')).toMatchObject({ status: 'True', reason: 'ScaledJobReady' });

    source.value = 7;
    await t.poller.poll(t.key);
    expect(t.jobs()).toHaveLength(7);
    const job = t.jobs()[0] as unknown as { metadata: { labels: Record<string, string>; annotations: Record<string, string>; ownerReferences: { name: string }[] } };
    expect(job.metadata.labels['scaledjob.keda.sh/name']).toBe('worker');
    expect(job.metadata.annotations['scaledjob.keda.sh/generation']).toBe('1');
    expect(job.metadata.ownerReferences[0].name).toBe('worker');
    expect(t.events.map((e) => e.reason)).toEqual(expect.arrayContaining(['KEDAJobsCreated', 'ScaledJobActive']));
    expect(t.events.find((e) => e.reason === 'KEDAJobsCreated')?.note).toBe('Created 7 jobs');
    expect(t.condition('Active')).toMatchObject({ status: 'True', reason: 'ScalerActive' });
    expect(t.status()?.lastActiveTime).toBe('2026-01-01T00:00:00Z');
    expect(t.status()?.triggersActivity).toEqual({ 's0-fake': { isActive: true } });

    // Same queue, 7 unfinished Jobs: default strategy creates nothing more.
    await t.poller.poll(t.key);
    expect(t.jobs()).toHaveLength(7);
    // 20 more messages: capped by maxReplicaCount 10 minus the 7 running.
    source.value = 27;
    await t.poller.poll(t.key);
    expect(t.jobs()).toHaveLength(10);
  });

  it('writes lastActiveTime when it becomes active, then at most once a minute while it stays active (informative only)', async () => {
    let clock = Date.parse('2026-01-01T00:00:00Z');
    const t = setup(scaledJob(), { now: () => new Date(clock) });
    const patch = jest.spyOn(t.kube, 'patch');
    source.value = 1;
    const seen: string[] = [];
    for (let s = 0; s <= 130; s += 10, clock += 10_000) {
      await t.poller.poll(t.key);
      const stored = t.status()?.lastActiveTime;
      if (stored && seen.at(-1) !== stored) seen.push(stored);
    }
    expect(seen).toEqual(['2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z', '2026-01-01T00:02:00Z']);
    // No Decision condition without traces, the same Jobs: the lastActiveTime writes are all there is after the first poll.
    expect(patch.mock.calls.filter(([path]) => path.endsWith('/status')).length).toBe(3);
    // Inactive, then active again: written at once.
    source.value = 0;
    await t.poller.poll(t.key);
    clock += 5_000;
    source.value = 1;
    await t.poller.poll(t.key);
    expect(t.status()?.lastActiveTime).toBe(new Date(clock).toISOString().replace('.000Z', 'Z'));
  });

  it.each([false, true])('counts pending Jobs from their pods for the accurate strategy (informer caches: %s)', async (cachedJobs) => {
    const t = setup(scaledJob({ scalingStrategy: { strategy: 'accurate' } }), { cachedJobs });
    const get = jest.spyOn(t.kube, 'get');
    source.value = 4;
    await t.poller.poll(t.key);
    expect(t.jobs()).toHaveLength(4);
    // Two of them have a running pod, two are pending; the queue still shows 3 waiting messages.
    const names = t.jobs().map((j) => j.metadata.name);
    for (const [i, job] of names.slice(0, 2).entries()) {
      await t.kube.create(PODS, { metadata: { name: `p${i}`, labels: { 'scaledjob.keda.sh/name': 'worker', 'job-name': job } }, status: { phase: 'Running' } } as never);
    }
    source.value = 3;
    await t.poller.poll(t.key);
    // maxScale 3 + running 4 - pending 2 = 5 <= 10 -> 3 - 2 = 1
    expect(t.jobs()).toHaveLength(5);
    // With synced caches the loop never lists Jobs or pods from the API.
    const listings = get.mock.calls.filter(([path]) => path.startsWith(JOBS) || path.startsWith(PODS));
    expect(listings.length > 0).toBe(!cachedJobs);
  });

  it('a failing trigger: Ready False, Active False, KEDAScalerFailed, no Jobs', async () => {
    const t = setup(scaledJob());
    source.error = 'broker unreachable';
    await t.poller.poll(t.key);
    expect(t.jobs()).toHaveLength(0);
    expect(t.condition('Ready')).toMatchObject({ status: 'False', reason: 'TriggerError' });
    expect(t.events).toContainEqual(expect.objectContaining({ type: 'Warning', reason: 'KEDAScalerFailed', note: 'broker unreachable' }));
    source.error = undefined;
    source.value = 2;
    await t.poller.poll(t.key);
    expect(t.jobs()).toHaveLength(2);
    expect(t.condition('Ready')).toMatchObject({ status: 'True' });
  });

  it('trims finished Jobs to the history limits, oldest completion first', async () => {
    const t = setup(scaledJob({ successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 0 }));
    source.value = 4;
    await t.poller.poll(t.key);
    const [a, b, c, d] = t.jobs().map((j) => j.metadata.name);
    finish(t.kube, a, 'Complete', '2026-01-01T00:00:03Z');
    finish(t.kube, b, 'Complete', '2026-01-01T00:00:01Z');
    finish(t.kube, c, 'Failed');
    source.value = 0;
    await t.poller.poll(t.key);
    expect(t.jobs().map((j) => j.metadata.name).sort()).toEqual([a, d].sort());
    expect(t.kube.deletes.map((x) => x.body)).toEqual([
      expect.objectContaining({ propagationPolicy: 'Background' }),
      expect.objectContaining({ propagationPolicy: 'Background' }),
    ]);
  });

  it('history cleanup never deletes a finished Job it did not create, even with its label', async () => {
    const t = setup(scaledJob({ successfulJobsHistoryLimit: 0, failedJobsHistoryLimit: 0 }));
    await t.kube.create(JOBS, { metadata: { name: 'foreign', labels: { 'scaledjob.keda.sh/name': 'worker' } } } as never);
    finish(t.kube, 'foreign', 'Complete', '2026-01-01T00:00:01Z');
    await t.poller.poll(t.key);
    expect(t.jobs().map((j) => j.metadata.name)).toEqual(['foreign']);
    expect(t.kube.deletes).toEqual([]);
  });
});

describe('ScaledJob reconciler', () => {
  it('adds the finalizer, fills status and starts the loop', async () => {
    const t = setup(scaledJob({}, { labels: {} }));
    await t.reconciler.reconcile(NS, 'worker');
    const sj = t.kube.objects.get(SJ_PATH) as unknown as ScaledJob;
    expect(sj.metadata?.finalizers).toEqual(['finalizer.keda.sh']);
    expect(t.condition('Ready')).toMatchObject({ status: 'True', reason: 'ScaledJobReady', message: 'ScaledJob is defined correctly and is ready to scaling' });
    expect(t.condition('Paused')).toMatchObject({ status: 'False' });
    expect(t.status()?.triggersTypes).toBe('fake-queue');
    expect(t.status()?.externalMetricNames).toEqual(['s0-fake']);
    expect(t.loops.started).toEqual([t.key]);
    expect(t.events.map((e) => e.reason)).toEqual(['KEDAScalersStarted', 'ScaledJobReady']);
  });

  it('a bad trigger fails with ScaledJobCheckFailed', async () => {
    const t = setup(scaledJob({ triggers: [{ type: 'fake-queue', metadata: { target: 'x' } }] }));
    await expect(t.reconciler.reconcile(NS, 'worker')).rejects.toThrow(/Failed to ensure ScaledJob is correctly created/);
    expect(t.condition('Ready')).toMatchObject({ status: 'False', reason: 'ScaledJobCheckFailed' });
    expect(t.condition('Active')).toMatchObject({ status: 'Unknown', reason: 'UnknownState' });
    expect(t.events.map((e) => e.reason)).toContain('ScaledJobCheckFailed');
  });

  it('pause stops the loop and keeps Ready True; unpause restarts it', async () => {
    const t = setup(scaledJob());
    await t.reconciler.reconcile(NS, 'worker');
    const sj = t.kube.objects.get(SJ_PATH) as unknown as ScaledJob;
    sj.metadata = { ...sj.metadata, annotations: { 'autoscaling.keda.sh/paused': 'yes-please' } };
    await t.reconciler.reconcile(NS, 'worker');
    expect(t.condition('Paused')).toMatchObject({ status: 'True', reason: 'ScaledJobPaused' });
    expect(t.condition('Ready')).toMatchObject({ status: 'True' });
    expect(t.loops.stopped).toEqual([t.key]);
    sj.metadata = { ...sj.metadata, annotations: {} };
    await t.reconciler.reconcile(NS, 'worker');
    expect(t.condition('Paused')).toMatchObject({ status: 'False', reason: 'ScaledJobUnpaused' });
    expect(t.loops.started).toEqual([t.key, t.key]);
  });

  it.each([
    ['immediate (default) deletes old-generation Jobs, foreground when asked', {}, 'Foreground', 1],
    ['gradual leaves them', { rollout: { strategy: 'gradual' as const } }, undefined, 2],
    ['the deprecated rolloutStrategy wins', { rolloutStrategy: 'gradual' as const, rollout: { strategy: 'immediate' as const } }, undefined, 2],
  ])('rollout: %s', async (_name, spec, propagation, left) => {
    const t = setup(scaledJob({ rollout: { propagationPolicy: 'foreground' }, ...spec }, { generation: 2 }));
    const ownerReferences = [{ apiVersion: 'keda.sh/v1alpha1', kind: 'ScaledJob', name: 'worker', uid: 'uid-1', controller: true }];
    const labels = { 'scaledjob.keda.sh/name': 'worker' };
    await t.kube.create(JOBS, { metadata: { name: 'old', labels, ownerReferences, annotations: { 'scaledjob.keda.sh/generation': '1' } } } as never);
    await t.kube.create(JOBS, { metadata: { name: 'new', labels, ownerReferences, annotations: { 'scaledjob.keda.sh/generation': '2' } } } as never);
    // Carries the label but was not created by this ScaledJob: never deleted (controller-side guard).
    await t.kube.create(JOBS, { metadata: { name: 'foreign', labels, annotations: { 'scaledjob.keda.sh/generation': '1' } } } as never);
    await t.reconciler.reconcile(NS, 'worker');
    expect(t.jobs()).toHaveLength(left + 1);
    expect(t.jobs().map((j) => j.metadata.name)).toContain('foreign');
    if (propagation) {
      expect(t.kube.deletes).toEqual([{ path: `${JOBS}/old`, body: expect.objectContaining({ propagationPolicy: propagation }) }]);
      expect(t.events.map((e) => e.reason)).toEqual(expect.arrayContaining(['ScaledJobRolloutCleanupStarted', 'ScaledJobRolloutCleanupCompleted']));
    }
  });

  it('deletion stops the loop and removes the finalizer', async () => {
    const t = setup(scaledJob());
    await t.reconciler.reconcile(NS, 'worker');
    const sj = t.kube.objects.get(SJ_PATH) as unknown as ScaledJob;
    sj.metadata = { ...sj.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' };
    await t.reconciler.reconcile(NS, 'worker');
    expect(sj.metadata?.finalizers).toEqual([]);
    expect(t.loops.stopped).toContain(t.key);
    expect(t.events.map((e) => e.reason)).toContain('ScaledJobDeleted');
  });
});

describe('ScaledJob reconciler: refused writes', () => {
  // Status patches are refused; the pause case reconciles once first so that pausing is a transition.
  it.each([
    ['a refused status write (ready path) gives ScaledJobUpdateFailed', false, 'ScaledJobUpdateFailed', /failed to update the ScaledJob status: admission refused/],
    ['a refused status write while pausing gives ScaledJobPauseFailed', true, 'ScaledJobPauseFailed', /failed to pause the ScaledJob: admission refused/],
  ])('%s', async (_name, pause, reason, note) => {
    const t = setup(scaledJob());
    if (pause) {
      await t.reconciler.reconcile(NS, 'worker');
      const sj = t.kube.objects.get(SJ_PATH) as unknown as ScaledJob;
      sj.metadata = { ...sj.metadata, annotations: { 'autoscaling.keda.sh/paused': 'true' } };
    }
    const patch = t.kube.patch.bind(t.kube);
    t.kube.patch = async <T,>(path: string, body: Parameters<FakeKube['patch']>[1]): Promise<T> => {
      if (path.endsWith('/status')) throw Object.assign(new Error('admission refused'), { status: 422 });
      return patch<T>(path, body);
    };
    t.events.length = 0;
    await expect(t.reconciler.reconcile(NS, 'worker')).rejects.toThrow(/admission refused/);
    const failed = t.events.filter((e) => e.reason === reason);
    expect(failed).toEqual([expect.objectContaining({ type: 'Warning', reason, note: expect.stringMatching(note) })]);
    // The other reason of the pair is not emitted for the same failure.
    expect(t.events.map((e) => e.reason)).not.toContain(reason === 'ScaledJobPauseFailed' ? 'ScaledJobPaused' : 'ScaledJobPauseFailed');
  });
});

describe('scaledJobChangeMatters', () => {
  const base = scaledJob();
  it.each([
    ['an add', undefined, base, true],
    ['a spec change (generation)', base, scaledJob({}, { generation: 2 }), true],
    ['the pause annotation', base, scaledJob({}, { annotations: { 'autoscaling.keda.sh/paused': 'true' } }), true],
    ['deletion', base, scaledJob({}, { deletionTimestamp: '2026-01-01T00:00:00Z' }), true],
    ['a status-only update', base, { ...base, status: { lastActiveTime: '2026-01-01T00:00:00Z' } }, false],
    ['another annotation', base, scaledJob({}, { annotations: { note: 'x' } }), false],
  ] as const)('%s -> %s', (_name, old, obj, expected) => {
    expect(scaledJobChangeMatters(old, obj)).toBe(expected);
  });
});
