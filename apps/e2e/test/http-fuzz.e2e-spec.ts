import { waitFor } from '@shop/testing';
import * as amqp from 'amqplib';
import * as fc from 'fast-check';
import {
  APPS,
  createProduct,
  newCustomer,
  orderOf,
  startSystem,
  type AppName,
  type System,
  FuzzAnswers,
  type FuzzAnswer,
} from '../src/support';

/**
 * Property-based fuzzing of every HTTP body, path and query of the four apps (fast-check, a fixed
 * seed: `HTTP_FUZZ_SEED` overrides it, `HTTP_FUZZ_RUNS` the runs per endpoint): random JSON,
 * near-valid bodies (the right fields with wrong types, lengths, extra fields), random path segments
 * and query strings (percent-sequences, unicode, very long). Properties: never a 5xx; every 4xx in
 * SPEC.md's error shape, without internals; and nothing published for a rejected request. A probe
 * queue bound with `#` to the four exchanges sees every event: none while only read-only endpoints
 * (and PUT /products, which publishes nothing) are fuzzed; then as many `order.placed` as POST
 * /orders accepted orders, and as many customer cancellations as cancels accepted; and no event
 * about an order no accepted request created.
 */

const SEED = Number(process.env['HTTP_FUZZ_SEED'] ?? 20_261_124);
const RUNS = Number(process.env['HTTP_FUZZ_RUNS'] ?? 300);
const TEST_TIMEOUT = 120_000;

type Answer = FuzzAnswer;

interface Seen {
  exchange: string;
  type: string;
  orderId: string | undefined;
  reason: unknown;
}

/** The verdict on every answer, and the tally printed at the end. */
const answers = new FuzzAnswers();
const check = answers.check.bind(answers);

// ---- generators --------------------------------------------------------------------------------

/** encodeURIComponent, which throws on a lone surrogate: that one is replaced (it reaches the apps in bodies). */
function encode(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return encodeURIComponent(text.replace(/[\ud800-\udfff]/g, '\ufffd'));
  }
}

const oddText = fc.oneof(
  fc.string({ maxLength: 70 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ minLength: 65, maxLength: 2_000 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    'a\u0000b',
    '\ud800',
    '\udfff x',
    '__proto__',
    'constructor',
    'null',
    '-1',
    '1e309',
  ),
);

/** Raw percent-sequences, most of them malformed or decoding to invalid UTF-8, NUL or a slash. */
const percentJunk = fc
  .array(
    fc.constantFrom(
      '%',
      '%0',
      '%E0',
      '%E0%A4',
      '%ED%A0%80',
      '%FF',
      '%00',
      '%2F',
      '%25',
      '%zz',
      'a',
      '€',
      '😀',
      '.',
      '..',
      ';',
    ),
    {
      minLength: 1,
      maxLength: 8,
    },
  )
  .map((parts) => parts.join(''));

/** A path segment: an id, text percent-encoded, raw junk, or very long. */
function segment(known: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 2, arbitrary: known },
    fc.uuid(),
    oddText.map(encode),
    percentJunk,
    fc.string({ minLength: 1, maxLength: 30 }),
    fc.string({ minLength: 3_000, maxLength: 6_000, unit: 'grapheme-ascii' }).map(encode),
  );
}

/** A query string of known and unknown parameters, values valid or not. */
function query(known: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<string> {
  const names = Object.keys(known);
  const pair = fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .constantFrom(...names)
        .chain((name) => (known[name] as fc.Arbitrary<string>).map((value) => `${name}=${value}`)),
    },
    fc.tuple(fc.constantFrom(...names), segment(fc.constant('x'))).map(([name, value]) => `${name}=${value}`),
    fc.tuple(oddText.map(encode), segment(fc.constant('x'))).map(([name, value]) => `${name}=${value}`),
    fc.tuple(fc.constantFrom(...names), fc.constantFrom('[]', '[a]', '')).map(([name, suffix]) => `${name}${suffix}=1`),
    percentJunk,
    fc.constantFrom('&', '=', '==', '&&=&'),
  );
  return fc.array(pair, { maxLength: 4 }).map((pairs) => (pairs.length ? `?${pairs.join('&')}` : ''));
}

