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
