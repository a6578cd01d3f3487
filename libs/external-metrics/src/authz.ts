import type { UserInfo } from './authn';

/** The resource attributes of a request, as a SubjectAccessReview spec carries them. */
export interface ResourceAttributes {
  group: string;
  version: string;
  resource: string;
  namespace: string;
  verb: string;
  name?: string;
}

export interface Decision {
  allowed: boolean;
  reason?: string;
}

/** Posts a SubjectAccessReview (e.g. `KubeClient.create`). */
export type SubjectAccessReviewer = (review: SubjectAccessReview) => Promise<SubjectAccessReview>;

export interface SubjectAccessReview {
  apiVersion: 'authorization.k8s.io/v1';
  kind: 'SubjectAccessReview';
  spec: {
    user: string;
    uid?: string;
    groups: string[];
    extra?: Record<string, string[]>;
    resourceAttributes: ResourceAttributes;
  };
  status?: { allowed?: boolean; denied?: boolean; reason?: string; evaluationError?: string };
}

export const SUBJECT_ACCESS_REVIEW_PATH = '/apis/authorization.k8s.io/v1/subjectaccessreviews';

export interface SarAuthorizerOptions {
  review: SubjectAccessReviewer;
  /** How long an allow / a deny is reused; k8s.io/apiserver's delegated defaults are 10 s each. */
  allowTtlMs?: number;
  denyTtlMs?: number;
  /** Entries kept at most; the oldest go first. */
  maxEntries?: number;
  /**
   * Ask first whether the user may use every resource (`*`) of the group in the namespace, and
   * reuse an allow for all resources there. Each external metric is its own resource, so with
   * thousands of metrics a per-resource cache would send a review for nearly every request.
   * A deny of `*` says nothing about one resource: then that resource is reviewed as usual.
   */
  allResourcesFirst?: boolean;
  /** Groups allowed without asking (k8s.io/apiserver always allows `system:masters`). */
  alwaysAllowGroups?: string[];
  now?: () => number;
}

interface Entry {
  decision: Decision;
  expires: number;
}

/** Delegated authorization with a small TTL cache, like k8s.io/apiserver's webhook authorizer. */
export class SarAuthorizer {
  private readonly cache = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<Decision>>();
  private readonly allowTtlMs: number;
  private readonly denyTtlMs: number;
  private readonly maxEntries: number;
  private readonly alwaysAllowGroups: string[];
  private readonly now: () => number;
  /** Reviews actually sent (for tests and metrics). */
  reviewsSent = 0;

  constructor(private readonly options: SarAuthorizerOptions) {
    this.allowTtlMs = options.allowTtlMs ?? 10_000;
    this.denyTtlMs = options.denyTtlMs ?? 10_000;
    this.maxEntries = options.maxEntries ?? 16_384;
    this.alwaysAllowGroups = options.alwaysAllowGroups ?? ['system:masters'];
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.cache.size;
  }

  async authorize(user: UserInfo, attributes: ResourceAttributes): Promise<Decision> {
    if (user.groups.some((g) => this.alwaysAllowGroups.includes(g))) return { allowed: true };
    if (this.options.allResourcesFirst && attributes.resource !== '*' && attributes.name === undefined) {
      const all = await this.decide(user, { ...attributes, resource: '*' });
      if (all.allowed) return all;
    }
    return this.decide(user, attributes);
  }

  /** One cached (or shared in-flight) decision. */
  private decide(user: UserInfo, attributes: ResourceAttributes): Promise<Decision> {
    const key = cacheKey(user, attributes);
    const hit = this.cache.get(key);
    if (hit && hit.expires > this.now()) return Promise.resolve(hit.decision);
    if (hit) this.cache.delete(key);
    const pending = this.inflight.get(key);
    if (pending) return pending;
    const p = this.ask(user, attributes).then(
      (decision) => {
        this.store(key, decision);
        return decision;
      },
    ).finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  private async ask(user: UserInfo, attributes: ResourceAttributes): Promise<Decision> {
    this.reviewsSent++;
    const result = await this.options.review({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: {
        user: user.name,
        ...(user.uid ? { uid: user.uid } : {}),
        groups: user.groups,
        ...(Object.keys(user.extra).length ? { extra: user.extra } : {}),
        resourceAttributes: attributes,
      },
    });
    const status = result?.status ?? {};
    return { allowed: status.allowed === true && status.denied !== true, reason: status.reason || status.evaluationError || undefined };
  }

  private store(key: string, decision: Decision): void {
    const ttl = decision.allowed ? this.allowTtlMs : this.denyTtlMs;
    if (ttl <= 0) return;
    this.cache.set(key, { decision, expires: this.now() + ttl });
    while (this.cache.size > this.maxEntries) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
    }
  }
}

/**
 * One string per (user, attributes). Values are joined with NUL, which cannot occur in header
 * values or resource names, so distinct inputs never share a key; this runs on every metric request.
 */
export function cacheKey(user: UserInfo, a: ResourceAttributes): string {
  let key = `${user.name}\0${user.uid ?? ''}\0${a.verb}\0${a.group}\0${a.version}\0${a.resource}\0${a.namespace}\0${a.name ?? ''}\0`;
  key += user.groups.length > 1 ? [...user.groups].sort().join('\0') : (user.groups[0] ?? '');
  const extraKeys = Object.keys(user.extra);
  if (extraKeys.length) {
    for (const k of extraKeys.sort()) key += `\x01${k}\0${[...user.extra[k]].sort().join('\0')}`;
  }
  return key;
}
