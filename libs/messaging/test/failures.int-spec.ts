import type { GetMessage } from 'amqplib';
import { NonRetryableError } from '../src';
import { createTestDatabase, createTestVhost, waitFor, type TestBroker, type TestDatabase } from '@shop/testing';
import { orderPlaced, wire, wireProperties } from './support/events';
import { counterValue, RawBroker } from './support/harness';
import { type Probe, STOCK_HANDLER_RETRY, STOCK_QUEUE, startStockApp, type StockApp } from './support/stock-handler';

describe('a consumer facing failures', () => {
  let broker: TestBroker;
  let database: TestDatabase;
  let raw: RawBroker;
  let inventory: StockApp;
  let probe: Probe;
  const dlq = `${STOCK_QUEUE}.dlq`;

  beforeAll(async () => {
    [broker, database] = await Promise.all([createTestVhost('failures'), createTestDatabase('failures')]);
    inventory = await startStockApp({ brokerUrl: broker.url, databaseUrl: database.url });
    probe = inventory.probe;
    raw = await RawBroker.open(broker.url);
  });

  afterAll(async () => {
    await inventory?.close();
    await raw?.close();
    await Promise.all([broker?.delete(), database?.drop()]);
  });

  beforeEach(async () => {
    probe.reset();
    await raw.drain(dlq);
  });

  const deadLetters = (count: number) =>
    waitFor(
      async () => {
        const n = await raw.messageCount(dlq);
        return n >= count ? raw.drain(dlq) : undefined;
      },
      { timeoutMs: 10_000, description: `${count} message(s) in ${dlq}` },
    );

  const reservations = (orderId: string) => inventory.reservations(orderId);

  const header = (message: GetMessage, name: string) => message.properties.headers?.[name];

  it.each([
    ['unparseable', 'not json at all {'],
    ['invalid-envelope', JSON.stringify({ specversion: '0.3', id: 'x', type: 'order.placed' })],
    ['unknown-type', wire({ ...orderPlaced(), type: 'order.teleported' }).toString()],
    ['unknown-version', wire({ ...orderPlaced(), dataschema: 'urn:shop:events:order.placed:v9' }).toString()],
    ['schema-invalid', wire({ ...orderPlaced(), data: { orderId: 'not-a-uuid', items: 'many' } } as never).toString()],
  ])(
    'dead-letters a %s message at once, with its reason and origin, without calling the handler',
    async (reason, body) => {
      await raw.publish('orders', 'order.placed', body, { messageId: `poison-${reason}`, type: 'order.placed' });
      const [message] = await deadLetters(1);
      expect(message.content.toString()).toBe(body);
      expect(header(message, 'x-dead-letter-reason')).toBe(reason);
      expect(header(message, 'x-original-exchange')).toBe('orders');
      expect(header(message, 'x-original-routing-key')).toBe('order.placed');
      expect(header(message, 'x-attempt')).toBe(1);
      expect(String(header(message, 'x-exception-message'))).not.toBe('');
      expect(probe.calls).toHaveLength(0);
    },
  );

  it('dead-letters at once a message whose headers amqplib reads but cannot write back (a huge fraction, below -2^63)', async () => {
    const headers = {
      fraction: { '!': 'double', value: 2 ** 51 + 0.5 },
      tiny: { '!': 'double', value: -(2 ** 64) },
      'x-dead-letter-reason': 'forged',
    };
    await raw.publish('orders', 'order.placed', '{{{', { messageId: 'poison-headers', headers });
    const [message] = await deadLetters(1);
    expect(header(message, 'x-dead-letter-reason')).toBe('unparseable');
    expect(header(message, 'fraction')).toBe(2 ** 51 + 0.5);
    expect(probe.calls).toHaveLength(0);
  });

  it('keeps consuming after a poison message: the next good event is handled', async () => {
    const good = orderPlaced();
    await raw.publish('orders', 'order.placed', '{{{', { messageId: 'poison-first' });
    await raw.publish('orders', 'order.placed', wire(good), wireProperties(good, 'orders'));
    await waitFor(async () => (await reservations(good.data.orderId)) === 1, { description: 'good event handled' });
    await deadLetters(1);
  });

  it('retries a transient failure with growing delays, then dead-letters it with the attempt count', async () => {
    probe.failWith = () => new Error('database hiccup');
    const event = orderPlaced();
    const labels = { queue: STOCK_QUEUE, event_type: 'order.placed' };
    const retriedBefore = await counterValue(inventory, 'retried', labels);
    const deadBefore = await counterValue(inventory, 'deadLettered', { ...labels, reason: 'retries-exhausted' });
    await raw.publish('orders', 'order.placed', wire(event), wireProperties(event, 'orders'));

    const [message] = await deadLetters(1);
    // Counted as the operator sees it on /metrics: three retries, then one dead-letter.
    expect(await counterValue(inventory, 'retried', labels)).toBe(retriedBefore + 3);
    expect(await counterValue(inventory, 'deadLettered', { ...labels, reason: 'retries-exhausted' })).toBe(
      deadBefore + 1,
    );
    expect(probe.calls.map((c) => c.attempt)).toEqual([1, 2, 3, 4]);
    const gaps = probe.calls.slice(1).map((c, i) => c.at - probe.calls[i].at);
    // 200, 400, 800 ms by the policy (delay queues never deliver early).
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(STOCK_HANDLER_RETRY.initialDelayMs * 2 ** i - 20));
    expect(gaps[2]).toBeGreaterThan(gaps[0]);
    expect(header(message, 'x-dead-letter-reason')).toBe('retries-exhausted');
    expect(header(message, 'x-attempt')).toBe(4);
    expect(header(message, 'x-exception-message')).toBe('database hiccup');
    expect(header(message, 'x-original-exchange')).toBe('orders');
    expect(message.properties.messageId).toBe(event.id);
    expect(await reservations(event.data.orderId)).toBe(0);
  });

  it('applies the effect once when a handler succeeds on its third attempt', async () => {
    probe.failWith = (call) => (call.attempt < 3 ? new Error('flaky') : undefined);
    const event = orderPlaced();
    await raw.publish('orders', 'order.placed', wire(event), wireProperties(event, 'orders'));
    await waitFor(async () => (await reservations(event.data.orderId)) === 1, {
      description: 'third attempt committed',
    });
    expect(probe.calls.map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect(await raw.messageCount(dlq)).toBe(0);
  });

  it('dead-letters at once what the handler rejects as non-retryable', async () => {
    probe.failWith = () => new NonRetryableError('sku does not exist');
    const event = orderPlaced();
    await raw.publish('orders', 'order.placed', wire(event), wireProperties(event, 'orders'));
    const [message] = await deadLetters(1);
    expect(header(message, 'x-dead-letter-reason')).toBe('rejected');
    expect(header(message, 'x-exception-message')).toBe('sku does not exist');
    expect(probe.calls).toHaveLength(1);
  });

  it('declares its queues as durable quorum queues, each with a dead-letter queue', async () => {
    for (const queue of [STOCK_QUEUE, dlq]) {
      const declared = await raw.channel.checkQueue(queue);
      expect(declared.queue).toBe(queue);
    }
    // Re-declaring with classic arguments fails if (and only if) the queue is a quorum queue.
    const spare = await raw.spareChannel();
    await expect(
      spare.assertQueue(STOCK_QUEUE, { durable: true, arguments: { 'x-queue-type': 'classic' } }),
    ).rejects.toThrow(/PRECONDITION_FAILED/);
  });
});
