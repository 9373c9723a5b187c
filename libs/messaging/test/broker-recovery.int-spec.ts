import { randomUUID } from 'node:crypto';
import { InventoryReserved } from '@shop/contracts';
import {
  createTestDatabase,
  createTestVhost,
  startPrivateBroker,
  waitFor,
  type PrivateBroker,
  type TestBroker,
  type TestDatabase,
} from '@shop/testing';
import { orderPlaced, wire, wireProperties } from './support/events';
import { RawBroker, sleep, startApp, type RunningApp } from './support/harness';
import { Probe, RESERVATIONS_TABLE, ReserveStockOnOrderPlaced } from './support/stock-handler';

async function reservedOrders(app: RunningApp): Promise<Map<string, number>> {
  const rows: Array<{ order_id: string; n: string }> = await app.dataSource.query(
    `SELECT order_id, count(*) n FROM test_reservations GROUP BY order_id`,
  );
  return new Map(rows.map((r) => [r.order_id, Number(r.n)]));
}

/**
 * The message ids of `type` the archive holds, read with the library's own ArchiveReader from the
 * stream's first offset until nothing more comes for a second.
 */
async function archivedIds(app: RunningApp, type: string): Promise<Set<string>> {
  const ids = new Set<string>();
  let last = Date.now();
  const follower = await app.messaging.archive.follow('first', async (batch) => {
    for (const archived of batch) if (archived.properties.type === type) ids.add(String(archived.properties.messageId));
    last = Date.now();
  });
  try {
    while (Date.now() - last < 1000) await sleep(50);
    return ids;
  } finally {
    await follower.stop();
  }
}

/** Publishes `events` one by one, reconnecting (as any sane producer does) when the broker drops us. */
async function publishAll(url: string, events: ReturnType<typeof orderPlaced>[]): Promise<void> {
  let raw = await RawBroker.open(url);
  for (const event of events) {
    for (;;) {
      try {
        await raw.publish('orders', 'order.placed', wire(event), wireProperties(event, 'orders'));
        break;
      } catch {
        await raw.close();
        raw = await waitFor(() => RawBroker.open(url).catch(() => undefined), {
          timeoutMs: 60_000,
          description: 'broker back',
        });
      }
    }
  }
  await raw.close();
}

