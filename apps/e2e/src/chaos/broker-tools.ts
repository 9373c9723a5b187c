import { randomUUID } from 'node:crypto';
import * as amqp from 'amqplib';

export const APP_EXCHANGES = ['orders', 'inventory', 'payments', 'notifications'] as const;

/**
 * A connection to the first of `urls` (one per node of a cluster, or one URL) that accepts one: a
 * tool of the test keeps working while one node of the cluster is down.
 */
export async function connectAny(urls: string | readonly string[]): Promise<amqp.ChannelModel> {
  let lastError: unknown;
  for (const url of typeof urls === 'string' ? [urls] : urls) {
    try {
      return await amqp.connect(url);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError ?? new Error('no broker URL given');
}

export interface DeadLetterQueue {
  queue: string;
  /** checkQueue's messageCount (ready messages). */
  messageCount: number;
  /** messageId of every message in it (read with basic.get, then given back). */
  messageIds: string[];
  /** x-dead-letter-reason / x-death reason of each, when present. */
  reasons: string[];
}

/** Every `<queue>.dlq` in the vhost: its count (amqplib checkQueue) and the message ids it holds. */
export async function inspectDeadLetterQueues(
  urls: string | readonly string[],
  queueNames: string[],
): Promise<DeadLetterQueue[]> {
  const connection = await connectAny(urls);
  const result: DeadLetterQueue[] = [];
  try {
    for (const queue of queueNames.filter((name) => name.endsWith('.dlq')).sort()) {
      const channel = await connection.createChannel();
      const { messageCount } = await channel.checkQueue(queue);
      const messageIds: string[] = [];
      const reasons: string[] = [];
      for (let i = 0; i < messageCount + 50; i++) {
        const message = await channel.get(queue, { noAck: false });
        if (!message) break;
        messageIds.push(String(message.properties.messageId ?? '(none)'));
        const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
        const death = (headers['x-death'] as Array<Record<string, unknown>> | undefined)?.[0];
        reasons.push(String(headers['x-dead-letter-reason'] ?? death?.['reason'] ?? ''));
      }
      // closing the channel gives every unacknowledged message back to the queue
      await channel.close();
      result.push({ queue, messageCount, messageIds, reasons });
    }
  } finally {
    await connection.close();
  }
  return result;
}

export interface PoisonMessage {
  messageId: string;
  kind: string;
}

/** Publishes `count` unreadable messages to the orders exchange with routing key order.placed. */
export async function publishPoison(urls: string | readonly string[], count: number): Promise<PoisonMessage[]> {
  const connection = await connectAny(urls);
  const published: PoisonMessage[] = [];
  try {
    const channel = await connection.createConfirmChannel();
    for (let i = 0; i < count; i++) {
      const messageId = randomUUID();
      const kind = POISON_KINDS[i % POISON_KINDS.length];
      const now = new Date().toISOString();
      const orderId = randomUUID();
      const event = (type: string, data: unknown) =>
        JSON.stringify({
          specversion: '1.0',
          id: messageId,
          source: 'chaos',
          type,
          time: now,
          subject: orderId,
          datacontenttype: 'application/json',
          data,
        });
      let body: string;
      let type = 'order.placed';
      switch (kind) {
        case 'invalid-json':
          body = `{"specversion":"1.0","id":"${messageId}","type":"order.placed","data":{`;
          break;
        case 'unknown-type':
          type = 'order.exploded';
          body = event(type, { orderId });
          break;
        case 'schema-invalid':
          body = event(type, { orderId: 'not-a-uuid', items: 'nope', customerId: 42 });
          break;
        case 'not-cloudevent':
          body = JSON.stringify({ hello: 'world', orderId });
          break;
        default:
          body = '';
      }
      channel.publish('orders', 'order.placed', Buffer.from(body), {
        persistent: true,
        contentType: 'application/cloudevents+json',
        messageId,
        type,
        appId: 'chaos',
        headers: { traceparent: `00-${randomUUID().replace(/-/g, '')}-${'0'.repeat(15)}1-01` },
      });
      published.push({ messageId, kind });
    }
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
  return published;
}

const POISON_KINDS = ['invalid-json', 'unknown-type', 'schema-invalid', 'not-cloudevent', 'empty-body'] as const;

/**
 * Delivers a share of the apps' events twice: a temporary queue bound with `#` to each app's exchange
 * sees every event; a `rate` share of them is published again verbatim (same exchange, routing key,
 * body and properties, messageId and user-id included) after a short random delay, as a producer that
 * lost a confirm sends its event again. `url`'s user must be tagged `impersonator`: RabbitMQ lets no
 * one else publish under another user's user-id. Reconnects after a broker restart (to the next node of
 * `urls` when given one per node of a cluster).
 */
export class Duplicator {
  seen = 0;
  republished = 0;
  errors = 0;
  private readonly done = new Set<string>();
  private connection?: amqp.ChannelModel;
  private stopped = false;
  private loop?: Promise<void>;
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly urls: string | readonly string[],
    private readonly rate: number,
    private readonly rng: () => number,
    private readonly skip: (messageId: string) => boolean,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.pending]);
    await this.connection?.close().catch(() => undefined);
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        const connection = await connectAny(this.urls);
        this.connection = connection;
        const closed = new Promise<void>((resolve) => {
          connection.on('close', () => resolve());
          connection.on('error', () => resolve());
        });
        const tap = await connection.createChannel();
        const out = await connection.createConfirmChannel();
        out.on('error', () => undefined);
        tap.on('error', () => undefined);
        const { queue } = await tap.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
        for (const exchange of APP_EXCHANGES) await tap.bindQueue(queue, exchange, '#');
        await tap.consume(
          queue,
          (message) => {
            if (!message) return;
            this.seen++;
            const id = message.properties.messageId as string | undefined;
            if (!id || this.done.has(id) || this.skip(id) || message.properties.appId === 'chaos') return;
            if (this.rng() >= this.rate) return;
            this.done.add(id);
            const delay = Math.floor(this.rng() * 2_000);
            const task = new Promise<void>((resolve) => setTimeout(resolve, delay)).then(async () => {
              try {
                out.publish(message.fields.exchange, message.fields.routingKey, message.content, {
                  ...message.properties,
                } as amqp.Options.Publish);
                await out.waitForConfirms();
                this.republished++;
              } catch {
                this.errors++;
              }
            });
            this.pending.add(task);
            void task.finally(() => this.pending.delete(task));
          },
          { noAck: true },
        );
        await closed;
      } catch {
        // broker down (restart): try again
      }
      this.connection = undefined;
      if (!this.stopped) await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}
