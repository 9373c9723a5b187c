import { randomBytes, randomUUID } from 'node:crypto';
import { APP_NAMES, type AppName } from '@shop/contracts';
import { createTestDatabase, createTestVhost, waitFor, type TestBroker, type TestDatabase } from '@shop/testing';
import {
  brokerUser,
  MessagingHeaders,
  NonRetryableError,
  UnknownQueueError,
  type DeadLetter,
  type DeadLetters,
} from '../src';
import { orderPlaced, wire, wireProperties } from './support/events';
import { counterValue, definitionsWithImpersonator, RawBroker, sleep } from './support/harness';
import { type Call, STOCK_QUEUE, startStockApp, type StockApp } from './support/stock-handler';

const DLQ = `${STOCK_QUEUE}.dlq`;
const byId = (items: DeadLetter[]) => [...items].sort((a, b) => String(a.messageId).localeCompare(String(b.messageId)));

/** What makes the handler fail for an order, until the test "fixes" it. */
class Causes {
  private readonly causes = new Map<string, (call: Call) => Error>();
  fail(orderId: string, cause: (call: Call) => Error): void {
    this.causes.set(orderId, cause);
  }
  fix(orderId: string): void {
    this.causes.delete(orderId);
  }
  of = (call: Call): Error | undefined => this.causes.get(call.event.data.orderId)?.(call);
}

