/**
 * KEDA's CloudEvent emitter (pkg/eventemitter): watches CloudEventSources and ClusterCloudEventSources,
 * receives every Event the controller emits (EventRecorder listener), turns the lifecycle ones into
 * CloudEvents and hands them to one {@link Sink} per source. `observe` is synchronous and cheap: it
 * is called on the reconcile path and never waits for a sink.
 */
import { randomUUID } from 'node:crypto';
import {
  CloudEventSourceCondition,
  EVENTING_API_GROUP,
  EVENTING_RESOURCES,
  type CloudEventSource,
  type ClusterCloudEventSource,
  type CloudEventSourceSpec,
  type Condition,
  type EventingKind,
} from '@keda-ts/api';
import { InformerGroup, type EventSubject, type KubeClient, type ManagedController, type RecordedEvent } from '@keda-ts/k8s';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '@keda-ts/runtime';
import type { EgressPolicy } from '@keda-ts/scalers';
import { isDeepStrictEqual } from 'node:util';
import { cloudEventTypeOf, eventFilter, toCloudEvent, type EventOccurrence } from './event-types';
import { hostOf, parseSinkUrl, Sink, type DeliveryOptions, type SinkCallbacks, type SinkKind } from './sink';

/** What the emitter reports to Prometheus (KEDA's names; see KedaOperatorMetrics). */
export interface CloudEventMetrics {
  cloudEventEmitted(namespace: string, cloudEventSource: string, eventSink: string, state: 'emitted' | 'failed'): void;
  cloudEventQueued(namespace: string, queued: number): void;
  resourceRegistered?(resource: 'cloudevent_source', namespace: string, delta: 1 | -1): void;
}

export interface CloudEventEmitterOptions {
  kubeConfig: KubeConfig;
  /** Patches the sources' status (and lists/watches them when no shared informers are given). */
  client: KubeClient;
  /** The process's shared informers (the controller manager's); absent: its own, started and stopped with it. */
  informers?: InformerGroup;
  logger: Logger;
  /** --k8s-cluster-name (KEDA's default kubernetes-default); a source's spec.clusterName wins. */
  clusterName?: string;
  /** Namespaces whose CloudEventSources are watched; empty: all. */
  watchNamespaces?: string[];
  /** The scalers' egress policy: every sink connection goes through it. */
  egress?: EgressPolicy;
  metrics?: CloudEventMetrics;
  /** Status is written only by the leader. */
  isLeading?: () => boolean;
  /** The parameters of a (Cluster)TriggerAuthentication (azureEventGridTopic reads accessKey). */
  resolveAuth?: (namespace: string, ref: { name: string; kind?: string }) => Promise<Record<string, string>>;
  delivery?: Partial<DeliveryOptions>;
  /** CloudEvents waiting in all queues together; beyond it a new event is dropped as failed (default 10 000). */
  maxTotalQueued?: number;
  now?: () => Date;
}

type AnySource = CloudEventSource | ClusterCloudEventSource;

interface Entry {
  kind: EventingKind;
  namespace: string;
  name: string;
  spec: CloudEventSourceSpec;
  clusterName: string;
  accepts: (type: string) => boolean;
  sink?: Sink;
  /** The Active condition last written (or read), so only transitions are written. */
  active?: { status: string; reason: string };
  statusWrite: Promise<void>;
}

export const DEFAULT_CLUSTER_NAME = 'kubernetes-default';

const sourceKey = (kind: EventingKind, namespace: string, name: string) => `${kind}/${namespace}/${name}`;

export class CloudEventEmitter implements ManagedController {
  readonly name = 'CloudEventSource';
  /** Informers of its own, when no shared group was given. */
  private readonly ownInformers?: InformerGroup;
  private readonly entries = new Map<string, Entry>();
  private readonly queuedByNamespace = new Map<string, number>();
  private totalQueued = 0;
  private readonly logger: Logger;
  private readonly clusterName: string;
  private readonly now: () => Date;

  constructor(private readonly options: CloudEventEmitterOptions) {
    this.logger = options.logger.child({ subsystem: 'cloudevents' });
    this.clusterName = options.clusterName || DEFAULT_CLUSTER_NAME;
    this.now = options.now ?? (() => new Date());
    const namespaces = options.watchNamespaces?.length ? options.watchNamespaces : [''];
    const base = `/apis/${EVENTING_API_GROUP}/v1alpha1`;
    const group = options.informers ?? (this.ownInformers = new InformerGroup(options.kubeConfig, options.client, options.logger));
    for (const ns of namespaces) {
      const path = ns ? `${base}/namespaces/${ns}/cloudeventsources` : `${base}/cloudeventsources`;
      this.watch(group, 'CloudEventSource', path);
    }
    this.watch(group, 'ClusterCloudEventSource', `${base}/clustercloudeventsources`);
  }

