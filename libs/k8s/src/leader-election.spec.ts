import { createLogger } from '@keda-ts/runtime';
import { KubeApiError } from './kube-client';
import { checkLeaderElectionTiming, LeaderElector, LeaderOnly, type Lease, type LeaseStore } from './leader-election';

/** An in-memory Lease with the API server's compare-and-swap on resourceVersion. */
class FakeLeaseServer {
  lease?: Lease;
  private version = 0;
  writes: { by: string; holder: string | null | undefined; at: number }[] = [];

  get(): Lease | undefined {
    return this.lease ? structuredClone(this.lease) : undefined;
  }

  create(lease: Lease, by: string): Lease {
    if (this.lease) throw new KubeApiError('POST', '/leases', 409, 'AlreadyExists', 'exists');
    this.lease = { ...structuredClone(lease), metadata: { ...lease.metadata, resourceVersion: String(++this.version) } };
    this.writes.push({ by, holder: lease.spec?.holderIdentity, at: Date.now() });
    return structuredClone(this.lease);
  }

  update(lease: Lease, by: string): Lease {
    if (!this.lease) throw new KubeApiError('PUT', '/leases/x', 404, 'NotFound', 'gone');
    if (lease.metadata.resourceVersion !== this.lease.metadata.resourceVersion) {
      throw new KubeApiError('PUT', '/leases/x', 409, 'Conflict', 'the object has been modified');
    }
    this.lease = { ...structuredClone(lease), metadata: { ...lease.metadata, resourceVersion: String(++this.version) } };
    this.writes.push({ by, holder: lease.spec?.holderIdentity, at: Date.now() });
    return structuredClone(this.lease);
  }
}

/** One replica's connection to the fake server: it can fail, hang, or be slow. */
class Link implements LeaseStore {
  readonly namespace = 'keda';
  readonly name = 'operator.keda.sh';
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  latencyMs = 5;

  constructor(
    private readonly server: FakeLeaseServer,
    private readonly who: string,
  ) {}

  private call<T>(fn: () => T): Promise<T> {
    if (this.mode === 'hang') return new Promise(() => undefined);
    const mode = this.mode;
    return new Promise<T>((resolve, reject) =>
      setTimeout(() => {
        if (mode === 'fail') return reject(new Error('connect ECONNREFUSED 127.0.0.1:6443'));
        try {
          resolve(fn());
        } catch (err) {
          reject(err);
        }
      }, this.latencyMs),
    );
  }

  get() {
    return this.call(() => this.server.get());
  }
  create(lease: Lease) {
    return this.call(() => this.server.create(lease, this.who));
  }
  update(lease: Lease) {
    return this.call(() => this.server.update(lease, this.who));
  }
}

const logger = createLogger({ component: 'test', version: '0.0.0', destination: { write: () => undefined } });
const TIMING = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

interface Replica {
  elector: LeaderElector;
  link: Link;
  started: number[];
  stopped: number[];
}

function replicas(server: FakeLeaseServer, names: string[], leaders: Set<string>, overlaps: string[]): Replica[] {
  return names.map((name) => {
    const link = new Link(server, name);
    const r: Replica = { link, started: [], stopped: [], elector: undefined as never };
    r.elector = new LeaderElector({
      ...TIMING,
      store: link,
      identity: name,
      logger,
      now: () => Date.now(),
      random: () => 0.5,
      onStartedLeading: () => {
        r.started.push(Date.now());
        leaders.add(name);
        if (leaders.size > 1) overlaps.push(`${[...leaders].join(',')} at ${Date.now()}`);
      },
      onStoppedLeading: () => {
        r.stopped.push(Date.now());
        leaders.delete(name);
      },
    });
    return r;
  });
}

const advance = (ms: number) => jest.advanceTimersByTimeAsync(ms);

/** release() under fake timers: its requests and its bounded wait need the clock to move. */
async function release(...rs: Replica[]): Promise<void> {
  const done = Promise.all(rs.map((r) => r.elector.release()));
  await advance(TIMING.retryPeriodMs + 100);
  await done;
}