/** Mostly none: a query parameter where a route takes none (a 400). */
const noiseQuery = fc.oneof({ weight: 6, arbitrary: fc.constant('') }, query({ x: fc.constant('1') }));

/** Any JSON value, or text in a field's place. */
const anyValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.jsonValue({ maxDepth: 2, stringUnit: 'binary' }),
  oddText,
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -1, 1.5, 1_001, 2 ** 31, Number.MAX_SAFE_INTEGER + 2, 1e300, true, null, [], {}),
);

/** Up to two fields no shape has, once in nine. */
const extraFields = fc.oneof(
  { weight: 8, arbitrary: fc.constant(null) },
  fc.dictionary(oddText, anyValue, { minKeys: 1, maxKeys: 2 }),
);

const MISSING = Symbol('missing');

/**
 * An object of `fields`, each one mostly valid (its first arbitrary), else invalid (its second) or
 * missing, and maybe with extra fields: about half of them valid as a whole.
 */
function nearValid(
  fields: Record<string, [valid: fc.Arbitrary<unknown>, invalid: fc.Arbitrary<unknown>]>,
): fc.Arbitrary<Record<string, unknown>> {
  const values = Object.fromEntries(
    Object.entries(fields).map(([name, [valid, invalid]]) => [
      name,
      fc.oneof(
        { weight: 20, arbitrary: valid },
        { weight: 1, arbitrary: invalid },
        { weight: 1, arbitrary: fc.constant(MISSING) },
      ),
    ]),
  );
  return fc.tuple(fc.record(values), extraFields).map(([record, extra]) => {
    const object: Record<string, unknown> = { ...extra };
    for (const [name, value] of Object.entries(record)) if (value !== MISSING) object[name] = value;
    return object;
  });
}

/** A body as sent: mostly near-valid JSON, else any JSON, else malformed text; with its content type. */
function bodyOf(shape: fc.Arbitrary<unknown>): fc.Arbitrary<{ body: string; contentType: string }> {
  const body = fc.oneof(
    { weight: 12, arbitrary: shape.map((value) => JSON.stringify(value)) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('{', '{"a":1,}', '['.repeat(3_000), '"\\ud800"', '{"__proto__":{"polluted":1}}'),
    },
  );
  const contentType = fc.oneof(
    { weight: 20, arbitrary: fc.constant('application/json') },
    fc.constantFrom(
      'text/plain',
      'application/x-www-form-urlencoded',
      'application/json; charset=utf-16',
      'application/json; charset=nope',
      'application/merge-patch+json',
      'application/octet-stream',
    ),
  );
  return fc.record({ body, contentType });
}

/** A header value fetch accepts (bytes 0x21 to 0xFF but DEL). */
const headerText = (minLength: number, maxLength: number) =>
  fc.string({
    unit: fc
      .integer({ min: 0x21, max: 0xff })
      .filter((code) => code !== 0x7f)
      .map((code) => String.fromCharCode(code)),
    minLength,
    maxLength,
  });

// ---- the suite ---------------------------------------------------------------------------------

