import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { InventoryRejected, NotificationSent, type CloudEvent } from '@shop/contracts';
import { ArchiveAudit, Projections, type ArchivedEvent } from '@shop/messaging';
import {
  createTestDatabase,
  createTestVhost,
  EventTap,
  outboxDrained,
  waitFor,
  type TestBroker,
  type TestDatabase,
} from '@shop/testing';
import { orderInput, startOrders, type OrdersReplica } from './support/orders-app';

/**
 * The event archive against a real RabbitMQ stream and PostgreSQL: every event kept once, one order's
 * events found through the subject index, and the timeline folded from the archive, rebuilt while
 * events flow, rebuilt twice, rebuilt after its table was dropped, and a rebuild resumed by another
 * replica after the first stopped half-way.
 */
describe('the event archive and its projections', () => {
  let vhost: TestBroker;
  let database: TestDatabase;
  let replica: OrdersReplica;
  let tap: EventTap;

  beforeAll(async () => {
    [vhost, database] = await Promise.all([createTestVhost('archive'), createTestDatabase('archive')]);
    replica = await startOrders(vhost.url, database.url);
    tap = await EventTap.open(vhost.url, 'orders');
  });

  afterAll(async () => {
    await replica?.close();
    await tap?.close();
    await Promise.all([vhost?.delete(), database?.drop()]);
  });

  const projections = () => replica.app.get(Projections);

  /** Every event the archive holds, from its first offset up to the last one appended by now. */
  async function archived(atLeast: number): Promise<ArchivedEvent[]> {
    const events: ArchivedEvent[] = [];
    const follower = await replica.messaging.archive.follow('first', async (batch) => void events.push(...batch));
    try {
      await waitFor(() => events.length >= atLeast || undefined, { description: `${atLeast} archived events` });
      await new Promise((resolve) => setTimeout(resolve, 200)); // and nothing more after them
      return events;
    } finally {
      await follower.stop();
    }
  }

  /** Places `n` orders, rejects every other one (inventory.rejected -> order.cancelled), waits for orders' outbox. */
  async function saga(n: number): Promise<string[]> {
    const ids = await Promise.all(
      Array.from({ length: n }, async () => (await replica.orders.place(orderInput(`c-${randomUUID()}`))).order.id),
    );
    for (const orderId of ids.filter((_, i) => i % 2 === 0)) {
      await tap.publish(
        InventoryRejected.create({
          orderId,
          reason: 'OUT_OF_STOCK',
          missing: [{ sku: 'SKU-1', requested: 1, available: 0 }],
        }),
      );
    }
    await waitFor(
      async () => {
        await replica.messaging.flushOutbox();
        const [row] = (await replica.db.query(
          `SELECT count(*)::int AS n FROM orders WHERE id = ANY($1) AND status = 'CANCELLED'`,
          [ids],
        )) as Array<{ n: number }>;
        return row.n === Math.ceil(n / 2) || undefined;
      },
      { description: 'the rejected orders cancelled' },
    );
    await outboxDrained(replica.db);
    return ids;
  }

  const timeline = () =>
    replica.db.query(
      `SELECT event_id, position, order_id, type, producer, occurred_at, trace_id, span_id, causation_id, summary
         FROM order_timeline ORDER BY position`,
    ) as Promise<Array<{ event_id: string; position: string; type: string; order_id: string }>>;

  async function timelineHolds(count: number) {
    return waitFor(
      async () => {
        const rows = await timeline();
        return rows.length >= count ? rows : undefined;
      },
      { description: `${count} timeline rows` },
    );
  }

  async function rebuilt(): Promise<void> {
    const asked = await projections().rebuild('timeline');
    expect(asked.state).toBe('rebuilding');
    await waitFor(
      async () => {
        const status = await projections().status('timeline');
        return status.state === 'live' && status.finishedAt !== null ? status : undefined;
      },
      { timeoutMs: 60_000, description: 'the timeline rebuilt' },
    );
  }

  let ordersPlaced: string[] = [];

  it('keeps every event once, in publish order, and finds one order through the subject index', async () => {
    ordersPlaced = await saga(20);
    // 20 order.placed, 10 inventory.rejected, 10 order.cancelled
    const events = await archived(40);
    const ids = events.map((item) => item.event?.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(events).toHaveLength(40);
    expect(events.map((item) => item.offset)).toEqual([...events.map((item) => item.offset)].sort((a, b) => a - b));

    // offsets far apart: one consumer each (a gap wider than maxGap), on channels of their own
    const picked = [events[0], events[10], events[39]].map((item) => item.offset);
    const spread = await replica.messaging.archive.read(picked, { maxGap: 1 });
    expect(spread.map((item) => item.offset)).toEqual(picked);
    expect(spread.map((item) => item.event?.id)).toEqual([events[0], events[10], events[39]].map((i) => i.event?.id));

    const audit = replica.app.get(ArchiveAudit);
    const rejected = ordersPlaced[0];
    const found = await waitFor(
      async () => {
        const page = await audit.eventsOf(rejected, { limit: 100 });
        return page.length === 3 ? page : undefined;
      },
      { description: 'the subject index of the first order' },
    );
    expect(found.map((event) => event.type)).toEqual(['order.placed', 'inventory.rejected', 'order.cancelled']);
    // as published: the bytes of the archive, trace parent and all
    const published = events.filter((item) => item.event?.subject === rejected).map((item) => item.content.toString());
    expect(found.map((event) => JSON.stringify(event))).toEqual(
      published.map((body) => JSON.stringify(JSON.parse(body))),
    );
    expect(found[0]).toMatchObject({ specversion: '1.0', subject: rejected, source: 'urn:shop:orders' });

    // paged: after the first, one at a time
    const second = await audit.eventsOf(rejected, { after: found[0].id, limit: 1 });
    expect(second.map((event) => event.id)).toEqual([found[1].id]);
    expect(await audit.eventsOf(randomUUID(), { limit: 10 })).toEqual([]);
  });

  it('rebuilds the timeline into the same rows, and again into the same rows', async () => {
    const before = await timelineHolds(40);
    // a row damaged in the live table: only a rebuild from the archive brings it back
    await replica.db.query(`UPDATE order_timeline SET summary = 'tampered' WHERE event_id = $1`, [before[0].event_id]);
    await rebuilt();
    expect(await timeline()).toEqual(before);
    await replica.db.query(`DELETE FROM order_timeline WHERE event_id = $1`, [before[1].event_id]);
    await rebuilt();
    expect(await timeline()).toEqual(before);
  });

  it('loses and duplicates nothing of what is published while it rebuilds', async () => {
    const before = (await timeline()).length;
    await projections().rebuild('timeline');
    // events keep coming during the rebuild and across its switch
    const flowing = (async () => {
      const placed: string[] = [];
      for (let round = 0; round < 10; round++) placed.push(...(await saga(6)));
      return placed;
    })();
    const placed = await flowing;
    await waitFor(async () => ((await projections().status('timeline')).state === 'live' ? true : undefined), {
      timeoutMs: 60_000,
      description: 'the rebuild switched in',
    });
    // 60 orders: 60 placed, 30 rejected, 30 cancelled
    const rows = await timelineHolds(before + 120);
    expect(rows).toHaveLength(before + 120);
    const all = await archived(before + 120);
    expect(rows.map((row) => row.event_id)).toEqual(all.map((item) => item.event?.id));
    for (const orderId of placed) expect(rows.some((row) => row.order_id === orderId)).toBe(true);
  });

  it('refolds the whole archive into a timeline table that was dropped', async () => {
    const before = await timeline();
    await replica.db.query(`DROP TABLE order_timeline`);
    // the live follower fails on the missing table, starts again, recreates it and folds from the beginning
    await saga(2);
    const rows = await timelineHolds(before.length + 4);
    expect(rows.slice(0, before.length)).toEqual(before);
  });

  it('resumes a rebuild from its offset on another replica when the first stops half-way', async () => {
    // enough events for a rebuild of several batches
    const extra: CloudEvent[] = Array.from({ length: 3000 }, () =>
      NotificationSent.create({
        orderId: randomUUID(),
        notificationId: randomUUID(),
        customerId: 'c-bulk',
        kind: 'ORDER_CONFIRMED',
      }),
    );
    const total = (await timeline()).length + extra.length;
    for (const event of extra) await tap.publish(event);
    const before = await timelineHolds(total);

    await projections().rebuild('timeline');
    await waitFor(
      async () => {
        const status = await projections().status('timeline');
        return status.state === 'rebuilding' && status.events > 0 && status.events < total ? status : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 5, description: 'a rebuild half-way' },
    );
    await replica.close();
    const pg = new Client({ connectionString: database.url });
    await pg.connect();
    const { rows } = await pg.query(`SELECT state, rebuild_events FROM messaging_projections WHERE name = 'timeline'`);
    await pg.end();
    expect(rows[0].state).toBe('rebuilding');
    expect(Number(rows[0].rebuild_events)).toBeGreaterThan(0);

    replica = await startOrders(vhost.url, database.url);
    const resumed = await waitFor(
      async () => {
        const status = await projections().status('timeline');
        return status.state === 'live' ? status : undefined;
      },
      { timeoutMs: 60_000, description: 'the rebuild finished on the new replica' },
    );
    // from where it stopped: a rebuild started over would have counted the first part twice
    expect(resumed.events).toBe(total);
    expect(await timeline()).toEqual(before);
  });
});
