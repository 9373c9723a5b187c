import { randomBytes, randomUUID } from 'node:crypto';
import { waitFor } from '@shop/testing';
import * as amqp from 'amqplib';
import {
  BridgeClient,
  bridgeToken,
  createProduct,
  expectNestError,
  freePort,
  mapLimit,
  newCustomer,
  orderOf,
  PushSubscriber,
  readArchive,
  startSystem,
  stockAdjusted,
  verifyPushSignature,
  waitForProduct,
  type ArchiveEntry,
  type CreatedSubscription,
  type PushDelivery,
  type ShopClient,
  type System,
} from '../src/support';

/**
 * The HTTP bridge in the running system (the four apps and the bridge, each as its own broker user):
 * the ERP publishes stock.adjusted over HTTP (structured and binary mode) and the saga uses the stock;
 * a retried POST has one effect; refused requests (401, 403, 400, 409, 415) publish nothing; the
 * caller's trace is continued; push subscribers get every event they subscribed to once, signed,
 * retried with backoff and then dead-lettered; a hanging subscriber holds back no other; DELETE
 * stops the deliveries. "Published" and "nothing published" are read in the archive (shop.events),
 * which every exchange, the ERP's included, feeds.
 */

const JWT_SECRET = `bridge-e2e-${randomBytes(24).toString('hex')}`;
const ERP_KEY = `erp-${randomBytes(24).toString('hex')}`;
const MAX_ATTEMPTS = 5;
const RETRY_INITIAL_DELAY_MS = 200;
const DELIVERY_TIMEOUT_MS = 5_000;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[0-3]$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

