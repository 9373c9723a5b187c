import type { ChaosOptions, ChaosReport } from './chaos';

/**
 * What the fixed-seed chaos suites of `npm test` share: the load and fault mix (sized per suite by
 * `orders`, `seed`, `appKills`, `cluster`), quiet.
 */
export const FIXED_SEED_CHAOS: Partial<ChaosOptions> = {
  concurrency: 10,
  rate: 10,
  orderTimeoutMs: 30_000,
  transientFailureRate: 0.1,
  duplicateRate: 0.05,
  poisonMessages: 5,
  progressIntervalMs: 10_000,
  log: () => undefined,
};

/** Every invariant held, nothing lost or applied twice, every order accepted: what a chaos run must end with. */
export function expectEveryInvariantHeld(report: ChaosReport): void {
  expect(report.invariants.filter((i) => !i.pass)).toEqual([]);
  expect(report.counts).toEqual({ lost: 0, duplicatedEffects: 0, unexpectedOutcomes: 0, idempotencyMismatches: 0 });
  expect(report.orders.accepted).toBe(report.orders.requested);
  expect(report.passed).toBe(true);
}
