import {
  brokerAdminFromEnv,
  startPrivateBroker,
  startPrivatePostgres,
  waitFor,
  type PrivateBroker,
  type PrivatePostgres,
} from '@shop/testing';
import {
  APPS,
  answerViolations,
  countByStatus,
  createProduct,
  mapLimit,
  newCustomer,
  startSystem,
  waitForInvariants,
  type Answer,
  type AppName,
  type Order,
  type ShopClient,
  type System,
} from '../src/support';

/**
 * What clients see while a dependency is down. Every app has a PostgreSQL server of its own and the
 * system a RabbitMQ node of its own (the machine's are left alone), so that each can be stopped
 * under a steady load of orders: an app whose database is down answers 503 with Retry-After, never
 * 500, and its readiness says which dependency is missing; with the broker down POST /orders still
 * answers 202 (the outbox holds the events). Once all is back every accepted order is final and
 * nothing is applied twice.
 */

const OUTAGE_MS = 5_000;
/** Orders placed per second, all along the file. */
const RATE = 5;

/** What each app serves from its database, read while it is down. */
type SagaApp = (typeof APPS)[number];

const READS: Record<SagaApp, (ids: { orderId?: string; customerId: string }) => string[]> = {
  orders: ({ orderId, customerId }) => [...(orderId ? [`/orders/${orderId}`] : []), `/orders?customerId=${customerId}`],
  inventory: () => ['/products'],
  payments: ({ orderId }) => (orderId ? [`/payments?orderId=${orderId}`] : []),
  notifications: ({ customerId }) => [`/notifications?customerId=${customerId}`],
};

interface ReadinessProbe {
  at: number;
  status: number;
  body: { error?: Record<string, { status: string }> } | undefined;
}

