import { Logger, type LoggerService } from '@nestjs/common';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { EVENTS, type AppName, type EventRegistry } from '@shop/contracts';
import { ConfirmPublisher } from '../broker/confirm-publisher';
import { producerAuthentication, type ProducerAuthentication } from '../consume/producer-authentication';
import type { MessagingMetrics } from '../metrics/messaging-metrics';
import { Topology } from '../topology/topology';
import { DeadLetterMessage, type DeadLetter } from './dead-letter-message';
import { DeadLetterSession } from './dead-letter-session';
import { UnknownQueueError } from './errors';

export interface DeadLettersOptions {
  app: AppName;
  /**
   * The broker user the connection authenticates as (the app's own): every redriven copy carries it
   * as its `user-id`. When it is the app's own user (`<prefix><app>`), only a message whose original
   * producer owned its type is redriven (the consumers trust what comes through the retry exchange).
   */
  user: string;
  /** The app's consumer queues: only their `<queue>.dlq` are read. */
  queues: () => readonly string[];
  registry?: EventRegistry;
  metrics?: MessagingMetrics;
  /** The most a compressed body is decompressed to for a listing (16 MiB by default), as for the consumers. */
  maxDecompressedBytes?: number;
  /** One line per redriven message; Nest's Logger by default. */
  logger?: Pick<LoggerService, 'log' | 'warn'>;
}

export interface ListDeadLettersOptions {
  /** One consumer queue; all of the app's by default. */
  queue?: string;
  /** At most this many, 1 to 1000 (100 by default), over all the queues. */
  limit?: number;
}

export type RedriveRequest = { queue: string; messageIds: readonly string[] } | { queue: string; all: true };

export interface RedriveSummary {
  queue: string;
  /** Sent back to the queue (confirmed by the broker) and removed from the dead-letter queue. */
  redriven: string[];
  /** Asked for, and not in the dead-letter queue (or held by another reader at the time). */
  notFound: string[];
  /** Found and left in the dead-letter queue, with why. */
  skipped: Array<{ messageId: string; reason: string }>;
}

export const MAX_DEAD_LETTERS_LIMIT = 1000;
/** Publishes awaiting their confirm at once during a redrive. */
const REDRIVE_WINDOW = 64;

/**
 * Inspection and redrive of an app's dead-letter queues (`<queue>.dlq`) over its own broker
 * connection: no management API, so nothing beyond the app's own permissions.
 *
 * Listing takes messages without acknowledging them, in a session of its own (DeadLetterSession), and
 * hands them back. A redrive takes messages the same way, publishes a copy of each selected one to
 * the app's retry exchange (routing key: its queue) and acknowledges it in the dead-letter queue only
 * once the broker confirmed the copy; whatever it did not select is handed back.
 */
export class DeadLetters {
  private readonly registry: EventRegistry;
  private readonly logger: Pick<LoggerService, 'log' | 'warn'>;
  /** How the app's consumers tell producers apart (unset when it connects as a shared user). */
  private readonly producers?: ProducerAuthentication;

  constructor(
    /** The app's connection (throws when it has none at the moment). */
    private readonly connection: () => ChannelModel,
    private readonly options: DeadLettersOptions,
  ) {
    this.registry = options.registry ?? EVENTS;
    this.logger = options.logger ?? new Logger('DeadLetters');
    this.producers = producerAuthentication(options.app, options.user);
  }

