import type { Logger } from '@keda-ts/runtime';
import { isConflict, isNotFound, resourcePath, type KubeClient } from './kube-client';
import { microTime } from './events';

/** `spec` of a `coordination.k8s.io/v1` Lease. */
export interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}

export interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

/**
 * Where the Lease lives. `update` must be optimistic: it fails with a conflict when the
 * resourceVersion it carries is no longer current, so two candidates can never both win.
 */
export interface LeaseStore {
  readonly namespace: string;
  readonly name: string;
  /** undefined when no Lease exists. */
  get(): Promise<Lease | undefined>;
  /** Rejects (conflict) when someone created it first. */
  create(lease: Lease): Promise<Lease>;
  update(lease: Lease): Promise<Lease>;
}

const leasesResource = { group: 'coordination.k8s.io', version: 'v1', resource: 'leases' };

/** The Lease `namespace/name` on the API server, through `client` (give it its own client, unthrottled by the controller's work). */
export class KubeLeaseStore implements LeaseStore {
  constructor(
    private readonly client: KubeClient,
    readonly namespace: string,
    readonly name: string,
  ) {}

  async get(): Promise<Lease | undefined> {
    try {
      return await this.client.get<Lease>(resourcePath(leasesResource, this.namespace, this.name));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  create(lease: Lease): Promise<Lease> {
    return this.client.create<Lease>(resourcePath(leasesResource, this.namespace), lease);
  }

  update(lease: Lease): Promise<Lease> {
    return this.client.replace<Lease>(resourcePath(leasesResource, this.namespace, this.name), lease);
  }
}

export interface LeaderElectionTiming {
  /** How long a follower waits after the last change it saw before it may take the Lease (15 s). */
  leaseDurationMs: number;
  /** How long the leader keeps leading without a successful renewal (10 s); below leaseDurationMs. */
  renewDeadlineMs: number;
  /** Pause between attempts, of candidates and of the leader's renewals (2 s). */
  retryPeriodMs: number;
}

export const DEFAULT_LEADER_ELECTION_TIMING: LeaderElectionTiming = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
};

/** Rejects timings that could let two replicas lead at once (the same rules as client-go). */
export function checkLeaderElectionTiming(t: LeaderElectionTiming): string[] {
  const problems: string[] = [];
  if (!(t.retryPeriodMs > 0)) problems.push(`retry period must be above 0 (got ${t.retryPeriodMs} ms)`);
  if (!(t.renewDeadlineMs > t.retryPeriodMs * 1.2)) {
    problems.push(`renew deadline (${t.renewDeadlineMs} ms) must be above 1.2 x the retry period (${t.retryPeriodMs} ms)`);
  }
  if (!(t.leaseDurationMs > t.renewDeadlineMs)) {
    problems.push(`lease duration (${t.leaseDurationMs} ms) must be above the renew deadline (${t.renewDeadlineMs} ms)`);
  }
  return problems;
}

export interface LeaderElectorOptions extends LeaderElectionTiming {
  store: LeaseStore;
  /** This replica's identity, written to holderIdentity (the pod name plus something unique). */
  identity: string;
  logger: Logger;
  /** Called once per term, when this replica becomes the leader. */
  onStartedLeading(): void;
  /**
   * Called the moment this replica stops being the leader: renewal missed the deadline, someone
   * else holds the Lease, or release(). Must stop every write at once.
   */
  onStoppedLeading(): void;
  /** The holder changed (as this replica saw it). */
  onNewLeader?(identity: string | undefined): void;
  /** Monotonic milliseconds; replaceable in tests. */
  now?: () => number;
  /** Wall clock for the Lease timestamps. */
  wallClock?: () => Date;
  /** 0..1 for the candidates' jitter; replaceable in tests. */
  random?: () => number;
}

/** Candidates wait retryPeriod x (1 + up to this) between attempts, so they do not move in lockstep. */
const CANDIDATE_JITTER = 0.2;

/**
 * Leader election over a Lease, with client-go's rules: a candidate takes the Lease when it is free
 * or when its record has not changed for leaseDuration by the candidate's own clock (no trust in
 * other clocks); every write is a compare-and-swap on resourceVersion; the leader renews every
 * retryPeriod and stops leading the moment renewDeadline has passed since the last renewal it sent
 * that succeeded, even while a request still hangs; release() clears holderIdentity so a standby
 * takes over at its next attempt. After losing the lease the replica becomes a candidate again.
 */
export class LeaderElector {
  private readonly now: () => number;
  private readonly wallClock: () => Date;
  private readonly random: () => number;
  private leading = false;
  private stopped = true;
  private loop?: Promise<void>;
  private wakeUp?: () => void;
  private sleepTimer?: NodeJS.Timeout;
  private deadlineTimer?: NodeJS.Timeout;
  /** The Lease as last read or written, and when this replica saw its record change. */
  private observed?: Lease;
  private observedAt = 0;
  private lastReadSentAt?: number;
  private knownLeader?: string;

