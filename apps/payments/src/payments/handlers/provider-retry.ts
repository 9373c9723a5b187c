import type { RetryPolicy } from '@shop/messaging';

/** Provider hiccups are frequent and short: retry sooner and longer than the library's default. */
export const PROVIDER_RETRY: Partial<RetryPolicy> = {
  maxAttempts: 10,
  initialDelayMs: 200,
  factor: 2,
  maxDelayMs: 5_000,
};