  /** What waits in the dead-letter queues, oldest first per queue, without taking anything away. */
  async list(options: ListDeadLettersOptions = {}): Promise<DeadLetter[]> {
    const limit = options.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_DEAD_LETTERS_LIMIT) {
      throw new RangeError(`limit must be an integer from 1 to ${MAX_DEAD_LETTERS_LIMIT}`);
    }
    const queues = options.queue === undefined ? this.ownQueues() : [this.ownQueue(options.queue)];
    const retryExchange = Topology.retryExchange(this.options.app);
    const found: DeadLetter[] = [];
    await this.inSession(false, async (session) => {
      for (const queue of queues) {
        if (found.length >= limit) break;
        // All of them (up to the most a listing shows), not just `limit`: handed back all together,
        // they keep their order (DeadLetterSession), and the next listing shows the same first ones.
        const messages = await session.takeMany(queue, MAX_DEAD_LETTERS_LIMIT);
        for (const message of messages.slice(0, limit - found.length)) {
          found.push(new DeadLetterMessage(message, queue, retryExchange, this.options.maxDecompressedBytes).view());
        }
      }
    });
    return found;
  }

  /**
   * Sends the selected dead letters of `queue` back to it, once each: those of `messageIds`, or all
   * that are there when it starts (a message that fails again meanwhile comes back behind them, and
   * is not taken again). Each is acknowledged in the dead-letter queue only after the broker
   * confirmed its copy: a crash in between leaves it there too, and the inbox absorbs the duplicate.
   */
  async redrive(request: RedriveRequest): Promise<RedriveSummary> {
    const queue = this.ownQueue(request.queue);
    const wanted = 'messageIds' in request ? new Set(request.messageIds) : undefined;
    if (!wanted && !('all' in request && request.all === true)) {
      throw new TypeError('a redrive takes messageIds or all: true');
    }
    const summary: RedriveSummary = { queue, redriven: [], notFound: [], skipped: [] };
    const seen = new Set<string>();
    const retryExchange = Topology.retryExchange(this.options.app);
    await this.inSession(true, async (session) => {
      const publisher = new ConfirmPublisher(this.options.user);
      publisher.attach(session.channel as ConfirmChannel);
      // What is there now bounds the walk: copies that fail again land behind it.
      const ready = await session.ready(queue);
      const pending: Array<Promise<void>> = [];
      for (let taken = 0; taken < ready && !(wanted && seen.size === wanted.size); taken++) {
        const message = await session.take(queue);
        if (!message) break;
        const dead = new DeadLetterMessage(message, queue, retryExchange, this.options.maxDecompressedBytes);
        const id = dead.messageId;
        // Not asked for: left as it is (handed back when the session closes).
        if (wanted && (id === undefined || !wanted.has(id))) continue;
        if (id !== undefined && seen.has(id)) {
          summary.skipped.push({ messageId: id, reason: 'another copy of a message this redrive took: left in place' });
          continue;
        }
        if (id !== undefined) seen.add(id);
        const refusal = this.producers && dead.unauthenticated(this.registry, this.producers);
        if (refusal) {
          summary.skipped.push({ messageId: id ?? '(none)', reason: `not redriven: ${refusal}` });
          continue;
        }
        pending.push(this.send(session, publisher, dead, summary));
        if (pending.length >= REDRIVE_WINDOW) await Promise.all(pending.splice(0));
      }
      await Promise.all(pending);
    });
    if (wanted) summary.notFound = [...wanted].filter((id) => !seen.has(id));
    return summary;
  }

  /** Publishes the copy, then acknowledges the dead letter; a copy not confirmed leaves it in place. */
  private async send(
    session: DeadLetterSession,
    publisher: ConfirmPublisher,
    dead: DeadLetterMessage,
    summary: RedriveSummary,
  ): Promise<void> {
    const queue = dead.queue;
    const { content, options } = dead.redriveCopy(new Date());
    try {
      await publisher.publish(Topology.retryExchange(this.options.app), queue, content, options);
    } catch (error) {
      summary.skipped.push({ messageId: options.messageId, reason: `not confirmed: ${(error as Error).message}` });
      this.logger.warn(`dead letter ${options.messageId} of ${queue} not redriven: ${(error as Error).message}`);
      return;
    }
    summary.redriven.push(options.messageId);
    try {
      session.ack(queue, dead.message);
    } catch (error) {
      // The channel is gone: the dead letter goes back to its queue beside the copy just sent, and
      // a later redrive of it is a duplicate the inbox absorbs.
      this.logger.warn(
        `dead letter ${options.messageId} of ${queue} redriven, but left in place: ${(error as Error).message}`,
      );
    }
    this.options.metrics?.redriven.labels(queue).inc();
    this.logger.log({
      msg: `${dead.type ?? 'message'} redriven`,
      queue,
      event_type: dead.type,
      event_id: options.messageId,
      reason: dead.reason,
      redrive_count: dead.redrives + 1,
      outcome: 'redriven',
    });
  }

  private async inSession<T>(confirm: boolean, work: (session: DeadLetterSession) => Promise<T>): Promise<T> {
    const session = await DeadLetterSession.open(this.connection(), { confirm });
    try {
      return await work(session);
    } finally {
      await session.close();
    }
  }

  private ownQueues(): string[] {
    return this.options.queues().map((queue) => this.ownQueue(queue));
  }

  /** The queue when it is one of the app's consumer queues; an UnknownQueueError saying why otherwise. */
  private ownQueue(queue: string): string {
    const app = this.options.app;
    if (!queue.startsWith(`${Topology.exchange(app)}.`)) {
      throw new UnknownQueueError(queue, `queue "${queue}" is not one of ${app}'s (they are named ${app}.<name>)`);
    }
    if (queue.endsWith('.dlq')) {
      const consumer = queue.slice(0, -'.dlq'.length);
      throw new UnknownQueueError(queue, `name the consumer's queue ("${consumer}"), not its dead-letter queue`);
    }
    if (!this.options.queues().includes(queue)) {
      throw new UnknownQueueError(
        queue,
        `${app} has no consumer queue "${queue}" (its queues: ${this.options.queues().join(', ') || 'none'})`,
      );
    }
    return queue;
  }
}
