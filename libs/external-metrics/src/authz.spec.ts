import { SarAuthorizer, type ResourceAttributes, type SubjectAccessReview } from './authz';

const attrs: ResourceAttributes = { group: 'external.metrics.k8s.io', version: 'v1beta1', resource: 's0-x', namespace: 'ns', verb: 'list' };
const user = { name: 'alice', groups: ['team'], extra: { scopes: ['b', 'a'] } };

function setup(allowed: (r: SubjectAccessReview) => boolean, opts: { maxEntries?: number } = {}) {
  let now = 1_000;
  const reviews: SubjectAccessReview[] = [];
  const authorizer = new SarAuthorizer({
    review: async (r) => {
      reviews.push(r);
      return { ...r, status: { allowed: allowed(r), reason: allowed(r) ? undefined : 'no RBAC' } };
    },
    now: () => now,
    ...opts,
  });
  return { authorizer, reviews, advance: (ms: number) => (now += ms) };
}

describe('SarAuthorizer', () => {
  it('sends a SubjectAccessReview with the user and the resource attributes', async () => {
    const { authorizer, reviews } = setup(() => true);
    await expect(authorizer.authorize(user, attrs)).resolves.toEqual({ allowed: true, reason: undefined });
    expect(reviews[0]).toEqual({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      spec: { user: 'alice', groups: ['team'], extra: { scopes: ['b', 'a'] }, resourceAttributes: attrs },
    });
  });

  it('caches allows and denies for 10 s', async () => {
    const { authorizer, reviews, advance } = setup((r) => r.spec.resourceAttributes.namespace === 'ns');
    await authorizer.authorize(user, attrs);
    await authorizer.authorize(user, attrs);
    await expect(authorizer.authorize(user, { ...attrs, namespace: 'other' })).resolves.toEqual({ allowed: false, reason: 'no RBAC' });
    await authorizer.authorize(user, { ...attrs, namespace: 'other' });
    expect(reviews).toHaveLength(2);
    advance(10_001);
    await authorizer.authorize(user, attrs);
    expect(reviews).toHaveLength(3);
  });

  it('shares one review between concurrent identical requests', async () => {
    const { authorizer, reviews } = setup(() => true);
    await Promise.all([authorizer.authorize(user, attrs), authorizer.authorize(user, attrs), authorizer.authorize(user, attrs)]);
    expect(reviews).toHaveLength(1);
  });

  it('keeps at most maxEntries decisions', async () => {
    const { authorizer } = setup(() => true, { maxEntries: 3 });
    for (let i = 0; i < 10; i++) await authorizer.authorize({ ...user, name: `u${i}` }, attrs);
    expect(authorizer.size).toBe(3);
  });

  it('allows system:masters without asking, and treats denied/missing status as a deny', async () => {
    const { authorizer, reviews } = setup(() => true);
    await expect(authorizer.authorize({ name: 'system:kube-aggregator', groups: ['system:masters'], extra: {} }, attrs)).resolves.toEqual({ allowed: true });
    expect(reviews).toHaveLength(0);
    const empty = new SarAuthorizer({ review: async (r) => r });
    await expect(empty.authorize(user, attrs)).resolves.toMatchObject({ allowed: false });
  });

  it('does not cache failures', async () => {
    let fail = true;
    const authorizer = new SarAuthorizer({
      review: async (r) => {
        if (fail) throw new Error('API server down');
        return { ...r, status: { allowed: true } };
      },
    });
    await expect(authorizer.authorize(user, attrs)).rejects.toThrow('API server down');
    fail = false;
    await expect(authorizer.authorize(user, attrs)).resolves.toMatchObject({ allowed: true });
  });
});
