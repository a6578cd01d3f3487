import { RecentResults } from './recent-results';

describe('RecentResults', () => {
  it('shares one query while it is in flight and for the reuse window after it succeeded', async () => {
    let now = 1_000;
    const recent = new RecentResults(() => now);
    let calls = 0;
    const query = async () => ++calls;
    const [a, b] = await Promise.all([recent.get('k', 500, query), recent.get('k', 500, query)]);
    expect([a, b, calls]).toEqual([1, 1, 1]);
    now += 500;
    expect(await recent.get('k', 500, query)).toBe(1);
    now += 1;
    expect(await recent.get('k', 500, query)).toBe(2);
    expect(await recent.get('other', 500, query)).toBe(3);
  });

  it('does not keep failures: the next caller asks again', async () => {
    const recent = new RecentResults();
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new Error('broker down');
    };
    await expect(recent.get('k', 10_000, failing)).rejects.toThrow('broker down');
    await expect(recent.get('k', 10_000, failing)).rejects.toThrow('broker down');
    expect(calls).toBe(2);
    expect(await recent.get('k', 10_000, async () => 'up')).toBe('up');
  });

  it('forgets answers past their window once it holds many keys', async () => {
    let now = 0;
    const recent = new RecentResults(() => now);
    for (let i = 0; i < 70; i++) await recent.get(`k${i}`, 100, async () => i);
    now += 200;
    await recent.get('fresh', 100, async () => 0);
    expect(recent.size).toBe(1);
  });
});
