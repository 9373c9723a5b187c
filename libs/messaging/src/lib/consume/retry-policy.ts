import type { RetryPolicy } from '../messaging.options';

/** Delay before attempt `attempt + 1`, after `attempt` (1-based) failed. */
export function retryDelayMs(policy: RetryPolicy, attempt: number): number {
  const raw = policy.initialDelayMs * Math.pow(policy.factor, Math.max(0, attempt - 1));
  return Math.round(Math.min(raw, policy.maxDelayMs));
}

/** Every distinct delay a policy can ask for: the app's delay queues. */
export function retryDelays(policy: RetryPolicy): number[] {
  const delays = new Set<number>();
  for (let attempt = 1; attempt < policy.maxAttempts; attempt++) delays.add(retryDelayMs(policy, attempt));
  return [...delays].sort((a, b) => a - b);
}

/** Where a delivery is in its retries: its attempt (from 1), and retries spent waiting for a dependency. */
export interface Tries {
  attempt: number;
  /** Retries while a dependency (the database) was unreachable: they do not spend attempts. */
  outageRetries: number;
}

/**
 * After a failed try that is retried: how long to wait, and where the next try is. A failure of the
 * handler spends the attempt (and the outage count starts again); a dependency out of reach does not,
 * and waits the policy's backoff for its outage retries, capped at the policy's longest delay.
 */
export function nextTry(policy: RetryPolicy, tries: Tries, outage: boolean): { delayMs: number; next: Tries } {
  if (outage) {
    const outageRetries = tries.outageRetries + 1;
    return {
      delayMs: retryDelayMs(policy, Math.min(outageRetries, policy.maxAttempts - 1)),
      next: { attempt: tries.attempt, outageRetries },
    };
  }
  return { delayMs: retryDelayMs(policy, tries.attempt), next: { attempt: tries.attempt + 1, outageRetries: 0 } };
}