  constructor(private readonly options: LeaderElectorOptions) {
    const problems = checkLeaderElectionTiming(options);
    if (problems.length) throw new Error(`invalid leader election timing: ${problems.join('; ')}`);
    if (!options.identity) throw new Error('leader election needs a non-empty identity');
    this.now = options.now ?? (() => performance.now());
    this.wallClock = options.wallClock ?? (() => new Date());
    this.random = options.random ?? Math.random;
  }

  private get leaseName(): string {
    return `${this.options.store.namespace}/${this.options.store.name}`;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  get identity(): string {
    return this.options.identity;
  }

  /** The holder as last seen (undefined: nobody). */
  get leader(): string | undefined {
    return this.knownLeader;
  }

  /** Starts campaigning; returns at once. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const sentAt = this.now();
      let won = false;
      try {
        won = await this.tryAcquireOrRenew(sentAt);
      } catch (err) {
        this.options.logger.warn(
          { lease: this.leaseName, err: err instanceof Error ? err.message : String(err), leading: this.leading },
          this.leading ? 'renewing the leader election lease failed' : 'acquiring the leader election lease failed',
        );
      }
      if (this.stopped) break;
      // A success that arrives after the deadline of its own request does not count.
      if (won && this.now() < sentAt + this.options.renewDeadlineMs) {
        this.armDeadline(sentAt + this.options.renewDeadlineMs);
        if (!this.leading) {
          this.leading = true;
          this.options.logger.info({ lease: this.leaseName, identity: this.identity }, 'became the leader');
          this.options.onStartedLeading();
        }
        await this.sleep(this.options.retryPeriodMs);
        continue;
      }
      if (this.leading && !won && this.heldByOther()) this.lose('another replica holds the lease');
      await this.sleep(this.leading ? this.options.retryPeriodMs : this.candidateWaitMs());
    }
  }

  private heldByOther(): boolean {
    const holder = this.observed?.spec?.holderIdentity;
    return Boolean(holder) && holder !== this.identity;
  }

  /** Until the next attempt: the retry period with jitter, or sooner when the holder's lease runs out. */
  private candidateWaitMs(): number {
    const wait = this.options.retryPeriodMs * (1 + CANDIDATE_JITTER * this.random());
    if (!this.heldByOther()) return wait;
    const expiresIn = this.observedAt + this.options.leaseDurationMs - this.now();
    return Math.max(1, Math.min(wait, expiresIn + 1));
  }

  private armDeadline(at: number): void {
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = setTimeout(() => this.lose(`no successful renewal within ${this.options.renewDeadlineMs} ms`), Math.max(0, at - this.now()));
  }

  private lose(reason: string): void {
    clearTimeout(this.deadlineTimer);
    if (!this.leading) return;
    this.leading = false;
    this.options.logger.warn({ lease: this.leaseName, identity: this.identity, reason }, 'stopped leading');
    this.options.onStoppedLeading();
  }

  private record(current: Lease | undefined): LeaseSpec {
    const now = microTime(this.wallClock());
    const spec = current?.spec ?? {};
    const mine = spec.holderIdentity === this.identity;
    return {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.options.leaseDurationMs / 1000),
      acquireTime: mine && spec.acquireTime ? spec.acquireTime : now,
      renewTime: now,
      leaseTransitions: mine ? (spec.leaseTransitions ?? 0) : (spec.leaseTransitions ?? 0) + (current ? 1 : 0),
    };
  }

  /** One attempt; resolves true when this replica holds the Lease afterwards. */
  private async tryAcquireOrRenew(sentAt: number): Promise<boolean> {
    const { store } = this.options;
    const current = await store.get();
    const readAt = this.now();
    if (!current) {
      const created = await this.guarded(() =>
        store.create({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: this.leaseMeta(), spec: this.record(undefined) }),
      );
      if (created) this.observe(created, readAt, sentAt);
      return Boolean(created);
    }
    this.observe(current, readAt, sentAt);
    const holder = current.spec?.holderIdentity;
    const expired = this.observedAt + this.options.leaseDurationMs <= this.now();
    if (holder && holder !== this.identity && !expired) return false;
    const updated = await this.guarded(() => store.update({ ...current, spec: this.record(current) }));
    if (updated) this.observe(updated, this.now(), sentAt);
    return Boolean(updated);
  }

