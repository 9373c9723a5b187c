import { runChaos, type ChaosReport } from '../src/chaos/chaos';
import { expectEveryInvariantHeld, FIXED_SEED_CHAOS } from '../src/chaos/fixed-seed';
import { chaosLeftovers } from '../src/chaos/leftovers';

describe('chaos (fixed seed, ~200 orders, every fault kind, private broker and database)', () => {
  let report: ChaosReport;
  let sharedBefore: string[];
  const saved = { RABBITMQ_URL: process.env['RABBITMQ_URL'], DATABASE_URL: process.env['DATABASE_URL'] };

  beforeAll(async () => {
    sharedBefore = await chaosLeftovers();
    report = await runChaos({
      ...FIXED_SEED_CHAOS,
      orders: 200,
      seed: 20261123,
      appKills: 3,
    });
  }, 280_000);

  it('injects every kind of fault at least once', () => {
    for (const kind of [
      'kill-replica',
      'broker-restart',
      'postgres-outage',
      'kill-after-commit',
      'poison',
      'duplicate-delivery',
    ]) {
      expect({ kind, count: report.faultCounts[kind] ?? 0 }).toEqual({ kind, count: expect.any(Number) });
      expect(report.faultCounts[kind]).toBeGreaterThanOrEqual(1);
    }
  });

  it('keeps every invariant: nothing lost, nothing applied twice, no unexpected outcome', () => {
    expectEveryInvariantHeld(report);
  });

  it("leaves the machine's RabbitMQ and PostgreSQL as they were, and the environment too", async () => {
    expect(report.private).toEqual({ broker: true, postgres: true, clusterNodes: 0 });
    expect(await chaosLeftovers()).toEqual(sharedBefore);
    expect({ RABBITMQ_URL: process.env['RABBITMQ_URL'], DATABASE_URL: process.env['DATABASE_URL'] }).toEqual(saved);
  });
});
