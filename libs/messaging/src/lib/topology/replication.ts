import type { Channel, Options, Replies } from 'amqplib';

/** The quorum queue argument that sets how many nodes hold a replica of a new queue. */
export const INITIAL_GROUP_SIZE = 'x-quorum-initial-group-size';

/**
 * How many replicas a quorum queue is declared with: min(3, the nodes the broker URL names), when it
 * names more than one; undefined for one node, whose declarations stay as they always were (the broker
 * then places replicas on every cluster node, and an existing queue is redeclared unchanged).
 */
export function quorumGroupSize(nodes: number): number | undefined {
  return nodes > 1 ? Math.min(3, nodes) : undefined;
}

/**
 * Declares a quorum queue with `x-quorum-initial-group-size`, on a channel of its own. RabbitMQ (3.10
 * and later) checks that argument for equivalence on redeclaration like any other: a queue created
 * without it (by a single-node URL) or with another size refuses the declaration with
 * `inequivalent arg 'x-quorum-initial-group-size' ... current is none` (or `... current is '3'`).
 * The size only matters when a queue is created, so such a queue is declared again with the value it
 * has, the other arguments still checked by the broker: an existing queue keeps working, a new one is
 * replicated.
 */
export async function assertReplicatedQueue(
  openChannel: () => Promise<Channel>,
  queue: string,
  options: Options.AssertQueue,
  groupSize: number,
): Promise<Replies.AssertQueue> {
  const withSize = { ...options, arguments: { ...options.arguments, [INITIAL_GROUP_SIZE]: groupSize } };
  try {
    return await declareOnOwnChannel(openChannel, queue, withSize);
  } catch (error) {
    const current = currentGroupSize((error as Error).message);
    if (current === undefined) throw error;
    const args: Record<string, unknown> = { ...options.arguments };
    if (current === null) delete args[INITIAL_GROUP_SIZE];
    else args[INITIAL_GROUP_SIZE] = current;
    return declareOnOwnChannel(openChannel, queue, { ...options, arguments: args });
  }
}

/**
 * The group size an existing queue has, read from the broker's refusal: a number, null when it has
 * none, undefined when the refusal is about something else.
 */
export function currentGroupSize(message: string): number | null | undefined {
  if (!message.includes(`inequivalent arg '${INITIAL_GROUP_SIZE}'`)) return undefined;
  const current = /but current is (?:the value )?(none|'(\d+)')/.exec(message);
  if (!current) return undefined;
  return current[1] === 'none' ? null : Number(current[2]);
}

async function declareOnOwnChannel(
  openChannel: () => Promise<Channel>,
  queue: string,
  options: Options.AssertQueue,
): Promise<Replies.AssertQueue> {
  const channel = await openChannel();
  // A refused declaration closes the channel: the error is the declaration's rejection.
  channel.on('error', () => undefined);
  try {
    return await channel.assertQueue(queue, options);
  } finally {
    await channel.close().catch(() => undefined);
  }
}