describe('a dependency outage under load: 503 with Retry-After, never 500, and nothing lost', () => {
  const saved = { ...process.env };
  let broker: PrivateBroker;
  const servers = {} as Record<AppName, PrivatePostgres>;
  let system: System;
  let client: ShopClient;
  let sku: string;
  const customerId = newCustomer('outage');
  const answers: Answer[] = [];
  const accepted = new Map<string, Order>();
  let load: { stop(): Promise<void> } | undefined;

  beforeAll(async () => {
    broker = await startPrivateBroker('outage');
    // createTestVhost (in startSystem) administers the broker the environment names.
    delete process.env['RABBITMQ_MANAGEMENT_URL'];
    Object.assign(process.env, broker.adminEnv, { RABBITMQ_URL: broker.url });
    const started = await Promise.all(APPS.map(() => startPrivatePostgres()));
    APPS.forEach((app, i) => (servers[app] = started[i]));
    system = await startSystem({
      label: 'outage',
      databaseServers: Object.fromEntries(APPS.map((app) => [app, servers[app].url])),
      // outages and their backoff take seconds: no order may be cancelled for slowness here
      env: { orders: { ORDER_TIMEOUT_MS: '600000' } },
    });
    client = system.client;
    client.onAnswer((answer) => answers.push(answer));
    sku = await createProduct(client, 'outage', { available: 1_000_000, price: 150 });
    load = placeOrders();
  }, 240_000);

  afterAll(async () => {
    await load?.stop().catch(() => undefined);
    await system?.stop().catch(() => undefined);
    await Promise.all([broker?.stop(), ...Object.values(servers).map((server) => server.stop())]);
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }, 120_000);

  /**
   * RATE orders a second, each placed as a well-behaved client does: with an Idempotency-Key, a 503
   * retried after its Retry-After, until it is accepted. Any other answer fails the file later.
   */
  function placeOrders(): { stop(): Promise<void> } {
    let running = true;
    const pending = new Set<Promise<void>>();
    let n = 0;
    const place = async (index: number) => {
      const key = `outage-${customerId}-${index}`;
      const request = { customerId, items: [{ sku, quantity: 1 + (index % 3) }], paymentToken: 'tok_visa' };
      for (let tries = 0; tries < 200; tries++) {
        try {
          const response = await client.placeOrderRaw(request, key);
          if (response.status === 202 || response.status === 200) {
            accepted.set(key, response.body);
            return;
          }
          if (response.status !== 503) return;
          await sleep(Number(response.headers.get('retry-after') ?? 1) * 1000);
        } catch {
          await sleep(500);
        }
      }
    };
    const timer = setInterval(() => {
      if (!running) return;
      const work = place(n++);
      pending.add(work);
      void work.finally(() => pending.delete(work));
    }, 1000 / RATE);
    return {
      stop: async () => {
        running = false;
        clearInterval(timer);
        while (pending.size) await Promise.allSettled([...pending]);
      },
    };
  }

  /** Reads `app`'s health and data every 100 ms until stopped: what a load balancer and a client see. */
  function probe(app: SagaApp): { stop(): Promise<ReadinessProbe[]> } {
    const readiness: ReadinessProbe[] = [];
    let running = true;
    const loop = (async () => {
      while (running) {
        const orderId = [...accepted.values()].at(-1)?.id;
        await Promise.all([
          client.http<ReadinessProbe['body']>(app, '/health/ready').then(
            (response) => readiness.push({ at: Date.now(), status: response.status, body: response.body }),
            () => undefined,
          ),
          client.http(app, '/health/live').catch(() => undefined),
          ...READS[app]({ orderId, customerId }).map((path) => client.http(app, path).catch(() => undefined)),
        ]);
        await sleep(100);
      }
    })();
    return {
      stop: async () => {
        running = false;
        await loop;
        return readiness;
      },
    };
  }

  const during = (from: number, to: number, app?: AppName) =>
    answers.filter((a) => a.at >= from && a.at <= to && (!app || a.app === app));

  /**
   * Waits until the last outage has cleared under the load: no order in flight for longer than a
   * second, and every POST /orders of the last two seconds accepted. An outage that stops the saga
   * (inventory's or payments' database) leaves orders in flight until each one's retry comes round
   * after its backoff, and meanwhile admission control refuses new orders (503, Retry-After) because
   * the saga lags; on a slow machine that went on into the next test. Each outage is measured from a
   * system at rest, so what a test sees is its own outage's doing.
   */
  async function settled(): Promise<void> {
    await waitFor(
      async () => {
        const now = Date.now();
        const posts = during(now - 2_000, now, 'orders').filter((a) => a.what === 'POST /orders');
        if (posts.length === 0 || posts.some((a) => a.status !== 202)) return undefined;
        const inFlight = await client.listOrders({ customerId, status: 'PENDING', limit: 100 });
        const young = inFlight.items.every((order) => now - Date.parse(order.createdAt) < 1_000);
        return (young && inFlight.nextCursor === null) || undefined;
      },
      { timeoutMs: 45_000, intervalMs: 200, description: 'the saga at rest under the load (the last outage cleared)' },
    );
  }

  it.each(APPS)(
    "%s's database stopped for 5 s: 503 with Retry-After naming the database, never 500; ready again at once",
    async (app) => {
      await settled();
      const probing = probe(app);
      await sleep(500);
      let downAt = 0;
      const { unreachableMs } = await servers[app].outage(OUTAGE_MS, () => (downAt = Date.now()));
      const upAt = Date.now();
      const readyAgain = await waitFor(
        async () => {
          const response = await client.http(app, '/health/ready');
          return response.status === 200 ? Date.now() : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 50, description: `${app} ready again` },
      );
      const readiness = await probing.stop();
      const window = during(downAt, upAt);

      expect(unreachableMs).toBeGreaterThanOrEqual(OUTAGE_MS);
      expect(answerViolations(during(downAt - 1_000, Date.now()))).toEqual([]);
      // the outage was seen: the app's own reads (and POST /orders for orders) answered 503, naming the database
      const refused = window.filter((a) => a.app === app && a.status === 503 && !a.what.includes('/health'));
      expect(refused.length).toBeGreaterThan(0);
      expect([...new Set(refused.map((a) => a.message?.join(' ')))]).toEqual([
        'the database is unavailable; retry in a moment',
      ]);
      if (app === 'orders') expect(refused.some((a) => a.what === 'POST /orders')).toBe(true);
      // readiness: 503 reporting the database during the outage; liveness 200 throughout
      // (from the stop until the start begins: the server accepts before pg_ctl start returns)
      const downReadiness = readiness.filter((r) => r.at > downAt + 500 && r.at < downAt + OUTAGE_MS);
      expect(downReadiness.length).toBeGreaterThan(0);
      expect(
        downReadiness.filter((r) => !(r.status === 503 && r.body?.error?.['database']?.status === 'down')),
      ).toEqual([]);
      expect(countByStatus(window.filter((a) => a.app === app && a.what === 'GET /health/live'))).toEqual({
        '200': expect.any(Number),
      });
      // the pool reconnects by itself: ready within a second or two of the database's return
      expect(readyAgain - upAt).toBeLessThan(2_000);
    },
    120_000,
  );

  it('the broker stopped and started: POST /orders keeps answering 202 during the outage and while its backlog drains, readiness reports the broker', async () => {
    await settled();
    const readinessProbes = APPS.map((app) => probe(app));
    await sleep(500);
    const from = Date.now();
    await broker.restart();
    const to = Date.now();
    const heldBack = [...accepted.values()];
    await waitFor(
      async () => {
        const statuses = await Promise.all(APPS.map(async (app) => (await client.http(app, '/health/ready')).status));
        return statuses.every((status) => status === 200) || undefined;
      },
      { timeoutMs: 60_000, description: 'every app ready again after the broker restart' },
    );
    const readiness = await Promise.all(readinessProbes.map((p) => p.stop()));
    // What the outage held back completes (each app reconnects after its own backoff); meanwhile the
    // lateness it caused is not taken for load: a 5 s outage at RATE orders/s refuses no one.
    await mapLimit(heldBack, 8, (order) => client.waitForFinal(order.id, { timeoutMs: 60_000 }));
    const drained = Date.now();

    const posts = during(from, drained, 'orders').filter((a) => a.what === 'POST /orders');
    expect(posts.filter((a) => a.at <= to).length).toBeGreaterThan(0);
    const refused = posts.filter((a) => a.status !== 202);
    expect(refused.map((a) => `${a.at - from} ms after the stop: ${a.status} ${a.message?.join(' ') ?? ''}`)).toEqual(
      [],
    );
    expect(answerViolations(during(from, Date.now()))).toEqual([]);
    for (const [i, app] of APPS.entries()) {
      const brokerDown = readiness[i].filter((r) => r.at > from && r.at < to && r.status === 503);
      expect({ app, reported: brokerDown.some((r) => r.body?.error?.['broker']?.status === 'down') }).toEqual({
        app,
        reported: true,
      });
    }
  }, 120_000);

  it('after it all, every accepted order is CONFIRMED, nothing applied twice, nothing dead-lettered', async () => {
    await load?.stop();
    load = undefined;
    const orders = [...accepted.values()];
    expect(orders.length).toBeGreaterThan(RATE * 20);
    const final = await mapLimit(orders, 8, (order) => client.waitForFinal(order.id, { timeoutMs: 90_000 }));
    expect(final.filter((order) => order.status !== 'CONFIRMED')).toEqual([]);
    await waitForInvariants(client, { orderIds: orders.map((o) => o.id), stocked: { [sku]: 1_000_000 } });
    const queues = await brokerAdminFromEnv().listQueues(system.vhost);
    const deadLettered = queues
      .filter((queue) => queue.name.endsWith('.dlq') && queue.messages > 0)
      .map((queue) => [queue.name, queue.messages]);
    expect(deadLettered).toEqual([]);
    // the whole file: no 500 and no 503 without Retry-After, whatever was down
    expect(answerViolations(answers)).toEqual([]);
  }, 180_000);
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
