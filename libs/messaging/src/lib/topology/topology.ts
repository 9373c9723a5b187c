import type { Channel, Options } from 'amqplib';
import type { AppName, ProducerName } from '@shop/contracts';
import { assertReplicatedQueue } from './replication';

/**
 * Names and declarations of everything an app needs on the broker.
 *
 *   <app>            topic exchange the app publishes its events to (routing key = event type)
 *   <queue>          quorum queue of one consumer, bound to the exchanges it subscribes to
 *   <app>.delay      headers exchange: a failed message waits in <app>.delay.<ms> (one quorum queue per
 *                    delay, so a long wait never blocks a short one) and expires into ...
 *   <app>.retry      direct exchange routing it back to its queue (routing key = queue name)
 *   <app>.dlx        direct exchange to <queue>.dlq, for messages that cannot or could not be handled
 *
 * An ordered handler (`@ConsumeEvent(..., { ordered: 'subject' })`) has no <queue> of its own:
 *
 *   <queue>.partitions  consistent-hash exchange (plugin rabbitmq_consistent_hash_exchange), bound to the
 *                       handler's exchanges and routing keys, and to <app>.retry with key <queue> (redrives);
 *                       it hashes the AMQP correlation-id, which the relay sets to the event's subject
 *   <queue>.p0 ... .pN-1  quorum queues with single active consumer, bound with equal weights: all events
 *                       of one subject land in one partition, which one replica consumes at a time
 *   <queue>.dlq         one dead-letter queue for all partitions (dead-letter routing key <queue>)
 *   <queue>.members     a queue nothing is sent to, which every replica consumes: its consumer count is
 *                       the number of replicas (a partition counts only its active consumer)
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
  /** An ordered handler's consistent-hash exchange, which spreads its events over its partitions by subject. */
  partitionExchange: (queue: string) => `${queue}.partitions`,
  /** Partition `index` (from 0) of an ordered handler's queue. */
  partitionQueue: (queue: string, index: number) => `${queue}.p${index}`,
  /** An ordered handler's queue of no messages, consumed by each replica: its consumers are the replicas. */
  membersQueue: (queue: string) => `${queue}.members`,
};

/** The exchange type of the partitions, from the plugin rabbitmq_consistent_hash_exchange. */
export const CONSISTENT_HASH_EXCHANGE = 'x-consistent-hash';
export const CONSISTENT_HASH_PLUGIN = 'rabbitmq_consistent_hash_exchange';

/**
 * What the partition exchange hashes: the AMQP `correlation-id` property, which the outbox relay sets to
 * the CloudEvent's subject (relayProperties) and every retry, dead-letter and redrive copy keeps. A
 * message property rather than a header (`hash-header`) because RabbitMQ 3.10 and 4.x both take it, and
 * a producer cannot forget it while it publishes through the outbox. A message without one is hashed as
 * "undefined": all such messages go to one partition, none is lost.
 */
export const PARTITION_HASH_ARGUMENTS = { 'hash-property': 'correlation_id' } as const;

export interface Binding {
  exchange: ProducerName;
  routingKey: string;
}

export interface QueueDeclaration {
  queue: string;
  bindings: Binding[];
  /** Ordered: this many partitions (`<queue>.p0` ...) behind a consistent-hash exchange, instead of `<queue>`. */
  partitions?: number;
}

/** What declareTopology found: the queues to consume, per declared queue. */
export interface DeclaredTopology {
  /**
   * An ordered handler's partitions, `<queue>.p0` to `.pN-1`, and any partition past N that a larger
   * partition count left with messages in it (unbound now, consumed until empty, deleted at a start
   * that finds it empty). A queue that is not ordered is consumed as itself and is not listed.
   */
  partitions: Map<string, string[]>;
}

