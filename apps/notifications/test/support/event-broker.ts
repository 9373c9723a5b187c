import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { CLOUDEVENTS_CONTENT_TYPE, EVENTS, parseEnvelope, serializeEvent, type CloudEvent } from '@shop/contracts';

/**
 * The rest of the system on the test's vhost: events published as their producers' relays publish
 * them, and what the app under test publishes collected from a queue of the test's own.
 */
export class EventBroker {
  private readonly seen: CloudEvent[] = [];

  private constructor(
    private readonly model: ChannelModel,
    private readonly channel: ConfirmChannel,
    private readonly tap: string,
  ) {}

  /** Opens it, with a queue bound to every event of `exchange` (the app's). */
  static async open(url: string, exchange: string): Promise<EventBroker> {
    const model = await connect(url);
    const channel = await model.createConfirmChannel();
    await channel.assertExchange(exchange, 'topic', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, exchange, '#');
    return new EventBroker(model, channel, queue);
  }

  async publish(event: CloudEvent): Promise<void> {
    const producer = EVENTS.find(event.type)?.producer;
    if (!producer) throw new Error(`unknown event type ${event.type}`);
    this.channel.publish(producer, event.type, serializeEvent(event), {
      persistent: true,
      contentType: CLOUDEVENTS_CONTENT_TYPE,
      messageId: event.id,
      type: event.type,
      appId: producer,
    });
    await this.channel.waitForConfirms();
  }

  /**
   * The events of `type` about `orderId` the app has published so far. Complete once its outbox is
   * empty: a row leaves the outbox only when the broker has confirmed it, so it is in the queue.
   */
  async published(type: string, orderId: string): Promise<CloudEvent[]> {
    for (;;) {
      const message = await this.channel.get(this.tap, { noAck: true });
      if (!message) break;
      this.seen.push(parseEnvelope(message.content));
    }
    return this.seen.filter((event) => event.type === type && event.subject === orderId);
  }

  async close(): Promise<void> {
    await this.model.close().catch(() => undefined);
  }
}
