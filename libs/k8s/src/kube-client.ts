import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { TokenBucket } from './token-bucket';

/** An error answer of the API server: its HTTP status, the Status reason and message. */
/** `details` of a Kubernetes Status, as far as callers read it. */
export interface KubeStatusDetails {
  name?: string;
  kind?: string;
  causes?: { reason?: string; message?: string; field?: string }[];
}

export class KubeApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly reason: string,
    readonly apiMessage: string,
    /** The Status `details` of the response (e.g. `causes` with field paths of a 422 Invalid). */
    readonly details?: KubeStatusDetails,
  ) {
    super(
      `${method} ${path}: HTTP ${status}${reason ? ` ${reason}` : ''}${apiMessage ? `: ${apiMessage}` : ''}`,
    );
    this.name = 'KubeApiError';
  }
}

/** A write this process may not make now (e.g. it is not the leader); nothing was sent. */
export class WriteRefusedError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    reason: string,
  ) {
    super(`${method} ${path} not sent: ${reason}`);
    this.name = 'WriteRefusedError';
  }
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export const isNotFound = (err: unknown): boolean => err instanceof KubeApiError && err.status === 404;
export const isConflict = (err: unknown): boolean => err instanceof KubeApiError && err.status === 409;

export interface KubeClientOptions {
  /** Client-side rate limit (client-go's defaults for KEDA's operator: 20 QPS, burst 30). */
  qps?: number;
  burst?: number;
  /**
   * Requests allowed to wait for the rate limiter at once; beyond it a request rejects with
   * TokenBucketFullError (the caller sees it, nothing is dropped silently). Unbounded by default:
   * the controller's own requests are bounded by its reconcile and loop concurrency; the Events
   * client sets it, since Events are the one kind of request that may be shed.
   */
  maxQueuedRequests?: number;
  requestTimeoutMs?: number;
  /** Counts every request; for benchmarks ("API requests per reconcile"). */
  onRequest?: (method: string, path: string) => void;
  /**
   * Checked right before each write is sent (after the rate limiter): a string refuses it with a
   * WriteRefusedError naming that reason. Leader election fences the controller's writes this way.
   */
  refuseWrite?: () => string | undefined;
  /** User-Agent header, so the API server's audit log names the process. */
  userAgent?: string;
}

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';
const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

export interface GroupVersionResource {
  group: string;
  version: string;
  resource: string;
}

export interface ResolvedResource extends GroupVersionResource {
  kind: string;
  namespaced: boolean;
  /** True when the resource has a `/scale` subresource. */
  scalable: boolean;
}

/** `/api/v1` for the core group, `/apis/<group>/<version>` otherwise. */
export function groupVersionPath(group: string, version: string): string {
  return group ? `/apis/${group}/${version}` : `/api/${version}`;
}

export function resourcePath(
  gvr: GroupVersionResource,
  namespace: string | undefined,
  name?: string,
  subresource?: string,
): string {
  let p = groupVersionPath(gvr.group, gvr.version);
  if (namespace) p += `/namespaces/${encodeURIComponent(namespace)}`;
  p += `/${gvr.resource}`;
  if (name) p += `/${encodeURIComponent(name)}`;
  if (subresource) p += `/${subresource}`;
  return p;
}

/**
 * A small JSON client over the kubeconfig's credentials: one keep-alive connection pool, a token-
 * bucket rate limit, every verb and patch type, any path (so `/scale` of any group and discovery
 * work the same way). Errors are KubeApiError with the server's message.
 */
export class KubeClient {
  private readonly limiter: TokenBucket;
  private readonly server: URL;
  private agent?: https.Agent;
  private readonly discovery = new Map<string, Promise<ResolvedResource[]>>();
  private readonly requestTimeoutMs: number;

