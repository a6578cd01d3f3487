import { isIP } from 'node:net';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '@keda-ts/runtime';
import { Watched } from './informer';
import { isConflict, isNotFound, resourcePath, type KubeClient } from './kube-client';

/**
 * The leader's own EndpointSlice for a selectorless Service: with several controller replicas,
 * the Service that the metrics adapter dials must lead only to the replica that leads (the others
 * do not serve gRPC). The leader writes one EndpointSlice with its Pod IP, ready, and keeps it so;
 * when it stops leading it marks the endpoint not ready, only while the slice still names it.
 */

/** `discovery.k8s.io/v1` EndpointSlice, the fields this module reads and writes. */
export interface EndpointSlice {
  apiVersion: 'discovery.k8s.io/v1';
  kind: 'EndpointSlice';
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerReference[];
    resourceVersion?: string;
    uid?: string;
  };
  addressType: 'IPv4' | 'IPv6' | 'FQDN';
  endpoints: Endpoint[] | null;
  ports?: EndpointPort[] | null;
}

export interface Endpoint {
  addresses: string[];
  conditions?: { ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null };
  targetRef?: { kind?: string; name?: string; namespace?: string; uid?: string };
  nodeName?: string | null;
}

export interface EndpointPort {
  name?: string;
  port?: number;
  protocol?: string;
  appProtocol?: string;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** The label kube-proxy (and every Service proxy) finds a Service's slices by. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
/** Tells the EndpointSlice controller that the slice is someone else's (it leaves it alone). */
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
/** The leader election identity of the replica the slice names: step-down edits only its own slice. */
export const HOLDER_ANNOTATION = 'keda-ts.dev/leader-identity';
export const DEFAULT_MANAGED_BY = 'keda-ts-controller';

/** Everything that describes this replica's endpoint. */
export interface LeaderEndpointSpec {
  namespace: string;
  /** The selectorless Service, e.g. keda-operator. */
  serviceName: string;
  /** Default `<serviceName>-leader`. */
  sliceName?: string;
  /** Value of endpointslice.kubernetes.io/managed-by (default keda-ts-controller). */
  managedBy?: string;
  /** This Pod's IP (the downward API's status.podIP). */
  podIP: string;
  podName?: string;
  nodeName?: string;
  /** The leader election identity (unique per process). */
  identity: string;
  /** Named ports as the Service names them, e.g. metricsservice 9666 (and metrics 8080). */
  ports: EndpointPort[];
}

/**
 * What this replica's endpoint is: `serving` while it leads and its gRPC server listens (ready),
 * `not-ready` after it stopped leading, `terminating` while it shuts down.
 */
export type LeaderEndpointState = 'serving' | 'not-ready' | 'terminating';

export function sliceNameOf(spec: Pick<LeaderEndpointSpec, 'serviceName' | 'sliceName'>): string {
  return spec.sliceName || `${spec.serviceName}-leader`;
}

/** Why the spec cannot be published, or [] (checked before anything starts). */
export function checkLeaderEndpointSpec(spec: LeaderEndpointSpec): string[] {
  const problems: string[] = [];
  if (!spec.serviceName) problems.push('the Service name is empty');
  if (!isIP(spec.podIP)) problems.push(`the pod IP ${JSON.stringify(spec.podIP)} is not an IP address`);
  if (!spec.identity) problems.push('the leader election identity is empty');
  if (spec.ports.length === 0) problems.push('no port to publish');
  for (const p of spec.ports) {
    if (!p.name) problems.push('a port without a name (the Service matches ports by name)');
    if (!(typeof p.port === 'number' && Number.isInteger(p.port) && p.port > 0 && p.port < 65536)) {
      problems.push(`port ${p.name ?? '?'}: ${p.port} is not a port number`);
    }
  }
  return problems;
}

/** The slice this replica wants, for its state. `owner`: the Service, when known, so deleting it removes the slice. */
export function desiredLeaderEndpointSlice(spec: LeaderEndpointSpec, state: LeaderEndpointState, owner?: { uid: string }): EndpointSlice {
  const serving = state === 'serving';
  const endpoint: Endpoint = {
    addresses: [spec.podIP],
    conditions: { ready: serving, serving, terminating: state === 'terminating' },
  };
  if (spec.podName) endpoint.targetRef = { kind: 'Pod', name: spec.podName, namespace: spec.namespace };
  if (spec.nodeName) endpoint.nodeName = spec.nodeName;
  const slice: EndpointSlice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: sliceNameOf(spec),
      namespace: spec.namespace,
      labels: { [SERVICE_NAME_LABEL]: spec.serviceName, [MANAGED_BY_LABEL]: spec.managedBy || DEFAULT_MANAGED_BY },
      annotations: { [HOLDER_ANNOTATION]: spec.identity },
    },
    addressType: isIP(spec.podIP) === 6 ? 'IPv6' : 'IPv4',
    endpoints: [endpoint],
    ports: spec.ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol ?? 'TCP', ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) })),
  };
  if (owner) {
    slice.metadata.ownerReferences = [
      { apiVersion: 'v1', kind: 'Service', name: spec.serviceName, uid: owner.uid, controller: true, blockOwnerDeletion: true },
    ];
  }
  return slice;
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The API server fills protocol TCP and leaves absent conditions null: compare what is meant. */
function normalizedPorts(ports: EndpointPort[] | null | undefined): EndpointPort[] {
  return (ports ?? [])
    .map((p) => ({ name: p.name ?? '', port: p.port ?? 0, protocol: p.protocol ?? 'TCP', appProtocol: p.appProtocol ?? '' }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function normalizedEndpoints(endpoints: Endpoint[] | null | undefined): unknown[] {
  return (endpoints ?? []).map((e) => ({
    addresses: [...e.addresses].sort(),
    ready: e.conditions?.ready ?? true,
    serving: e.conditions?.serving ?? e.conditions?.ready ?? true,
    terminating: e.conditions?.terminating ?? false,
    targetRef: e.targetRef ? { kind: e.targetRef.kind, name: e.targetRef.name, namespace: e.targetRef.namespace } : null,
    nodeName: e.nodeName ?? null,
  }));
}

/**
 * How `current` differs from `desired` in what this replica owns (labels and annotation it sets,
 * owner, address type, endpoints, ports); [] when it is right. Other labels and annotations are
 * left alone.
 */
export function endpointSliceDrift(current: EndpointSlice, desired: EndpointSlice): string[] {
  const drift: string[] = [];
  for (const [k, v] of Object.entries(desired.metadata.labels ?? {})) {
    if (current.metadata.labels?.[k] !== v) drift.push(`label ${k}`);
  }
  for (const [k, v] of Object.entries(desired.metadata.annotations ?? {})) {
    if (current.metadata.annotations?.[k] !== v) drift.push(`annotation ${k}`);
  }
  if (desired.metadata.ownerReferences && !sameJson(current.metadata.ownerReferences ?? [], desired.metadata.ownerReferences)) drift.push('ownerReferences');
  if (current.addressType !== desired.addressType) drift.push('addressType');
  if (!sameJson(normalizedEndpoints(current.endpoints), normalizedEndpoints(desired.endpoints))) drift.push('endpoints');
  if (!sameJson(normalizedPorts(current.ports), normalizedPorts(desired.ports))) drift.push('ports');
  return drift;
}

/** `desired` written over `current`: keeps its resourceVersion (the write is a compare-and-swap) and others' labels and annotations. */
export function mergeOver(current: EndpointSlice, desired: EndpointSlice): EndpointSlice {
  return {
    ...desired,
    metadata: {
      ...current.metadata,
      labels: { ...current.metadata.labels, ...desired.metadata.labels },
      annotations: { ...current.metadata.annotations, ...desired.metadata.annotations },
      ownerReferences: desired.metadata.ownerReferences ?? current.metadata.ownerReferences,
    },
  };
}

/**
 * The step-down edit: when `current` is still this replica's (same identity, its address), the
 * slice with its endpoint not ready (terminating on shutdown); otherwise undefined: a successor's
 * slice is never touched.
 */
export function stepDownEdit(current: EndpointSlice | undefined, spec: LeaderEndpointSpec, state: Exclude<LeaderEndpointState, 'serving'>): EndpointSlice | undefined {
  if (!current) return undefined;
  if (current.metadata.annotations?.[HOLDER_ANNOTATION] !== spec.identity) return undefined;
  if (!(current.endpoints ?? []).some((e) => e.addresses.includes(spec.podIP))) return undefined;
  const desired = desiredLeaderEndpointSlice(spec, state);
  if (endpointSliceDrift(current, { ...desired, metadata: { ...desired.metadata, ownerReferences: undefined } }).length === 0) return undefined;
  return { ...current, endpoints: desired.endpoints };
}

const endpointSlices = { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices' };
const services = { group: '', version: 'v1', resource: 'services' };

export interface LeaderEndpointSliceOptions {
  client: KubeClient;
  kubeConfig: KubeConfig;
  logger: Logger;
  spec: LeaderEndpointSpec;
  /** While serving: read and correct the slice this often besides the watch (default 30 s). */
  resyncMs?: number;
  /** After a failed write: retry this soon (default 1 s, doubling to 30 s). */
  retryMs?: number;
  /** Watch the slice while serving (default true; unit tests rely on the resync instead). */
  watch?: boolean;
}

/**
 * Keeps the leader's EndpointSlice: `set(true)` (leading and serving gRPC) creates or corrects it
 * with this replica ready, then watches it and re-creates it when deleted or puts it right when
 * changed (and checks it every resyncMs); `set(false)` stops that and marks the endpoint not ready
 * if the slice is still this replica's; `stop()` marks it terminating and ends everything. Calls
 * are serialized, the latest wins.
 */
export class LeaderEndpointSlice {
  private readonly spec: LeaderEndpointSpec;
  private readonly name: string;
  private wanted = false;
  private serving = false;
  private stopped = false;
  private chain: Promise<void> = Promise.resolve();
  private watch?: Watched<EndpointSlice>;
  private timer?: NodeJS.Timeout;
  private failures = 0;
  private ownerWarned = false;

  constructor(private readonly options: LeaderEndpointSliceOptions) {
    const problems = checkLeaderEndpointSpec(options.spec);
    if (problems.length) throw new Error(`cannot publish the leader's EndpointSlice: ${problems.join('; ')}`);
    this.spec = options.spec;
    this.name = sliceNameOf(options.spec);
  }

  get sliceName(): string {
    return this.name;
  }

  /** Whether the slice was last written with this replica ready (and is being kept so). */
  get isServing(): boolean {
    return this.serving;
  }

  private get path(): string {
    return resourcePath(endpointSlices, this.spec.namespace, this.name);
  }

  private get log() {
    return { endpointSlice: `${this.spec.namespace}/${this.name}`, address: this.spec.podIP };
  }

  /** Resolves once the slice matches the wish (or the attempt failed and a retry is scheduled). */
  set(leadingAndServing: boolean): Promise<void> {
    if (this.stopped) return this.chain;
    this.wanted = leadingAndServing;
    return this.enqueue(() => this.converge());
  }

  /** Shutdown: marks this replica's endpoint terminating (if the slice is still its own) and stops. */
  stop(): Promise<void> {
    if (this.stopped) return this.chain;
    this.stopped = true;
    this.wanted = false;
    return this.enqueue(async () => {
      await this.stopKeeping();
      await this.stepDown('terminating');
    });
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(step).catch((err: unknown) => {
      this.options.logger.error({ ...this.log, err: err instanceof Error ? err.message : String(err) }, 'leader EndpointSlice step failed');
    });
    return this.chain;
  }

  private async converge(): Promise<void> {
    if (this.stopped) return;
    if (this.wanted) {
      this.startKeeping();
      await this.reconcile();
      return;
    }
    if (!this.serving && !this.watch) return;
    await this.stopKeeping();
    await this.stepDown('not-ready');
  }

  /** One pass while serving: create, or correct drift. Schedules a retry on failure. */
  private async reconcile(): Promise<void> {
    if (!this.wanted || this.stopped) return;
    clearTimeout(this.timer);
    try {
      const owner = await this.serviceOwner();
      const desired = desiredLeaderEndpointSlice(this.spec, 'serving', owner);
      const current = await this.read();
      if (!current) {
        await this.options.client.create(resourcePath(endpointSlices, this.spec.namespace), desired);
        this.options.logger.info(this.log, 'created the leader EndpointSlice');
      } else {
        const drift = endpointSliceDrift(current, desired);
        if (drift.length) {
          await this.options.client.replace(this.path, mergeOver(current, desired));
          this.options.logger.info({ ...this.log, drift }, 'put the leader EndpointSlice right');
        }
      }
      this.serving = true;
      this.failures = 0;
      this.schedule(this.options.resyncMs ?? 30_000);
    } catch (err) {
      this.failures++;
      const delay = Math.min(30_000, (this.options.retryMs ?? 1_000) * 2 ** Math.min(this.failures - 1, 5));
      this.options.logger.warn({ ...this.log, err: err instanceof Error ? err.message : String(err), retryInMs: delay }, isConflict(err) ? 'leader EndpointSlice changed while writing it' : 'writing the leader EndpointSlice failed');
      this.schedule(isConflict(err) ? 0 : delay);
    }
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    if (!this.wanted || this.stopped) return;
    this.timer = setTimeout(() => void this.enqueue(() => this.reconcile()), ms);
    this.timer.unref?.();
  }

  private async read(): Promise<EndpointSlice | undefined> {
    try {
      return await this.options.client.get<EndpointSlice>(this.path);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** The Service's uid for the ownerReference; undefined (logged once) when it cannot be read. */
  private async serviceOwner(): Promise<{ uid: string } | undefined> {
    try {
      const svc = await this.options.client.get<{ metadata?: { uid?: string } }>(resourcePath(services, this.spec.namespace, this.spec.serviceName));
      return svc.metadata?.uid ? { uid: svc.metadata.uid } : undefined;
    } catch (err) {
      if (!this.ownerWarned) {
        this.ownerWarned = true;
        this.options.logger.warn(
          { ...this.log, service: this.spec.serviceName, err: err instanceof Error ? err.message : String(err) },
          'cannot read the Service: the leader EndpointSlice is written without an owner (it stays when the Service is deleted)',
        );
      }
      return undefined;
    }
  }

  /** Watches the slice while serving: any change or deletion by someone else triggers a reconcile. */
  private startKeeping(): void {
    if (this.watch || this.options.watch === false) return;
    const watch = new Watched<EndpointSlice>(this.options.kubeConfig, this.options.client, {
      path: resourcePath(endpointSlices, this.spec.namespace),
      fieldSelector: `metadata.name=${this.name}`,
      logger: this.options.logger,
    });
    watch.on(() => {
      if (this.wanted && !this.stopped) this.schedule(0);
    });
    this.watch = watch;
    void watch.start().catch((err: unknown) => this.options.logger.warn({ ...this.log, err: err instanceof Error ? err.message : String(err) }, 'watching the leader EndpointSlice failed'));
  }

  private async stopKeeping(): Promise<void> {
    clearTimeout(this.timer);
    const watch = this.watch;
    this.watch = undefined;
    await watch?.stop();
  }

  /** Marks this replica's endpoint not ready or terminating, only while the slice is still its own. */
  private async stepDown(state: Exclude<LeaderEndpointState, 'serving'>): Promise<void> {
    const wasServing = this.serving;
    this.serving = false;
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        const edit = stepDownEdit(await this.read(), this.spec, state);
        if (!edit) return;
        await this.options.client.replace(this.path, edit);
        this.options.logger.info({ ...this.log, state }, 'marked this replica not ready in the leader EndpointSlice');
        return;
      } catch (err) {
        if (isConflict(err) && attempt < 3) continue;
        this.options.logger.warn(
          { ...this.log, wasServing, err: err instanceof Error ? err.message : String(err) },
          'could not mark this replica not ready in the leader EndpointSlice; the next leader replaces it',
        );
        return;
      }
    }
  }
}
