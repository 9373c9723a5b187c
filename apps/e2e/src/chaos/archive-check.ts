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
export async function archiveViolations(client: ShopClient, orders: Order[], deadline: number): Promise<string[]> {
  let pending = orders.filter((order) => FINAL_EVENT[order.status]);
  let problems: string[] = [];
  for (;;) {
    problems = [];
    const missing: Order[] = [];
    for (let i = 0; i < pending.length; i += 8) {
      await Promise.all(
        pending.slice(i, i + 8).map(async (order) => {
          let events;
          try {
            events = await client.archivedEvents(order.id);
          } catch (error) {
            missing.push(order);
            problems.push(`order ${order.id}: GET /events failed: ${(error as Error).message}`);
            return;
          }
          const ids = events.map((event) => event.id);
          if (new Set(ids).size !== ids.length) problems.push(`order ${order.id}: an event id twice in GET /events`);
          const types = events.map((event) => event.type);
          const wanted = ['order.placed', FINAL_EVENT[order.status] as string];
          const absent = wanted.filter((type) => !types.includes(type));
          if (absent.length) {
            missing.push(order);
            problems.push(
              `order ${order.id} (${order.status}): archive lacks ${absent.join(', ')} (has ${types.join(', ')})`,
            );
          }
        }),
      );
    }
    if (missing.length === 0 || Date.now() > deadline) return problems;
    pending = missing;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}