  private leaseMeta(): Lease['metadata'] {
    return { name: this.options.store.name, namespace: this.options.store.namespace };
  }

  /** A conflict means someone else wrote first: a lost round, not an error. */
  private async guarded(write: () => Promise<Lease>): Promise<Lease | undefined> {
    try {
      return await write();
    } catch (err) {
      if (isConflict(err) || (err as { status?: number }).status === 409) return undefined;
      throw err;
    }
  }

  /**
   * Remembers the Lease and when its record changed. The change happened after the server answered
   * the previous read, so that read's send time is a safe start of the holder's term when the two
   * reads lie closer together than leaseDuration - renewDeadline (the leader stops that much before
   * its lease runs out); otherwise this read's time, as client-go does.
   */
  private observe(lease: Lease, readAt: number, sentAt: number): void {
    const before = this.observed;
    const changed = !before || before.metadata.resourceVersion !== lease.metadata.resourceVersion;
    this.observed = lease;
    if (changed) {
      const margin = this.options.leaseDurationMs - this.options.renewDeadlineMs;
      const previous = this.lastReadSentAt;
      this.observedAt = previous !== undefined && readAt - previous <= margin ? previous : readAt;
    }
    this.lastReadSentAt = sentAt;
    const holder = lease.spec?.holderIdentity || undefined;
    if (holder !== this.knownLeader) {
      this.knownLeader = holder;
      this.options.logger.info({ lease: this.leaseName, leader: holder ?? null }, 'leader changed');
      this.options.onNewLeader?.(holder);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wakeUp = resolve;
      this.sleepTimer = setTimeout(resolve, ms);
    });
  }

  /**
   * Stops campaigning. When leading: stops leading (callback first), then clears holderIdentity so
   * a standby takes over at once. Call it after the writers have drained.
   */
  async release(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.sleepTimer);
    this.wakeUp?.();
    // An attempt still in flight is not waited for long: whichever write lands second conflicts.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.loop, new Promise((r) => (timer = setTimeout(r, this.options.retryPeriodMs)))]);
    clearTimeout(timer);
    const wasLeading = this.leading;
    this.lose('released');
    const lease = this.observed;
    if (!wasLeading || !lease || lease.spec?.holderIdentity !== this.identity) return;
    const now = microTime(this.wallClock());
    try {
      await this.options.store.update({
        ...lease,
        spec: { ...lease.spec, holderIdentity: null, leaseDurationSeconds: 1, acquireTime: now, renewTime: now },
      });
      this.options.logger.info({ lease: this.leaseName, identity: this.identity }, 'released the leader election lease');
    } catch (err) {
      this.options.logger.warn(
        { lease: this.leaseName, err: err instanceof Error ? err.message : String(err) },
        'could not release the leader election lease; a standby takes over when it expires',
      );
    }
  }
}

/** Something that runs only while this replica leads, e.g. the gRPC metrics service. */
export interface LeaderOnlyService {
  start(): Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * Starts and stops a service as leadership comes and goes. Calls are serialized and the latest
 * wish wins, so a quick lose-then-win never leaves two starts racing; a failed start is logged and
 * retried at the next change.
 */
export class LeaderOnly {
  private wanted = false;
  private running = false;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly name: string,
    private readonly service: LeaderOnlyService,
    private readonly logger: Logger,
  ) {}

  get isRunning(): boolean {
    return this.running;
  }

  /** Resolves once the service matches the latest wish. */
  set(leading: boolean): Promise<void> {
    this.wanted = leading;
    this.chain = this.chain.then(() => this.converge());
    return this.chain;
  }

  private async converge(): Promise<void> {
    if (this.wanted === this.running) return;
    const starting = this.wanted;
    try {
      if (starting) await this.service.start();
      else await this.service.stop();
      this.running = starting;
      this.logger.info({ service: this.name }, starting ? 'leader-only service started' : 'leader-only service stopped');
    } catch (err) {
      this.logger.error({ service: this.name, err: err instanceof Error ? err.message : String(err) }, starting ? 'leader-only service failed to start' : 'leader-only service failed to stop');
    }
  }
}