  private watch(group: InformerGroup, kind: EventingKind, path: string): void {
    group.watch<AnySource>({ path }).on((type, obj, old) => {
      if (type === 'delete') this.remove(kind, obj);
      else this.upsert(kind, obj, old);
    });
  }

  /** Starts its own informers; with a shared group, the group's owner starts them. */
  async start(): Promise<void> {
    await this.ownInformers?.start();
  }

  async stop(): Promise<void> {
    await this.ownInformers?.stop();
    for (const e of this.entries.values()) e.sink?.close();
    this.entries.clear();
  }

  /** Sources known (for tests and the debug view). */
  get sources(): number {
    return this.entries.size;
  }

  /**
   * The EventRecorder listener: every Event the controller emits. Synchronous and non-blocking;
   * the Events that are not KEDA CloudEvents return at the first map lookup.
   */
  observe(regarding: EventSubject, event: RecordedEvent): void {
    if (this.entries.size === 0) return;
    const type = cloudEventTypeOf(regarding.kind, event.reason);
    if (!type) return;
    const namespace = regarding.metadata?.namespace ?? '';
    const occurrence: EventOccurrence = {
      namespace,
      objectType: (regarding.kind ?? '').toLowerCase(),
      objectName: (regarding.metadata?.name ?? '').toLowerCase(),
      type,
      reason: event.reason,
      message: event.note,
      time: this.now(),
    };
    const cap = this.options.maxTotalQueued ?? 10_000;
    for (const e of this.entries.values()) {
      if (!e.sink) continue;
      if (e.kind === 'CloudEventSource' && e.namespace !== namespace) continue;
      if (!e.accepts(type)) continue;
      // Many sources (or sinks that are all down) cost at most `cap` queued events in all.
      if (this.totalQueued >= cap) {
        this.options.metrics?.cloudEventEmitted(e.namespace, e.name, e.sink.kind, 'failed');
        continue;
      }
      e.sink.enqueue(toCloudEvent(e.clusterName, occurrence, randomUUID()));
    }
  }

  private upsert(kind: EventingKind, obj: AnySource, old: AnySource | undefined): void {
    const namespace = kind === 'CloudEventSource' ? (obj.metadata?.namespace ?? '') : '';
    const name = obj.metadata?.name ?? '';
    const key = sourceKey(kind, namespace, name);
    const existing = this.entries.get(key);
    const spec = obj.spec ?? ({ destination: {} } as CloudEventSourceSpec);
    const activeNow = obj.status?.conditions?.find((c) => c.type === 'Active');
    if (existing && old && isDeepStrictEqual(existing.spec, spec)) {
      // A status write (ours or another's): remember what is there.
      existing.active = activeNow ? { status: activeNow.status, reason: activeNow.reason ?? '' } : undefined;
      return;
    }
    existing?.sink?.close();
    if (!existing && kind === 'CloudEventSource') this.options.metrics?.resourceRegistered?.('cloudevent_source', namespace, 1);
    const entry: Entry = {
      kind,
      namespace,
      name,
      spec: structuredClone(spec),
      clusterName: spec.clusterName || this.clusterName,
      accepts: eventFilter(spec.eventSubscription),
      active: activeNow ? { status: activeNow.status, reason: activeNow.reason ?? '' } : undefined,
      statusWrite: existing?.statusWrite ?? Promise.resolve(),
    };
    this.entries.set(key, entry);
    const built = this.buildSink(entry);
    if (typeof built === 'string') {
      this.logger.warn({ kind, namespace, name, error: built }, 'CloudEventSource destination refused: no event is sent to it');
      this.setActive(entry, false);
      return;
    }
    entry.sink = built;
    if (built.refused) {
      this.logger.warn({ kind, namespace, name, host: hostOf(parseSinkUrl(spec.destination?.http?.uri ?? spec.destination?.azureEventGridTopic?.endpoint) as URL), error: built.refused }, 'CloudEventSource destination refused by the egress policy: no event is sent to it');
      this.setActive(entry, false);
      return;
    }
    this.logger.info({ kind, namespace, name, sink: built.kind }, 'CloudEventSource handler created');
    this.setActive(entry, true);
  }

