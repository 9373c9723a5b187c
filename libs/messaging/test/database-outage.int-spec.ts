import { createTestVhost, startPrivatePostgres, waitFor, type PrivatePostgres, type TestBroker } from '@shop/testing';
import { orderPlaced, wire, wireProperties } from './support/events';
import { counterValue, RawBroker } from './support/harness';
import { type Probe, STOCK_HANDLER_RETRY, STOCK_QUEUE, startStockApp, type StockApp } from './support/stock-handler';

/**
 * The consumer's database goes away (a PostgreSQL of the test's own, stopped with `pg_ctl stop -m
 * fast`) for longer than a message's whole retry budget: its deliveries wait for it, with backoff,
 * and are applied once when it is back. Nothing is dead-lettered, no attempt is spent.
 */
describe('a consumer whose database is down', () => {
  let broker: TestBroker;
  let postgres: PrivatePostgres;
  let raw: RawBroker;
  let inventory: StockApp;
  let probe: Probe;
  const dlq = `${STOCK_QUEUE}.dlq`;
  // 200 + 400 + 800 ms: the whole budget of STOCK_HANDLER_RETRY's four attempts, well inside the outage.
  const OUTAGE_MS = 4_000;

  beforeAll(async () => {
    [broker, postgres] = await Promise.all([createTestVhost('db-outage'), startPrivatePostgres()]);
    inventory = await startStockApp({ brokerUrl: broker.url, databaseUrl: postgres.url });
    probe = inventory.probe;
    raw = await RawBroker.open(broker.url);
  }, 120_000);

  afterAll(async () => {
    await inventory?.close();
    await raw?.close();
    await Promise.all([broker?.delete(), postgres?.stop()]);
  });

  const reservations = (orderId: string) => inventory.reservations(orderId);

  it('retries with backoff for as long as the outage lasts, spends no attempt, and applies each event once after it', async () => {
    const events = Array.from({ length: 5 }, () => orderPlaced());
    const labels = { queue: STOCK_QUEUE, event_type: 'order.placed' };
    const deadBefore = await counterValue(inventory, 'deadLettered', { ...labels, reason: 'retries-exhausted' });

    const { unreachableMs } = await postgres.outage(OUTAGE_MS, () => {
      for (const event of events)
        void raw.publish('orders', 'order.placed', wire(event), wireProperties(event, 'orders'));
    });
    expect(unreachableMs).toBeGreaterThanOrEqual(OUTAGE_MS);

    for (const event of events) {
      await waitFor(async () => (await reservations(event.data.orderId)) === 1, {
        timeoutMs: 30_000,
        description: `order ${event.data.orderId} reserved after the outage`,
      });
    }
    const calls = probe.calls.filter((call) => events.some((e) => e.id === call.messageId));
    // More tries than the policy's attempts, every one of them still attempt 1.
    for (const event of events) {
      const tries = calls.filter((call) => call.messageId === event.id);
      expect({ id: event.id, moreThanTheBudget: tries.length > STOCK_HANDLER_RETRY.maxAttempts }).toEqual({
        id: event.id,
        moreThanTheBudget: true,
      });
    }
    expect([...new Set(calls.map((call) => call.attempt))]).toEqual([1]);
    // backoff, not a hot loop: tries of one event are at least the first delay apart
    const first = calls.filter((call) => call.messageId === events[0].id).map((call) => call.at);
    first
      .slice(1)
      .forEach((at, i) => expect(at - first[i]).toBeGreaterThanOrEqual(STOCK_HANDLER_RETRY.initialDelayMs - 20));

    expect(await raw.messageCount(dlq)).toBe(0);
    expect(await counterValue(inventory, 'deadLettered', { ...labels, reason: 'retries-exhausted' })).toBe(deadBefore);
    for (const event of events) expect(await reservations(event.data.orderId)).toBe(1);
  }, 90_000);

  it('still spends attempts on a failure that is not an outage, once the database is back', async () => {
    probe.reset();
    probe.failWith = () => new Error('a bug, not an outage');
    const event = orderPlaced();
    await raw.publish('orders', 'order.placed', wire(event), wireProperties(event, 'orders'));
    await waitFor(async () => ((await raw.messageCount(dlq)) >= 1 ? true : undefined), {
      timeoutMs: 15_000,
      description: 'the failing event dead-lettered',
    });
    const [message] = await raw.drain(dlq);
    expect(message.properties.headers?.['x-dead-letter-reason']).toBe('retries-exhausted');
    expect(probe.calls.map((call) => call.attempt)).toEqual([1, 2, 3, 4]);
  });
});
