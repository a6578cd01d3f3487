import type { Logger } from '@keda-ts/runtime';
import type { KubeClient } from './kube-client';

export type EventType = 'Normal' | 'Warning';

/** The object an event is about (any Kubernetes object shape will do). */
export interface EventSubject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

export interface RecordedEvent {
  type: EventType;
  reason: string;
  /** What was done (events.k8s.io/v1 `action`); defaults to the reason. */
  action?: string;
  note: string;
}

/** MicroTime as the API server wants it: RFC 3339 with exactly six fractional digits. */
export function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/**
 * Writes events.k8s.io/v1 Events about objects. Fire-and-forget: a failed write is logged, never
 * thrown, so an event can not fail a reconcile.
 */
export class EventRecorder {
  constructor(
    private readonly client: KubeClient,
    private readonly logger: Logger,
    private readonly reportingController = 'keda-operator',
    private readonly reportingInstance = `keda-operator-${process.pid}`,
  ) {}

  emit(regarding: EventSubject, event: RecordedEvent): void {
    void this.write(regarding, event);
  }

  async write(regarding: EventSubject, event: RecordedEvent): Promise<void> {
    const namespace = regarding.metadata?.namespace || 'default';
    const name = regarding.metadata?.name ?? 'unknown';
    const body = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      // client-go's naming: <object>.<unique hex>; a generateName ending in "." is not valid.
      metadata: {
        name: `${name}.${Date.now().toString(16)}${Math.floor(Math.random() * 0xfffff).toString(16)}`,
        namespace,
      },
      eventTime: microTime(new Date()),
      reportingController: this.reportingController,
      reportingInstance: this.reportingInstance,
      type: event.type,
      reason: event.reason,
      action: event.action ?? event.reason,
      // The API limits note to 1 kB.
      note: event.note.length > 1024 ? `${event.note.slice(0, 1021)}...` : event.note,
      regarding: {
        apiVersion: regarding.apiVersion,
        kind: regarding.kind,
        name,
        namespace: regarding.metadata?.namespace,
        uid: regarding.metadata?.uid,
        resourceVersion: regarding.metadata?.resourceVersion,
      },
    };
    try {
      await this.client.create(
        `/apis/events.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/events`,
        body,
      );
    } catch (err) {
      this.logger.warn(
        { err: err instanceof Error ? err.message : String(err), reason: event.reason, namespace, name },
        'could not record event',
      );
    }
  }
}
