import { retryDelayMs, retryDelays } from './retry-policy';

describe('retry policy', () => {
  const policy = { maxAttempts: 5, initialDelayMs: 1000, factor: 2, maxDelayMs: 5000 };

  it('grows the delay exponentially up to its cap', () => {
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(policy, n))).toEqual([1000, 2000, 4000, 5000, 5000]);
  });

  it('needs one delay queue per distinct delay, none after the last attempt', () => {
    expect(retryDelays(policy)).toEqual([1000, 2000, 4000, 5000]);
    expect(retryDelays({ ...policy, maxAttempts: 1 })).toEqual([]);
  });
});