describe('dead letters: list and redrive', () => {
  let broker: TestBroker;
  let database: TestDatabase;
  let raw: RawBroker;
  let inventory: StockApp;
  let deadLetters: DeadLetters;
  let causes: Causes;

  const start = async () => {
    inventory = await startStockApp({ brokerUrl: broker.url, databaseUrl: database.url });
    deadLetters = inventory.messaging.deadLetters();
  };

  beforeAll(async () => {
    [broker, database] = await Promise.all([createTestVhost('dead letters'), createTestDatabase('dead_letters')]);
    raw = await RawBroker.open(broker.url);
    await start();
  });

  afterAll(async () => {
    await inventory?.close();
    await raw?.close();
    await Promise.all([broker?.delete(), database?.drop()]);
  });

  beforeEach(async () => {
    inventory.probe.reset();
    causes = new Causes();
    inventory.probe.failWith = causes.of;
    await raw.drain(DLQ);
  });

  /** Publishes order.placed as the orders app would, failing with `cause` until fixed; resolves with it. */
  async function placed(cause?: (call: Call) => Error) {
    const event = orderPlaced();
    if (cause) causes.fail(event.data.orderId, cause);
    await raw.publish('orders', 'order.placed', wire(event), wireProperties(event, 'orders'));
    return event;
  }
  const rejected = (message: string) => () => new NonRetryableError(message);
  const waitForDeadLetters = (count: number) =>
    waitFor(async () => (await raw.messageCount(DLQ)) >= count, {
      timeoutMs: 15_000,
      description: `${count} message(s) in ${DLQ}`,
    });
  const callsOf = (messageId: string) => inventory.probe.calls.filter((call) => call.messageId === messageId);

  it('lists what waits in the dead-letter queue with its reason, and leaves the queue as it was', async () => {
    const a = await placed(rejected('sku SKU-1 does not exist'));
    const b = await placed(rejected('sku SKU-1 does not exist'));
    await raw.publish('orders', 'order.placed', 'not json at all {', { messageId: 'poison-1', type: 'order.placed' });
    await waitForDeadLetters(3);

    const listed = await deadLetters.list();
    expect(byId(listed).map((item) => item.messageId)).toEqual(
      [a.id, b.id, 'poison-1'].sort((x, y) => x.localeCompare(y)),
    );
    const first = listed.find((item) => item.messageId === a.id);
    expect(first).toEqual({
      queue: STOCK_QUEUE,
      messageId: a.id,
      type: 'order.placed',
      reason: 'rejected',
      attempts: 1,
      firstDeadLetteredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      error: 'sku SKU-1 does not exist',
      redrives: 0,
      body: JSON.parse(wire(a).toString()),
    });
    expect(listed.find((item) => item.messageId === 'poison-1')).toMatchObject({
      reason: 'unparseable',
      type: 'order.placed',
      body: 'not json at all {',
    });

    expect(await deadLetters.list({ limit: 2 })).toHaveLength(2);
    expect(await deadLetters.list({ queue: STOCK_QUEUE, limit: 1000 })).toHaveLength(3);

    // Looked at 25 times (more than a quorum queue's delivery limit would allow, were it one that counts):
    // the same messages, none held, none lost, none moved elsewhere.
    for (let i = 0; i < 25; i++) await deadLetters.list();
    expect(await deadLetters.list()).toEqual(listed);
    // queue.declare-ok counts the ready messages of a quorum queue: none held by a listing.
    expect(await raw.messageCount(DLQ)).toBe(3);
    expect(await raw.messageCount(STOCK_QUEUE)).toBe(0);
    expect(inventory.probe.calls).toHaveLength(2);
    // Nor did the listings spend anything of the message: redriven, it is a first attempt again.
    causes.fix(a.data.orderId);
    await deadLetters.redrive({ queue: STOCK_QUEUE, messageIds: [a.id] });
    await waitFor(async () => (await inventory.reservations(a.data.orderId)) === 1, { description: 'a applied' });
    expect(callsOf(a.id).map((call) => call.attempt)).toEqual([1, 1]);
  });

  it('refuses a queue that is not one of the app’s consumer queues, or a dead-letter queue by name', async () => {
    await expect(deadLetters.list({ queue: 'orders.confirm-order' })).rejects.toThrow(
      new UnknownQueueError(
        'orders.confirm-order',
        'queue "orders.confirm-order" is not one of inventory\'s (they are named inventory.<name>)',
      ),
    );
    await expect(deadLetters.list({ queue: 'inventory.nothing-here' })).rejects.toThrow(/no consumer queue/);
    await expect(deadLetters.redrive({ queue: DLQ, all: true })).rejects.toThrow(/not its dead-letter queue/);
    await expect(deadLetters.list({ limit: 0 })).rejects.toThrow(/limit must be an integer from 1 to 1000/);
  });

  it('redrives the selected messages once the cause is fixed: each applied once, the others left alone', async () => {
    const events = [
      await placed(rejected('price missing')),
      await placed(rejected('price missing')),
      await placed(rejected('price missing')),
    ];
    await waitForDeadLetters(3);
    const [a, b, c] = events;
    const before = await counterValue(inventory, 'duplicates');
    const redrivenBefore = (await inventory.messaging.metrics.redriven.get()).values[0]?.value ?? 0;
    causes.fix(a.data.orderId);
    causes.fix(b.data.orderId);
    const missing = randomUUID();

    const summary = await deadLetters.redrive({ queue: STOCK_QUEUE, messageIds: [a.id, b.id, missing] });

    expect(summary.queue).toBe(STOCK_QUEUE);
    expect([...summary.redriven].sort()).toEqual([a.id, b.id].sort());
    expect(summary.notFound).toEqual([missing]);
    expect(summary.skipped).toEqual([]);
    await waitFor(async () => (await inventory.reservations(a.data.orderId)) === 1, { description: 'a applied' });
    await waitFor(async () => (await inventory.reservations(b.data.orderId)) === 1, { description: 'b applied' });
    // Back in its queue as a new first attempt, through the retry exchange, under its own id.
    expect(callsOf(a.id).map((call) => call.attempt)).toEqual([1, 1]);
    expect(callsOf(b.id).map((call) => call.attempt)).toEqual([1, 1]);
    expect((await deadLetters.list()).map((item) => item.messageId)).toEqual([c.id]);
    expect(await inventory.reservations(c.data.orderId)).toBe(0);
    expect(callsOf(c.id)).toHaveLength(1);
    expect(await counterValue(inventory, 'duplicates')).toBe(before);
    const { values } = await inventory.messaging.metrics.redriven.get();
    expect(values).toEqual([{ labels: { queue: STOCK_QUEUE }, value: redrivenBefore + 2 }]);
  });

  it('applies a message once when it is redriven twice (a copy of it back in the dead-letter queue)', async () => {
    const event = await placed(rejected('not yet'));
    await waitForDeadLetters(1);
    // The dead letter as it is, to put a copy of it back afterwards (as a crash between the
    // redrive's confirm and its ack would leave it).
    const [dead] = await raw.drain(DLQ);
    const putBack = () =>
      raw.publish('inventory.dlx', STOCK_QUEUE, dead.content, {
        ...dead.properties,
        headers: dead.properties.headers,
      });
    await putBack();
    causes.fix(event.data.orderId);
    const duplicates = await counterValue(inventory, 'duplicates');

    expect((await deadLetters.redrive({ queue: STOCK_QUEUE, messageIds: [event.id] })).redriven).toEqual([event.id]);
    await waitFor(async () => (await inventory.reservations(event.data.orderId)) === 1, { description: 'applied' });

    await putBack();
    expect((await deadLetters.redrive({ queue: STOCK_QUEUE, messageIds: [event.id] })).redriven).toEqual([event.id]);
    await waitFor(async () => (await counterValue(inventory, 'duplicates')) === duplicates + 1, {
      description: 'the second redrive absorbed by the inbox',
    });
    expect(await inventory.reservations(event.data.orderId)).toBe(1);
    expect(await raw.messageCount(DLQ)).toBe(0);
  });

  it('takes one copy per message id in a request, and leaves the other copy in place', async () => {
    const event = await placed(rejected('not yet'));
    await waitForDeadLetters(1);
    const [dead] = await raw.drain(DLQ);
    for (let i = 0; i < 2; i++) {
      await raw.publish('inventory.dlx', STOCK_QUEUE, dead.content, { ...dead.properties });
    }
    causes.fix(event.data.orderId);

    const summary = await deadLetters.redrive({ queue: STOCK_QUEUE, all: true });

    expect(summary.redriven).toEqual([event.id]);
    expect(summary.skipped).toEqual([{ messageId: event.id, reason: expect.stringMatching(/another copy/) }]);
    await waitFor(async () => (await inventory.reservations(event.data.orderId)) === 1, { description: 'applied' });
    expect(await raw.messageCount(DLQ)).toBe(1);
  });

  it('sends a message that fails again back to the dead-letter queue with its new reason and a redrive count', async () => {
    const event = await placed(rejected('sku unknown'));
    await waitForDeadLetters(1);
    const [first] = await deadLetters.list();
    expect(first).toMatchObject({ reason: 'rejected', attempts: 1, redrives: 0 });
    // "Fixed", but now the handler fails on every attempt: retried from attempt 1, then dead-lettered.
    causes.fail(event.data.orderId, () => new Error('database said no'));

    expect((await deadLetters.redrive({ queue: STOCK_QUEUE, all: true })).redriven).toEqual([event.id]);

    const again = await waitFor(async () => (await deadLetters.list()).find((item) => item.redrives === 1), {
      timeoutMs: 15_000,
      description: 'the redriven copy dead-lettered again',
    });
    expect(again).toMatchObject({
      messageId: event.id,
      reason: 'retries-exhausted',
      error: 'database said no',
      attempts: 4,
      redrives: 1,
      firstDeadLetteredAt: first.firstDeadLetteredAt,
    });
    expect(callsOf(event.id).map((call) => call.attempt)).toEqual([1, 1, 2, 3, 4]);
    const [message] = await raw.drain(DLQ);
    const headers = message.properties.headers ?? {};
    expect(headers[MessagingHeaders.redriveCount]).toBe(1);
    expect(Date.parse(String(headers[MessagingHeaders.redrivenAt]))).toBeGreaterThan(
      Date.parse(String(first.firstDeadLetteredAt)),
    );
    expect(headers[MessagingHeaders.originalExchange]).toBe('orders');
    expect(headers[MessagingHeaders.originalRoutingKey]).toBe('order.placed');
    expect(await inventory.reservations(event.data.orderId)).toBe(0);
  });

  it('redrives all that is there once, without looping over copies that fail again at once', async () => {
    const events = [];
    for (let i = 0; i < 30; i++) events.push(await placed(rejected('still broken')));
    await waitForDeadLetters(30);

    const summary = await deadLetters.redrive({ queue: STOCK_QUEUE, all: true });

    expect([...summary.redriven].sort()).toEqual(events.map((event) => event.id).sort());
    expect(summary.skipped).toEqual([]);
    // Each came back once (handled once more, dead-lettered again at once), and stays there.
    await waitFor(
      async () => {
        const listed = await deadLetters.list({ limit: 1000 });
        return listed.length === 30 && listed.every((item) => item.redrives === 1 && item.reason === 'rejected');
      },
      { timeoutMs: 15_000, description: 'the 30 copies back in the dead-letter queue' },
    );
    await sleep(300);
    expect(await raw.messageCount(DLQ)).toBe(30);
    for (const event of events) expect(callsOf(event.id)).toHaveLength(2);
  });

  it('lists and redrives a message the broker dead-lettered at the delivery limit, with its producer', async () => {
    // The app is down; a consumer that keeps failing without a word (a crash loop) hands the
    // message back until the quorum queue's delivery limit (20) dead-letters it.
    await inventory.close();
    const event = orderPlaced();
    await raw.publish('orders', 'order.placed', wire(event), wireProperties(event, 'orders'));
    const crashing = await raw.spareChannel();
    await waitFor(
      async () => {
        const message = await crashing.get(STOCK_QUEUE, { noAck: false });
        if (message) crashing.nack(message, false, true);
        return (await raw.messageCount(DLQ)) === 1;
      },
      { intervalMs: 1, description: 'the broker to dead-letter it at the delivery limit' },
    );
    await crashing.close();
    await start();
    inventory.probe.failWith = causes.of;

    const [listed] = await deadLetters.list();
    expect(listed).toMatchObject({
      queue: STOCK_QUEUE,
      messageId: event.id,
      type: 'order.placed',
      reason: 'delivery_limit',
      attempts: 1,
      firstDeadLetteredAt: expect.stringMatching(/^\d{4}-/),
      error: null,
      redrives: 0,
    });

    expect((await deadLetters.redrive({ queue: STOCK_QUEUE, messageIds: [event.id] })).redriven).toEqual([event.id]);
    await waitFor(async () => (await inventory.reservations(event.data.orderId)) === 1, { description: 'applied' });
    expect(await raw.messageCount(DLQ)).toBe(0);
  });
});

