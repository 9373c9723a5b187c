import { randomUUID } from 'node:crypto';
import { waitFor } from '@shop/testing';
import {
  APPS,
  createProduct,
  expectNestError,
  newCustomer,
  orderOf,
  uid,
  startSystem,
  type Order,
  type ShopClient,
  type System,
} from '../src/support';

/** SPEC.md's HTTP surface, answer by answer: validation, errors, idempotency, paging, filters, streams, ops. */

const TEST_TIMEOUT = 90_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ORDER_FIELDS = [
  'id',
  'customerId',
  'status',
  'items',
  'total',
  'currency',
  'cancellationReason',
  'createdAt',
  'updatedAt',
];

describe('the HTTP contract', () => {
  let system: System;
  let client: ShopClient;
  let sku: string;

  beforeAll(async () => {
    system = await startSystem({ label: 'http' });
    client = system.client;
    sku = await createProduct(client, 'http', { available: 10_000, price: 100 });
  }, 180_000);

  afterAll(() => system?.stop(), 60_000);

  const valid = (customerId = newCustomer('http')) => orderOf(customerId, [[sku, 1]]);

  describe('POST /orders', () => {
    const invalidCustomer = newCustomer('invalid');
    const base = () => ({ customerId: invalidCustomer, items: [{ sku, quantity: 1 }], paymentToken: 'tok_visa' });
    const without = (field: string) => () => {
      const body: Record<string, unknown> = base();
      delete body[field];
      return body;
    };
    const withLine = (line: Record<string, unknown>) => () => ({ ...base(), items: [line] });
    const cases: Array<[string, () => unknown, Array<string | RegExp>]> = [
      ['customerId missing', without('customerId'), ['customerId']],
      ['customerId empty', () => ({ ...base(), customerId: '' }), ['customerId']],
      ['customerId of 65 characters', () => ({ ...base(), customerId: 'c'.repeat(65) }), ['customerId']],
      ['items missing', without('items'), ['items']],
      ['items empty', () => ({ ...base(), items: [] }), ['items']],
      [
        'items with 51 lines',
        () => ({ ...base(), items: Array.from({ length: 51 }, (_, i) => ({ sku: `SKU-${i}`, quantity: 1 })) }),
        ['items'],
      ],
      ['quantity 0', withLine({ sku: 'SKU-1', quantity: 0 }), ['quantity']],
      ['quantity 1001', withLine({ sku: 'SKU-1', quantity: 1001 }), ['quantity']],
      ['quantity 1.5', withLine({ sku: 'SKU-1', quantity: 1.5 }), ['quantity']],
      ['quantity missing', withLine({ sku: 'SKU-1' }), ['quantity']],
      ['sku empty', withLine({ sku: '', quantity: 1 }), ['sku']],
      ['sku of 65 characters', withLine({ sku: 'S'.repeat(65), quantity: 1 }), ['sku']],
      [
        'the same sku twice',
        () => ({
          ...base(),
          items: [
            { sku: 'SKU-1', quantity: 1 },
            { sku: 'SKU-1', quantity: 2 },
          ],
        }),
        [/\bsku\b|\bitems\b/],
      ],
      ['an unknown field', () => ({ ...base(), coupon: 'FREE' }), ['coupon']],
      ['an unknown field in a line', withLine({ sku: 'SKU-1', quantity: 1, price: 0 }), ['price']],
      ['paymentToken missing', without('paymentToken'), ['paymentToken']],
      ['paymentToken of 129 characters', () => ({ ...base(), paymentToken: 't'.repeat(129) }), ['paymentToken']],
      [
        'two bad fields at once',
        () => ({ ...base(), customerId: '', paymentToken: '' }),
        ['customerId', 'paymentToken'],
      ],
    ];

    it.each(cases)('rejects %s with a 400 naming the field', async (_case, body, fields) => {
      expectNestError(await client.placeOrderRaw(body()), 400, fields);
    });

    it('placed none of the rejected orders', async () => {
      expect((await client.listOrders({ customerId: invalidCustomer })).items).toEqual([]);
    });

    it('accepts the limits themselves: 64-character ids, 50 lines, quantity 1000, a 128-character token', async () => {
      const customerId = `c-${uid()}`.padEnd(64, 'x');
      const skus = Array.from({ length: 50 }, (_, i) => `SKU-LIMITS-${i}-${uid()}`.padEnd(64, 'x'));
      const response = await client.placeOrderRaw({
        customerId,
        items: skus.map((s, i) => ({ sku: s, quantity: i === 0 ? 1000 : 1 })),
        paymentToken: 't'.repeat(128),
      });
      expect([response.status, response.text.slice(0, 500)]).toEqual([202, expect.any(String)]);
      // unknown skus: out of stock
      const final = await client.waitForFinal(response.body.id);
      expect(final.cancellationReason).toBe('OUT_OF_STOCK');
    });

    it('answers 413 in JSON to a body over 64 KiB', async () => {
      const body = JSON.stringify({ ...valid(), padding: 'x'.repeat(70 * 1024) });
      expectNestError(await client.placeOrderRaw(body), 413);
    });

    it('reads a body under 64 KiB (and names its unknown field)', async () => {
      const body = JSON.stringify({ ...valid(), padding: 'x'.repeat(60 * 1024) });
      expectNestError(await client.placeOrderRaw(body), 400, ['padding']);
    });

    it('answers 400 in JSON to malformed JSON', async () => {
      expectNestError(await client.placeOrderRaw('{"customerId": "c-1", "items": ['), 400);
    });

    it(
      'answers 202 with the order and its Location',
      async () => {
        const request = valid();
        const response = await client.placeOrderRaw(request);
        expect(response.status).toBe(202);
        expect(response.body.id).toMatch(UUID);
        expect(response.headers.get('location')).toBe(`/orders/${response.body.id}`);
        expect(Object.keys(response.body)).toEqual(expect.arrayContaining(ORDER_FIELDS));
        expect(response.body).toMatchObject({
          customerId: request.customerId,
          status: 'PENDING',
          currency: 'USD',
          items: [{ sku, quantity: 1, unitPrice: null }],
        });
      },
      TEST_TIMEOUT,
    );
  });

  describe('Idempotency-Key', () => {
    it(
      'answers the same order again for the same key and body, placing nothing new',
      async () => {
        const request = valid();
        const key = `key-${uid()}`;
        const first = await client.placeOrderRaw(request, key);
        const second = await client.placeOrderRaw(request, key);

        expect(first.status).toBe(202);
        expect([200, 202]).toContain(second.status);
        expect(second.body.id).toBe(first.body.id);
        expect((await client.listOrders({ customerId: request.customerId })).items.map((o) => o.id)).toEqual([
          first.body.id,
        ]);
      },
      TEST_TIMEOUT,
    );

    it(
      'answers 422 to the same key with another body',
      async () => {
        const request = valid();
        const key = `key-${uid()}`;
        expect((await client.placeOrderRaw(request, key)).status).toBe(202);
        expectNestError(await client.placeOrderRaw({ ...request, paymentToken: 'tok_other' }, key), 422);
        expect((await client.listOrders({ customerId: request.customerId })).items).toHaveLength(1);
      },
      TEST_TIMEOUT,
    );

    it(
      'places one order for two concurrent requests with the same key and body',
      async () => {
        const request = valid();
        const key = `key-${uid()}`;
        const answers = await Promise.all([client.placeOrderRaw(request, key), client.placeOrderRaw(request, key)]);
        expect(answers.map((a) => [200, 202].includes(a.status))).toEqual([true, true]);
        expect(answers[1].body.id).toBe(answers[0].body.id);
        expect((await client.listOrders({ customerId: request.customerId })).items).toHaveLength(1);
      },
      TEST_TIMEOUT,
    );

    it(
      'takes a key of 255 characters and rejects one of 256 with a 400',
      async () => {
        expect((await client.placeOrderRaw(valid(), `k${uid()}`.padEnd(255, 'k'))).status).toBe(202);
        const rejected = valid();
        expectNestError(await client.placeOrderRaw(rejected, `k${uid()}`.padEnd(256, 'k')), 400);
        expect((await client.listOrders({ customerId: rejected.customerId })).items).toEqual([]);
      },
      TEST_TIMEOUT,
    );
  });

  describe('GET /orders/{id} and POST /orders/{id}/cancel', () => {
    it(
      'gives the order with every field of the contract',
      async () => {
        const { order } = await client.placeOrder(valid());
        const confirmed = await client.waitForOrderStatus(order.id, 'CONFIRMED');
        expect(Object.keys(confirmed)).toEqual(expect.arrayContaining(ORDER_FIELDS));
        expect(confirmed).toMatchObject({
          id: order.id,
          items: [{ sku, quantity: 1, unitPrice: 100 }],
          total: 100,
          currency: 'USD',
          cancellationReason: null,
        });
        for (const stamp of [confirmed.createdAt, confirmed.updatedAt]) {
          expect(stamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d/);
          expect(Number.isNaN(Date.parse(stamp))).toBe(false);
        }
      },
      TEST_TIMEOUT,
    );

    it('answers 400 to a malformed id and 404 to an unknown one', async () => {
      expectNestError(await client.http('orders', '/orders/not-a-uuid'), 400);
      expectNestError(await client.http('orders', '/orders/not-a-uuid/cancel', { method: 'POST' }), 400);
      expectNestError(await client.http('orders', `/orders/${randomUUID()}`), 404);
      expectNestError(await client.cancel(randomUUID()), 404);
    });
  });

  describe('GET /orders', () => {
    let customerId: string;
    let placed: Order[];

    beforeAll(async () => {
      customerId = newCustomer('pages');
      placed = [];
      for (let i = 0; i < 5; i++) {
        const { order } = await client.placeOrder(valid(customerId));
        placed.push(order);
        // newest first must be decidable: the next order gets a later createdAt
        await waitFor(() => Date.now() > Date.parse(order.createdAt) + 1, { description: 'the clock to move' });
      }
    }, 60_000);

    it('lists a customer orders newest first, page by page', async () => {
      const newestFirst = placed.map((o) => o.id).reverse();
      const first = await client.listOrders({ customerId, limit: 2 });
      expect(first.items.map((o) => o.id)).toEqual(newestFirst.slice(0, 2));
      expect(typeof first.nextCursor).toBe('string');
      const second = await client.listOrders({ customerId, limit: 2, cursor: first.nextCursor ?? '' });
      expect(second.items.map((o) => o.id)).toEqual(newestFirst.slice(2, 4));
      const third = await client.listOrders({ customerId, limit: 2, cursor: second.nextCursor ?? '' });
      expect(third.items.map((o) => o.id)).toEqual(newestFirst.slice(4));
      expect(third.nextCursor).toBeNull();

      const all = await client.listOrders({ customerId });
      expect(all.items.map((o) => o.id)).toEqual(newestFirst);
      expect(all.nextCursor).toBeNull();
      expect(Object.keys(all.items[0])).toEqual(expect.arrayContaining(ORDER_FIELDS));
    });

    it(
      'filters by customer and by status',
      async () => {
        const other = newCustomer('pages-status');
        const { order: declined } = await client.placeOrder(orderOf(other, [[sku, 1]], 'tok_declined'));
        const { order: paid } = await client.placeOrder(valid(other));
        await Promise.all([client.waitForFinal(declined.id), client.waitForFinal(paid.id)]);

        const cancelled = await client.listOrders({ customerId: other, status: 'CANCELLED' });
        expect(cancelled.items.map((o) => o.id)).toEqual([declined.id]);
        const confirmed = await client.listOrders({ customerId: other, status: 'CONFIRMED' });
        expect(confirmed.items.map((o) => o.id)).toEqual([paid.id]);
        expect((await client.listOrders({ customerId: other, status: 'PENDING' })).items).toEqual([]);
        const everyone = await client.listOrders({ status: 'CANCELLED', limit: 100 });
        expect(everyone.items.every((o) => o.status === 'CANCELLED')).toBe(true);
        expect((await client.listOrders({ customerId })).items.every((o) => o.customerId === customerId)).toBe(true);
      },
      TEST_TIMEOUT,
    );

    it('takes limit 1 and 100', async () => {
      expect((await client.listOrders({ limit: 1 })).items).toHaveLength(1);
      expect((await client.listOrders({ limit: 100 })).items.length).toBeGreaterThan(1);
    });

    it.each(['0', '101', 'abc', '-1', '2.5'])('rejects limit=%s with a 400 naming limit', async (limit) => {
      expectNestError(await client.http('orders', `/orders?limit=${limit}`), 400, ['limit']);
    });

    it.each(['pending', 'SHIPPED', ''])('rejects status=%s with a 400 naming status', async (status) => {
      expectNestError(await client.http('orders', `/orders?status=${status}`), 400, ['status']);
    });

    it('rejects an unknown query parameter with a 400 naming it', async () => {
      expectNestError(await client.http('orders', `/orders?colour=red`), 400, ['colour']);
    });

    it('rejects a cursor it did not issue with a 400', async () => {
      expectNestError(await client.http('orders', `/orders?cursor=${encodeURIComponent('not a cursor!')}`), 400);
      expectNestError(await client.http('orders', `/orders?cursor=AAAA`), 400);
    });
  });

  describe('inventory', () => {
    it('lists products and gives one by sku, with available and reserved', async () => {
      const own = await createProduct(client, 'listed', { available: 7, price: 1_999, name: 'Listed thing' });
      const expected = { sku: own, name: 'Listed thing', price: 1_999, available: 7, reserved: 0 };
      expect(await client.listProducts()).toEqual(expect.arrayContaining([expect.objectContaining(expected)]));
      expect(await client.getProduct(own)).toMatchObject(expected);
    });

    it('replaces a product on a second PUT', async () => {
      const own = await createProduct(client, 'replaced', { available: 3, price: 10 });
      await client.putProduct(own, { name: 'New name', price: 25, available: 9 });
      expect(await client.getProduct(own)).toMatchObject({ sku: own, name: 'New name', price: 25, available: 9 });
    });

    it('accepts zero as price and available', async () => {
      const own = await createProduct(client, 'zero', { available: 0, price: 0 });
      expect(await client.getProduct(own)).toMatchObject({ price: 0, available: 0, reserved: 0 });
    });

    it('answers 404 to an unknown sku', async () => {
      expectNestError(await client.http('inventory', `/products/SKU-NONE-${uid()}`), 404);
    });

    const good = { name: 'Thing', price: 100, available: 1 };
    it.each<[string, string, Record<string, unknown>]>([
      ['a negative price', 'price', { ...good, price: -1 }],
      ['a price of 1.5', 'price', { ...good, price: 1.5 }],
      ['no price', 'price', { name: 'Thing', available: 1 }],
      ['a negative available', 'available', { ...good, available: -1 }],
      ['available 2.5', 'available', { ...good, available: 2.5 }],
      ['no name', 'name', { price: 100, available: 1 }],
      ['an unknown field', 'colour', { ...good, colour: 'red' }],
    ])('rejects a PUT with %s, naming %s', async (_case, field, body) => {
      const target = `SKU-BAD-${uid()}`;
      expectNestError(await client.http('inventory', `/products/${target}`, { method: 'PUT', body }), 400, [field]);
      expectNestError(await client.http('inventory', `/products/${target}`), 404);
    });
  });

  describe('payments', () => {
    it(
      'lists the payments of an order',
      async () => {
        const { order } = await client.placeOrder(valid());
        await client.waitForOrderStatus(order.id, 'CONFIRMED');
        const payments = await client.payments(order.id);
        expect(payments).toEqual([expect.objectContaining({ orderId: order.id, amount: 100, status: 'CAPTURED' })]);
        expect(Object.keys(payments[0])).toEqual(
          expect.arrayContaining(['id', 'orderId', 'amount', 'status', 'reason']),
        );
        expect(payments[0].id).toMatch(UUID);
      },
      TEST_TIMEOUT,
    );

    it('answers [] for an order it never saw', async () => {
      expect(await client.payments(randomUUID())).toEqual([]);
    });

    it('answers 400 without an orderId or with a malformed one', async () => {
      expectNestError(await client.http('payments', '/payments'), 400);
      expectNestError(await client.http('payments', '/payments?orderId=not-a-uuid'), 400);
    });
  });

  describe('notifications', () => {
    it(
      'filters by customer and by order',
      async () => {
        const [alice, bob] = [newCustomer('alice'), newCustomer('bob')];
        const { order: ofAlice } = await client.placeOrder(valid(alice));
        const { order: ofBob } = await client.placeOrder(valid(bob));
        const notified = await client.waitForNotification(ofAlice.id, 'ORDER_CONFIRMED');
        await client.waitForNotification(ofBob.id, 'ORDER_CONFIRMED');

        expect(Object.keys(notified)).toEqual(
          expect.arrayContaining(['id', 'customerId', 'orderId', 'type', 'message', 'createdAt']),
        );
        const forAlice = await client.notifications({ customerId: alice });
        expect(forAlice.map((n) => [n.customerId, n.orderId, n.type])).toEqual([
          [alice, ofAlice.id, 'ORDER_CONFIRMED'],
        ]);
        const forBobsOrder = await client.notifications({ orderId: ofBob.id });
        expect(forBobsOrder.map((n) => [n.customerId, n.orderId, n.type])).toEqual([
          [bob, ofBob.id, 'ORDER_CONFIRMED'],
        ]);
        expect(await client.notifications({ customerId: alice, orderId: ofBob.id })).toEqual([]);
      },
      TEST_TIMEOUT,
    );

    it(
      'streams each new notification of a customer as a Server-Sent Events data line of JSON',
      async () => {
        const customerId = newCustomer('stream');
        const stream = await client.streamNotifications(customerId);
        try {
          expect(stream.contentType).toMatch(/text\/event-stream/);
          const { order: noise } = await client.placeOrder(valid());
          const { order } = await client.placeOrder(valid(customerId));

          const notification = await stream.next((n) => n.orderId === order.id, 30_000);
          expect(notification).toMatchObject({ customerId, orderId: order.id, type: 'ORDER_CONFIRMED' });
          await client.waitForNotification(noise.id, 'ORDER_CONFIRMED');
          expect(stream.received.filter((n) => n.customerId !== customerId)).toEqual([]);
        } finally {
          stream.close();
        }
      },
      TEST_TIMEOUT,
    );
  });

  describe.each(APPS)('%s', (app) => {
    it('is live and ready', async () => {
      expect((await client.http(app, '/health/live')).status).toBe(200);
      expect((await client.http(app, '/health/ready')).status).toBe(200);
    });

    it('serves Prometheus metrics', async () => {
      const response = await client.http(app, '/metrics', { headers: { accept: 'text/plain' } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/text\/plain/);
      expect(response.text).toContain('# HELP');
      // Its own HTTP requests, by route template: the readiness probes the harness made count there.
      expect(response.text).toMatch(
        /^http_request_duration_seconds_count\{method="GET",route="\/health\/ready",status_code="200"\} [1-9]/m,
      );
    });

    it('serves its API documentation at /docs', async () => {
      const response = await client.http(app, '/docs', { headers: { accept: 'text/html' } });
      expect(response.status).toBe(200);
    });
  });
});
