import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { runChaos, type ChaosReport } from '../src/chaos/chaos';

const run = promisify(execFile);

/** Names on the machine's shared services that a chaos run could have left: there must be none. */
async function chaosLeftovers(): Promise<string[]> {
  const found: string[] = [];
  try {
    const { stdout } = await run(process.env['RABBITMQCTL'] || 'rabbitmqctl', ['-q', 'list_vhosts'], {
      timeout: 30_000,
    });
    found.push(
      ...stdout
        .split('\n')
        .filter((name) => /chaos/.test(name))
        .map((name) => `vhost ${name}`),
    );
  } catch {
    // no local broker to compare (testcontainers): nothing of ours can be on it either
  }
  if (process.env['DATABASE_URL']) {
    const client = new Client({ connectionString: process.env['DATABASE_URL'], connectionTimeoutMillis: 5_000 });
    try {
      await client.connect();
      const { rows } = await client.query<{ datname: string }>('SELECT datname FROM pg_database');
      found.push(
        ...rows
          .map((row) => row.datname)
          .filter((name) => /chaos/.test(name))
          .map((name) => `database ${name}`),
      );
    } catch {
      // no shared database reachable
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  return found;
}

describe('chaos (fixed seed, ~200 orders, every fault kind, private broker and database)', () => {
  let report: ChaosReport;
  let sharedBefore: string[];
  const saved = { RABBITMQ_URL: process.env['RABBITMQ_URL'], DATABASE_URL: process.env['DATABASE_URL'] };

  beforeAll(async () => {
    sharedBefore = await chaosLeftovers();
    report = await runChaos({
      orders: 200,
      seed: 20261123,
      concurrency: 10,
      rate: 10,
      orderTimeoutMs: 30_000,
      transientFailureRate: 0.1,
      duplicateRate: 0.05,
      poisonMessages: 5,
      appKills: 3,
      progressIntervalMs: 10_000,
      log: () => undefined,
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
    expect(report.invariants.filter((i) => !i.pass)).toEqual([]);
    expect(report.counts).toEqual({ lost: 0, duplicatedEffects: 0, unexpectedOutcomes: 0, idempotencyMismatches: 0 });
    expect(report.orders.accepted).toBe(report.orders.requested);
    expect(report.passed).toBe(true);
  });

  it("leaves the machine's RabbitMQ and PostgreSQL as they were, and the environment too", async () => {
    expect(report.private).toEqual({ broker: true, postgres: true });
    expect(await chaosLeftovers()).toEqual(sharedBefore);
    expect({ RABBITMQ_URL: process.env['RABBITMQ_URL'], DATABASE_URL: process.env['DATABASE_URL'] }).toEqual(saved);
  });
});
