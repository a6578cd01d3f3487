import { TokenBucket } from './token-bucket';

describe('TokenBucket', () => {
  it.each([
    // [qps, burst, elapsed ms between takes, takes, how many succeed at once]
    [20, 30, 0, 40, 30],
    [20, 30, 50, 3, 3],
    [1, 1, 0, 3, 1],
  ])('qps %d burst %d: %d ms apart, %d takes -> %d immediate', (qps, burst, gap, takes, expected) => {
    let t = 0;
    const bucket = new TokenBucket(qps, burst, () => t);
    let ok = 0;
    for (let i = 0; i < takes; i++) {
      if (bucket.tryTake()) ok++;
      t += gap;
    }
    expect(ok).toBe(expected);
  });

  it('refills at qps', () => {
    let t = 0;
    const bucket = new TokenBucket(10, 1, () => t);
    expect(bucket.tryTake()).toBe(true);
    expect(bucket.tryTake()).toBe(false);
    t += 100;
    expect(bucket.tryTake()).toBe(true);
  });

  it('makes waiters wait their turn', async () => {
    const bucket = new TokenBucket(100, 1);
    const started = performance.now();
    await Promise.all([bucket.take(), bucket.take(), bucket.take()]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
  });

  it('rejects nonsense settings with the value named', () => {
    expect(() => new TokenBucket(0, 1)).toThrow('token bucket qps must be > 0, got 0');
  });
});
