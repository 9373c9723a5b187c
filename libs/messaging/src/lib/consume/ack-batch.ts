import type { Channel, Message } from 'amqplib';

/**
 * The acknowledgements of one consumer channel, coalesced. A settled delivery is acknowledged at the
 * end of the current turn of the event loop, together with every other settled then: deliveries
 * settled in order take one `basic.ack` with `multiple` (the broker acknowledges every delivery of
 * the channel up to that tag), so a busy consumer writes one frame for many messages instead of one
 * each. A delivery settled ahead of one still in its handler is acknowledged on its own, at the same
 * time: a slow handler holds back no other acknowledgement (and so no prefetch slot).
 *
 * Nothing is acknowledged earlier than before: only after the handler's transaction committed, or
 * after the retry or dead-letter copy was confirmed. A nack (handed back to the queue) goes out at
 * once; its place in the order is then released, and a later `multiple` ack does not touch it.
 */
export class AckBatch {
  /** Delivery tags in delivery order, from `head` on not yet covered by an ack sent. */
  private order: number[] = [];
  private head = 0;
  /** Tags settled and not yet covered: `ack` waiting to be sent, `done` sent (or nacked) already. */
  private readonly settled = new Map<number, 'ack' | 'done'>();
  private scheduled = false;

  constructor(private readonly channel: Channel) {}

  delivered(message: Message): void {
    this.order.push(message.fields.deliveryTag);
  }

  ack(message: Message): void {
    this.settled.set(message.fields.deliveryTag, 'ack');
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Hands the delivery back to its queue, now. */
  nack(message: Message): void {
    this.settled.set(message.fields.deliveryTag, 'done');
    quietly(() => this.channel.nack(message, false, true));
  }

  /** Sends what is waiting: one ack for the settled prefix, single acks for anything settled past it. */
  flush(): void {
    this.scheduled = false;
    let upTo: number | undefined;
    while (this.head < this.order.length) {
      const tag = this.order[this.head];
      const state = this.settled.get(tag);
      if (state === undefined) break;
      this.settled.delete(tag);
      if (state === 'ack') upTo = tag;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
    if (upTo !== undefined) quietly(() => this.channel.ack(tagged(upTo), true));
    for (const [tag, state] of this.settled) {
      if (state !== 'ack') continue;
      quietly(() => this.channel.ack(tagged(tag), false));
      this.settled.set(tag, 'done');
    }
  }
}

function tagged(deliveryTag: number): Message {
  return { fields: { deliveryTag } } as Message;
}

function quietly(action: () => void): void {
  try {
    action();
  } catch {
    // The channel closed meanwhile: the broker redelivers what was not acknowledged, and the inbox
    // spots a repeat.
  }
}