describe('consuming across connection loss', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase('recovery');
  });
  afterAll(async () => {
    await database?.drop();
  });

  describe('when the broker closes every connection of the vhost', () => {
    let broker: TestBroker;
    let inventory: RunningApp;

    beforeAll(async () => {
      broker = await createTestVhost('recovery');
      inventory = await startApp({
        app: 'inventory',
        brokerUrl: broker.url,
        databaseUrl: database.url,
        handlers: [ReserveStockOnOrderPlaced],
        providers: [Probe],
        messaging: { reconnect: { initialDelayMs: 100, maxDelayMs: 1000 } },
      });
      await inventory.dataSource.query(RESERVATIONS_TABLE);
    });
    afterAll(async () => {
      await inventory?.close();
      await broker?.delete();
    });

    it('reconnects, re-declares, resumes consuming and relays, with nothing lost', async () => {
      const probe = inventory.module.get(Probe);
      probe.hold = () => new Promise((resolve) => setTimeout(resolve, 5));
      const setup = await RawBroker.open(broker.url);
      const tap = await setup.tapDurable('recovery-reserved', 'inventory', 'inventory.reserved');
      await setup.close();

      const before = Array.from({ length: 100 }, () => orderPlaced());
      const after = Array.from({ length: 50 }, () => orderPlaced());
      const publishing = publishAll(broker.url, before);
      await waitFor(async () => (await reservedOrders(inventory)).size >= 10, { description: 'consuming under way' });

      const { reconnects } = inventory.messaging.status();
      await broker.closeAllConnections();
      // It reconnects within the first backoff step (100 ms): wait on the count, not on a short 'down' state.
      await waitFor(
        () => inventory.messaging.status().reconnects > reconnects && inventory.messaging.status().connected,
        {
          timeoutMs: 20_000,
          description: 'reconnected',
        },
      );
      await publishing;
      await publishAll(broker.url, after);

      const all = [...before, ...after].map((e) => e.data.orderId);
      const reserved = await waitFor(
        async () => {
          const map = await reservedOrders(inventory);
          return all.every((id) => map.has(id)) ? map : undefined;
        },
        { timeoutMs: 30_000, description: 'all 150 orders reserved' },
      );
      expect(all.filter((id) => reserved.get(id) !== 1)).toEqual([]);

      const check = await RawBroker.open(broker.url);
      const published = await waitFor(
        async () => {
          const n = await check.messageCount(tap);
          return n >= all.length ? check.drain(tap) : undefined;
        },
        { timeoutMs: 20_000, description: '150 inventory.reserved relayed' },
      );
      const ids = new Set(published.map((m) => String(m.properties.messageId)));
      expect(ids.size).toBe(all.length);
      // The archive holds every one of them too.
      const archived = await archivedIds(inventory, 'inventory.reserved');
      expect([...ids].filter((id) => !archived.has(id))).toEqual([]);
      await check.close();
    });
  });

  describe('when the broker restarts', () => {
    let node: PrivateBroker;
    let inventory: RunningApp;

    beforeAll(async () => {
      node = await startPrivateBroker('recovery');
      inventory = await startApp({
        app: 'inventory',
        brokerUrl: node.url,
        databaseUrl: database.url,
        handlers: [ReserveStockOnOrderPlaced],
        providers: [Probe],
        // back as soon as the broker is: while it may still be recovering its queues
        messaging: { reconnect: { initialDelayMs: 100, maxDelayMs: 200 } },
      });
      await inventory.dataSource.query(`TRUNCATE test_reservations`);
    });
    afterAll(async () => {
      await inventory?.close();
      await node?.stop();
    });

    it('resumes consuming after the restart; persistent messages in quorum queues and outbox events survive', async () => {
      const probe = inventory.module.get(Probe);
      probe.hold = () => new Promise((resolve) => setTimeout(resolve, 20));
      const setup = await RawBroker.open(node.url);
      const tap = await setup.tapDurable('restart-reserved', 'inventory', 'inventory.reserved');
      const before = Array.from({ length: 100 }, () => orderPlaced());
      for (const event of before)
        await setup.publish('orders', 'order.placed', wire(event), wireProperties(event, 'orders'));
      await setup.close();
      await waitFor(async () => (await reservedOrders(inventory)).size >= 5, { description: 'consuming under way' });

      const { reconnects } = inventory.messaging.status();
      const restarting = node.restart();
      await waitFor(() => !inventory.messaging.status().connected, { timeoutMs: 20_000, description: 'outage seen' });
      // Committed while the broker is away (an HTTP request would): the outbox's to publish on the reconnect.
      const duringOutage = Array.from({ length: 50 }, () =>
        InventoryReserved.create({
          orderId: randomUUID(),
          lines: [{ sku: 'SKU-1', quantity: 1, unitPrice: 100 }],
          total: 100,
          currency: 'USD',
        }),
      );
      await inventory.outbox.transaction(async (tx) => {
        for (const event of duringOutage) await inventory.outbox.publish(tx, event);
      });
      await restarting;
      await waitFor(
        () => inventory.messaging.status().reconnects > reconnects && inventory.messaging.status().connected,
        {
          timeoutMs: 30_000,
          description: 'reconnected',
        },
      );

      const after = Array.from({ length: 20 }, () => orderPlaced());
      await publishAll(node.url, after);
      const all = [...before, ...after].map((e) => e.data.orderId);
      const reserved = await waitFor(
        async () => {
          const map = await reservedOrders(inventory);
          return all.every((id) => map.has(id)) ? map : undefined;
        },
        { timeoutMs: 60_000, description: 'all 120 orders reserved' },
      );
      expect(all.filter((id) => reserved.get(id) !== 1)).toEqual([]);

      const check = await RawBroker.open(node.url);
      const published = await waitFor(
        async () => {
          const n = await check.messageCount(tap);
          return n >= all.length + duringOutage.length ? check.drain(tap) : undefined;
        },
        { timeoutMs: 30_000, description: '170 inventory.reserved relayed' },
      );
      const ids = new Set(published.map((m) => String(m.properties.messageId)));
      expect(ids.size).toBe(all.length + duringOutage.length);
      // The archive holds every one of them too: the relay published nothing while the broker was still
      // recovering the stream after its restart (it confirms what it routes there then, storing nothing).
      const archived = await archivedIds(inventory, 'inventory.reserved');
      expect([...ids].filter((id) => !archived.has(id))).toEqual([]);
      await check.close();
    });
  });
});