/** The broker refused the partition exchange's type: the plugin is not enabled. */
export class ConsistentHashUnavailableError extends Error {
  constructor(queue: string, cause: string) {
    super(
      `${queue} is ordered, which needs the ${CONSISTENT_HASH_EXCHANGE} exchange type: enable the ` +
        `${CONSISTENT_HASH_PLUGIN} plugin on the broker (rabbitmq-plugins enable ${CONSISTENT_HASH_PLUGIN}); ` +
        `the broker said: ${cause}`,
    );
    this.name = 'ConsistentHashUnavailableError';
  }
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
  /** x-quorum-initial-group-size of the quorum queues (replication.ts); undefined: not set (one node). */
  groupSize?: number,
): Promise<DeclaredTopology> {
  const declared: DeclaredTopology = { partitions: new Map() };
  // With a group size each queue is declared on a channel of its own (a refusal closes it: replication.ts).
  const assertQueue = (queue: string, options: Options.AssertQueue) =>
    groupSize ? assertReplicatedQueue(openChannel, queue, options, groupSize) : channel.assertQueue(queue, options);
  await channel.assertExchange(Topology.exchange(app), 'topic', { durable: true });
  if (queues.length === 0) return declared;

  const retryExchange = Topology.retryExchange(app);
  const deadLetterExchange = Topology.deadLetterExchange(app);
  await channel.assertExchange(Topology.delayExchange(app), 'headers', { durable: true });
  await channel.assertExchange(retryExchange, 'direct', { durable: true });
  await channel.assertExchange(deadLetterExchange, 'direct', { durable: true });

  for (const delayMs of delaysMs) {
    const delayQueue = Topology.delayQueue(app, delayMs);
    await assertQueue(delayQueue, {
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

  for (const { queue, bindings, partitions } of queues) {
    const deadLetterQueue = Topology.deadLetterQueue(queue);
    await assertQueue(deadLetterQueue, { durable: true, arguments: { ...quorum } });
    await channel.bindQueue(deadLetterQueue, deadLetterExchange, queue);
    // An ordered handler's partitions share these (dead letters to <queue>.dlq, the delivery limit).
    const queueArguments = {
      ...quorum,
      ...atLeastOnceDeadLettering,
      'x-delivery-limit': deliveryLimit,
      'x-dead-letter-exchange': deadLetterExchange,
      'x-dead-letter-routing-key': queue,
    };
    if (partitions !== undefined) {
      const source = await declarePartitions(channel, openChannel, queue, partitions, (partition) =>
        assertQueue(partition, {
          durable: true,
          arguments: { ...queueArguments, 'x-single-active-consumer': true },
        }),
      );
      await assertQueue(Topology.membersQueue(queue), { durable: true, arguments: { ...quorum } });
      // Redrives come back through the retry exchange (routing key: the queue) and are hashed again.
      await channel.bindExchange(source, retryExchange, queue);
      for (const binding of bindings) {
        if (binding.exchange !== app) await ensureExchange(openChannel, Topology.exchange(binding.exchange));
        await channel.bindExchange(source, Topology.exchange(binding.exchange), binding.routingKey);
      }
      declared.partitions.set(queue, [
        ...partitionQueues(queue, partitions),
        ...(await retireExtraPartitions(openChannel, queue, partitions)),
      ]);
      continue;
    }
    await assertQueue(queue, {
      durable: true,
      arguments: queueArguments,
    });
    await channel.bindQueue(queue, retryExchange, queue);
    for (const binding of bindings) {
      if (binding.exchange !== app) await ensureExchange(openChannel, Topology.exchange(binding.exchange));
      await channel.bindQueue(queue, Topology.exchange(binding.exchange), binding.routingKey);
    }
  }
  return declared;
}

/** `<queue>.p0` to `<queue>.p<partitions - 1>`. */
export function partitionQueues(queue: string, partitions: number): string[] {
  return Array.from({ length: partitions }, (_, index) => Topology.partitionQueue(queue, index));
}

/**
 * The consistent-hash exchange of an ordered queue and its partitions, each bound with weight 1 (an
 * equal share of the hash ring). Returns the exchange, to which the handler's bindings go.
 */
async function declarePartitions(
  channel: Channel,
  openChannel: () => Promise<Channel>,
  queue: string,
  partitions: number,
  assertPartition: (partition: string) => Promise<unknown>,
): Promise<string> {
  const exchange = Topology.partitionExchange(queue);
  await assertPartitionExchange(openChannel, queue);
  for (const partition of partitionQueues(queue, partitions)) {
    await assertPartition(partition);
    await channel.bindQueue(partition, exchange, '1');
  }
  return exchange;
}

/**
 * Declares the consistent-hash exchange on a channel of its own. Without the plugin RabbitMQ answers
 * an unknown exchange type with a connection error (503 COMMAND_INVALID), which amqplib reports on the
 * connection, not always on the call: both are watched, and either becomes a ConsistentHashUnavailableError.
 */
async function assertPartitionExchange(openChannel: () => Promise<Channel>, queue: string): Promise<void> {
  const declare = await openChannel();
  let refusal: string | undefined;
  const onError = (error: Error) => (refusal ??= error.message);
  declare.on('error', onError);
  try {
    await declare.assertExchange(Topology.partitionExchange(queue), CONSISTENT_HASH_EXCHANGE, {
      durable: true,
      arguments: PARTITION_HASH_ARGUMENTS,
    });
  } catch (error) {
    const message = refusal ?? (error as Error).message;
    if (unknownExchangeType(message)) throw new ConsistentHashUnavailableError(queue, message);
    throw error;
  } finally {
    await declare.close().catch(() => undefined);
  }
}

/** The broker's words for an exchange type no plugin provides. */
export function unknownExchangeType(message: string | undefined): boolean {
  return !!message && /unknown exchange type '?x-consistent-hash/i.test(message);
}

/**
 * Partitions past `partitions` (`<queue>.p<partitions>`, ... while they exist) are what a larger
 * partition count left: each is unbound from the exchange (the ring then spans the current ones),
 * deleted when empty, and otherwise returned, to be consumed until it is.
 */
async function retireExtraPartitions(
  openChannel: () => Promise<Channel>,
  queue: string,
  partitions: number,
): Promise<string[]> {
  const left: string[] = [];
  for (let index = partitions; ; index++) {
    const partition = Topology.partitionQueue(queue, index);
    const channel = await openChannel();
    channel.on('error', () => undefined);
    try {
      try {
        await channel.checkQueue(partition);
      } catch {
        return left; // 404: none past this one
      }
      await channel.unbindQueue(partition, Topology.partitionExchange(queue), '1');
      try {
        await channel.deleteQueue(partition, { ifEmpty: true });
      } catch {
        left.push(partition); // 406 PRECONDITION_FAILED: messages wait in it
      }
    } finally {
      await channel.close().catch(() => undefined);
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
