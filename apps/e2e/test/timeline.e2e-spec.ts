import { randomBytes, randomUUID } from 'node:crypto';
import {
  createProduct,
  expectNestError,
  newCustomer,
  orderOf,
  startSystem,
  type Order,
  type OrderTimeline,
  type PlaceOrderRequest,
  type ShopClient,
  type System,
  type TimelineEvent,
} from '../src/support';

/**
 * GET /orders/{id}/timeline: every event about an order, from every app, in the order it happened,
 * with its producer and the trace of the request that placed the order.
 */

const TEST_TIMEOUT = 90_000;
const TRACE_ID = /^[0-9a-f]{32}$/;

describe('the order timeline', () => {
  let system: System;
  let client: ShopClient;

  beforeAll(async () => {
    system = await startSystem({ label: 'timeline' });
    client = system.client;
  }, 180_000);

  afterAll(() => system?.stop(), 60_000);

  /** POST /orders with a traceparent of the test's own: the trace id every event must carry. */
  async function placeTraced(request: PlaceOrderRequest): Promise<{ order: Order; traceId: string }> {
    const traceId = randomBytes(16).toString('hex');
    const response = await client.http<Order>('orders', '/orders', {
      method: 'POST',
      body: request,
      headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
    });
    expect(response.status).toBe(202);
    return { order: response.body, traceId };
  }

  /** What holds for every timeline: ids unique, times in order, one trace, causes earlier in the same timeline. */
  function expectWellFormed(timeline: OrderTimeline, orderId: string, traceId: string): void {
    expect(timeline.orderId).toBe(orderId);
    const { events } = timeline;
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    const times = events.map((e) => Date.parse(e.time));
    expect(times.every((t) => Number.isFinite(t))).toBe(true);
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThanOrEqual(times[i - 1]);
    expect(events[0]).toMatchObject({ type: 'order.placed', producer: 'orders' });
    expect(events[0].traceId).toMatch(TRACE_ID);
    expect(events.map((e) => e.traceId)).toEqual(events.map(() => events[0].traceId));
    expect(events[0].traceId).toBe(traceId);
    // order.placed was caused by the request; every later event by an event before it
    expect(events[0].causationId).toBeUndefined();
    events.slice(1).forEach((event, i) => {
      const earlier = events.slice(0, i + 1).map((e) => e.id);
      expect({ type: event.type, causedByAnEarlierEvent: earlier.includes(event.causationId ?? '') }).toEqual({
        type: event.type,
        causedByAnEarlierEvent: true,
      });
    });
  }

  const byType = (events: TimelineEvent[], type: string) => {
    const found = events.find((e) => e.type === type);
    if (!found) throw new Error(`no ${type} in ${JSON.stringify(events.map((e) => e.type))}`);
    return found;
  };
  const indexOf = (events: TimelineEvent[], type: string) => events.indexOf(byType(events, type));

  it(
    'shows a confirmed order from order.placed to notification.sent, each event once, from its producer, in one trace',
    async () => {
      const sku = await createProduct(client, 'timeline', { available: 5, price: 1_250 });
      const { order, traceId } = await placeTraced(orderOf(newCustomer('timeline'), [[sku, 3]]));

      // the order exists at once (a 200, not a 404), its events follow as they are projected
      const early = await client.timeline(order.id);
      expect(early.orderId).toBe(order.id);
      expect(Array.isArray(early.events)).toBe(true);

      const expected: Array<[string, string]> = [
        ['order.placed', 'orders'],
        ['inventory.reserved', 'inventory'],
        ['payment.captured', 'payments'],
        ['order.confirmed', 'orders'],
        ['notification.sent', 'notifications'],
      ];
      await client.waitForTimeline(
        order.id,
        expected.map(([type]) => type),
      );
      await client.waitForOrderStatus(order.id, 'CONFIRMED');
      const timeline = await client.timeline(order.id);

      expect(timeline.events.map((e) => [e.type, e.producer])).toEqual(expected);
      expectWellFormed(timeline, order.id, traceId);
      expect(byType(timeline.events, 'payment.captured').summary).toMatch(/\b3750\b/);
      expect(byType(timeline.events, 'order.confirmed').summary).toMatch(/\b3750\b/);
      expect(byType(timeline.events, 'notification.sent').summary).toBe('ORDER_CONFIRMED');
      expect(byType(timeline.events, 'order.placed').summary).not.toMatch(/tok_/);
    },
    TEST_TIMEOUT,
  );

  it(
    'shows the compensation of a declined payment: declined with its reason, cancelled, stock released, customer told',
    async () => {
      const sku = await createProduct(client, 'timeline-declined', { available: 5, price: 800 });
      const { order, traceId } = await placeTraced(orderOf(newCustomer('timeline'), [[sku, 2]], 'tok_declined'));

      const timeline = await client.waitForTimeline(order.id, [
        'order.placed',
        'inventory.reserved',
        'payment.declined',
        'order.cancelled',
        'inventory.released',
        'notification.sent',
      ]);

      const { events } = timeline;
      expectWellFormed(timeline, order.id, traceId);
      expect(events.map((e) => e.type)).not.toContain('payment.captured');
      expect(events.map((e) => e.type)).not.toContain('order.confirmed');
      expect(byType(events, 'payment.declined')).toMatchObject({ producer: 'payments' });
      expect(byType(events, 'payment.declined').summary).toMatch(/card_declined/);
      expect(byType(events, 'order.cancelled')).toMatchObject({ producer: 'orders' });
      expect(byType(events, 'order.cancelled').summary).toMatch(/PAYMENT_DECLINED/);
      expect(byType(events, 'inventory.released')).toMatchObject({ producer: 'inventory' });
      expect(byType(events, 'notification.sent')).toMatchObject({
        producer: 'notifications',
        summary: 'ORDER_CANCELLED',
      });
      expect(indexOf(events, 'inventory.reserved')).toBeLessThan(indexOf(events, 'payment.declined'));
      expect(indexOf(events, 'payment.declined')).toBeLessThan(indexOf(events, 'order.cancelled'));
      expect(indexOf(events, 'order.cancelled')).toBeLessThan(indexOf(events, 'inventory.released'));
      expect(indexOf(events, 'order.cancelled')).toBeLessThan(indexOf(events, 'notification.sent'));
      expect(byType(events, 'order.cancelled').causationId).toBe(byType(events, 'payment.declined').id);
      expect(byType(events, 'inventory.released').causationId).toBe(byType(events, 'order.cancelled').id);
      expect((await client.getOrder(order.id)).cancellationReason).toBe('PAYMENT_DECLINED');
    },
    TEST_TIMEOUT,
  );

  it(
    'shows an out-of-stock rejection with what was missing',
    async () => {
      const sku = await createProduct(client, 'timeline-short', { available: 1 });
      const { order, traceId } = await placeTraced(orderOf(newCustomer('timeline'), [[sku, 3]]));

      const timeline = await client.waitForTimeline(order.id, [
        'order.placed',
        'inventory.rejected',
        'order.cancelled',
        'notification.sent',
      ]);

      expectWellFormed(timeline, order.id, traceId);
      expect(byType(timeline.events, 'inventory.rejected')).toMatchObject({ producer: 'inventory' });
      expect(byType(timeline.events, 'inventory.rejected').summary).toContain(`OUT_OF_STOCK: ${sku}`);
      expect(byType(timeline.events, 'order.cancelled').summary).toMatch(/OUT_OF_STOCK/);
      expect(timeline.events.map((e) => e.type)).not.toContain('inventory.reserved');
    },
    TEST_TIMEOUT,
  );

  it('answers 404 for an unknown order and 400 for a malformed id, like GET /orders/{id}', async () => {
    const unknown = randomUUID();
    expectNestError(await client.http('orders', `/orders/${unknown}/timeline`), 404);
    expectNestError(await client.http('orders', `/orders/${unknown}`), 404);
    expect(expectNestError(await client.http('orders', '/orders/not-a-uuid/timeline'), 400, ['id'])).toEqual(
      expectNestError(await client.http('orders', '/orders/not-a-uuid'), 400, ['id']),
    );
  });

  it('is documented in the OpenAPI document', async () => {
    const response = await client.http<{
      paths: Record<string, Record<string, { responses: Record<string, { content?: unknown }> }>>;
      components: { schemas: Record<string, { properties: Record<string, unknown>; required?: string[] }> };
    }>('orders', '/docs/openapi.json');
    expect(response.status).toBe(200);
    const operation = response.body.paths['/orders/{id}/timeline']?.['get'];
    if (!operation) throw new Error(`no GET /orders/{id}/timeline in ${Object.keys(response.body.paths).join(', ')}`);
    expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['200', '400', '404']));
    expect(JSON.stringify(operation.responses['200'].content)).toContain('OrderTimelineResponse');
    const { schemas } = response.body.components;
    expect(Object.keys(schemas['OrderTimelineResponse'].properties)).toEqual(
      expect.arrayContaining(['orderId', 'events']),
    );
    expect(Object.keys(schemas['TimelineEvent'].properties)).toEqual(
      expect.arrayContaining(['id', 'type', 'producer', 'time', 'traceId', 'causationId', 'summary']),
    );
    expect(schemas['TimelineEvent'].required).toEqual(
      expect.arrayContaining(['id', 'type', 'producer', 'time', 'traceId']),
    );
  });
});
