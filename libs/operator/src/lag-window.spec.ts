import { LagWindow } from './lag-window';

describe('LagWindow', () => {
  it('summarises the samples since the last drain', () => {
    const w = new LagWindow();
    for (let i = 1; i <= 100; i++) w.add(i);
    expect(w.drain()).toEqual({ count: 100, p50Ms: 51, p95Ms: 96, p99Ms: 100, maxMs: 100 });
    expect(w.drain()).toEqual({ count: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 });
  });

  it('keeps at most capacity samples but counts every one and the true maximum', () => {
    const w = new LagWindow(10, () => 0.99);
    for (let i = 0; i < 1000; i++) w.add(i === 500 ? 10_000 : 1);
    const s = w.drain();
    expect(s.count).toBe(1000);
    expect(s.maxMs).toBe(10_000);
    expect(s.p50Ms).toBe(1);
  });
});
