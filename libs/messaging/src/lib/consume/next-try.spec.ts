import { nextTry } from './retry-policy';

const policy = { maxAttempts: 4, initialDelayMs: 100, factor: 2, maxDelayMs: 1000 };

describe('nextTry', () => {
  it('spends the attempt on a failure of the handler, with exponential backoff', () => {
    expect(nextTry(policy, { attempt: 1, outageRetries: 0 }, false)).toEqual({
      delayMs: 100,
      next: { attempt: 2, outageRetries: 0 },
    });
    expect(nextTry(policy, { attempt: 3, outageRetries: 2 }, false)).toEqual({
      delayMs: 400,
      next: { attempt: 4, outageRetries: 0 },
    });
  });

  it('keeps the attempt while a dependency is out of reach, its backoff capped at the longest delay', () => {
    expect(nextTry(policy, { attempt: 2, outageRetries: 0 }, true)).toEqual({
      delayMs: 100,
      next: { attempt: 2, outageRetries: 1 },
    });
    expect(nextTry(policy, { attempt: 2, outageRetries: 9 }, true)).toEqual({
      delayMs: 400,
      next: { attempt: 2, outageRetries: 10 },
    });
  });
});
