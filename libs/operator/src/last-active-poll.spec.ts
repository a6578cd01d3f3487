/**
 * status.lastActiveTime is written at transitions and at most once per cooldownPeriod / 4 while an
 * object stays active (issue 24), and the cooldown still counts from the last active poll: the scale
 * loop against a fake API server and a fake scaler, with a lagging informer.
 */
import type { ScaledObject } from '@keda-ts/api';
import { KubeApiError, type EventRecorder, type KubeClient, type PodReader } from '@keda-ts/k8s';
import { externalMetricSpec, metricTargetMilli, param } from '@keda-ts/scaler-sdk';
import { createRegistry, defineScaler, type ScalerContext } from '@keda-ts/scalers';
import { flushLastActiveTimes, LastActiveLedger } from './last-active-ledger';
import { ScaledObjectPoller } from './scaledobject-poller';
import { ScalersCache } from './scalers-cache';

const source = { value: 0 };
const fake = defineScaler({
  type: 'fake-source',
  description: 'test',
  params: { target: param.float({ name: 'target', order: ['triggerMetadata'], default: '10', description: 't' }) },
  create: (config, input) => ({
    type: 'fake-source',
    getMetricSpecForScaling: () => [externalMetricSpec(`s${input.triggerIndex}-fake`, metricTargetMilli('AverageValue', config.target))],
    getMetricsAndActivity: async (name) => ({ metrics: [{ metricName: name, value: source.value, timestamp: new Date() }], isActive: source.value > 0 }),
    close: async () => undefined,
  }),
});

type Obj = { metadata: Record<string, unknown> & { name: string; resourceVersion?: string }; status?: Record<string, unknown>; [k: string]: unknown };
const NS = 'cool';
const KEY = `${NS}/so`;
const SO_PATH = `/apis/keda.sh/v1alpha1/namespaces/${NS}/scaledobjects/so`;
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** One ScaledObject and its target's replicas: resourceVersion preconditions, merge patches of status. */
class FakeKube {
  private rv = 1;
  so!: Obj;
  replicas = 0;
  readonly statusPatches: { at: number; status: Record<string, unknown> }[] = [];
  readonly scaleWrites: { at: number; replicas: number }[] = [];
  constructor(private readonly clock: () => number) {}
  async get<T>(path: string): Promise<T> {
    if (path !== SO_PATH) throw Object.assign(new Error(`not found ${path}`), { status: 404 });
    return clone(this.so) as T;
  }
  async patch<T>(path: string, body: { metadata?: Record<string, unknown>; status?: Record<string, unknown> }): Promise<T> {
    const precondition = body.metadata?.['resourceVersion'];
    if (precondition !== undefined && precondition !== this.so.metadata.resourceVersion) throw new KubeApiError('PATCH', path, 409, 'Conflict', 'the object has been modified');
    if (body.status) {
      this.statusPatches.push({ at: this.clock(), status: body.status });
      const status = { ...(this.so.status ?? {}) };
      for (const [k, v] of Object.entries(body.status)) {
        if (v === null) delete status[k];
        else status[k] = v;
      }
      this.so.status = status;
    }
    this.so.metadata.resourceVersion = String(++this.rv);
    return clone(this.so) as T;
  }
  async updateScale(_resource: unknown, _namespace: string, _name: string, replicas: number): Promise<number> {
    this.replicas = replicas;
    this.scaleWrites.push({ at: this.clock(), replicas });
    return replicas;
  }
}

const T0 = Date.parse('2026-01-01T01:00:00Z');
const lastScaleAt = (kube: FakeKube) => kube.scaleWrites.at(-1)?.at ?? Number.NaN;

