import * as net from 'node:net';
import * as k8s from '@kubernetes/client-node';

/** One ready endpoint of the proxied port. */
export interface ProxyEndpoint {
  address: string;
  port: number;
}

/** What the proxy did with one accepted connection. */
export interface ProxiedConnection {
  at: number;
  /** undefined: no ready endpoint, the connection was closed at once (as kube-proxy rejects). */
  endpoint?: string;
  /** The endpoint refused or failed before the connection was established. */
  failed?: string;
  /** Closed by the proxy because its endpoint left the ready set. */
  evicted?: boolean;
}

export interface LoopbackServiceProxyOptions {
  kubeConfig: k8s.KubeConfig;
  namespace: string;
  /** The Service whose EndpointSlices (label kubernetes.io/service-name) are followed. */
  serviceName: string;
  /** The Service port's name, e.g. metricsservice: the slice port of that name gives the target port. */
  portName: string;
  /** Listen address (default 127.0.0.1) and port (default: any free one). */
  host?: string;
  port?: number;
  /**
   * The Pod network: where each Pod IP is reached on this machine (e.g. 192.0.2.2 -> 127.0.0.2). The API
   * server refuses loopback addresses in EndpointSlices, so Pods get IPs of their own that the proxy
   * translates, as a CNI would route them. Only 127.0.0.0/8 is ever dialled: an endpoint without a
   * loopback translation is refused.
   */
  podNetwork?: Record<string, string>;
  /** Called on every change of the ready set. */
  onChange?: (endpoints: ProxyEndpoint[]) => void;
}

const key = (e: ProxyEndpoint) => `${e.address}:${e.port}`;

/**
 * A loopback stand-in for kube-proxy for one Service port, since the local control plane has no
 * Service network: it watches the Service's EndpointSlices through the API server and forwards each
 * TCP connection accepted on 127.0.0.1:<port> to a ready endpoint (ready unset counts as ready, as in
 * kube-proxy). New connections go to the current endpoints; with none, a connection is closed at once
 * (kube-proxy rejects); connections to an endpoint that left the ready set are closed.
 */
export class LoopbackServiceProxy {
  private readonly server: net.Server;
  private readonly slices = new Map<string, k8s.V1EndpointSlice>();
  private ready: ProxyEndpoint[] = [];
  private readonly open = new Map<string, Set<{ client: net.Socket; upstream: net.Socket; record: ProxiedConnection }>>();
  private informer?: k8s.Informer<k8s.V1EndpointSlice> & k8s.ObjectCache<k8s.V1EndpointSlice>;
  private next = 0;
  private stopped = false;
  readonly connections: ProxiedConnection[] = [];
  /** Every change of the ready set, with its time (epoch ms). */
  readonly history: { at: number; endpoints: string[] }[] = [];

  constructor(private readonly options: LoopbackServiceProxyOptions) {
    this.server = net.createServer((client) => this.accept(client));
  }

  get endpoints(): ProxyEndpoint[] {
    return [...this.ready];
  }

  get address(): string {
    const a = this.server.address() as net.AddressInfo;
    return `${a.address}:${a.port}`;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  async start(): Promise<void> {
    const { kubeConfig, namespace, serviceName } = this.options;
    const discovery = kubeConfig.makeApiClient(k8s.DiscoveryV1Api);
    const labelSelector = `kubernetes.io/service-name=${serviceName}`;
    const informer = k8s.makeInformer<k8s.V1EndpointSlice>(
      kubeConfig,
      `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`,
      () => discovery.listNamespacedEndpointSlice({ namespace, labelSelector }),
      labelSelector,
    );
    const put = (s: k8s.V1EndpointSlice) => {
      this.slices.set(s.metadata?.name ?? '', s);
      this.recompute();
    };
    informer.on('add', put);
    informer.on('update', put);
    informer.on('delete', (s) => {
      this.slices.delete(s.metadata?.name ?? '');
      this.recompute();
    });
    informer.on('error', () => {
      // client-node stops on error: start again shortly, as an informer's reflector would.
      if (!this.stopped) setTimeout(() => void informer.start().catch(() => undefined), 500).unref();
    });
    this.informer = informer;
    await informer.start();
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => resolve());
    });
  }

  private recompute(): void {
    const next: ProxyEndpoint[] = [];
    for (const slice of this.slices.values()) {
      const port = slice.ports?.find((p) => (p.name ?? '') === this.options.portName)?.port;
      if (!port) continue;
      for (const e of slice.endpoints ?? []) {
        if (e.conditions?.ready === false) continue;
        for (const address of e.addresses) next.push({ address, port });
      }
    }
    next.sort((a, b) => key(a).localeCompare(key(b)));
    if (next.map(key).join() === this.ready.map(key).join()) return;
    this.ready = next;
    this.history.push({ at: Date.now(), endpoints: next.map(key) });
    // Connections to endpoints that left are closed; their clients reconnect to the current ones.
    const still = new Set(next.map(key));
    for (const [endpoint, conns] of this.open) {
      if (still.has(endpoint)) continue;
      for (const c of conns) {
        c.record.evicted = true;
        c.upstream.destroy();
        c.client.destroy();
      }
      this.open.delete(endpoint);
    }
    this.options.onChange?.(next);
  }

  private accept(client: net.Socket): void {
    const record: ProxiedConnection = { at: Date.now() };
    this.connections.push(record);
    client.on('error', () => undefined);
    if (this.ready.length === 0) {
      client.destroy();
      return;
    }
    const target = this.ready[this.next++ % this.ready.length];
    const endpoint = key(target);
    record.endpoint = endpoint;
    const local = this.options.podNetwork?.[target.address] ?? target.address;
    if (!/^127\.\d+\.\d+\.\d+$/.test(local)) {
      record.failed = `${target.address} is not reachable on this machine (no loopback translation)`;
      client.destroy();
      return;
    }
    const upstream = net.connect(target.port, local);
    const entry = { client, upstream, record };
    const conns = this.open.get(endpoint) ?? new Set();
    conns.add(entry);
    this.open.set(endpoint, conns);
    const forget = () => {
      conns.delete(entry);
      client.destroy();
      upstream.destroy();
    };
    let connected = false;
    upstream.once('connect', () => (connected = true));
    upstream.on('error', (err) => {
      if (!connected) record.failed = err.message;
      forget();
    });
    upstream.on('close', forget);
    client.on('close', forget);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.informer?.stop();
    for (const conns of this.open.values()) for (const c of conns) {
      c.upstream.destroy();
      c.client.destroy();
    }
    this.open.clear();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
