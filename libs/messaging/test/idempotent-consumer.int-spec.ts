import { createTestDatabase, createTestVhost, waitFor, type TestBroker, type TestDatabase } from '@shop/testing';
import { orderPlaced, wire, wireProperties } from './support/events';
import { counterValue, RawBroker, sleep, startApp, type RunningApp } from './support/harness';
import { Probe, RESERVATIONS_TABLE, ReserveStockOnOrderPlaced } from './support/stock-handler';

describe('an idempotent consumer', () => {
  let broker: TestBroker;
  let database: TestDatabase;
  let raw: RawBroker;
  let replicas: RunningApp[];

  const start = () =>
    startApp({
      app: 'inventory',
      brokerUrl: broker.url,
      databaseUrl: database.url,
      handlers: [ReserveStockOnOrderPlaced],
      providers: [Probe],
    });

  beforeAll(async () => {
    [broker, database] = await Promise.all([createTestVhost('inbox'), createTestDatabase('inbox')]);
    replicas = [await start(), await start()];
    await replicas[0].dataSource.query(RESERVATIONS_TABLE);
    raw = await RawBroker.open(broker.url);
  });

  afterAll(async () => {
    await Promise.all((replicas ?? []).map((r) => r.close()));
    await raw?.close();
    await Promise.all([broker?.delete(), database?.drop()]);
  });

  const count = async (sql: string, params: unknown[]) =>
    Number((await replicas[0].dataSource.query(sql, params))[0].n);

  it('changes state once when the same message is delivered twice', async () => {
    const tap = await raw.tap('inventory', 'inventory.reserved');
    const event = orderPlaced();
    await raw.publish('orders', 'order.placed', wire(event), wireProperties(event, 'orders'));
    await waitFor(
      async () =>
        (await count(`SELECT count(*) n FROM test_reservations WHERE order_id = $1`, [event.data.orderId])) === 1,
      {
        description: 'first delivery applied',
      },
    );
    const duplicatesNow = async () =>
      (await Promise.all(replicas.map((replica) => counterValue(replica, 'duplicates')))).reduce((a, b) => a + b, 0);
    const duplicatesBefore = await duplicatesNow();
    await raw.publish('orders', 'order.placed', wire(event), wireProperties(event, 'orders'));
    await waitFor(async () => (await raw.messageCount('inventory.reserve-stock-on-order-placed')) === 0, {
      description: 'queue empty',
    });
    await sleep(300);
    // The repeat was counted as a duplicate the inbox skipped (by whichever replica got it).
    expect((await duplicatesNow()) - duplicatesBefore).toBe(1);

    expect(await count(`SELECT count(*) n FROM test_reservations WHERE order_id = $1`, [event.data.orderId])).toBe(1);
    expect(await count(`SELECT count(*) n FROM messaging_inbox WHERE message_id = $1`, [event.id])).toBe(1);
    // One reservation, so one inventory.reserved: the duplicate published nothing.
    await waitFor(async () => (await raw.messageCount(tap)) >= 1, { description: 'inventory.reserved published' });
    await sleep(300);
    expect(await raw.messageCount(tap)).toBe(1);
  });

  it('applies a message once when two replicas handle copies of it at the same moment', async () => {
    const probes = replicas.map((r) => r.module.get(Probe));
    // Both copies are held inside their transactions until both replicas have one: a true race on the inbox row.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    probes.forEach((p) => (p.hold = () => gate));

    const events = Array.from({ length: 20 }, () => orderPlaced());
    for (const event of events) {
      await raw.publish('orders', 'order.placed', wire(event), wireProperties(event, 'orders'));
      await raw.publish('orders', 'order.placed', wire(event), wireProperties(event, 'orders'));
    }
    await waitFor(() => probes.every((p) => p.calls.length > 0), { description: 'both replicas handling' });
    release();

    const ids = events.map((e) => e.data.orderId);
    await waitFor(
      async () =>
        (await raw.messageCount('inventory.reserve-stock-on-order-placed')) === 0 &&
        probes.reduce((n, p) => n + p.calls.length, 0) >= 40,
      { timeoutMs: 15_000, description: '40 deliveries handled' },
    );
    await sleep(300);
    const rows: Array<{ order_id: string; n: string }> = await replicas[0].dataSource.query(
      `SELECT order_id, count(*) n FROM test_reservations WHERE order_id = ANY($1::uuid[]) GROUP BY order_id`,
      [ids],
    );
    expect(rows).toHaveLength(20);
    expect(rows.every((r) => Number(r.n) === 1)).toBe(true);
    probes.forEach((p) => p.reset());
  });

  it('handles the message again when the first attempt rolled back: the inbox row commits only with the effects', async () => {
    const probe = replicas[0].module.get(Probe);
    const other = replicas[1].module.get(Probe);
    probe.failWith = (call) => (call.attempt === 1 ? new Error('rolled back') : undefined);
    other.failWith = probe.failWith;
    const event = orderPlaced();
    await raw.publish('orders', 'order.placed', wire(event), wireProperties(event, 'orders'));
    await waitFor(
      async () =>
        (await count(`SELECT count(*) n FROM test_reservations WHERE order_id = $1`, [event.data.orderId])) === 1,
      {
        description: 'second attempt committed',
      },
    );
    expect(await count(`SELECT count(*) n FROM messaging_inbox WHERE message_id = $1`, [event.id])).toBe(1);
    probe.reset();
    other.reset();
  });
});