  private remove(kind: EventingKind, obj: AnySource): void {
    const namespace = kind === 'CloudEventSource' ? (obj.metadata?.namespace ?? '') : '';
    const key = sourceKey(kind, namespace, obj.metadata?.name ?? '');
    const entry = this.entries.get(key);
    if (!entry) return;
    entry.sink?.close();
    this.entries.delete(key);
    if (kind === 'CloudEventSource') this.options.metrics?.resourceRegistered?.('cloudevent_source', namespace, -1);
    this.logger.info({ kind, namespace, name: entry.name }, 'CloudEventSource removed');
  }

  /** The sink of an entry, or why there is none. */
  private buildSink(entry: Entry): Sink | string {
    const d = entry.spec.destination ?? {};
    const kinds = [d.http ? 'http' : undefined, d.azureEventGridTopic ? 'azureEventGridTopic' : undefined].filter(Boolean) as SinkKind[];
    if (kinds.length === 0) return 'no destination is defined';
    // KEDA uses the http destination when both are set.
    const sinkKind = kinds[0];
    const url = parseSinkUrl(sinkKind === 'http' ? d.http?.uri : d.azureEventGridTopic?.endpoint);
    if (typeof url === 'string') return `invalid destination: ${url}`;
    const metricsNamespace = entry.namespace;
    const metrics = this.options.metrics;
    const callbacks: SinkCallbacks = {
      emitted: () => metrics?.cloudEventEmitted(metricsNamespace, entry.name, sinkKind, 'emitted'),
      failed: () => metrics?.cloudEventEmitted(metricsNamespace, entry.name, sinkKind, 'failed'),
      queueChanged: (delta) => {
        this.totalQueued = Math.max(0, this.totalQueued + delta);
        const n = Math.max(0, (this.queuedByNamespace.get(metricsNamespace) ?? 0) + delta);
        this.queuedByNamespace.set(metricsNamespace, n);
        metrics?.cloudEventQueued(metricsNamespace, n);
      },
      healthy: () => {
        this.logger.info({ kind: entry.kind, namespace: entry.namespace, name: entry.name, host: hostOf(url) }, 'CloudEvent sink reachable again');
        this.setActive(entry, true);
      },
      failing: (error) => {
        this.logger.warn({ kind: entry.kind, namespace: entry.namespace, name: entry.name, host: hostOf(url), error }, 'failed to send CloudEvents to the sink');
        this.setActive(entry, false);
      },
    };
    let headers: (() => Promise<Record<string, string>>) | undefined;
    if (sinkKind === 'azureEventGridTopic') {
      const ref = entry.spec.authenticationRef;
      const resolve = this.options.resolveAuth;
      headers = async () => {
        if (!ref?.name || !resolve) throw new Error('azureEventGridTopic needs an authenticationRef with accessKey');
        const params = await resolve(entry.namespace, ref);
        const key = params['accessKey'];
        if (!key) throw new Error(`authenticationRef ${ref.name} has no accessKey parameter`);
        return { 'aeg-sas-key': key };
      };
    }
    return new Sink({ kind: sinkKind, url, headers, egress: this.options.egress, options: this.options.delivery }, callbacks);
  }

  /** Writes the Active condition on a transition (leader only); a failed write is logged. */
  private setActive(entry: Entry, active: boolean): void {
    const want = active
      ? { status: 'True', reason: CloudEventSourceCondition.ActiveReason, message: CloudEventSourceCondition.ActiveMessage }
      : { status: 'False', reason: CloudEventSourceCondition.FailedReason, message: CloudEventSourceCondition.FailedMessage };
    if (entry.active?.status === want.status && entry.active.reason === want.reason) return;
    if (this.options.isLeading && !this.options.isLeading()) return;
    entry.active = { status: want.status, reason: want.reason };
    const info = EVENTING_RESOURCES[entry.kind];
    const path =
      entry.kind === 'CloudEventSource'
        ? `/apis/${EVENTING_API_GROUP}/v1alpha1/namespaces/${encodeURIComponent(entry.namespace)}/${info.plural}/${encodeURIComponent(entry.name)}/status`
        : `/apis/${EVENTING_API_GROUP}/v1alpha1/${info.plural}/${encodeURIComponent(entry.name)}/status`;
    const conditions: Condition[] = [{ type: 'Active', ...want }];
    entry.statusWrite = entry.statusWrite
      .then(() => this.options.client.patch(path, { status: { conditions } }))
      .then(
        () => undefined,
        (err: unknown) => {
          entry.active = undefined;
          this.logger.warn({ kind: entry.kind, namespace: entry.namespace, name: entry.name, err: err instanceof Error ? err.message : String(err) }, 'failed to update CloudEventSource status');
        },
      );
  }
}
