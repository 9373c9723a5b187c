import { randomUUID } from 'node:crypto';
import { OrderPlaced } from '@shop/contracts';
import {
  createTestDatabase,
  localRabbitmqInstalled,
  startLocalRabbitmqCluster,
  waitFor,
  type LocalRabbitmqCluster,
  type LocalRabbitmqNode,
  type TestDatabase,
} from '@shop/testing';
import { RawBroker, sleep, startApp, type RunningApp } from './support/harness';
import { Probe, RESERVATIONS_TABLE, ReserveStockOnOrderPlaced, STOCK_QUEUE } from './support/stock-handler';

/** Orders committed per second: a paced load, the fault strikes in the middle of it. */
const RATE = 50;
const TAP = 'cluster-reserved';

const placed = () =>
  OrderPlaced.create({
    orderId: randomUUID(),
    customerId: 'c-1',
    items: [{ sku: 'SKU-1', quantity: 2 }],
    paymentToken: 'tok_visa',
  });

/**
 * Three private RabbitMQ nodes in one cluster, the library's apps (orders publishing OrderPlaced through
 * its outbox, inventory consuming it and publishing InventoryReserved through its own) given all three
 * in one URL. Faults under a paced load: SIGKILL of the node their connections and the consumer queue's
 * leader are on (then brought back), and `stop_app` of the node they moved to.
 */
// Private nodes of this machine's rabbitmq-server; a machine with only Docker has none to cluster.
const describeOnLocalNodes = localRabbitmqInstalled() ? describe : describe.skip;
if (!localRabbitmqInstalled()) process.stderr.write('cluster.int-spec: skipped, no rabbitmq-server on this machine\n');