/**
 * With the apps' own broker users: a redriven copy comes back under the app's user through its retry
 * exchange, which its consumers trust, so a redrive sends back only messages whose original producer
 * owned their type.
 */
describe('dead letters with producer authentication', () => {
  let broker: TestBroker;
  let database: TestDatabase;
  let prefix: string;
  let inventory: StockApp;
  const passwords = Object.fromEntries(APP_NAMES.map((app) => [app, randomBytes(12).toString('hex')])) as Record<
    AppName,
    string
  >;
  const opened: RawBroker[] = [];
  const as = async (url: string) => {
    const client = await RawBroker.open(url);
    opened.push(client);
    return client;
  };

  beforeAll(async () => {
    [broker, database] = await Promise.all([
      createTestVhost('dead letters auth'),
      createTestDatabase('dead_letters_auth'),
    ]);
    prefix = `${broker.vhost}-`;
    const definitions = definitionsWithImpersonator(broker.vhost, passwords, prefix);
    await broker.addUsers(definitions);
    inventory = await startStockApp({
      brokerUrl: broker.urlAs(brokerUser('inventory', prefix), passwords.inventory),
      databaseUrl: database.url,
    });
  });

  afterAll(async () => {
    await inventory?.close();
    await Promise.all(opened.map((client) => client.close()));
    await Promise.all([broker?.delete(), database?.drop()]);
  });

  it('redrives what the owner published, and leaves a forged event in the dead-letter queue', async () => {
    const orders = await as(broker.urlAs(brokerUser('orders', prefix), passwords.orders));
    const forger = await as(broker.urlAs(`${prefix}impersonator`, 'impersonator'));
    const guest = await as(broker.url);
    const broken = new Set<string>();
    inventory.probe.failWith = (call) =>
      broken.has(call.event.data.orderId) ? new NonRetryableError('not yet') : undefined;
    const authentic = orderPlaced();
    broken.add(authentic.data.orderId);
    await orders.publish('orders', 'order.placed', wire(authentic), {
      ...wireProperties(authentic, 'orders'),
      userId: brokerUser('orders', prefix),
    });
    const forged = orderPlaced();
    await forger.publish('orders', 'order.placed', wire(forged), {
      ...wireProperties(forged, 'orders'),
      userId: brokerUser('payments', prefix),
    });
    await waitFor(async () => (await guest.messageCount(DLQ)) === 2, { description: 'both dead-lettered' });
    const deadLetters = inventory.messaging.deadLetters();
    expect(byId(await deadLetters.list()).map((item) => [item.messageId, item.reason])).toEqual(
      byId([
        { messageId: authentic.id, reason: 'rejected' },
        { messageId: forged.id, reason: 'unauthenticated-producer' },
      ] as DeadLetter[]).map((item) => [item.messageId, item.reason]),
    );
    broken.clear();

    const summary = await deadLetters.redrive({ queue: STOCK_QUEUE, all: true });

    expect(summary.redriven).toEqual([authentic.id]);
    expect(summary.skipped).toEqual([
      {
        messageId: forged.id,
        reason: `not redriven: order.placed must come from ${brokerUser('orders', prefix)}, but it came from "${brokerUser('payments', prefix)}"`,
      },
    ]);
    await waitFor(async () => (await inventory.reservations(authentic.data.orderId)) === 1, {
      description: 'the authentic event applied',
    });
    expect(await inventory.reservations(forged.data.orderId)).toBe(0);
    const [left] = await guest.drain(DLQ);
    expect(left.properties.messageId).toBe(forged.id);
    expect(left.properties.headers?.[MessagingHeaders.reason]).toBe('unauthenticated-producer');
  });
});
