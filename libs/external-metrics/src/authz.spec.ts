import type { UserInfo } from './authn';
import { SarAuthorizer, cacheKey, type ResourceAttributes, type SubjectAccessReview } from './authz';

const attrs: ResourceAttributes = { group: 'external.metrics.k8s.io', version: 'v1beta1', resource: 's0-x', namespace: 'ns', verb: 'list' };
const user = { name: 'alice', groups: ['team'], extra: { scopes: ['b', 'a'] } };

function setup(allowed: (r: SubjectAccessReview) => boolean, opts: { maxEntries?: number; allResourcesFirst?: boolean } = {}) {
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

  it('with allResourcesFirst, one allow of "*" in a namespace covers every metric there', async () => {
    const { authorizer, reviews } = setup((r) => r.spec.resourceAttributes.namespace === 'ns', { allResourcesFirst: true });
    for (let i = 0; i < 100; i++) {
      await expect(authorizer.authorize(user, { ...attrs, resource: `s0-metric-${i}` })).resolves.toMatchObject({ allowed: true });
    }
    expect(reviews.map((r) => r.spec.resourceAttributes.resource)).toEqual(['*']);
    // A deny of "*" falls back to the metric itself, and both answers are cached.
    await expect(authorizer.authorize(user, { ...attrs, namespace: 'other' })).resolves.toMatchObject({ allowed: false });
    await authorizer.authorize(user, { ...attrs, namespace: 'other' });
    expect(reviews.map((r) => `${r.spec.resourceAttributes.namespace}/${r.spec.resourceAttributes.resource}`)).toEqual(['ns/*', 'other/*', 'other/s0-x']);
  });

  it('with allResourcesFirst, a user allowed only one metric gets that one and no other', async () => {
    const { authorizer } = setup((r) => r.spec.resourceAttributes.resource === 's0-x', { allResourcesFirst: true });
    await expect(authorizer.authorize(user, attrs)).resolves.toMatchObject({ allowed: true });
    await expect(authorizer.authorize(user, { ...attrs, resource: 's1-y' })).resolves.toMatchObject({ allowed: false });
  });

  it('cache keys tell users, groups, extra and attributes apart, whatever their order', () => {
    const k = (u: Partial<UserInfo>, a: Partial<ResourceAttributes> = {}) => cacheKey({ ...user, ...u }, { ...attrs, ...a });
    expect(k({ groups: ['a', 'b'] })).toBe(k({ groups: ['b', 'a'] }));
    expect(k({ extra: { x: ['1', '2'], y: ['3'] } })).toBe(k({ extra: { y: ['3'], x: ['2', '1'] } }));
    const distinct = [k({}), k({ name: 'bob' }), k({ uid: 'u1' }), k({ groups: ['team', 'x'] }), k({ groups: [] }), k({ extra: {} }), k({}, { namespace: 'n2' }), k({}, { resource: 's1' }), k({}, { verb: 'get' }), k({}, { name: 'x' })];
    expect(new Set(distinct).size).toBe(distinct.length);
  });
});
