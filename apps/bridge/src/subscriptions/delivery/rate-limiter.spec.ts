import { RateLimiter } from './rate-limiter';

/** Takes `count` tokens and records, for each, the fake time it was granted at. */
function takeAll(limiter: RateLimiter, count: number, start: number) {
  const grantedAt: number[] = [];
  const takes = Array.from({ length: count }, (_, i) =>
    limiter.take().then(() => {
      grantedAt[i] = Date.now() - start;
    }),
  );
  return { grantedAt, done: Promise.all(takes) };
}

describe('RateLimiter', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('lets the burst go at once, then one every 1/rate seconds', async () => {
    const limiter = new RateLimiter({ ratePerSecond: 4, burst: 2 });
    const start = Date.now();
    const { grantedAt, done } = takeAll(limiter, 5, start);
    await jest.advanceTimersByTimeAsync(0);
    expect(grantedAt).toEqual([0, 0]);
    await jest.advanceTimersByTimeAsync(249);
    expect(grantedAt.filter((t) => t !== undefined)).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(1);
    expect(grantedAt[2]).toBe(250);
    await jest.advanceTimersByTimeAsync(500);
    await done;
    expect(grantedAt).toEqual([0, 0, 250, 500, 750]);
  });

  it('keeps the average rate exact when 1/rate is not a whole number of milliseconds', async () => {
    const limiter = new RateLimiter({ ratePerSecond: 3 });
    const start = Date.now();
    const { grantedAt, done } = takeAll(limiter, 7, start);
    await jest.advanceTimersByTimeAsync(2_000);
    await done;
    expect(grantedAt).toEqual([0, 334, 667, 1000, 1334, 1667, 2000]);
  });

  it('refills while idle, up to the burst only', async () => {
    const limiter = new RateLimiter({ ratePerSecond: 10, burst: 3 });
    const start = Date.now();
    await takeAll(limiter, 3, start).done;
    await jest.advanceTimersByTimeAsync(10_000);
    const later = Date.now();
    const { grantedAt, done } = takeAll(limiter, 4, later);
    await jest.advanceTimersByTimeAsync(100);
    await done;
    expect(grantedAt).toEqual([0, 0, 0, 100]);
  });

  it('serves waiters in order: a later take does not overtake a waiting one', async () => {
    const limiter = new RateLimiter({ ratePerSecond: 10 });
    const order: string[] = [];
    await limiter.take();
    const first = limiter.take().then(() => order.push('first'));
    await jest.advanceTimersByTimeAsync(150);
    // A token has been free for 50 ms, but `first` took it; `second` waits its turn.
    const second = limiter.take().then(() => order.push('second'));
    const third = limiter.take().then(() => order.push('third'));
    await jest.advanceTimersByTimeAsync(0);
    expect(order).toEqual(['first']);
    await jest.advanceTimersByTimeAsync(200);
    await Promise.all([first, second, third]);
    expect(order).toEqual(['first', 'second', 'third']);
  });

  it('waits on one timer, not a loop', async () => {
    const limiter = new RateLimiter({ ratePerSecond: 1 });
    await limiter.take();
    const waiting = [limiter.take(), limiter.take(), limiter.take()];
    expect(jest.getTimerCount()).toBe(1);
    expect(limiter.waiting).toBe(3);
    await jest.advanceTimersByTimeAsync(3_000);
    await Promise.all(waiting);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('rejects a waiter whose signal aborts, and the next one keeps its place', async () => {
    const limiter = new RateLimiter({ ratePerSecond: 10 });
    await limiter.take();
    const controller = new AbortController();
    const abandoned = limiter.take(controller.signal);
    const next = limiter.take();
    let nextAt: number | undefined;
    const start = Date.now();
    void next.then(() => (nextAt = Date.now() - start));
    controller.abort(new Error('delivery cancelled'));
    await expect(abandoned).rejects.toThrow('delivery cancelled');
    await jest.advanceTimersByTimeAsync(100);
    expect(nextAt).toBe(100);
    await expect(limiter.take(AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
  });

  it('clears its timer when the last waiter leaves', async () => {
    const limiter = new RateLimiter({ ratePerSecond: 1 });
    await limiter.take();
    const controller = new AbortController();
    const waiting = limiter.take(controller.signal);
    expect(jest.getTimerCount()).toBe(1);
    controller.abort(new Error('gone'));
    await expect(waiting).rejects.toThrow('gone');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('close() rejects every waiter and every later take', async () => {
    const limiter = new RateLimiter({ ratePerSecond: 1 });
    await limiter.take();
    const waiting = [limiter.take(), limiter.take()];
    limiter.close();
    await expect(waiting[0]).rejects.toThrow('rate limiter closed');
    await expect(waiting[1]).rejects.toThrow('rate limiter closed');
    await expect(limiter.take()).rejects.toThrow('rate limiter closed');
    expect(jest.getTimerCount()).toBe(0);
    expect(limiter.waiting).toBe(0);
    limiter.close(new Error('twice'));
    await expect(limiter.take()).rejects.toThrow('rate limiter closed');
  });

  it('refuses a rate or burst that makes no sense', () => {
    expect(() => new RateLimiter({ ratePerSecond: 0 })).toThrow(RangeError);
    expect(() => new RateLimiter({ ratePerSecond: Number.NaN })).toThrow(RangeError);
    expect(() => new RateLimiter({ ratePerSecond: Infinity })).toThrow(RangeError);
    expect(() => new RateLimiter({ ratePerSecond: 1, burst: 0 })).toThrow(RangeError);
    expect(() => new RateLimiter({ ratePerSecond: 1, burst: 1.5 })).toThrow(RangeError);
  });
});