describeOnLocalNodes('a three-node cluster (RABBITMQ_URL naming every node)', () => {
  let cluster: LocalRabbitmqCluster;
  let database: TestDatabase;
  let orders: RunningApp;
  let inventory: RunningApp;
  let tap: RawBroker;

  beforeAll(async () => {
    [cluster, database] = await Promise.all([
      startLocalRabbitmqCluster(3, { label: 'msgcluster' }),
      createTestDatabase('cluster'),
    ]);
    const messaging = {
      // both on the first node named, so that its loss takes both connections and the queue's leader
      firstNode: 'first' as const,
      reconnect: { initialDelayMs: 100, maxDelayMs: 1000 },
      heartbeatSeconds: 5,
      // a publish that failed with the node is tried again within a second once connected elsewhere
      outbox: { maxBackoffMs: 1000 },
    };
    inventory = await startApp({
      app: 'inventory',
      brokerUrl: cluster.url,
      databaseUrl: database.url,
      handlers: [ReserveStockOnOrderPlaced],
      providers: [Probe],
      messaging,
    });
    await inventory.dataSource.query(RESERVATIONS_TABLE);
    orders = await startApp({ app: 'orders', brokerUrl: cluster.url, databaseUrl: database.url, messaging });
    // A durable tap of every inventory.reserved the relay got confirmed, on the node no fault touches.
    tap = await RawBroker.open(cluster.nodes[2].url);
    await tap.tapDurable(TAP, 'inventory', 'inventory.reserved');
  }, 120_000);

  afterAll(async () => {
    await tap?.close();
    await orders?.close();
    await inventory?.close();
    await Promise.all([cluster?.stop(), database?.drop()]);
  }, 60_000);

  /**
   * Commits `count` orders at RATE per second and applies `fault` after `faultAfter` of them; resolves
   * with the order ids, when the fault struck and when both apps were connected to another node.
   */
  async function loadWithFault(count: number, faultAfter: number, fault: () => Promise<void>) {
    const before = inventory.messaging.status().node;
    const ids: string[] = [];
    let struckAt = 0;
    const started = Date.now();
    const load = (async () => {
      for (let i = 0; i < count; i++) {
        const event = placed();
        await orders.outbox.transaction((tx) => orders.outbox.publish(tx, event));
        ids.push(event.data.orderId);
        if (i + 1 === faultAfter) {
          struckAt = Date.now();
          await fault();
        }
        const due = started + ((i + 1) * 1000) / RATE;
        if (due > Date.now()) await sleep(due - Date.now());
      }
    })();
    await waitFor(() => struckAt > 0, { timeoutMs: 30_000, description: 'the fault' });
    const healedAt = await waitFor(
      () => {
        const status = inventory.messaging.status();
        return status.connected && status.node !== before && orders.messaging.status().connected
          ? Date.now()
          : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 20, description: 'both apps connected to another node' },
    );
    await load;
    return { ids, struckAt, healedAt };
  }

  /**
   * Every order reserved exactly once, both outboxes drained, every InventoryReserved relayed (once or
   * more on the wire, each id), nothing ready or unacknowledged in the queue. Resolves with when all
   * orders were reserved.
   */
  async function expectNothingLost(ids: string[], survivor: LocalRabbitmqNode): Promise<number> {
    const all = await waitFor(
      async () => {
        const rows: Array<{ order_id: string; n: number }> = await inventory.dataSource.query(
          `SELECT order_id, count(*)::int AS n FROM test_reservations WHERE order_id = ANY($1) GROUP BY order_id`,
          [ids],
        );
        return rows.length === ids.length ? new Map(rows.map((row) => [row.order_id, row.n])) : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200, description: `all ${ids.length} orders reserved` },
    );
    const reservedAt = Date.now();
    expect(ids.filter((id) => all.get(id) !== 1)).toEqual([]);

    await waitFor(
      async () => Number((await orders.dataSource.query(`SELECT count(*)::int AS n FROM messaging_outbox`))[0].n) === 0,
      { timeoutMs: 30_000, description: 'the outboxes drained' },
    );
    const relayed = new Set<string>();
    await waitFor(
      async () => {
        for (const message of await tap.drain(TAP)) relayed.add(String(message.properties.messageId));
        return relayed.size >= ids.length;
      },
      { timeoutMs: 30_000, description: `${ids.length} distinct inventory.reserved relayed` },
    );
    expect(relayed.size).toBe(ids.length);

    await waitFor(
      async () => {
        const out = await survivor.ctl('-q', 'list_queues', 'name', 'messages_ready', 'messages_unacknowledged');
        const row = out.split('\n').find((line) => line.startsWith(`${STOCK_QUEUE}\t`));
        return row?.split('\t').slice(1).join(',') === '0,0';
      },
      { timeoutMs: 20_000, description: `${STOCK_QUEUE} empty, no message unacked` },
    );
    return reservedAt;
  }

  const onlineReplicas = async () => (await cluster.replicas()).find((q) => q.name === STOCK_QUEUE)?.online.length;

  it('declares the quorum queues with three replicas, one per node', async () => {
    expect(inventory.messaging.status()).toMatchObject({ connected: true, nodes: 3 });
    const replicas = (await cluster.replicas()).filter((q) => q.name.startsWith('inventory.'));
    expect(replicas.map((q) => q.name)).toContain(STOCK_QUEUE);
    for (const queue of replicas) expect([queue.name, queue.members.length]).toEqual([queue.name, 3]);
  });

  it('SIGKILL of the node of both connections and of the queue leader: they move on, nothing lost, none twice', async () => {
    const victim = cluster.nodeAt(inventory.messaging.status().node as string) as LocalRabbitmqNode;
    expect(victim).toBe(cluster.nodes[0]);
    const leader = await cluster.leaderOf(STOCK_QUEUE);

    const { ids, struckAt, healedAt } = await loadWithFault(300, 100, () => victim.kill());
    const reservedAt = await expectNothingLost(ids, cluster.nodes[2]);

    // The node comes back and its replica catches up: fully replicated again.
    const back = Date.now();
    await victim.startAgain();
    await waitFor(async () => (await onlineReplicas()) === 3, {
      timeoutMs: 60_000,
      intervalMs: 500,
      description: 'three replicas online again',
    });
    console.log(
      `cluster, SIGKILL: ${victim.nodeName} (both apps' connections; leader of ${STOCK_QUEUE}: ${leader?.nodeName}) ` +
        `killed after 100 of 300 orders at ${RATE}/s; both apps on ${inventory.messaging.status().node} ` +
        `${healedAt - struckAt} ms after the kill; all 300 reserved once, outboxes drained, ${reservedAt - struckAt} ms after it; ` +
        `node back with 3 replicas online in ${Date.now() - back} ms`,
    );
  }, 150_000);

  it('stop_app of the node they moved to (the node cut off): they move again, nothing lost', async () => {
    const victim = cluster.nodeAt(inventory.messaging.status().node as string) as LocalRabbitmqNode;
    const survivor = cluster.nodes.find((node) => node !== victim && node !== cluster.nodes[0]) ?? cluster.nodes[0];

    const { ids, struckAt, healedAt } = await loadWithFault(150, 50, () => victim.stopApp());
    const reservedAt = await expectNothingLost(ids, survivor);

    const back = Date.now();
    await victim.startApp();
    await waitFor(async () => (await onlineReplicas()) === 3, {
      timeoutMs: 60_000,
      intervalMs: 500,
      description: 'three replicas online again',
    });
    console.log(
      `cluster, stop_app: ${victim.nodeName} stopped after 50 of 150 orders; both apps on ${inventory.messaging.status().node} ` +
        `${healedAt - struckAt} ms after; all reserved once ${reservedAt - struckAt} ms after; ` +
        `start_app and 3 replicas online in ${Date.now() - back} ms; reconnects: inventory ${inventory.messaging.status().reconnects}, orders ${orders.messaging.status().reconnects}`,
    );
  }, 120_000);
});