describe(`the HTTP API fuzzed (fast-check seed ${SEED}, ${RUNS} runs per endpoint)`, () => {
  let system: System;
  let connection: amqp.ChannelModel;
  const seen: Seen[] = [];
  /** Orders created by accepted requests (POST /orders 202s and the fixtures). */
  const created = new Set<string>();
  let acceptedCancels = 0;
  let skus: string[];
  let customers: string[];
  let fixtureOrderId: string;

  const params = (runs = RUNS) => ({ seed: SEED, numRuns: runs, endOnFailure: true });

  async function send(
    app: AppName,
    method: string,
    path: string,
    options: { body?: string; contentType?: string; headers?: Record<string, string>; stream?: boolean } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = { accept: options.stream ? 'text/event-stream' : 'application/json' };
    if (options.contentType) headers['content-type'] = options.contentType;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 15_000);
    try {
      const response = await fetch(`${system.baseUrl(app)}${path}`, {
        method,
        headers: { ...headers, ...options.headers },
        body: options.body,
        signal: abort.signal,
      });
      const contentType = response.headers.get('content-type') ?? '';
      // A stream that opened is not read: it would never end.
      const text = options.stream && response.status === 200 ? '' : await response.text();
      return { what: `${method} ${path.slice(0, 300)}`, status: response.status, contentType, text };
    } finally {
      clearTimeout(timer);
      abort.abort();
    }
  }

  const placed = () => seen.filter((event) => event.type === 'order.placed');
  const customerCancels = () =>
    seen.filter((event) => event.type === 'order.cancelled' && event.reason === 'CUSTOMER_REQUEST');

  /** Resolves once no event arrived for `quietMs`. */
  async function quiet(quietMs = 1_500): Promise<void> {
    let count = -1;
    await waitFor(
      async () => {
        if (count === seen.length) return true;
        count = seen.length;
        await new Promise((resolve) => setTimeout(resolve, quietMs));
        return count === seen.length;
      },
      { timeoutMs: 60_000, intervalMs: 10, description: 'the events to settle' },
    );
  }

  beforeAll(async () => {
    const unlimited = { RATE_LIMIT_MAX: '0' }; // sequential requests from one client, as fast as they go
    system = await startSystem({
      label: 'http-fuzz',
      env: { orders: unlimited, inventory: unlimited, payments: unlimited, notifications: unlimited },
    });

    // The probe: every event of the four exchanges.
    connection = await amqp.connect(system.brokerUrl);
    connection.on('error', () => undefined);
    const channel = await connection.createChannel();
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    for (const exchange of APPS) await channel.bindQueue(queue, exchange, '#');
    await channel.consume(
      queue,
      (message) => {
        if (!message) return;
        let event: { type?: string; subject?: string; data?: { orderId?: string; reason?: unknown } } = {};
        try {
          event = JSON.parse(message.content.toString()) as typeof event;
        } catch {
          // counted with what the envelope says: nothing
        }
        seen.push({
          exchange: message.fields.exchange,
          type: message.fields.routingKey,
          orderId: event.data?.orderId ?? event.subject,
          reason: event.data?.reason,
        });
      },
      { noAck: true },
    );

    skus = await Promise.all([
      createProduct(system.client, 'fuzz', { available: 100_000, price: 100 }),
      createProduct(system.client, 'fuzz', { available: 2, price: 100_000 }),
    ]);
    customers = [newCustomer('fuzz'), newCustomer('fuzz')];
    // One order through the saga, for ids that exist in every app.
    const { order } = await system.client.placeOrder(orderOf(customers[0] as string, [[skus[0] as string, 1]]));
    fixtureOrderId = order.id;
    created.add(order.id);
    await system.client.waitForOrderStatus(order.id, 'CONFIRMED');
    await system.client.waitForNotification(order.id, 'ORDER_CONFIRMED');
    await quiet();
  }, 180_000);

  afterAll(async () => {
    console.log(`HTTP fuzz, seed ${SEED}:\n${answers.summary()}`);
    await connection?.close().catch(() => undefined);
    await system?.stop();
  }, 60_000);

  const ids = () => fc.constantFrom(fixtureOrderId, ...created);
  const orderId = () => fc.oneof({ weight: 3, arbitrary: ids() }, segment(ids()));
  const customerId = () => fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...customers) }, oddText.map(encode));

  describe('read-only endpoints and PUT /products publish nothing', () => {
    let before: number;
    beforeAll(() => {
      before = seen.length;
    });

    it(
      'GET /orders?customerId=&status=&limit=&cursor=',
      async () => {
        const known = {
          customerId: customerId(),
          status: fc.constantFrom('PENDING', 'CONFIRMED', 'CANCELLED', 'pending', ''),
          limit: fc.constantFrom('1', '20', '100', '0', '101', '-1', '2.5', '1e2', 'abc'),
          cursor: fc.oneof(fc.constantFrom('c2VxOjE', 'c2VxOjk5OTk5OTk5OTk5OTk5OTk5OTk5', 'AAAA'), percentJunk),
        };
        await fc.assert(
          fc.asyncProperty(query(known), async (q) =>
            check('GET /orders', await send('orders', 'GET', `/orders${q}`), [200]),
          ),
          params(),
        );
      },
      TEST_TIMEOUT,
    );

    it(
      'GET /orders/{id} and GET /orders/{id}/timeline',
      async () => {
        await fc.assert(
          fc.asyncProperty(orderId(), fc.boolean(), noiseQuery, async (id, timeline, q) => {
            const path = `/orders/${id}${timeline ? '/timeline' : ''}${q}`;
            check('GET /orders/{id}(/timeline)', await send('orders', 'GET', path), [200]);
          }),
          params(),
        );
      },
      TEST_TIMEOUT,
    );

    it(
      'GET /products and GET /products/{sku}',
      async () => {
        const sku = segment(fc.constantFrom('SKU-1', ...skus));
        await fc.assert(
          fc.asyncProperty(fc.option(sku, { freq: 4 }), noiseQuery, async (one, q) => {
            check(
              'GET /products(/{sku})',
              await send('inventory', 'GET', `/products${one === null ? '' : `/${one}`}${q}`),
              [200],
            );
          }),
          params(),
        );
      },
      TEST_TIMEOUT,
    );

    it(
      'PUT /products/{sku}',
      async () => {
        const product = nearValid({
          name: [fc.string({ minLength: 1, maxLength: 200, unit: 'grapheme' }), anyValue],
          price: [fc.nat(), fc.oneof(fc.constantFrom(-1, 0.5, 2 ** 53, '100'), anyValue)],
          available: [fc.nat({ max: 1_000 }), fc.oneof(fc.constantFrom(-1, 0.5, 2 ** 31, '1'), anyValue)],
        });
        // Fresh skus mostly: the fixtures keep their stock.
        const sku = fc.oneof(
          { weight: 3, arbitrary: fc.string({ minLength: 1, maxLength: 20 }).map((s) => `SKU-FZ-${encode(s)}`) },
          segment(fc.constant('SKU-FZ')),
        );
        await fc.assert(
          fc.asyncProperty(sku, bodyOf(product), noiseQuery, async (s, { body, contentType }, q) => {
            check(
              'PUT /products/{sku}',
              await send('inventory', 'PUT', `/products/${s}${q}`, { body, contentType }),
              [200, 201],
            );
          }),
          params(),
        );
      },
      TEST_TIMEOUT,
    );

    it(
      'GET /payments?orderId=',
      async () => {
        await fc.assert(
          fc.asyncProperty(query({ orderId: orderId() }), async (q) =>
            check('GET /payments', await send('payments', 'GET', `/payments${q}`), [200]),
          ),
          params(),
        );
      },
      TEST_TIMEOUT,
    );

    it(
      'GET /notifications?customerId=&orderId=',
      async () => {
        await fc.assert(
          fc.asyncProperty(query({ customerId: customerId(), orderId: orderId() }), async (q) =>
            check('GET /notifications', await send('notifications', 'GET', `/notifications${q}`), [200]),
          ),
          params(),
        );
      },
      TEST_TIMEOUT,
    );

    it(
      'GET /notifications/stream?customerId=',
      async () => {
        await fc.assert(
          fc.asyncProperty(query({ customerId: customerId() }), async (q) => {
            const answer = await send('notifications', 'GET', `/notifications/stream${q}`, { stream: true });
            check('GET /notifications/stream', answer, [200]);
            if (answer.status === 200) expect(answer.contentType).toMatch(/^text\/event-stream/);
          }),
          params(Math.ceil(RUNS / 2)),
        );
      },
      TEST_TIMEOUT,
    );

    it('published nothing', async () => {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(seen.slice(before)).toEqual([]);
    });
  });

  describe('POST /orders', () => {
    it(
      'places an order, and publishes order.placed, only for each 202',
      async () => {
        const item = nearValid({
          sku: [fc.constantFrom(...skus, 'SKU-NOBODY-HAS'), anyValue],
          quantity: [fc.integer({ min: 1, max: 3 }), fc.oneof(fc.constantFrom(0, -1, 1_001, 2.5, '1'), anyValue)],
        });
        const items: fc.Arbitrary<unknown> = fc.oneof(
          {
            weight: 10,
            arbitrary: fc.uniqueArray(item, {
              minLength: 1,
              maxLength: 3,
              selector: (line) => JSON.stringify(line['sku']),
            }),
          },
          fc.array(item, { maxLength: 55 }),
          fc.array(fc.oneof(item, anyValue), { maxLength: 4 }),
          anyValue,
        );
        const order = nearValid({
          customerId: [fc.constantFrom(...customers), anyValue],
          items: [items, anyValue],
          paymentToken: [fc.constantFrom('tok_visa', 'tok_declined'), anyValue],
        });
        const idempotencyKey = fc.option(
          fc.oneof(
            { weight: 3, arbitrary: fc.constantFrom(`k-${SEED}-1`, `k-${SEED}-2`, `k-${SEED}-3`) },
            headerText(1, 40),
            headerText(250, 300),
          ),
          { freq: 2 },
        );
        let accepted = 0;
        await fc.assert(
          fc.asyncProperty(bodyOf(order), idempotencyKey, noiseQuery, async ({ body, contentType }, key, q) => {
            const answer = await send('orders', 'POST', `/orders${q}`, {
              body,
              contentType,
              headers: key === null ? {} : { 'idempotency-key': key },
            });
            check('POST /orders', answer, [202]);
            if (answer.status === 202) {
              accepted++;
              created.add((JSON.parse(answer.text) as { id: string }).id);
            }
          }),
          params(RUNS * 2),
        );
        // meaningful only if some were accepted and some rejected
        expect(accepted).toBeGreaterThan(10);
        expect(accepted).toBeLessThan(RUNS * 2);

        // The probe was listening before the fixture's order: every order.placed is an accepted order's, once.
        await waitFor(() => placed().length >= created.size, {
          timeoutMs: 30_000,
          description: `${created.size} order.placed events (one per accepted order)`,
        });
        await quiet();
        expect(new Set(placed().map((event) => event.orderId))).toEqual(created);
        expect(placed()).toHaveLength(created.size);
      },
      TEST_TIMEOUT,
    );
  });

  describe('POST /orders/{id}/cancel', () => {
    it(
      'cancels, and publishes order.cancelled (CUSTOMER_REQUEST), only for each 202',
      async () => {
        const before = customerCancels().length;
        await fc.assert(
          fc.asyncProperty(
            orderId(),
            bodyOf(anyValue),
            fc.boolean(),
            noiseQuery,
            async (id, { body, contentType }, withBody, q) => {
              const answer = await send(
                'orders',
                'POST',
                `/orders/${id}/cancel${q}`,
                withBody ? { body, contentType } : {},
              );
              check('POST /orders/{id}/cancel', answer, [202]);
              if (answer.status === 202) acceptedCancels++;
            },
          ),
          params(),
        );
        expect(acceptedCancels).toBeGreaterThan(0);
        await waitFor(() => customerCancels().length - before >= acceptedCancels, {
          timeoutMs: 30_000,
          description: `${acceptedCancels} order.cancelled events of CUSTOMER_REQUEST`,
        });
        await quiet();
        expect(customerCancels().length - before).toBe(acceptedCancels);
      },
      TEST_TIMEOUT,
    );
  });

  it('saw events only about orders accepted requests created, of the types SPEC.md lists', () => {
    const strangers = seen.filter((event) => event.orderId === undefined || !created.has(event.orderId));
    expect(strangers).toEqual([]);
    const types = new Set(seen.map((event) => event.type));
    const known = [
      'order.placed',
      'order.confirmed',
      'order.cancelled',
      'inventory.reserved',
      'inventory.rejected',
      'inventory.released',
      'payment.captured',
      'payment.declined',
      'payment.refunded',
      'notification.sent',
    ];
    for (const type of types) expect(known).toContain(type);
  });

  it.each(APPS)('left %s up and ready', async (app) => {
    expect((await send(app, 'GET', '/health/ready')).status).toBe(200);
    expect(system.running(app)).toBe(true);
    expect(system.output(app)).not.toMatch(/"level":"error".*HttpErrorFilter/);
  });
});