  constructor(
    readonly kubeConfig: KubeConfig,
    private readonly options: KubeClientOptions = {},
  ) {
    this.limiter = new TokenBucket(options.qps ?? 20, options.burst ?? 30, undefined, options.maxQueuedRequests);
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.server = new URL(cluster.server);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  }

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<T> {
    await this.limiter.take();
    if (WRITE_METHODS.has(method)) {
      const refused = this.options.refuseWrite?.();
      if (refused) throw new WriteRefusedError(method, path, refused);
    }
    this.options.onRequest?.(method, path);
    const opts: https.RequestOptions = {
      method,
      headers: { Accept: 'application/json', ...(this.options.userAgent ? { 'User-Agent': this.options.userAgent } : {}) },
    };
    await this.kubeConfig.applyToHTTPSOptions(opts);
    if (!this.agent) {
      // One keep-alive pool with the TLS settings applyToHTTPSOptions put on the request options
      // from the kubeconfig (CA, client certificate, skip-verify, server name).
      const { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername } = opts;
      this.agent = new https.Agent({ ca, cert, key, pfx, passphrase, rejectUnauthorized, servername, keepAlive: true, maxSockets: 32 });
    }
    const url = new URL(this.server.toString());
    const [pathname, query] = path.split('?');
    url.pathname = `${url.pathname.replace(/\/+$/, '')}${pathname}`;
    if (query) url.search = query;
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const headers: Record<string, string | number> = { ...(opts.headers as Record<string, string>) };
    if (payload !== undefined) {
      headers['Content-Type'] = contentType;
      headers['Content-Length'] = Buffer.byteLength(payload);
    }
    const transport = url.protocol === 'http:' ? http : https;
    return new Promise<T>((resolve, reject) => {
      const req = transport.request(
        url,
        {
          method,
          headers,
          agent: url.protocol === 'http:' ? undefined : this.agent,
          timeout: this.requestTimeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            let parsed: unknown;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              parsed = undefined;
            }
            if (status >= 200 && status < 300) return resolve(parsed as T);
            const st = (parsed ?? {}) as { reason?: string; message?: string; details?: KubeStatusDetails };
            reject(new KubeApiError(method, path, status, st.reason ?? '', st.message ?? text.slice(0, 300), st.details));
          });
        },
      );
      req.on('timeout', () =>
        req.destroy(new Error(`${method} ${path} timed out after ${this.requestTimeoutMs} ms`)),
      );
      req.on('error', (err) =>
        reject(
          err.message.startsWith(method)
            ? err
            : new Error(`${method} ${path}: ${err.message}`, { cause: err }),
        ),
      );
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }
  create<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }
  replace<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, body);
  }
  patch<T>(path: string, body: unknown, type: PatchType = 'merge'): Promise<T> {
    return this.request<T>('PATCH', path, body, PATCH_CONTENT_TYPES[type]);
  }
  delete<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('DELETE', path, body);
  }

  /** The resources of a group/version from discovery (cached; `forget` drops the cache). */
  async resources(group: string, version: string): Promise<ResolvedResource[]> {
    const key = `${group}/${version}`;
    let entry = this.discovery.get(key);
    if (!entry) {
      entry = this.get<{ resources: { name: string; kind: string; namespaced: boolean }[] }>(
        groupVersionPath(group, version),
      ).then((list) => {
        const names = new Set(list.resources.map((r) => r.name));
        return list.resources
          .filter((r) => !r.name.includes('/'))
          .map((r) => ({
            group,
            version,
            resource: r.name,
            kind: r.kind,
            namespaced: r.namespaced,
            scalable: names.has(`${r.name}/scale`),
          }));
      });
      entry.catch(() => this.discovery.delete(key));
      this.discovery.set(key, entry);
    }
    return entry;
  }

  forgetDiscovery(): void {
    this.discovery.clear();
  }

  /** RESTMapper: the resource of `kind` in `apiVersion` ("apps/v1", "v1", "argoproj.io/v1alpha1"). */
  async resolveKind(apiVersion: string, kind: string): Promise<ResolvedResource> {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/', 2) : ['', apiVersion];
    const found = (await this.resources(group, version)).find((r) => r.kind === kind);
    if (!found) throw new Error(`no resource of kind ${kind} in ${apiVersion}`);
    return found;
  }

  /**
   * Sets `spec.replicas` through the `/scale` subresource (GET, then PUT), retrying when the object
   * changed in between. Resolves with the replica count it replaced.
   */
  async updateScale(
    gvr: GroupVersionResource,
    namespace: string,
    name: string,
    replicas: number,
  ): Promise<number> {
    const path = resourcePath(gvr, namespace, name, 'scale');
    for (let attempt = 1; ; attempt++) {
      const scale = await this.get<{ spec?: { replicas?: number } }>(path);
      const previous = scale.spec?.replicas ?? 0;
      try {
        await this.replace(path, { ...scale, spec: { ...scale.spec, replicas } });
        return previous;
      } catch (err) {
        if (!isConflict(err) || attempt >= 5) throw err;
      }
    }
  }

  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }
}

/** Counts and reads Pods; what scalers such as kubernetes-workload and fallback (ready pods) need. */
export class PodReader {
  constructor(private readonly client: KubeClient) {}

  private list(namespace: string, labelSelector: string) {
    const q = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : '';
    const base = namespace ? `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods` : '/api/v1/pods';
    return this.client.get<{ items: { status?: { phase?: string; conditions?: { type: string; status: string }[] } }[] }>(
      `${base}${q}`,
    );
  }

  /** Pods matching `labelSelector` in `namespace` ('' = all) that have not terminated (Succeeded/Failed). */
  async countPods(namespace: string, labelSelector: string): Promise<number> {
    return (await this.list(namespace, labelSelector)).items.filter(
      (p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed',
    ).length;
  }

  /** Pods that are Running and whose Ready condition is True. */
  async countReadyPods(namespace: string, labelSelector: string): Promise<number> {
    return (await this.list(namespace, labelSelector)).items.filter(
      (p) => p.status?.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    ).length;
  }
}
