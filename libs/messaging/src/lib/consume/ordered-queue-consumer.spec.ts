import { Logger } from '@nestjs/common';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { EVENTS, OrderPlaced, serializeEvent } from '@shop/contracts';
import type { ConfirmPublisher } from '../broker/confirm-publisher';
import type { Outbox } from '../outbox/outbox';
import { NonRetryableError } from './errors';
import { QueueConsumer, type ConsumerSpec, type EventHandler } from './queue-consumer';

/** A channel that records what the consumer asks of it and lets the test deliver messages. */
function fakeChannel(log: string[], name: string) {
  let deliver: ((message: ConsumeMessage | null) => void) | undefined;
  let tag = 0;
  const ids = new Map<number, string>();
  const channel = {
    on: () => channel,
    prefetch: async (count: number) => log.push(`${name} prefetch ${count}`),
    consume: async (queue: string, onMessage: (message: ConsumeMessage | null) => void) => {
      log.push(`consume ${queue}`);
      deliver = onMessage;
      return { consumerTag: `tag-${queue}` };
    },
    // AckBatch acknowledges by delivery tag (multiple), with no properties
    ack: (message: ConsumeMessage) => log.push(`${name} ack ${ids.get(message.fields.deliveryTag)}`),
    nack: (message: ConsumeMessage) => log.push(`${name} nack ${ids.get(message.fields.deliveryTag)}`),
    cancel: async () => log.push(`${name} cancel`),
    close: async () => log.push(`${name} close`),
  };
  return {
    channel: channel as unknown as Channel,
    deliver: (body: Buffer, messageId: string) =>
      deliver?.({
        content: body,
        fields: {
          deliveryTag: (ids.set(++tag, messageId), tag),
          redelivered: false,
          exchange: 'orders',
          routingKey: 'order.placed',
        },
        properties: { messageId, type: 'order.placed', headers: {} },
      } as unknown as ConsumeMessage),
  };
}

function consumerOf(handler: EventHandler, partitions = 2) {
  const log: string[] = [];
  const channels: Array<ReturnType<typeof fakeChannel>> = [];
  const model = {
    createChannel: async () => {
      const channel = fakeChannel(log, `ch${channels.length}`);
      channels.push(channel);
      return channel.channel;
    },
  } as unknown as ChannelModel;
  const published: Array<{ exchange: string; routingKey: string; headers: Record<string, unknown> }> = [];
  const publisher = {
    publish: async (exchange: string, routingKey: string, _content: Buffer, options: { headers: never }) => {
      published.push({ exchange, routingKey, headers: options.headers });
    },
  } as unknown as ConfirmPublisher;
  const spec: ConsumerSpec = {
    queue: 'inventory.ordered',
    bindings: [{ exchange: 'orders', routingKey: 'order.placed' }],
    acceptedTypes: new Set(['order.placed']),
    handler,
    handlerName: 'Test.handle',
    prefetch: 1,
    concurrency: 1,
    retry: { maxAttempts: 3, initialDelayMs: 5, factor: 2, maxDelayMs: 50 },
    ordered: { partitions, rebalanceIntervalMs: 0 },
  };
  const consumer = new QueueConsumer(spec, 'inventory', EVENTS, publisher, {} as Outbox, () => undefined);
  consumer.consumeQueues(['inventory.ordered.p0', 'inventory.ordered.p1']);
  return { consumer, model, channels, log, published };
}

const placed = () =>
  OrderPlaced.create({
    orderId: crypto.randomUUID(),
    customerId: 'c-1',
    items: [{ sku: 'S', quantity: 1 }],
    paymentToken: 'tok',
  });
const until = async (condition: () => boolean) => {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(condition()).toBe(true);
};

