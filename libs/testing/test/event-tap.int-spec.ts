import {
  CLOUDEVENTS_CONTENT_TYPE,
  InventoryReserved,
  OrderPlaced,
  serializeEvent,
  type CloudEvent,
} from '@shop/contracts';
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { createTestVhost, EventTap, waitFor, type TestBroker } from '../src';

const placed = (orderId: string) =>
  OrderPlaced.create({ orderId, customerId: 'c-1', items: [{ sku: 'SKU-1', quantity: 1 }], paymentToken: 'tok_visa' });
const reserved = (orderId: string) =>
  InventoryReserved.create({
    orderId,
    lines: [{ sku: 'SKU-1', quantity: 1, unitPrice: 100 }],
    total: 100,
    currency: 'USD',
  });

describe('EventTap', () => {
  let broker: TestBroker;
  let tap: EventTap;
  let model: ChannelModel;
  let channel: ConfirmChannel;

  beforeAll(async () => {
    broker = await createTestVhost('event-tap');
    tap = await EventTap.open(broker.url, 'inventory');
    model = await connect(broker.url);
    channel = await model.createConfirmChannel();
  });

  afterAll(async () => {
    await tap?.close();
    await model?.close().catch(() => undefined);
    await broker?.delete();
  });

  /** What the app under test would publish on its exchange. */
  const appPublishes = async (event: CloudEvent) => {
    channel.publish('inventory', event.type, serializeEvent(event));
    await channel.waitForConfirms();
  };

  it("publishes an event on its producer's exchange, routed by its type, as the producer's relay does", async () => {
    await channel.assertExchange('orders', 'topic', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, 'orders', 'order.placed');
    const event = placed(randomUUID());

    await tap.publish(event);

    const message = await waitFor(() => channel.get(queue, { noAck: true }), { description: 'the published event' });
    expect(message.fields.routingKey).toBe('order.placed');
    expect(message.properties).toMatchObject({
      deliveryMode: 2,
      contentType: CLOUDEVENTS_CONTENT_TYPE,
      messageId: event.id,
      type: 'order.placed',
      appId: 'orders',
    });
    expect(JSON.parse(message.content.toString())).toEqual(event);
  });

  it('refuses an event type the contracts do not know', async () => {
    await expect(tap.publish({ ...placed(randomUUID()), type: 'order.lost' })).rejects.toThrow(
      'unknown event type order.lost',
    );
  });

  it('collects what the app publishes on its exchange: about one order, in order, of one type when asked', async () => {
    const [orderId, other] = [randomUUID(), randomUUID()];
    const first = reserved(orderId);
    await appPublishes(first);
    await appPublishes(reserved(other));
    expect(await tap.about(orderId)).toEqual([first]);

    // Events taken from the queue before are kept.
    const second = reserved(orderId);
    await appPublishes(second);
    expect(await tap.about(orderId)).toEqual([first, second]);
    expect(await tap.about(orderId, 'inventory.reserved')).toEqual([first, second]);
    expect(await tap.about(orderId, 'inventory.rejected')).toEqual([]);
  });
});
