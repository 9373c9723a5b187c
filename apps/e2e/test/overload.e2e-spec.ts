import { waitFor } from '@shop/testing';
import { createProduct, expectNestError, newCustomer, orderOf, startSystem, type System } from '../src/support';

/**
 * Admission control of POST /orders: when the saga cannot keep up, orders answers "try again in a
 * second" (503, Retry-After) instead of accepting orders that would wait, and takes orders again
 * once the saga has caught up. The saga is held up by stopping inventory, so that what the test sees
 * does not depend on how fast this machine is.
 */
const SAGA_AGE_MS = 300;
const MAX_LATE = 3;

describe('POST /orders under overload', () => {
  let system: System;

  beforeAll(async () => {
    system = await startSystem({
      label: 'overload',
      env: {
        orders: {
          ADMISSION_SAGA_AGE_MS: String(SAGA_AGE_MS),
          ADMISSION_MAX_LATE_ORDERS: String(MAX_LATE),
          ADMISSION_SAMPLE_INTERVAL_MS: '50',
        },
      },
    });
  }, 180_000);

  afterAll(() => system?.stop(), 60_000);

  it('refuses with 503 and Retry-After while the saga lags, loses none it accepted, and admits again once it caught up', async () => {
    const { client } = system;
    const sku = await createProduct(client, 'overload', { available: 1_000, price: 100 });
    const place = () => client.placeOrderRaw(orderOf(newCustomer('overload'), [[sku, 1]]));

    // unloaded: admitted
    const first = await place();
    expect(first.status).toBe(202);
    await client.waitForOrderStatus(first.body.id, 'CONFIRMED');

    // the saga stops moving: orders placed now stay in flight
    await system.stopApp('inventory');
    const accepted: string[] = [];
    for (let i = 0; i <= MAX_LATE; i++) {
      const response = await place();
      expect(response.status).toBe(202);
      accepted.push(response.body.id);
    }

    // once more than MAX_LATE are older than SAGA_AGE_MS, new orders are refused, fast and with Retry-After
    const refused = await waitFor(
      async () => {
        const response = await place();
        if (response.status === 202) accepted.push(response.body.id);
        return response.status === 503 ? response : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 50, description: 'a 503 from POST /orders while the saga lags' },
    );
    const [message] = expectNestError(refused, 503);
    expect(message).toMatch(
      new RegExp(
        `^overloaded: \\d+ of \\d+ orders in flight for more than ${SAGA_AGE_MS} ms \\(at most ${MAX_LATE}\\); try again in 1 s$`,
      ),
    );
    expect(refused.headers.get('retry-after')).toBe('1');
    // a refused request placed nothing: the orders in flight are the accepted ones
    const pending = await client.listOrders({ status: 'PENDING', limit: 100 });
    expect(pending.items.map((order) => order.id).sort()).toEqual([...accepted].sort());

    const metrics = await client.http<string>('orders', '/metrics');
    expect(metrics.text).toMatch(/^http_admission_refused_total\{signal="saga-lag"\} [1-9]\d*$/m);
    // late orders refuse at once: nobody waits for room meanwhile
    expect(metrics.text).toMatch(/^http_admission_waiting 0$/m);

    // the saga moves again: every accepted order is confirmed, and orders are admitted again
    await system.startApp('inventory');
    for (const id of accepted) await client.waitForOrderStatus(id, 'CONFIRMED');
    const again = await waitFor(
      async () => {
        const response = await place();
        return response.status === 202 ? response : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100, description: 'POST /orders admitted again' },
    );
    await client.waitForOrderStatus(again.body.id, 'CONFIRMED');
  }, 90_000);
});
