import { readArchive } from '../support/archive-stream';
import type { Order, ShopClient } from '../support/shop-client';

/** The event that makes an order's final state: what the archive must hold besides its order.placed. */
const FINAL_EVENT: Record<string, string | undefined> = {
  CONFIRMED: 'order.confirmed',
  CANCELLED: 'order.cancelled',
};

/**
 * The event archive after a run: for every accepted order, GET /events (the shop.events stream, found
 * through orders' subject index) answers its order.placed and the event of its final state, each event
 * id once. The index follows the stream by a moment, so what is missing is asked again until `deadline`.
 */
export async function archiveViolations(
  client: ShopClient,
  orders: Order[],
  deadline: number,
  /** The broker (a user that may read the stream): where the missing events are is then looked up in it. */
  streamUrl?: string,
): Promise<string[]> {
  let pending = orders.filter((order) => FINAL_EVENT[order.status]);
  let problems: string[] = [];
  for (;;) {
    problems = [];
    // each order still lacking events, with the types it lacks
    const missing = new Map<Order, string[]>();
    for (let i = 0; i < pending.length; i += 8) {
      await Promise.all(
        pending.slice(i, i + 8).map(async (order) => {
          const wanted = ['order.placed', FINAL_EVENT[order.status] as string];
          let events;
          try {
            events = await client.archivedEvents(order.id);
          } catch (error) {
            missing.set(order, wanted);
            problems.push(`order ${order.id}: GET /events failed: ${(error as Error).message}`);
            return;
          }
          const ids = events.map((event) => event.id);
          if (new Set(ids).size !== ids.length) problems.push(`order ${order.id}: an event id twice in GET /events`);
          const types = events.map((event) => event.type);
          const absent = wanted.filter((type) => !types.includes(type));
          if (absent.length) {
            missing.set(order, absent);
            problems.push(
              `order ${order.id} (${order.status}): archive lacks ${absent.join(', ')} (has ${types.join(', ')})`,
            );
          }
        }),
      );
    }
    if (missing.size === 0) return problems;
    if (Date.now() > deadline) {
      return streamUrl ? [...problems, ...(await whereMissing(client, streamUrl, missing))] : problems;
    }
    pending = [...missing.keys()];
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

/**
 * Where the events GET /events lacks are: read from the stream itself (every entry, from its first
 * offset) and from the subject index's position. An event in the stream that GET /events does not
 * answer is the index's (or the audit's) to explain; one absent from the stream was lost by the broker
 * after it confirmed the publish (the outbox deletes a row only then).
 */
async function whereMissing(client: ShopClient, streamUrl: string, missing: Map<Order, string[]>): Promise<string[]> {
  const absent = new Map([...missing].map(([order, types]) => [order.id, types]));
  const lines: string[] = [];
  try {
    const index = await client.projection('archive-index');
    lines.push(`the subject index: ${JSON.stringify(index)}`);
  } catch (error) {
    lines.push(`could not read the subject index's status: ${(error as Error).message}`);
  }
  const found = new Map<string, number[]>();
  let entries = 0;
  let lastOffset = -1;
  try {
    await readArchive(streamUrl, ({ offset, event }) => {
      entries++;
      lastOffset = offset;
      const subject = typeof event.subject === 'string' ? event.subject : '';
      if (absent.get(subject)?.includes(event.type)) {
        const key = `${subject} ${event.type}`;
        found.set(key, [...(found.get(key) ?? []), offset]);
      }
    });
  } catch (error) {
    return [...lines, `could not read the stream: ${(error as Error).message}`];
  }
  let inStream = 0;
  let notInStream = 0;
  for (const [orderId, types] of absent) {
    for (const type of types) {
      const offsets = found.get(`${orderId} ${type}`);
      if (offsets) inStream++;
      else notInStream++;
      lines.push(
        offsets
          ? `order ${orderId}: ${type} is in the stream at offset ${offsets.join(', ')}, not in GET /events`
          : `order ${orderId}: ${type} is not in the stream`,
      );
    }
  }
  lines.unshift(
    `of the events GET /events lacks, ${inStream} are in the stream and ${notInStream} are not (${entries} entries read, the last at offset ${lastOffset})`,
  );
  return lines;
}
