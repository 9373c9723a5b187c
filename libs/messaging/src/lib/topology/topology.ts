import type { Channel } from 'amqplib';
import type { AppName, ProducerName } from '@shop/contracts';

/**
 * Names and declarations of everything an app needs on the broker.
 *
 *   <app>            topic exchange the app publishes its events to (routing key = event type)
 *   <queue>          quorum queue of one consumer, bound to the exchanges it subscribes to
 *   <app>.delay      headers exchange: a failed message waits in <app>.delay.<ms> (one quorum queue per
 *                    delay, so a long wait never blocks a short one) and expires into ...
 *   <app>.retry      direct exchange routing it back to its queue (routing key = queue name)
 *   <app>.dlx        direct exchange to <queue>.dlq, for messages that cannot or could not be handled
 */
export const Topology = {
  /** The topic exchange of an app, or of an HTTP producer (which the bridge publishes to). */
  exchange: (producer: ProducerName) => producer,
  delayExchange: (app: AppName) => `${app}.delay`,
  retryExchange: (app: AppName) => `${app}.retry`,
  deadLetterExchange: (app: AppName) => `${app}.dlx`,
  delayQueue: (app: AppName, delayMs: number) => `${app}.delay.${delayMs}ms`,
  deadLetterQueue: (queue: string) => `${queue}.dlq`,
  /** Header that picks the delay queue on the headers exchange (x- headers are not matched there). */
  delayHeader: 'shop-delay-ms',
};

export interface Binding {
  exchange: ProducerName;
  routingKey: string;
}

export interface QueueDeclaration {
  queue: string;
  bindings: Binding[];
}

const quorum = { 'x-queue-type': 'quorum' } as const;
/** Dead-letter with publisher confirms inside the broker, so nothing is lost between queues. */
const atLeastOnceDeadLettering = { 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' } as const;

/**
 * Declares the app's exchange and queues. Another app's exchange, which its queues bind to, is only
 * checked when it exists: with least-privilege users (broker-access.ts) an app may not declare it,
 * and the broker's definitions create it. Only when it is missing (a broker without definitions, as
 * in development) is it declared here, on a channel of its own since a failed check closes its channel.
 */
export async function declareTopology(
  channel: Channel,
  openChannel: () => Promise<Channel>,
  app: AppName,
  queues: QueueDeclaration[],
  delaysMs: number[],
  deliveryLimit: number,
): Promise<void> {
  await channel.assertExchange(Topology.exchange(app), 'topic', { durable: true });
  if (queues.length === 0) return;

  const retryExchange = Topology.retryExchange(app);
  const deadLetterExchange = Topology.deadLetterExchange(app);
  await channel.assertExchange(Topology.delayExchange(app), 'headers', { durable: true });
  await channel.assertExchange(retryExchange, 'direct', { durable: true });
  await channel.assertExchange(deadLetterExchange, 'direct', { durable: true });

  for (const delayMs of delaysMs) {
    const delayQueue = Topology.delayQueue(app, delayMs);
    await channel.assertQueue(delayQueue, {
      durable: true,
      arguments: {
        ...quorum,
        ...atLeastOnceDeadLettering,
        'x-message-ttl': delayMs,
        'x-dead-letter-exchange': retryExchange,
      },
    });
    await channel.bindQueue(delayQueue, Topology.delayExchange(app), '', {
      'x-match': 'all',
      [Topology.delayHeader]: String(delayMs),
    });
  }

  for (const { queue, bindings } of queues) {
    const deadLetterQueue = Topology.deadLetterQueue(queue);
    await channel.assertQueue(deadLetterQueue, { durable: true, arguments: { ...quorum } });
    await channel.bindQueue(deadLetterQueue, deadLetterExchange, queue);
    await channel.assertQueue(queue, {
      durable: true,
      arguments: {
        ...quorum,
        ...atLeastOnceDeadLettering,
        'x-delivery-limit': deliveryLimit,
        'x-dead-letter-exchange': deadLetterExchange,
        'x-dead-letter-routing-key': queue,
      },
    });
    await channel.bindQueue(queue, retryExchange, queue);
    for (const binding of bindings) {
      if (binding.exchange !== app) await ensureExchange(openChannel, Topology.exchange(binding.exchange));
      await channel.bindQueue(queue, Topology.exchange(binding.exchange), binding.routingKey);
    }
  }
}

async function ensureExchange(openChannel: () => Promise<Channel>, exchange: string): Promise<void> {
  const check = await openChannel();
  check.on('error', () => undefined);
  try {
    await check.checkExchange(exchange);
    await check.close();
    return;
  } catch {
    // 404: the producer has not declared it yet (the channel is closed by the broker).
  }
  const declare = await openChannel();
  declare.on('error', () => undefined);
  try {
    await declare.assertExchange(exchange, 'topic', { durable: true });
  } finally {
    await declare.close().catch(() => undefined);
  }
}