describe('the HTTP bridge (POST /events, push subscriptions) in the running system', () => {
  let system: System;
  let client: ShopClient;
  let bridge: BridgeClient;
  /** Subscribed to stock.adjusted from the start: every ERP event the bridge pushes. */
  let tap: PushSubscriber;
  let tapSubscription: CreatedSubscription;
  /** The product the flush events adjust (+1 each). */
  let flushSku: string;
  const subscribers: PushSubscriber[] = [];

  const startSubscriber = async (...args: Parameters<typeof PushSubscriber.start>) => {
    const subscriber = await PushSubscriber.start(...args);
    subscribers.push(subscriber);
    return subscriber;
  };

  beforeAll(async () => {
    system = await startSystem({
      label: 'bridge',
      bridge: true,
      env: {
        bridge: {
          BRIDGE_PRODUCER_KEYS: `erp=${ERP_KEY}`,
          BRIDGE_SUBSCRIBER_ALLOWLIST: 'http://127.0.0.1:*',
          BRIDGE_RETRY_INITIAL_DELAY_MS: String(RETRY_INITIAL_DELAY_MS),
          BRIDGE_RETRY_MAX_DELAY_MS: '2000',
          BRIDGE_DELIVERY_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
          BRIDGE_DELIVERY_TIMEOUT_MS: String(DELIVERY_TIMEOUT_MS),
          // Tokens too: a producer may be a token's sub; subscriptions and dead letters need scopes.
          AUTH_JWT_SECRET: JWT_SECRET,
        },
      },
    });
    client = system.client;
    bridge = new BridgeClient(client, {
      producer: ERP_KEY,
      operator: await bridgeToken(JWT_SECRET, 'operator', 'subscriptions admin'),
    });
    flushSku = await createProduct(client, 'flush', { available: 0 });
    tap = await startSubscriber();
    tapSubscription = await bridge.subscribe({ name: 'stock-tap', types: ['stock.adjusted'], url: tap.url });
  }, 180_000);

  afterAll(async () => {
    await Promise.all(subscribers.map((subscriber) => subscriber.close()));
    await system?.stop();
  }, 60_000);

  /** Everything the archive holds now. */
  async function archive(): Promise<ArchiveEntry[]> {
    const entries: ArchiveEntry[] = [];
    await readArchive(system.brokerUrl, (entry) => void entries.push(entry), 500);
    return entries;
  }

  /** The archive once it holds every one of `ids`. */
  function archivedWith(ids: readonly string[], timeoutMs = 30_000): Promise<ArchiveEntry[]> {
    return waitFor(
      async () => {
        const entries = await archive();
        const present = new Set(entries.map((entry) => entry.event.id));
        return ids.every((id) => present.has(id)) ? entries : undefined;
      },
      { timeoutMs, intervalMs: 200, description: `the archive to hold ${ids.join(', ')}` },
    );
  }

  /**
   * A valid stock.adjusted through the bridge, once the archive holds it: whatever the bridge took
   * into its outbox before it has been published by then. Returns the archive.
   */
  async function flush(): Promise<ArchiveEntry[]> {
    const { id } = await bridge.published(stockAdjusted(flushSku, 1));
    return archivedWith([id]);
  }

  const countOf = (entries: ArchiveEntry[], id: string) => entries.filter((entry) => entry.event.id === id).length;

  /**
   * Each event the archive holds more than once, described by what tells two publishes apart: the
   * offsets, the producer, the publish's traceparent and the producer's log lines that name the event.
   */
  function publishedTwice(entries: ArchiveEntry[]): string[] {
    const byId = new Map<string, ArchiveEntry[]>();
    for (const entry of entries) byId.set(entry.event.id, [...(byId.get(entry.event.id) ?? []), entry]);
    return [...byId]
      .filter(([, copies]) => copies.length > 1)
      .map(([id, copies]) => {
        const producer = String(copies[0].properties.appId) as Parameters<System['output']>[0];
        let output = '';
        for (let replica = 0; replica < system.replicaCount(producer); replica++)
          output += system.output(producer, replica);
        const logged = output.split('\n').filter((line) => line.includes(id) || /outbox/i.test(line));
        const published = copies.map(
          ({ offset, properties }) =>
            `offset ${offset} (app-id ${properties.appId}, timestamp ${properties.timestamp}, traceparent ${properties.headers?.['traceparent']})`,
        );
        return `${copies[0].event.type} ${id} of order ${copies[0].event.subject}, ${copies.length} times: ${published.join('; ')}; ${producer}'s log: ${logged.join(' | ') || 'nothing about it'}`;
      });
  }

  it('lets the ERP publish stock.adjusted over HTTP (structured and binary mode), which the saga then uses', async () => {
    const sku = await createProduct(client, 'erp', { available: 0, price: 500 });
    const before = await client.placeOrder(orderOf(newCustomer('erp'), [[sku, 2]]));
    const cancelled = await client.waitForOrderStatus(before.order.id, 'CANCELLED');
    expect(cancelled.cancellationReason).toBe('OUT_OF_STOCK');

    // structured mode
    const structured = stockAdjusted(sku, 5);
    const answer = await bridge.publish(structured);
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({ id: structured.id, type: 'stock.adjusted', subject: sku, duplicate: false });
    await waitForProduct(client, sku, { available: 5, reserved: 0 });

    const after = await client.placeOrder(orderOf(newCustomer('erp'), [[sku, 2]]));
    await client.waitForOrderStatus(after.order.id, 'CONFIRMED');
    await waitForProduct(client, sku, { available: 3, reserved: 0 });

    // binary mode: the attributes in ce-* headers, the data as the body
    const binary = stockAdjusted(sku, 4, { time: new Date().toISOString() });
    const binaryAnswer = await bridge.publishBinary(binary);
    expect(binaryAnswer.status).toBe(202);
    expect(binaryAnswer.body).toEqual({ id: binary.id, type: 'stock.adjusted', subject: sku, duplicate: false });
    await waitForProduct(client, sku, { available: 7, reserved: 0 });

    // a count below what is available takes it to 0, no further
    await bridge.published(stockAdjusted(sku, -1_000));
    await waitForProduct(client, sku, { available: 0, reserved: 0 });

    // as published: the ERP's event, by the bridge, on the erp exchange (the archive is fed by it)
    const entries = await archivedWith([structured.id, binary.id]);
    for (const sent of [structured, binary]) {
      const [archived] = entries.filter((entry) => entry.event.id === sent.id).map((entry) => entry.event);
      expect(archived).toMatchObject({
        specversion: '1.0',
        id: sent.id,
        source: 'urn:shop:erp',
        type: 'stock.adjusted',
        subject: sku,
        data: sent.data,
      });
      expect(Number.isNaN(Date.parse(archived.time))).toBe(false);
    }
    expect(entries.find((entry) => entry.event.id === binary.id)?.event.time).toBe(binary.time);

    // an unknown sku: inventory refuses it, into its dead-letter queue
    const unknown = await bridge.published(stockAdjusted(`SKU-NOBODY-${randomUUID().slice(0, 8)}`, 3));
    await waitFor(
      async () => {
        const response = await client.http<Array<{ messageId: string; reason: string }>>(
          'inventory',
          '/admin/dead-letters?queue=inventory.stock.on-adjusted',
        );
        return response.body?.some((entry) => entry.messageId === unknown.id && entry.reason === 'rejected');
      },
      { timeoutMs: 30_000, intervalMs: 250, description: `inventory to dead-letter ${unknown.id} (unknown sku)` },
    );
  });

  it('gives a POST sent again one effect (202, duplicate: true), and answers 409 for the same id with other content', async () => {
    const sku = await createProduct(client, 'dup', { available: 10 });
    const event = stockAdjusted(sku, 3);
    expect((await bridge.publish(event)).body).toMatchObject({ id: event.id, duplicate: false });
    const again = await bridge.publish(event);
    expect(again.status).toBe(202);
    expect(again.body).toEqual({ id: event.id, type: 'stock.adjusted', subject: sku, duplicate: true });

    // four copies at once: one of them is the event, three are duplicates
    const concurrent = stockAdjusted(sku, 2);
    const copies = await Promise.all([1, 2, 3, 4].map(() => bridge.publish(concurrent)));
    expect(copies.map((copy) => copy.status)).toEqual([202, 202, 202, 202]);
    expect(copies.filter((copy) => !copy.body.duplicate)).toHaveLength(1);

    // the same id, other content: refused, in either mode
    const conflict = await bridge.publish({ ...event, data: { sku, delta: 4, reason: 'goods-received' } });
    expectNestError(conflict, 409, ['id']);
    expectNestError(await bridge.publishBinary({ ...event, data: { sku, delta: 3, reason: 'other' } }), 409, ['id']);

    await waitForProduct(client, sku, { available: 15, reserved: 0 });
    const entries = await flush();
    expect(countOf(entries, event.id)).toBe(1);
    expect(countOf(entries, concurrent.id)).toBe(1);
    expect(entries.find((entry) => entry.event.id === event.id)?.event.data).toEqual(event.data);
    expect((await client.getProduct(sku)).available).toBe(15);
    // pushed once each, too
    await tap.waitFor(() => tap.of(concurrent.id).length > 0, `the push of ${concurrent.id}`);
    expect(tap.acked().filter((delivery) => delivery.ceId === event.id)).toHaveLength(1);
    expect(tap.acked().filter((delivery) => delivery.ceId === concurrent.id)).toHaveLength(1);
  });

  it('refuses callers without a credential (401), types the caller does not own (403) and malformed events (400, 415), publishing none', async () => {
    const sku = await createProduct(client, 'refused', { available: 1 });
    const refusedIds: string[] = [];
    const track = <T extends { id: string }>(event: T) => {
      refusedIds.push(event.id);
      return event;
    };
    const orderPlaced = (data: unknown) =>
      track({
        specversion: '1.0',
        id: randomUUID(),
        source: 'urn:shop:orders',
        type: 'order.placed',
        subject: randomUUID(),
        data,
      });
    const validOrder = (subject: string) => ({
      orderId: subject,
      customerId: 'c-1',
      items: [{ sku, quantity: 1 }],
      paymentToken: 'tok_visa',
    });

    // 401: no credential, a wrong key, a token signed with another secret
    const none = await bridge.publish(track(stockAdjusted(sku, 1)), { credential: null });
    expectNestError(none, 401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expectNestError(await bridge.publish(track(stockAdjusted(sku, 1)), { credential: `${ERP_KEY}x` }), 401);
    const forged = await bridgeToken(`${JWT_SECRET}-other`, 'erp');
    expectNestError(await bridge.publish(track(stockAdjusted(sku, 1)), { credential: forged }), 401);

    // 403: the ERP may not publish the orders' events, valid or not (ownership is checked first)
    const placed = orderPlaced(undefined);
    placed.data = validOrder(placed.subject);
    expectNestError(await bridge.publish(placed), 403, ['type']);
    expectNestError(await bridge.publish(orderPlaced({ nonsense: true })), 403, ['type']);
    expectNestError(await bridge.publishBinary({ ...orderPlaced({}), id: 'not-a-uuid' }), 403, ['type']);
    // ... nor may a token of another producer publish the ERP's
    const ordersToken = await bridgeToken(JWT_SECRET, 'orders');
    expectNestError(await bridge.publish(track(stockAdjusted(sku, 1)), { credential: ordersToken }), 403, ['type']);

    // a token whose sub is the ERP is the ERP
    const erpToken = await bridgeToken(JWT_SECRET, 'erp');
    const byToken = await bridge.publish(stockAdjusted(sku, 1), { credential: erpToken });
    expect(byToken.status).toBe(202);

    // 400: each offending field named
    const bad = (overrides: Parameters<typeof stockAdjusted>[2]) => track(stockAdjusted(sku, 1, overrides));
    expectNestError(await bridge.publish(bad({ data: { sku, delta: 0, reason: 'x' } })), 400, ['data.delta']);
    expectNestError(await bridge.publish(bad({ data: { sku, delta: 1.5, reason: 'x' } })), 400, ['data.delta']);
    expectNestError(await bridge.publish(bad({ data: { sku, delta: '3', reason: 'x' } })), 400, ['data.delta']);
    expectNestError(await bridge.publish(bad({ data: { sku, delta: 2 } })), 400, ['data.reason']);
    expectNestError(await bridge.publish({ ...stockAdjusted(sku, 1), id: 'not-a-uuid' }), 400, [/^id: must be a UUID/]);
    expectNestError(await bridge.publish(bad({ source: 'urn:shop:orders' })), 400, [/^source: /]);
    expectNestError(await bridge.publish(bad({ subject: 'SKU-OTHER' })), 400, ['subject']);
    expectNestError(await bridge.publish(bad({ specversion: '0.3' })), 400, ['specversion']);
    expectNestError(await bridge.publish(bad({ time: 'yesterday' })), 400, ['time']);
    expectNestError(await bridge.publish(bad({ type: 'stock.counted' })), 400, ['type']);
    // several at once: all of them
    expectNestError(
      await bridge.publish({
        ...stockAdjusted(sku, 1, { source: 'urn:shop:somewhere', data: { sku, delta: 0, reason: '' } }),
        id: 'nope',
      }),
      400,
      [/^id: /, /^source: /],
    );
    expectNestError(await bridge.publishBinary(bad({ data: { sku, delta: 'many', reason: 'x' } })), 400, [
      'data.delta',
    ]);
    expectNestError(await bridge.publishBinary({ ...stockAdjusted(sku, 1), id: '42' }), 400, [/^id: must be a UUID/]);

    // 415: neither mode
    const plain = track(stockAdjusted(sku, 1));
    expectNestError(
      await client.http('bridge', '/events', {
        method: 'POST',
        body: JSON.stringify(plain),
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ERP_KEY}` },
      }),
      415,
    );
    expectNestError(
      await bridge.publish(track(stockAdjusted(sku, 1)), {
        headers: { 'content-type': 'application/cloudevents-batch+json' },
      }),
      415,
    );
    expectNestError(
      await bridge.publish(track(stockAdjusted(sku, 1)), { headers: { 'content-type': 'text/plain' } }),
      415,
    );

    const entries = await flush();
    const present = new Set(entries.map((entry) => entry.event.id));
    expect(refusedIds.filter((id) => present.has(id))).toEqual([]);
    expect(present.has(byToken.body.id)).toBe(true);
    await waitForProduct(client, sku, { available: 2, reserved: 0 });
  });

  it('refuses a token whose sub is an app, whatever type it posts: the bridge publishes only for HTTP producers', async () => {
    const subject = randomUUID();
    const event = {
      specversion: '1.0',
      id: randomUUID(),
      source: 'urn:shop:orders',
      type: 'order.placed',
      subject,
      data: { orderId: subject, customerId: 'c-1', items: [{ sku: flushSku, quantity: 1 }], paymentToken: 'tok_visa' },
    };
    const answer = await bridge.publish(event, { credential: await bridgeToken(JWT_SECRET, 'orders') });
    expect(expectNestError(answer, 403, ['type'])).toEqual([
      'type: order.placed belongs to orders, which publishes over AMQP; the bridge publishes only for erp',
    ]);
    const entries = await flush();
    expect(countOf(entries, event.id)).toBe(0);
  });

  it("continues the caller's trace: the archived event and its push carry the traceparent's trace id", async () => {
    const sku = await createProduct(client, 'trace', { available: 0 });
    const sent: Array<{ id: string; traceId: string }> = [];
    for (const mode of ['structured', 'binary'] as const) {
      const traceId = randomBytes(16).toString('hex');
      const traceparent = `00-${traceId}-${randomBytes(8).toString('hex')}-01`;
      const event = stockAdjusted(sku, 1);
      const publish =
        mode === 'structured'
          ? bridge.publish(event, { headers: { traceparent } })
          : bridge.publishBinary(event, { headers: { traceparent } });
      const answer = await publish;
      expect(answer.status).toBe(202);
      expect(answer.headers.get('traceparent')).toMatch(new RegExp(`^00-${traceId}-`));
      sent.push({ id: event.id, traceId });
    }
    const entries = await archivedWith(sent.map((s) => s.id));
    for (const { id, traceId } of sent) {
      const archived = entries.find((entry) => entry.event.id === id)?.event;
      expect(TRACEPARENT.exec(String(archived?.traceparent))?.[1]).toBe(traceId);
      const [pushed] = await tap.waitFor(() => {
        const acked = tap.acked().filter((delivery) => delivery.ceId === id);
        return acked.length > 0 && acked;
      }, `the push of ${id}`);
      expect(TRACEPARENT.exec(String(pushed.headers['traceparent']))?.[1]).toBe(traceId);
    }
  });

  it('does not let a hanging subscriber slow another subscriber down', async () => {
    const healthy = await startSubscriber();
    const healthySub = await bridge.subscribe({ name: 'healthy', types: ['order.placed'], url: healthy.url });
    const sku = await createProduct(client, 'latency', { available: 1_000, price: 100 });
    // When each order.placed reached the broker: a queue of the test's own on the orders exchange.
    const connection = await amqp.connect(system.brokerUrl);
    const onBroker = new Map<string, number>();
    try {
      const channel = await connection.createChannel();
      const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
      await channel.bindQueue(queue, 'orders', 'order.placed');
      await channel.consume(
        queue,
        (message) => message && onBroker.set(String(message.properties.messageId), Date.now()),
        {
          noAck: true,
        },
      );

      /**
       * Places `count` orders, 3 at a time; for each order.placed at the healthy subscriber, its latency
       * from the broker (the probe queue got it) and from its time (when orders made it) to the push.
       */
      const latencies = async (label: string, count: number) => {
        const ids = await mapLimit(Array.from({ length: count }), 3, async () => {
          const { order } = await client.placeOrder(orderOf(newCustomer(label), [[sku, 1]]));
          return order.id;
        });
        const wanted = new Set(ids);
        const received = await healthy.waitFor(() => {
          const mine = healthy.acked().filter((d) => d.body && wanted.has(d.body.subject));
          return mine.length >= count && mine.every((d) => onBroker.has(String(d.ceId))) && mine;
        }, `order.placed of the ${count} ${label} orders at the healthy subscriber`);
        const fromBroker = received.map((d) => d.at - (onBroker.get(String(d.ceId)) ?? NaN));
        const fromTime = received.map((d) => d.at - Date.parse(String(d.body?.time)));
        return {
          fromBroker,
          text: `p50 ${percentile(fromBroker, 50)} / p95 ${percentile(fromBroker, 95)} ms from the broker, p50 ${percentile(fromTime, 50)} / p95 ${percentile(fromTime, 95)} ms from the event's time`,
        };
      };

      const alone = await latencies('alone', 40);

      const hanging = await startSubscriber(() => 'hang');
      // 16 deliveries in flight, each holding a socket until the bridge's deadline cuts it
      const hangingSub = await bridge.subscribe({
        name: 'hanging',
        types: ['order.*'],
        url: hanging.url,
        concurrency: 16,
      });
      const inFlight = () => hanging.deliveries.filter((d) => d.closedAt === undefined).length;
      await mapLimit(Array.from({ length: 8 }), 4, () => client.placeOrder(orderOf(newCustomer('hang'), [[sku, 1]])));
      await hanging.waitFor(() => inFlight() >= 16, '16 deliveries hanging at once');
      const beside = await latencies('beside-hanging', 40);
      // it did hang, until the bridge's deadline cut the delivery
      const cut = await hanging.waitFor(
        () => hanging.deliveries.find((d) => d.closedAt !== undefined),
        'the bridge to give up a delivery to the hanging subscriber',
        DELIVERY_TIMEOUT_MS + 10_000,
      );
      const hung = hanging.deliveries.length;
      console.log(
        `push latency of a healthy subscriber (40 order.placed each): alone ${alone.text}; ` +
          `beside a subscriber that hangs (16 deliveries at a time, ${hung} in all, each cut after ${DELIVERY_TIMEOUT_MS} ms) ${beside.text}`,
      );
      expect((cut.closedAt ?? 0) - cut.at).toBeGreaterThanOrEqual(DELIVERY_TIMEOUT_MS * 0.9);
      expect((cut.closedAt ?? 0) - cut.at).toBeLessThan(DELIVERY_TIMEOUT_MS + 3_000);
      // Held up behind the hanging deliveries, the healthy ones would wait out their deadline (5 s);
      // a busy 2-core machine alone has been seen to push the p95 to 1.8 s.
      expect(percentile(beside.fromBroker, 95)).toBeLessThan(
        Math.max(DELIVERY_TIMEOUT_MS / 2, 3 * percentile(alone.fromBroker, 95) + 500),
      );

      await bridge.unsubscribe(hangingSub.id);
      await bridge.unsubscribe(healthySub.id);
    } finally {
      await connection.close().catch(() => undefined);
    }
  }, 120_000);

  it('pushes every order.* event of 200 orders to a subscriber, each acked once, signed, as a structured CloudEvent', async () => {
    // About one event in twenty is answered 503 the first time: retried, and still acked once.
    const flaky = (ceId: string | undefined) => parseInt((ceId ?? '00').slice(0, 2), 16) < 13;
    const subscriber = await startSubscriber((delivery) =>
      delivery.attempt === 1 && flaky(delivery.ceId) ? 503 : 200,
    );
    const created = await bridge.subscribe({
      name: 'orders-feed',
      types: ['order.*'],
      url: subscriber.url,
      concurrency: 8,
      ratePerSecond: 1_000,
    });
    expect(created).toEqual({
      id: expect.stringMatching(UUID),
      name: 'orders-feed',
      types: ['order.*'],
      url: subscriber.url,
      concurrency: 8,
      ratePerSecond: 1_000,
      createdAt: expect.any(String),
      queue: `bridge.subscription.${created.id}`,
      secret: expect.any(String),
    });
    const { secret, ...shown } = created;
    expect(secret.length).toBeGreaterThanOrEqual(32);
    expect((await bridge.subscription(created.id)).body).toEqual(shown);
    expect(await bridge.subscriptions()).toContainEqual(shown);

    const sku = await createProduct(client, 'feed', { available: 1_000, price: 100 });
    const ids = await mapLimit(Array.from({ length: 200 }), 20, async (_, i) => {
      const { order } = await client.placeOrder(
        orderOf(newCustomer('feed'), [[sku, 1]], i % 5 === 4 ? 'tok_declined' : 'tok_visa'),
      );
      return order.id;
    });
    const finals = await mapLimit(ids, 20, (id) => client.waitForFinal(id, { timeoutMs: 120_000 }));
    expect(finals.filter((order) => order.status === 'CONFIRMED')).toHaveLength(160);
    const orders = new Set(ids);

    // The archive's order.* events of the 200 orders, once each has its final one.
    const expectedEntries = await waitFor(
      async () => {
        const entries = (await archive()).filter(
          ({ event }) => event.type.startsWith('order.') && orders.has(event.subject),
        );
        const final = new Set(
          entries
            .filter(({ event }) => event.type === 'order.confirmed' || event.type === 'order.cancelled')
            .map(({ event }) => event.subject),
        );
        return final.size === orders.size ? entries : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 1_000, description: 'the final order.* event of each order in the archive' },
    );
    expect(publishedTwice(expectedEntries)).toEqual([]);
    const expected = expectedEntries.map((entry) => entry.event);
    const expectedIds = new Set(expected.map((event) => event.id));

    const ackedOfOrders = () => subscriber.acked().filter((d) => d.body && orders.has(d.body.subject));
    await subscriber.waitFor(
      () => [...expectedIds].every((id) => ackedOfOrders().some((d) => d.ceId === id)),
      `the ${expectedIds.size} order.* events of the 200 orders, acked`,
      60_000,
    );
    await sleep(1_000); // a duplicate would come now

    const acked = ackedOfOrders();
    const ackedIds = acked.map((d) => d.ceId);
    expect(ackedIds.length - new Set(ackedIds).size).toBe(0); // no event acked twice
    expect(new Set(ackedIds)).toEqual(expectedIds);
    const retried = subscriber.deliveries.filter((d) => d.attempt > 1);
    expect(retried.length).toBeGreaterThan(0);

    const archived = new Map(expected.map((event) => [event.id, event]));
    const problems: string[] = [];
    for (const delivery of subscriber.deliveries) {
      const where = `delivery #${delivery.seq} (${delivery.ceId})`;
      if (!verifyPushSignature(secret, delivery.raw, delivery.headers['x-signature'])) {
        problems.push(`${where}: X-Signature ${String(delivery.headers['x-signature'])} does not verify`);
      }
      if (!/^application\/cloudevents\+json\b/.test(delivery.headers['content-type'] ?? '')) {
        problems.push(`${where}: content-type ${delivery.headers['content-type']}`);
      }
      if (delivery.method !== 'POST' || delivery.path !== '/hook')
        problems.push(`${where}: ${delivery.method} ${delivery.path}`);
      if (!TRACEPARENT.test(String(delivery.headers['traceparent']))) {
        problems.push(`${where}: traceparent ${String(delivery.headers['traceparent'])}`);
      }
      const body = delivery.body;
      if (!body || body.specversion !== '1.0' || body.id !== delivery.ceId || !body.type?.startsWith('order.')) {
        problems.push(
          `${where}: not a structured order.* CloudEvent with id = ce-id: ${delivery.raw.toString().slice(0, 200)}`,
        );
        continue;
      }
      const original = archived.get(body.id);
      if (!original) continue; // an event of another test's order
      try {
        expect(body).toEqual(original);
      } catch {
        problems.push(`${where}: differs from the archive: ${JSON.stringify(body)} vs ${JSON.stringify(original)}`);
      }
    }
    expect(problems.slice(0, 10)).toEqual([]);
    await bridge.unsubscribe(created.id);
  }, 240_000);

  it('retries a failing subscriber with backoff until it acks, and dead-letters (retries-exhausted) what never succeeds', async () => {
    const recovering = await startSubscriber((delivery) => (delivery.attempt <= 3 ? 500 : 200));
    const failing = await startSubscriber(() => 500);
    const [recoveringSub, failingSub] = await Promise.all([
      bridge.subscribe({ name: 'recovering', types: ['stock.adjusted'], url: recovering.url }),
      bridge.subscribe({ name: 'failing', types: ['stock.*'], url: failing.url }),
    ]);
    const event = stockAdjusted(flushSku, 1);
    await bridge.published(event);

    const attempts = await recovering.waitFor(() => {
      const seen = recovering.of(event.id);
      return seen.length >= 4 && seen;
    }, `4 attempts at ${event.id}`);
    expect(attempts.map((d) => d.answer)).toEqual([500, 500, 500, 200]);
    // backoff: 200, 400, 800 ms at least (factor 2)
    const gaps = attempts.slice(1).map((d, i) => d.at - attempts[i].at);
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(RETRY_INITIAL_DELAY_MS * 2 ** i * 0.9));

    const deadLetter = await waitFor(
      async () => (await bridge.deadLetters(failingSub.queue)).find((entry) => entry.messageId === event.id),
      { timeoutMs: 30_000, intervalMs: 250, description: `${event.id} in ${failingSub.queue}.dlq` },
    );
    expect(deadLetter).toMatchObject({
      queue: failingSub.queue,
      messageId: event.id,
      type: 'stock.adjusted',
      reason: 'retries-exhausted',
      attempts: MAX_ATTEMPTS,
    });
    expect(deadLetter.error).toMatch(/500/);
    expect(failing.of(event.id)).toHaveLength(MAX_ATTEMPTS);
    expect(
      failing.of(event.id).every((d) => verifyPushSignature(failingSub.secret, d.raw, d.headers['x-signature'])),
    ).toBe(true);

    await sleep(1_500);
    expect(recovering.of(event.id)).toHaveLength(4);
    expect(failing.of(event.id)).toHaveLength(MAX_ATTEMPTS);
    expect(await bridge.deadLetters(recoveringSub.queue)).toEqual([]);
    // the dead-letter list of all the bridge's queues holds it too, and only the failing one's
    const all = await bridge.deadLetters();
    expect(all.filter((entry) => entry.messageId === event.id).map((entry) => entry.queue)).toEqual([failingSub.queue]);

    await Promise.all([bridge.unsubscribe(recoveringSub.id), bridge.unsubscribe(failingSub.id)]);
  });

  // A refused connection is the subscriber's failure, not an outage of the bridge's database: it spends
  // attempts (the socket error must not be taken for one of PostgreSQL's).
  it('dead-letters (retries-exhausted) what cannot reach a subscriber that is down (connection refused)', async () => {
    const url = `http://127.0.0.1:${await freePort()}/hook`;
    const down = await bridge.subscribe({ name: 'down', types: ['stock.adjusted'], url });
    const event = stockAdjusted(flushSku, 1);
    await bridge.published(event);
    try {
      // 5 attempts, 200 + 400 + 800 + 1600 ms apart: well within 10 s
      const deadLetter = await waitFor(
        async () => (await bridge.deadLetters(down.queue)).find((entry) => entry.messageId === event.id),
        { timeoutMs: 10_000, intervalMs: 250, description: `${event.id} in ${down.queue}.dlq` },
      );
      expect(deadLetter).toMatchObject({ reason: 'retries-exhausted', attempts: MAX_ATTEMPTS });
    } finally {
      await bridge.unsubscribe(down.id);
    }
  });

  it('stops the deliveries of a deleted subscription (DELETE /subscriptions/{id})', async () => {
    const deleted = await startSubscriber();
    const kept = await startSubscriber();
    const [deletedSub, keptSub] = await Promise.all([
      bridge.subscribe({ name: 'to-delete', types: ['order.*'], url: deleted.url }),
      bridge.subscribe({ name: 'kept', types: ['order.*'], url: kept.url }),
    ]);
    const sku = await createProduct(client, 'delete', { available: 10 });
    const confirmedAt = (subscriber: PushSubscriber, orderId: string) =>
      subscriber.waitFor(
        () =>
          subscriber
            .acked()
            .find((d: PushDelivery) => d.body?.subject === orderId && d.body.type === 'order.confirmed'),
        `order.confirmed of ${orderId}`,
      );

    const first = await client.placeOrder(orderOf(newCustomer('delete'), [[sku, 1]]));
    await confirmedAt(deleted, first.order.id);

    const removed = await bridge.deleteSubscriptionRaw(deletedSub.id);
    expect(removed.status).toBe(204);
    expectNestError(await bridge.subscription(deletedSub.id), 404);
    expectNestError(await bridge.deleteSubscriptionRaw(deletedSub.id), 404);
    expectNestError(await bridge.deleteSubscriptionRaw(randomUUID()), 404);
    expectNestError(await bridge.deleteSubscriptionRaw('not-a-uuid'), 400, ['id']);
    expect((await bridge.subscriptions()).map((s) => s.id)).not.toContain(deletedSub.id);
    expect((await bridge.subscriptions()).map((s) => s.id)).toContain(keptSub.id);

    const second = await client.placeOrder(orderOf(newCustomer('delete'), [[sku, 1]]));
    await confirmedAt(kept, second.order.id);
    await sleep(1_500);
    expect(deleted.deliveries.filter((d) => d.body?.subject === second.order.id)).toEqual([]);
    expect(
      kept
        .acked()
        .filter((d) => d.body?.subject === second.order.id)
        .map((d) => d.body?.type),
    ).toEqual(expect.arrayContaining(['order.placed', 'order.confirmed']));
    await bridge.unsubscribe(keptSub.id);
  });

  it('pushed every stock.adjusted to the subscriber that had it from the start, each acked once', async () => {
    const entries = await flush();
    const erpIds = new Set(entries.filter((entry) => entry.event.type === 'stock.adjusted').map((e) => e.event.id));
    await tap.waitFor(() => [...erpIds].every((id) => tap.acked().some((d) => d.ceId === id)), 'every stock.adjusted');
    const acked = tap.acked().map((d) => d.ceId);
    expect(acked.length).toBe(new Set(acked).size);
    expect(new Set(acked)).toEqual(erpIds);
    expect(
      tap.deliveries.every((d) => verifyPushSignature(tapSubscription.secret, d.raw, d.headers['x-signature'])),
    ).toBe(true);
    // no request answered 500 (the error filter logs each at level error)
    const errors = system
      .output('bridge')
      .split('\n')
      .filter((line) => /"level":"error".*HttpErrorFilter/.test(line));
    expect(errors.map((line) => line.slice(0, 2_000))).toEqual([]);
  });

  // Last: its 500s would fail the check above.
  describe('while the bridge compares its subscriptions with the database every 100 ms', () => {
    it('restarts the bridge with BRIDGE_SUBSCRIPTIONS_SYNC_MS=100', async () => {
      await system.stopApp('bridge');
      await system.startApp('bridge', { env: { BRIDGE_SUBSCRIPTIONS_SYNC_MS: '100' } });
      expect(system.running('bridge')).toBe(true);
    }, 120_000);

    // A subscription is delivered from before its row commits: a sync that read the rows just before
    // must not stop it under create() (a 500, and a queue left bound and never consumed).
    it('creates subscriptions without a 500, however often the bridge syncs', async () => {
      const subscriber = await startSubscriber();
      const statuses: number[] = [];
      // before the fix, one creation in thirty met a sync
      for (let i = 0; i < 100 && !statuses.some((status) => status !== 201); i++) {
        const answer = await bridge.createSubscriptionRaw({
          name: `race-${i}`,
          types: ['payment.refunded'],
          url: subscriber.url,
        });
        statuses.push(answer.status);
        if (answer.status === 201) await bridge.unsubscribe(answer.body.id);
      }
      const failed = statuses.findIndex((status) => status !== 201);
      console.log(
        `subscriptions created while the bridge syncs every 100 ms: ${statuses.length}` +
          (failed >= 0 ? `; creation #${failed + 1} answered ${statuses[failed]}` : '; none refused'),
      );
      expect(statuses.filter((status) => status !== 201)).toEqual([]);
    }, 120_000);
  });
});