function setup(opts: { cooldownPeriod?: number; pollingInterval?: number; lastActive?: LastActiveLedger; kube?: FakeKube; clock?: { ms: number }; isLeading?: () => boolean } = {}) {
  const clock = opts.clock ?? { ms: T0 };
  const kube = opts.kube ?? new FakeKube(() => clock.ms);
  if (!opts.kube) {
    kube.so = {
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata: { name: 'so', namespace: NS, uid: 'so-uid', generation: 1, resourceVersion: '1', creationTimestamp: '2026-01-01T00:00:00Z' },
      spec: {
        scaleTargetRef: { name: 'app' },
        pollingInterval: opts.pollingInterval ?? 5,
        ...(opts.cooldownPeriod !== undefined ? { cooldownPeriod: opts.cooldownPeriod } : {}),
        minReplicaCount: 0,
        triggers: [{ type: 'fake-source', metadata: {} }],
      },
      status: {
        scaleTargetKind: 'apps/v1.Deployment',
        scaleTargetGVKR: { group: 'apps', version: 'v1', kind: 'Deployment', resource: 'deployments' },
        conditions: [],
      },
    };
  }
  // The informer: what the API server had when `deliver()` last ran.
  let informer = clone(kube.so) as unknown as ScaledObject;
  const logger = { info: () => undefined, warn: () => undefined, debug: () => undefined, error: () => undefined } as never;
  const ctx: ScalerContext = { httpTimeoutMs: 1000, now: () => new Date(clock.ms), kubernetes: { countPods: async () => 0 } };
  const scalers = new ScalersCache(createRegistry([fake]), ctx, async () => ({ resolvedEnv: {}, authParams: () => ({}) }));
  const lastActive = opts.lastActive ?? new LastActiveLedger();
  const poller = new ScaledObjectPoller({
    client: kube as unknown as KubeClient,
    pods: {} as PodReader,
    events: { emit: () => undefined } as unknown as EventRecorder,
    scalers,
    logger,
    getScaledObject: () => clone(informer),
    now: () => new Date(clock.ms),
    cachedReplicas: () => kube.replicas,
    metricTimeoutMs: 1000,
    lastActive,
    isLeading: opts.isLeading,
  });
  const interval = ((kube.so['spec'] as { pollingInterval: number }).pollingInterval ?? 5) * 1000;
  return {
    kube,
    clock,
    poller,
    lastActive,
    deliver: () => void (informer = clone(kube.so) as unknown as ScaledObject),
    stored: () => kube.so.status?.['lastActiveTime'] as string | undefined,
    /** One pollingInterval later, a poll; the informer shows the result before the next one unless `lagging`. */
    async poll(lagging = false) {
      clock.ms += interval;
      await poller.poll(KEY);
      if (!lagging) informer = clone(kube.so) as unknown as ScaledObject;
    },
  };
}

beforeEach(() => {
  source.value = 0;
});

describe('an active ScaledObject (pollingInterval 5, default cooldownPeriod 300 s: bound 75 s)', () => {
  it('the first active poll writes status; the next ones inside the bound send no status patch at all', async () => {
    const h = setup();
    source.value = 20;
    await h.poll();
    expect(h.kube.scaleWrites).toEqual([{ at: T0 + 5_000, replicas: 1 }]);
    expect(h.kube.statusPatches).toHaveLength(1);
    expect(h.stored()).toBe('2026-01-01T01:00:05Z');
    // 14 more polls: 70 s, inside the bound.
    for (let i = 0; i < 14; i++) await h.poll();
    expect(h.kube.statusPatches).toHaveLength(1);
    expect(h.lastActive.lastActiveTime(KEY, undefined)).toEqual(new Date(T0 + 75_000));
  });

  it('is written once per 75 s while it stays active: under one write a minute, never more than 75 s behind', async () => {
    const h = setup();
    source.value = 20;
    const writes: number[] = [];
    for (let i = 0; i < 120; i++) {
      await h.poll();
      const stored = Date.parse(h.stored() ?? '');
      expect(h.clock.ms - stored).toBeLessThan(75_000);
      if (writes.at(-1) !== stored) writes.push(stored);
    }
    // 10 minutes: the activation, then one write every 75 s.
    expect(writes).toHaveLength(1 + Math.floor((600_000 - 5_000) / 75_000));
    expect(h.kube.statusPatches.length).toBe(writes.length);
  });

  it('a cooldownPeriod whose bound is under one pollingInterval writes every active poll, as KEDA', async () => {
    const h = setup({ cooldownPeriod: 0.001 });
    source.value = 20;
    for (let i = 0; i < 10; i++) await h.poll();
    expect(h.kube.statusPatches).toHaveLength(10);
  });

  it('a lagging informer does not make it write again: its own write counts', async () => {
    const h = setup();
    source.value = 20;
    await h.poll();
    for (let i = 0; i < 10; i++) await h.poll(true);
    expect(h.kube.statusPatches).toHaveLength(1);
  });
});

