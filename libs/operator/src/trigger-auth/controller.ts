import { API_GROUP, API_VERSION, EventReason, KEDA_FINALIZER, type ClusterTriggerAuthentication, type TriggerAuthentication } from '@keda-ts/api';
import { EventRecorder, KubeClient, WorkQueue, isNotFound, type ManagedController, type Watched } from '@keda-ts/k8s';
import type { Logger } from '@keda-ts/runtime';

type AuthKind = 'TriggerAuthentication' | 'ClusterTriggerAuthentication';
type AuthObject = TriggerAuthentication | ClusterTriggerAuthentication;

/** What the controller does for one observed TA/CTA state. Pure. */
export type TriggerAuthAction =
  | { kind: 'none' }
  | { kind: 'addFinalizer'; event: { reason: string; note: string } }
  | { kind: 'event'; event: { reason: string; note: string } }
  | { kind: 'removeFinalizer'; event: { reason: string; note: string } };

export function triggerAuthAction(kind: AuthKind, obj: AuthObject, lastEventGeneration: number | undefined): TriggerAuthAction {
  const finalizers = obj.metadata?.finalizers ?? [];
  const has = finalizers.includes(KEDA_FINALIZER);
  if (obj.metadata?.deletionTimestamp)
    return has ? { kind: 'removeFinalizer', event: { reason: `${kind}Deleted`, note: `${kind} was deleted` } } : { kind: 'none' };
  const generation = obj.metadata?.generation ?? 0;
  const event =
    lastEventGeneration === generation
      ? undefined
      : generation <= 1
        ? { reason: `${kind}Added`, note: `New ${kind} configured` }
        : {
            reason: kind === 'TriggerAuthentication' ? EventReason.TriggerAuthenticationUpdated : EventReason.ClusterTriggerAuthenticationUpdated,
            note: `${kind} updated`,
          };
  if (!has) return { kind: 'addFinalizer', event: event ?? { reason: '', note: '' } };
  return event ? { kind: 'event', event } : { kind: 'none' };
}

/**
 * The TriggerAuthentication and ClusterTriggerAuthentication controllers: the `finalizer.keda.sh`
 * finalizer and the Added / Updated / Deleted events, on generation changes and deletion.
 */
export class TriggerAuthController implements ManagedController {
  readonly name = 'TriggerAuthentication';
  private readonly queue: WorkQueue;
  private readonly emitted = new Map<string, number>();

  constructor(
    private readonly deps: {
      client: KubeClient;
      events: EventRecorder;
      logger: Logger;
      triggerAuthentications: Watched<TriggerAuthentication>[];
      clusterTriggerAuthentications: Watched<ClusterTriggerAuthentication>;
    },
  ) {
    this.queue = new WorkQueue((key) => this.reconcile(key), {
      concurrency: 1,
      baseBackoffMs: 200,
      maxBackoffMs: 60_000,
      onError: (key, err, retryInMs) => deps.logger.warn({ key, err: err instanceof Error ? err.message : String(err), retryInMs }, 'trigger authentication reconcile failed; retrying'),
    });
    const enqueue = (kind: AuthKind) => (type: string, obj: AuthObject, old: AuthObject | undefined) => {
      const key = `${kind}/${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
      if (type === 'delete') {
        this.emitted.delete(key);
        return;
      }
      // GenerationChangedPredicate, plus the start of a deletion (which only sets deletionTimestamp).
      if (
        type === 'add' ||
        old?.metadata?.generation !== obj.metadata?.generation ||
        Boolean(old?.metadata?.deletionTimestamp) !== Boolean(obj.metadata?.deletionTimestamp)
      )
        this.queue.add(key);
    };
    for (const w of deps.triggerAuthentications) w.on(enqueue('TriggerAuthentication'));
    deps.clusterTriggerAuthentications.on(enqueue('ClusterTriggerAuthentication'));
  }

  private get(kind: AuthKind, namespace: string, name: string): AuthObject | undefined {
    if (kind === 'ClusterTriggerAuthentication') return this.deps.clusterTriggerAuthentications.get(name);
    for (const w of this.deps.triggerAuthentications) {
      const obj = w.get(name, namespace);
      if (obj) return obj;
    }
    return undefined;
  }

  private async reconcile(key: string): Promise<void> {
    const [kind, namespace, name] = key.split('/') as [AuthKind, string, string];
    const obj = this.get(kind, namespace, name);
    if (!obj) return;
    const action = triggerAuthAction(kind, obj, this.emitted.get(key));
    if (action.kind === 'none') return;
    const path = kind === 'ClusterTriggerAuthentication'
      ? `/apis/${API_GROUP}/${API_VERSION}/clustertriggerauthentications/${encodeURIComponent(name)}`
      : `/apis/${API_GROUP}/${API_VERSION}/namespaces/${encodeURIComponent(namespace)}/triggerauthentications/${encodeURIComponent(name)}`;
    const finalizers = obj.metadata?.finalizers ?? [];
    if (action.kind === 'addFinalizer' || action.kind === 'removeFinalizer') {
      const next = action.kind === 'addFinalizer' ? [...finalizers, KEDA_FINALIZER] : finalizers.filter((f) => f !== KEDA_FINALIZER);
      try {
        // resourceVersion makes the list update optimistic: a conflict retries with the fresh object.
        await this.deps.client.patch(path, { metadata: { finalizers: next, resourceVersion: obj.metadata?.resourceVersion } });
      } catch (err) {
        if (isNotFound(err)) return;
        throw err;
      }
    }
    if (action.event.reason) {
      this.deps.events.emit({ apiVersion: `${API_GROUP}/${API_VERSION}`, kind, metadata: obj.metadata }, { type: 'Normal', ...action.event });
      this.emitted.set(key, obj.metadata?.generation ?? 0);
    }
  }

  async stop(): Promise<void> {
    await this.queue.stop();
  }
}
