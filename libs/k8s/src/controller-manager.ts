import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '@keda-ts/runtime';
import type { KubeClient } from './kube-client';
import { InformerGroup } from './informer-group';
import { WorkQueue } from './work-queue';

/**
 * A controller the manager runs. It asks the manager's informer group for what it watches and
 * subscribes its handlers in its constructor, before the informers start.
 */
export interface ManagedController {
  /** Shown in logs. */
  readonly name: string;
  /** Called once, when the manager starts (informers are starting, not necessarily synced). */
  start?(): void | Promise<void>;
  /** A standby replica became the leader (never called for a replica that leads from the start). */
  startLeading?(): void;
  /** This replica no longer leads: stop the work only a leader does. */
  stopLeading?(): void;
  /** No new work starts; the work in progress finishes. Controllers drain together. */
  stop(): Promise<void>;
}

export interface ControllerManagerOptions {
  kubeConfig: KubeConfig;
  /** The client the shared informers list and watch with. */
  client: KubeClient;
  logger: Logger;
  /** Start without leading (leader election): controllers get startLeading() later. */
  standby?: boolean;
}

/**
 * The controller process's skeleton: shared informers, leader gating and the start and stop order.
 * Start: informers (dependencies first), then each controller's start(). Leading: fanned out to
 * every controller. Stop: the controllers drain (together, so shutdown takes the longest drain, not
 * their sum), then the informers stop.
 */
export class ControllerManager {
  readonly informers: InformerGroup;
  private readonly controllers: ManagedController[] = [];
  private leading: boolean;
  private stopping = false;
  private readonly logger: Logger;

  constructor(options: ControllerManagerOptions) {
    this.logger = options.logger;
    this.leading = !options.standby;
    this.informers = new InformerGroup(options.kubeConfig, options.client, options.logger);
  }

  register<C extends ManagedController>(controller: C): C {
    this.controllers.push(controller);
    return controller;
  }

  get isLeading(): boolean {
    return this.leading;
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /** For a KubeClient's `refuseWrite`: a standby, or a leader that just lost the Lease, sends no write. */
  readonly refuseWrite = (): string | undefined => (this.leading ? undefined : 'this replica is not the leader');

  async start(): Promise<void> {
    const informers = this.informers.start();
    for (const c of this.controllers) await c.start?.();
    await informers;
  }

  /** Informer caches synced: the readiness of the controller. */
  get ready(): boolean {
    return this.informers.hasSynced;
  }

  startLeading(): void {
    if (this.leading || this.stopping) return;
    this.leading = true;
    for (const c of this.controllers) c.startLeading?.();
  }

  stopLeading(): void {
    if (!this.leading) return;
    this.leading = false;
    for (const c of this.controllers) c.stopLeading?.();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.controllers.map((c) =>
        c.stop().catch((err: unknown) => this.logger.warn({ controller: c.name, err: err instanceof Error ? err.message : String(err) }, 'controller did not stop cleanly')),
      ),
    );
    this.leading = false;
    await this.informers.stop();
  }
}

/**
 * The work queue of a leader-gated controller: keys are reconciled only while this replica leads and
 * is not stopping (a standby drops them; startLeading() queues every object again), failures retry
 * with per-key backoff up to a minute, and each failure is logged with `kind`.
 */
export function leaderWorkQueue(
  manager: ControllerManager,
  options: { kind: string; concurrency: number; logger: Logger },
  reconcile: (key: string) => Promise<void>,
): WorkQueue {
  return new WorkQueue(
    async (key) => {
      if (!manager.isLeading || manager.isStopping) return;
      await reconcile(key);
    },
    {
      concurrency: options.concurrency,
      baseBackoffMs: 100,
      maxBackoffMs: 60_000,
      onError: (key, err, retryInMs) =>
        options.logger.warn({ key, kind: options.kind, err: err instanceof Error ? err.message : String(err), retryInMs }, `${options.kind} reconcile failed; retrying`),
    },
  );
}