describe('the cooldown counts from the last active poll, as KEDA', () => {
  it('going inactive writes the remembered lastActiveTime with Active=False; the target idles exactly cooldownPeriod after the last active poll', async () => {
    const h = setup({ cooldownPeriod: 300 });
    source.value = 20;
    for (let i = 0; i < 10; i++) await h.poll(); // active 01:00:05 .. 01:00:50; stored 01:00:05
    expect(h.stored()).toBe('2026-01-01T01:00:05Z');
    const lastActiveAt = h.clock.ms;
    source.value = 0;
    await h.poll();
    expect(h.stored()).toBe(new Date(lastActiveAt).toISOString().replace('.000Z', 'Z'));
    expect(h.kube.statusPatches.at(-1)?.status).toHaveProperty('lastActiveTime');
    while (h.kube.replicas > 0) await h.poll();
    const idledAt = lastScaleAt(h.kube);
    // The first poll strictly after lastActiveTime + cooldownPeriod.
    expect(idledAt - lastActiveAt).toBeGreaterThan(300_000);
    expect(idledAt - lastActiveAt).toBeLessThanOrEqual(300_000 + 5_000);
  });

  it('even when status never shows it (every status write lost), the cooldown counts from the remembered time', async () => {
    const h = setup({ cooldownPeriod: 300 });
    source.value = 20;
    await h.poll();
    for (let i = 0; i < 9; i++) await h.poll();
    const lastActiveAt = h.clock.ms;
    source.value = 0;
    h.kube.patch = async () => {
      throw new Error('the API server is gone');
    };
    while (h.kube.replicas > 0) await h.poll();
    expect(lastScaleAt(h.kube) - lastActiveAt).toBeGreaterThan(300_000);
    expect(lastScaleAt(h.kube) - lastActiveAt).toBeLessThanOrEqual(305_000);
  });

  it('a graceful stop writes what status lacks: the next leader idles the target at the same time', async () => {
    const clock = { ms: T0 };
    const a = setup({ cooldownPeriod: 300, clock });
    source.value = 20;
    for (let i = 0; i < 10; i++) await a.poll();
    const lastActiveAt = clock.ms;
    expect(Date.parse(a.stored() ?? '')).toBeLessThan(lastActiveAt);
    const logger = { info: () => undefined, warn: () => undefined, debug: () => undefined } as never;
    a.lastActive.holdForFlush();
    a.poller.forget(KEY);
    const result = await flushLastActiveTimes(a.lastActive, { kind: 'ScaledObject', logger, write: (key, at) => a.poller.writeLastActiveTime(key, at) });
    expect(result.written).toBe(1);
    expect(Date.parse(a.stored() ?? '')).toBe(lastActiveAt);

    // The next leader: a new process (empty ledger), the same API server.
    source.value = 0;
    const b = setup({ cooldownPeriod: 300, clock, kube: a.kube });
    while (b.kube.replicas > 0) await b.poll();
    expect(lastScaleAt(b.kube) - lastActiveAt).toBeGreaterThan(300_000);
    expect(lastScaleAt(b.kube) - lastActiveAt).toBeLessThanOrEqual(305_000);
  });

  it('a loop stopped while leading (a pause) writes the remembered time; once not leading it does not try', async () => {
    const h = setup({ cooldownPeriod: 300 });
    source.value = 20;
    for (let i = 0; i < 10; i++) await h.poll();
    const lastActiveAt = h.clock.ms;
    const patches = h.kube.statusPatches.length;
    h.poller.forget(KEY);
    await new Promise((r) => setImmediate(r));
    expect(h.kube.statusPatches).toHaveLength(patches + 1);
    expect(Date.parse(h.stored() ?? '')).toBe(lastActiveAt);

    const standby = setup({ cooldownPeriod: 300, isLeading: () => false });
    for (let i = 0; i < 10; i++) await standby.poll();
    const before = standby.kube.statusPatches.length;
    standby.poller.forget(KEY);
    await new Promise((r) => setImmediate(r));
    expect(standby.kube.statusPatches).toHaveLength(before);
  });

  it('(the documented skew) after a crash the next leader counts from status: the target may idle up to cooldownPeriod / 4 early', async () => {
    const clock = { ms: T0 };
    const a = setup({ cooldownPeriod: 300, clock });
    source.value = 20;
    for (let i = 0; i < 14; i++) await a.poll();
    const lastActiveAt = clock.ms;
    const stored = Date.parse(a.stored() ?? '');
    expect(lastActiveAt - stored).toBe(65_000);
    source.value = 0;
    const b = setup({ cooldownPeriod: 300, clock, kube: a.kube });
    while (b.kube.replicas > 0) await b.poll();
    const early = lastActiveAt + 300_000 - lastScaleAt(b.kube);
    expect(early).toBeGreaterThan(0);
    expect(early).toBeLessThan(75_000);
  });
});
