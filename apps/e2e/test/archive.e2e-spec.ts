import { waitFor } from '@shop/testing';
import {
  createProduct,
  mapLimit,
  newCustomer,
  orderOf,
  readArchive,
  startSystem,
  type ArchiveEntry,
  type ArchivedEvent,
  type OrderTimeline,
  type ShopClient,
  type System,
} from '../src/support';

/** Everything the stream holds, read as the vhost's administrator until nothing more arrives for a second. */
async function readStream(url: string): Promise<ArchiveEntry[]> {
  const entries: ArchiveEntry[] = [];
  await readArchive(url, (entry) => void entries.push(entry));
  return entries;
}

describe('the event archive (shop.events) and its audit, through the running system', () => {
  let system: System;
  let client: ShopClient;

  beforeAll(async () => {
    // This suite floods the saga to fill the archive, as fast as the machine goes; refusing the flood
    // (admission control, the subject of overload.e2e-spec.ts) would only make it wait: saga lag off.
    system = await startSystem({ label: 'archive', env: { orders: { ADMISSION_SAGA_AGE_MS: '0' } } });
    client = system.client;
  }, 180_000);

  afterAll(async () => {
    await system?.stop();
  }, 60_000);

  /** Places `count` orders (every fifth declined) with `concurrency` in flight; their ids once all are final. */
  async function sagas(label: string, count: number, concurrency: number): Promise<string[]> {
    const sku = await createProduct(client, label, { available: count * 2, price: 500 });
    const ids = await mapLimit(Array.from({ length: count }), concurrency, async (_, i) => {
      const { order } = await client.placeOrder(
        orderOf(newCustomer(label), [[sku, 1]], i % 5 === 4 ? 'tok_declined' : 'tok_visa'),
      );
      return order.id;
    });
    await mapLimit(ids, 20, (id) => client.waitForOrderStatus(id, ['CONFIRMED', 'CANCELLED'], { timeoutMs: 120_000 }));
    return ids;
  }

  it('keeps every event of 1,000 orders exactly once, and answers one order in publish order', async () => {
    const ids = await sagas('thousand', 1000, 40);
    const wanted = new Set(ids);
    // every order's last effect (its notification) published too
    const entries = await waitFor(
      async () => {
        const all = (await readStream(system.brokerUrl)).filter((entry) => wanted.has(entry.event.subject));
        const notified = new Set(
          all.filter((entry) => entry.event.type === 'notification.sent').map((e) => e.event.subject),
        );
        return notified.size === wanted.size ? all : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 2_000, description: 'a notification.sent of every order in the archive' },
    );
    const byId = new Map<string, number>();
    for (const entry of entries) byId.set(entry.event.id, (byId.get(entry.event.id) ?? 0) + 1);
    expect([...byId.values()].filter((n) => n !== 1)).toEqual([]);
    // each order's saga, start to end
    const bySubject = new Map<string, string[]>();
    for (const entry of entries)
      bySubject.set(entry.event.subject, [...(bySubject.get(entry.event.subject) ?? []), entry.event.type]);
    for (const id of ids) {
      const types = bySubject.get(id) ?? [];
      expect(types[0]).toBe('order.placed');
      expect(types.includes('order.confirmed') || types.includes('order.cancelled')).toBe(true);
    }

    // GET /events: one order's events, as the stream holds them, in its order
    const one = ids[4]; // declined: the compensation path
    const fromStream = entries.filter((entry) => entry.event.subject === one).map((entry) => entry.event);
    const answered = await waitFor(
      async () => {
        const events = await client.archivedEvents(one);
        return events.length === fromStream.length ? events : undefined;
      },
      { timeoutMs: 20_000, description: `GET /events of ${one}` },
    );
    expect(answered).toEqual(fromStream);
    expect(answered.map((event) => event.type)).toContain('payment.declined');
    expect(answered.every((event) => /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/.test(event.traceparent ?? ''))).toBe(true);

    // paged
    const page = await client.http<ArchivedEvent[]>('orders', `/events?subject=${one}&after=${answered[0].id}&limit=2`);
    expect(page.body.map((event) => event.id)).toEqual(answered.slice(1, 3).map((event) => event.id));
  }, 600_000);

  it('answers [] for an order it does not know and 400 for a malformed id or cursor', async () => {
    expect((await client.http('orders', '/events?subject=00000000-0000-4000-8000-000000000000')).body).toEqual([]);
    const malformed = await client.http<{ message: string[] }>('orders', '/events?subject=not-a-uuid');
    expect(malformed.status).toBe(400);
    expect(malformed.body.message.join(' ')).toMatch(/subject/);
    const cursor = await client.http<{ message: string[] }>(
      'orders',
      '/events?subject=00000000-0000-4000-8000-000000000000&after=nope',
    );
    expect(cursor.status).toBe(400);
    expect(cursor.body.message.join(' ')).toMatch(/after/);
    expect((await client.http('orders', '/events')).status).toBe(400);
  });

  it('rebuilds the timeline while 50 orders/s flow in: the same timelines, nothing lost, nothing twice', async () => {
    const earlier = await sagas('before-rebuild', 30, 10);
    const before = new Map<string, OrderTimeline>();
    // Each order's timeline once it is whole: its last events folded in, which the timeline follows from
    // the archive a moment after the order's status is final. The customer's notification, and for a
    // declined order the stock released too (inventory's compensation may come after the notification).
    const isWhole = (types: string[]) =>
      types.includes('notification.sent') &&
      (!types.includes('order.cancelled') || types.includes('inventory.released'));
    for (const id of earlier) {
      const whole = await waitFor(
        async () => {
          const timeline = await client.timeline(id);
          return isWhole(timeline.events.map((event) => event.type)) ? timeline : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 100, description: `the timeline of ${id} with its last events` },
      );
      before.set(id, whole);
    }

    const started = await client.http<{ state: string }>('orders', '/admin/projections/timeline/rebuild', {
      method: 'POST',
    });
    expect(started.status).toBe(202);
    expect(started.body.state).toBe('rebuilding');
    // 50 orders/s for four seconds, open loop, during the rebuild and across its switch
    const during: Array<Promise<string[]>> = [];
    for (let second = 0; second < 4; second++) {
      during.push(sagas(`during-rebuild-${second}`, 50, 50));
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const flowed = (await Promise.all(during)).flat();
    const finished = await waitFor(
      async () => {
        const status = await client.projection('timeline');
        return status.state === 'live' && status.finishedAt ? status : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500, description: 'the rebuild finished' },
    );
    expect(finished.events).toBeGreaterThan(0);

    for (const id of earlier) expect(await client.timeline(id)).toEqual(before.get(id));
    // what flowed in meanwhile: every event the archive holds about it, once
    await mapLimit(flowed, 10, async (id) => {
      const archived = await waitFor(
        async () => {
          const events = await client.archivedEvents(id);
          return isWhole(events.map((event) => event.type)) ? events : undefined;
        },
        { timeoutMs: 30_000, description: `the archive of ${id}` },
      );
      const shown = await waitFor(
        async () => {
          const timeline = await client.timeline(id);
          return timeline.events.length >= archived.length ? timeline : undefined;
        },
        { timeoutMs: 30_000, description: `the timeline of ${id}` },
      );
      expect(shown.events.map((event) => event.id).sort()).toEqual(archived.map((event) => event.id).sort());
    });
  }, 600_000);
});
