import { CLOUDEVENTS_CONTENT_TYPE, EVENTS, parseEnvelope, serializeEvent, type CloudEvent } from '@shop/contracts';
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';

/**
 * The rest of the system on a test's vhost: publishes events as their producers' outbox relays
 * publish them, and collects every event the app under test publishes, from a queue of the test's
 * own bound to `#` on the app's exchange.
 */
export class EventTap {
  private readonly seen: CloudEvent[] = [];

  private constructor(
    private readonly model: ChannelModel,
    private readonly channel: ConfirmChannel,
    private readonly tap: string,
  ) {}

  /** Connects to `url` and binds the tap to every event of `exchange` (the app's). */
  static async open(url: string, exchange: string): Promise<EventTap> {
    const model = await connect(url);
    const channel = await model.createConfirmChannel();
    await channel.assertExchange(exchange, 'topic', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, exchange, '#');
    return new EventTap(model, channel, queue);
  }

  /**
   * Publishes `event` on its producer's exchange (the producer the contracts name), routed by its
   * type, persistent, with the message id, type, app id and content type its relay sets; resolves
   * once the broker has confirmed it.
   */
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
   * The events about `orderId` (their subject) the app has published so far, in the order received,
   * only those of `type` when it is given. Complete once the app's outbox is empty: a row leaves the
   * outbox only when the broker has confirmed it, so by then it is in the tap's queue.
   */
  async about(orderId: string, type?: string): Promise<CloudEvent[]> {
    for (;;) {
      const message = await this.channel.get(this.tap, { noAck: true });
      if (!message) break;
      this.seen.push(parseEnvelope(message.content));
    }
    return this.seen.filter((event) => event.subject === orderId && (type === undefined || event.type === type));
  }

  async close(): Promise<void> {
    await this.model.close().catch(() => undefined);
  }
}
