import { poolKey, SharedPool } from './shared-pool';

describe('SharedPool', () => {
  it('shares one client per settings, counts leases and destroys with the last release', async () => {
    const created: string[] = [];
    const destroyed: string[] = [];
    const pool = new SharedPool<{ url: string; password: string }, string>(
      (s) => (created.push(s.url), `client:${s.url}`),
      (c) => void destroyed.push(c),
    );
    const a = pool.acquire({ url: 'x', password: 'p' });
    const b = pool.acquire({ password: 'p', url: 'x' });
    const c = pool.acquire({ url: 'x', password: 'other' });
    expect(a.client).toBe(b.client);
    expect(created).toEqual(['x', 'x']);
    expect(pool.size).toBe(2);
    a.release();
    a.release();
    expect(pool.size).toBe(2);
    b.release();
    c.release();
    await new Promise((r) => setImmediate(r));
    expect(destroyed).toEqual(['client:x', 'client:x']);
    expect(pool.size).toBe(0);
    // A new lease after the last release builds a fresh client.
    pool.acquire({ url: 'x', password: 'p' });
    expect(created).toHaveLength(3);
  });

  it('a failing destroy does not throw', async () => {
    const pool = new SharedPool<object, number>(() => 1, () => Promise.reject(new Error('boom')));
    pool.acquire({}).release();
    await new Promise((r) => setImmediate(r));
    expect(pool.size).toBe(0);
  });

  it('keys are stable hashes that ignore key order and undefined fields', () => {
    expect(poolKey({ a: 1, b: [1, { c: 'x' }], u: undefined })).toBe(poolKey({ b: [1, { c: 'x' }], a: 1 }));
    expect(poolKey({ a: 1 })).not.toBe(poolKey({ a: 2 }));
    expect(poolKey({ password: 'secret' })).not.toContain('secret');
  });
});
