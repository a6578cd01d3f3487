import { TokenBucket, TokenBucketFullError } from './token-bucket';

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

describe('TokenBucket with maxWaiters', () => {
  it('rejects a take() beyond maxWaiters instead of queueing it, and lets the waiters through in order', async () => {
    jest.useFakeTimers();
    try {
      let t = 0;
      const bucket = new TokenBucket(10, 1, () => t, 2);
      await bucket.take(); // the burst
      const order: number[] = [];
      const first = bucket.take().then(() => order.push(1));
      const second = bucket.take().then(() => order.push(2));
      expect(bucket.waiting).toBe(2);
      await expect(bucket.take()).rejects.toThrow('rate limiter queue is full (2 requests waiting)');
      await expect(bucket.take()).rejects.toBeInstanceOf(TokenBucketFullError);
      t += 100;
      await jest.advanceTimersByTimeAsync(100);
      t += 100;
      await jest.advanceTimersByTimeAsync(100);
      await Promise.all([first, second]);
      expect(order).toEqual([1, 2]);
      expect(bucket.waiting).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  it('without maxWaiters queues every caller (the API client default)', () => {
    const bucket = new TokenBucket(1, 1, () => 0);
    bucket.tryTake();
    for (let i = 0; i < 100; i++) void bucket.take();
    expect(bucket.waiting).toBe(100);
  });
});