describe('QueueConsumer of an ordered handler', () => {
  beforeAll(() => Logger.overrideLogger(false));
  afterAll(() => Logger.overrideLogger(['log', 'warn', 'error']));

  it('consumes every partition on a channel of its own with prefetch 1', async () => {
    const { consumer, model, log } = consumerOf(() => undefined);
    await consumer.start(model);
    expect(log).toEqual([
      'ch0 prefetch 1',
      'consume inventory.ordered.p0',
      'ch1 prefetch 1',
      'consume inventory.ordered.p1',
      // counted as a replica: the consumers of <queue>.members
      'consume inventory.ordered.members',
    ]);
    await consumer.close();
  });

  it('retries a failure in place, holding the delivery, and acknowledges it once handled', async () => {
    const attempts: number[] = [];
    const { consumer, model, channels, log, published } = consumerOf((_event, ctx) => {
      attempts.push(ctx.attempt);
      if (ctx.attempt < 3) throw new Error('not yet');
    });
    await consumer.start(model);
    const event = placed();
    channels[0]?.deliver(serializeEvent(event), event.id);
    await until(() => log.includes(`ch0 ack ${event.id}`));
    expect(attempts).toEqual([1, 2, 3]);
    // never sent to a delay queue, where later events of the subject would overtake it
    expect(published).toEqual([]);
    await consumer.close();
  });

  it('dead-letters to <queue>.dlq after maxAttempts, then acknowledges', async () => {
    const { consumer, model, channels, log, published } = consumerOf(() => {
      throw new Error('always');
    });
    await consumer.start(model);
    const event = placed();
    channels[1]?.deliver(serializeEvent(event), event.id);
    await until(() => log.includes(`ch1 ack ${event.id}`));
    expect(published).toEqual([
      expect.objectContaining({
        exchange: 'inventory.dlx',
        routingKey: 'inventory.ordered',
        headers: expect.objectContaining({ 'x-attempt': 3, 'x-dead-letter-reason': 'retries-exhausted' }),
      }),
    ]);
    await consumer.close();
  });

  it('dead-letters a refusal at once', async () => {
    const { consumer, model, channels, log, published } = consumerOf(() => {
      throw new NonRetryableError('no');
    });
    await consumer.start(model);
    const event = placed();
    channels[0]?.deliver(serializeEvent(event), event.id);
    await until(() => log.includes(`ch0 ack ${event.id}`));
    expect(published.map((copy) => copy.headers['x-dead-letter-reason'])).toEqual(['rejected']);
    await consumer.close();
  });

  it('on cancel, leaves a delivery waiting to be retried unacknowledged, for the channel close to hand back', async () => {
    const { consumer, model, channels, log } = consumerOf(() => {
      throw new Error('fails');
    });
    await consumer.start(model);
    const event = placed();
    channels[0]?.deliver(serializeEvent(event), event.id);
    await until(() => consumer.inFlightCount === 1 && !log.includes(`ch0 ack ${event.id}`));
    await new Promise((resolve) => setTimeout(resolve, 1));
    await consumer.cancel();
    await consumer.drain();
    // no basic.cancel (single active consumer would make another replica active before this one is done)
    expect(log.filter((line) => / (ack|nack|cancel)/.test(line))).toEqual([]);
    await consumer.close();
    expect(log.slice(-2)).toEqual(['ch0 close', 'ch1 close']);
  });
});

describe("QueueConsumer's line per delivery", () => {
  afterAll(() => Logger.overrideLogger(['log', 'warn', 'error']));

  it('is written at LOG_LEVEL log, with the order and trace, and not even built at warn', async () => {
    const lines = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    try {
      const { consumer, model, channels, log } = consumerOf(() => undefined);
      await consumer.start(model);
      Logger.overrideLogger(['error', 'warn']);
      const quiet = placed();
      channels[0]?.deliver(serializeEvent(quiet), quiet.id);
      await until(() => log.includes(`ch0 ack ${quiet.id}`));
      expect(lines).not.toHaveBeenCalled();

      Logger.overrideLogger(['error', 'warn', 'log']);
      const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      const logged = OrderPlaced.create(placed().data, { traceparent });
      channels[0]?.deliver(serializeEvent(logged), logged.id);
      await until(() => log.includes(`ch0 ack ${logged.id}`));
      expect(lines).toHaveBeenCalledTimes(1);
      expect(lines.mock.calls[0]?.[0]).toMatchObject({
        msg: 'order.placed ack',
        queue: 'inventory.ordered',
        event_id: logged.id,
        order_id: logged.data.orderId,
        trace_id: '0af7651916cd43dd8448eb211c80319c',
        attempt: 1,
        outcome: 'ack',
      });
      await consumer.close();
    } finally {
      lines.mockRestore();
    }
  });
});