describe('LeaderElector', () => {
  let server: FakeLeaseServer;
  let leaders: Set<string>;
  let overlaps: string[];

  beforeEach(() => {
    jest.useFakeTimers({ now: 1_000_000 });
    server = new FakeLeaseServer();
    leaders = new Set();
    overlaps = [];
  });
  afterEach(() => jest.useRealTimers());

  it('creates the Lease, leads, and renews every retry period', async () => {
    const [a] = replicas(server, ['a'], leaders, overlaps);
    a.elector.start();
    await advance(50);
    expect(a.elector.isLeader).toBe(true);
    expect(server.lease?.spec).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
    const first = server.lease?.spec;
    await advance(2_100);
    expect(server.lease?.spec?.renewTime).not.toBe(first?.renewTime);
    expect(server.lease?.spec?.acquireTime).toBe(first?.acquireTime);
    await advance(20_000);
    expect(server.writes.length).toBeGreaterThanOrEqual(10);
    expect(a.stopped).toEqual([]);
    await release(a);
  });

  it('lets exactly one of several candidates lead, the others follow it', async () => {
    const rs = replicas(server, ['a', 'b', 'c'], leaders, overlaps);
    rs.forEach((r) => r.elector.start());
    await advance(60_000);
    expect(rs.filter((r) => r.elector.isLeader)).toHaveLength(1);
    const leader = rs.find((r) => r.elector.isLeader)!;
    expect(rs.every((r) => r.elector.leader === leader.elector.identity)).toBe(true);
    expect(overlaps).toEqual([]);
    await release(...rs);
  });

  it('a leader cut off from the API server stops at the renew deadline; a standby takes over after the lease duration, never both at once', async () => {
    const [a, b] = replicas(server, ['a', 'b'], leaders, overlaps);
    a.elector.start();
    await advance(50);
    b.elector.start();
    await advance(10_000);
    expect(a.elector.isLeader).toBe(true);
    expect(b.elector.isLeader).toBe(false);
    const lastRenew = server.writes.filter((w) => w.by === 'a').at(-1)!.at;
    a.link.mode = 'hang';
    await advance(30_000);
    expect(a.stopped).toHaveLength(1);
    // Stops by the deadline counted from the send time of its last successful renewal.
    expect(a.stopped[0] - lastRenew).toBeLessThanOrEqual(TIMING.renewDeadlineMs);
    expect(a.stopped[0] - lastRenew).toBeGreaterThan(TIMING.renewDeadlineMs - TIMING.retryPeriodMs - 100);
    expect(b.started).toHaveLength(1);
    const takeover = b.started[0] - lastRenew;
    expect(takeover).toBeGreaterThanOrEqual(TIMING.leaseDurationMs - TIMING.retryPeriodMs * 1.2);
    expect(takeover).toBeLessThanOrEqual(TIMING.leaseDurationMs + 200);
    expect(b.started[0]).toBeGreaterThan(a.stopped[0]);
    expect(server.lease?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    expect(overlaps).toEqual([]);
    await release(b);
  });

  it('keeps leading through failed renewals shorter than the renew deadline', async () => {
    const [a] = replicas(server, ['a'], leaders, overlaps);
    a.elector.start();
    await advance(50);
    a.link.mode = 'fail';
    await advance(7_000);
    expect(a.elector.isLeader).toBe(true);
    a.link.mode = 'ok';
    await advance(10_000);
    expect(a.elector.isLeader).toBe(true);
    expect(a.stopped).toEqual([]);
    await release(a);
  });

  it('a deposed leader that reaches the API server again follows, then may lead again', async () => {
    const [a, b] = replicas(server, ['a', 'b'], leaders, overlaps);
    a.elector.start();
    await advance(50);
    b.elector.start();
    a.link.mode = 'fail';
    await advance(25_000);
    expect(b.elector.isLeader).toBe(true);
    a.link.mode = 'ok';
    await advance(10_000);
    expect(a.elector.isLeader).toBe(false);
    expect(a.elector.leader).toBe('b');
    b.link.mode = 'hang';
    await advance(30_000);
    expect(a.elector.isLeader).toBe(true);
    expect(a.started).toHaveLength(2);
    expect(overlaps).toEqual([]);
    await release(a);
  });

  it('a leader that finds another holder in the Lease stops at once', async () => {
    const [a] = replicas(server, ['a'], leaders, overlaps);
    a.elector.start();
    await advance(50);
    // Someone (an operator with kubectl, a replica with a skewed view) overwrote the holder.
    server.update({ ...server.get()!, spec: { ...server.get()!.spec, holderIdentity: 'intruder' } }, 'intruder');
    await advance(2_100);
    expect(a.elector.isLeader).toBe(false);
    expect(a.stopped).toHaveLength(1);
    await release(a);
  });

  it('release() stops leading first, clears holderIdentity, and a standby takes over within one retry period', async () => {
    const [a, b] = replicas(server, ['a', 'b'], leaders, overlaps);
    a.elector.start();
    await advance(50);
    b.elector.start();
    await advance(5_000);
    const releasing = a.elector.release();
    await advance(60);
    await releasing;
    expect(a.stopped).toHaveLength(1);
    expect(server.lease?.spec?.holderIdentity).toBeNull();
    const releasedAt = Date.now();
    await advance(TIMING.retryPeriodMs * 1.2 + 100);
    expect(b.elector.isLeader).toBe(true);
    expect(b.started[0] - releasedAt).toBeLessThanOrEqual(TIMING.retryPeriodMs * 1.2 + 100);
    expect(overlaps).toEqual([]);
    await release(b);
  });

  it('of candidates racing for a free Lease, the compare-and-swap lets one win', async () => {
    server.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'operator.keda.sh', namespace: 'keda' }, spec: {} }, 'setup');
    const rs = replicas(server, ['a', 'b', 'c', 'd'], leaders, overlaps);
    rs.forEach((r) => (r.link.latencyMs = 50));
    rs.forEach((r) => r.elector.start());
    await advance(500);
    expect(rs.filter((r) => r.elector.isLeader)).toHaveLength(1);
    expect(overlaps).toEqual([]);
    await release(...rs);
  });

  it('rejects timings that could let two replicas lead at once, naming the values', () => {
    expect(checkLeaderElectionTiming(TIMING)).toEqual([]);
    expect(checkLeaderElectionTiming({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 })).toEqual([
      'lease duration (10000 ms) must be above the renew deadline (10000 ms)',
    ]);
    expect(checkLeaderElectionTiming({ leaseDurationMs: 15_000, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 })).toEqual([
      'renew deadline (2000 ms) must be above 1.2 x the retry period (2000 ms)',
    ]);
    expect(() => new LeaderElector({ ...TIMING, leaseDurationMs: 5_000, store: new Link(new FakeLeaseServer(), 'x'), identity: 'x', logger, onStartedLeading: () => undefined, onStoppedLeading: () => undefined })).toThrow(
      /invalid leader election timing: lease duration \(5000 ms\)/,
    );
  });
});

describe('LeaderOnly', () => {
  it('follows the latest wish, one start or stop at a time', async () => {
    const calls: string[] = [];
    let active = 0;
    const step = (name: string) => async () => {
      active++;
      expect(active).toBe(1);
      calls.push(name);
      await new Promise((r) => setTimeout(r, 5));
      active--;
    };
    const svc = new LeaderOnly('grpc', { start: step('start'), stop: step('stop') }, logger);
    void svc.set(true);
    void svc.set(false);
    await svc.set(true);
    expect(svc.isRunning).toBe(true);
    // The second wish (stop) was overtaken before it ran; the first start happened once.
    expect(calls).toEqual(['start']);
    await svc.set(false);
    await svc.set(false);
    expect(calls).toEqual(['start', 'stop']);
    expect(svc.isRunning).toBe(false);
  });

  it('logs a failed start and tries again at the next change', async () => {
    let fail = true;
    const svc = new LeaderOnly('grpc', { start: async () => { if (fail) throw new Error('EADDRINUSE'); }, stop: async () => undefined }, logger);
    await svc.set(true);
    expect(svc.isRunning).toBe(false);
    fail = false;
    await svc.set(false);
    await svc.set(true);
    expect(svc.isRunning).toBe(true);
  });
});
