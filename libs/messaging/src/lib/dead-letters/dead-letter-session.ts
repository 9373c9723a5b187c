import type { Channel, ChannelModel, ConfirmChannel, Message } from 'amqplib';
import { Topology } from '../topology/topology';
import { UnknownQueueError } from './errors';

/** How long closing waits, at most, for the broker to show what it handed back (see `close`). */
const SETTLE_TIMEOUT_MS = 1000;
/** A batch read ends this long after the last delivery when fewer came than were ready (others took some). */
const IDLE_MS = 250;

/**
 * A channel of its own on which dead letters are taken without being settled (nothing leaves a queue
 * unless acknowledged) and, on close, handed back: whatever was not acknowledged returns to its
 * dead-letter queue. The dead-letter queues have no delivery limit, so a message handed back any
 * number of times stays (its `x-delivery-count` grows, which nothing reads there).
 *
 * RabbitMQ 3.10's quorum queues put a message handed back behind those it did not hand out: handed
 * back one by one in the order they came, all the messages of a queue keep their order; a part of
 * them goes to the back. And they are re-enqueued after the channel says so: a count or a read right
 * after a bare close may miss them for a few milliseconds. Hence `close` below.
 */
export class DeadLetterSession {
  /** Per dead-letter queue: messages ready when first seen, and how many this session acknowledged. */
  private readonly counts = new Map<string, { ready: number; acked: number }>();
  /** Taken and not acknowledged, in the order they came. */
  private readonly held = new Set<Message>();

  private constructor(readonly channel: Channel) {}

  static async open(model: ChannelModel, options: { confirm: boolean }): Promise<DeadLetterSession> {
    const channel: Channel | ConfirmChannel = options.confirm
      ? await model.createConfirmChannel()
      : await model.createChannel();
    // A refusal (a queue missing, access refused) closes the channel and fails the call that caused it.
    channel.on('error', () => undefined);
    return new DeadLetterSession(channel);
  }

  /** Messages ready in the queue's dead-letter queue now; an UnknownQueueError when the broker has none. */
  async ready(queue: string): Promise<number> {
    const deadLetterQueue = Topology.deadLetterQueue(queue);
    let ready: number;
    try {
      ready = (await this.channel.checkQueue(deadLetterQueue)).messageCount;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 404) throw error;
      throw new UnknownQueueError(
        queue,
        `the broker has no dead-letter queue ${deadLetterQueue} (is ${queue} declared?)`,
      );
    }
    if (!this.counts.has(queue)) this.counts.set(queue, { ready, acked: 0 });
    return ready;
  }

  /** The next message of the queue's dead-letter queue (`basic.get`), held; false when none is ready. */
  async take(queue: string): Promise<Message | false> {
    if (!this.counts.has(queue)) await this.ready(queue);
    const message = await this.channel.get(Topology.deadLetterQueue(queue), { noAck: false });
    if (message) this.held.add(message);
    return message;
  }

  /**
   * The first `max` messages of the queue's dead-letter queue (or all that are ready, when fewer), held:
   * consumed with a prefetch of that many, in one go rather than one round trip each.
   */
  async takeMany(queue: string, max: number): Promise<Message[]> {
    const expected = Math.min(await this.ready(queue), max);
    if (expected === 0) return [];
    const taken: Message[] = [];
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => (finish = resolve));
    let idle = setTimeout(finish, IDLE_MS * 4);
    await this.channel.prefetch(expected);
    const { consumerTag } = await this.channel.consume(
      Topology.deadLetterQueue(queue),
      (message) => {
        if (message === null) return finish();
        this.held.add(message);
        if (taken.push(message) >= expected) return finish();
        clearTimeout(idle);
        idle = setTimeout(finish, IDLE_MS);
      },
      { noAck: false },
    );
    await finished;
    clearTimeout(idle);
    await this.channel.cancel(consumerTag);
    return taken.slice(0, expected);
  }

  /** Removes the message from its dead-letter queue. */
  ack(queue: string, message: Message): void {
    this.held.delete(message);
    this.channel.ack(message);
    const count = this.counts.get(queue);
    if (count) count.acked += 1;
  }

  /**
   * Hands back what was not acknowledged, one by one in the order it came (`basic.nack`, requeue),
   * and closes the channel once the queues count at least what they held minus what was
   * acknowledged (or after SETTLE_TIMEOUT_MS, when others took some meanwhile).
   */
  async close(): Promise<void> {
    try {
      for (const message of this.held) this.channel.nack(message, false, true);
      this.held.clear();
      const deadline = Date.now() + SETTLE_TIMEOUT_MS;
      for (const [queue, { ready, acked }] of this.counts) {
        while (Date.now() < deadline) {
          const now = (await this.channel.checkQueue(Topology.deadLetterQueue(queue))).messageCount;
          if (now >= ready - acked) break;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }
    } catch {
      // The channel is gone already: the broker took back what it held.
    } finally {
      await this.channel.close().catch(() => undefined);
    }
  }
}
