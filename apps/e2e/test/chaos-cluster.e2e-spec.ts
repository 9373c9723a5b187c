import { localRabbitmqInstalled } from '@shop/testing';
import { runChaos, type ChaosReport } from '../src/chaos/chaos';
import { expectEveryInvariantHeld, FIXED_SEED_CHAOS } from '../src/chaos/fixed-seed';
import { chaosLeftovers } from '../src/chaos/leftovers';

/**
 * `npm run chaos -- --cluster 3`, short and with a fixed seed: three private RabbitMQ nodes of this
 * machine's rabbitmq-server in one cluster, every app replica given all three. A machine with Docker
 * and no RabbitMQ installation cannot run private nodes: the suite says so and is skipped there.
 */
const describeOnLocalNodes = localRabbitmqInstalled() ? describe : describe.skip;
if (!localRabbitmqInstalled()) {
  process.stderr.write('chaos-cluster: skipped, no rabbitmq-server on this machine to run a private cluster\n');
}

describeOnLocalNodes('chaos on a three-node RabbitMQ cluster (fixed seed, ~500 orders, node faults)', () => {
  let report: ChaosReport;
  let sharedBefore: string[];
  const saved = { RABBITMQ_URL: process.env['RABBITMQ_URL'], DATABASE_URL: process.env['DATABASE_URL'] };

  beforeAll(async () => {
    sharedBefore = await chaosLeftovers();
    report = await runChaos({
      ...FIXED_SEED_CHAOS,
      cluster: 3,
      orders: 500,
      seed: 20261206,
      appKills: 2,
    });
  }, 420_000);

  it('kills the node leading the saga, brings it back, kills another, cuts a third off with stop_app', () => {
    const nodeFaults = report.faults.filter((f) => f.kind === 'node-kill' || f.kind === 'node-stop-app');
    expect(nodeFaults.map((f) => f.kind)).toEqual(['node-kill', 'node-kill', 'node-stop-app']);
    // three different nodes, each struck while the load ran
    expect(new Set(nodeFaults.map((f) => f.node)).size).toBe(3);
    for (const f of nodeFaults) expect(f.atMs).toBeLessThan(report.durationsMs.load);
    // the apps moved to the other nodes, and every quorum queue got its three replicas back
    for (const f of nodeFaults) {
      expect({ node: f.node, moved: f.movedMs !== undefined, back: f.replicasBackMs !== undefined }).toEqual({
        node: f.node,
        moved: true,
        back: true,
      });
    }
  });

  it('keeps every invariant: nothing lost, nothing applied twice, no message left in a queue', () => {
    expectEveryInvariantHeld(report);
  });

  it("stops its nodes and leaves the machine's RabbitMQ and PostgreSQL as they were", async () => {
    expect(report.private).toEqual({ broker: true, postgres: true, clusterNodes: 3 });
    expect(await chaosLeftovers()).toEqual(sharedBefore);
    expect({ RABBITMQ_URL: process.env['RABBITMQ_URL'], DATABASE_URL: process.env['DATABASE_URL'] }).toEqual(saved);
  });
});
