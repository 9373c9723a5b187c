import {
  EVENTS,
  OrderCancelled,
  OrderConfirmed,
  PRODUCER_NAMES,
  publisherOf,
  serializeEvent,
  type AppName,
  type ProducerName,
  type CloudEvent,
  type EventDefinition,
} from '@shop/contracts';
import { brokerAdminFromEnv, waitFor } from '@shop/testing';
import * as amqp from 'amqplib';
import * as fc from 'fast-check';
import {
  ALL_APPS,
  APPS,
  createProduct,
  newCustomer,
  orderOf,
  runSentinelOrder,
  startSystem,
  waitForProduct,
  type Order,
  type System,
  ARCHIVE_STREAM,
} from '../src/support';
import {
  CONTRACT_REASONS,
  DeadLetterHeaders,
  FUZZ_SEQ_HEADER,
  bodyFuzz,
  consumerQueuesOf,
  dataFuzz,
  decodeBody,
  envelopeFuzz,
  expectedOutcome,
  preview,
  propertiesFuzz,
  queuesReached,
  validFuzz,
  type ConsumerQueue,
  type Expected,
  type Family,
  type FuzzMessage,
  type FuzzWorld,
  unencodableHeaderValues,
} from '../src/support/event-fuzz';

/**
 * Property-based fuzzing of every consumer of the running system: for each event type, a few dozen
 * messages fast-check generates from a fixed seed (`FUZZ_SEED` overrides it), published by the
 * type's owner as its own broker user (so that the producer check passes and decoding and
 * validation are what is exercised): random and near-valid data, odd envelopes, bodies that are no
 * envelope at all, odd AMQP properties and headers. Afterwards every consumer queue the message
 * reached holds it in its dead-letter queue with the reason the contract gives (or handled it, for
 * the valid ones), nothing is stuck, every app is up, and nothing changed. Then: events from a
 * producer that does not own them are dead-lettered as `unauthenticated-producer`.
 */

const SEED = Number(process.env['FUZZ_SEED'] ?? 20_261_123);
/** Messages per event type and family; the `valid` family only for types the timeline alone consumes. */
const PER_TYPE: Record<Exclude<Family, 'valid'>, number> = { data: 12, envelope: 8, body: 5, properties: 6 };
const VALID_PER_TYPE = 6;
const SETTLE_TIMEOUT_MS = 75_000;
/**
 * The event archive (the shop.events stream) as the timeline, folded from it, consumes it: every type of
 * every exchange, and only what a queue consumer would accept (valid, from its owner).
 */
const ARCHIVE: ConsumerQueue = {
  name: ARCHIVE_STREAM,
  app: 'orders',
  bindings: ['orders', 'inventory', 'payments', 'notifications'].map((exchange) => ({
    exchange: exchange as AppName,
    routingKey: '#',
  })),
  accepts: new Set(EVENTS.all.map((event) => event.type)),
};

interface DeadLetter {
  queue: string;
  seq: string | undefined;
  reason: string | undefined;
  headers: Record<string, unknown>;
  content: Buffer;
  messageId: unknown;
}

interface Published {
  seq: string;
  message: FuzzMessage;
  owner: AppName;
  /** The AMQP user-id it was published with (undefined: none). */
  userId: string | undefined;
  exchange: ProducerName;
  /** What each consumer queue it reached must do with it. */
  expected: Array<{ queue: ConsumerQueue; outcome: Expected }>;
  decodedSubject?: string;
  decodedId?: string;
  /** Whether the timeline, folded from the event archive, takes it: a valid event from its owner. */
  folded: boolean;
  /** The broker refused it because the archive stream could not take it (RabbitMQ 3.10, decimal headers). */
  refusedByStream?: boolean;
}

/** Whether AMQP headers hold a decimal value anywhere (amqplib's `{"!": "decimal"}`). */
function carriesDecimal(value: unknown): boolean {
  if (!value || typeof value !== 'object' || Buffer.isBuffer(value)) return false;
  if ((value as { '!'?: unknown })['!'] === 'decimal') return true;
  return Object.values(value).some(carriesDecimal);
}

/** What the fuzzed messages must not have changed, read over the apps' HTTP APIs. */
interface Snapshot {
  products: string;
  victim: Order;
  victimPayments: string;
  victimNotifications: string;
  timeline: string[];
}

describe(`event consumers fuzzed with random messages (fast-check seed ${SEED})`, () => {
  let system: System;
  let users: Record<AppName, string>;
  let queues: ConsumerQueue[];
  let world: FuzzWorld;
  let victim: Order;
  let poolOrderIds: string[];
  let poolCustomerIds: string[];
  const connections: amqp.ChannelModel[] = [];
  const broker = brokerAdminFromEnv();

  const userOf = (app: AppName) => users[app];
  const connect = async (url: string) => {
    const connection = await amqp.connect(url);
    connection.on('error', () => undefined);
    connections.push(connection);
    return connection;
  };

  beforeAll(async () => {
    system = await startSystem({ label: 'event-fuzz' });
    users = Object.fromEntries(
      ALL_APPS.map((app) => [app, decodeURIComponent(new URL(system.brokerUrlOf(app)).username)]),
    ) as Record<AppName, string>;
    queues = consumerQueuesOf(await broker.listBindings(system.vhost));

    // One order through the saga, CONFIRMED, sold and notified: the fuzz talks about it too.
    const client = system.client;
    const [sku, otherSku] = await Promise.all([
      createProduct(client, 'fuzz', { available: 20, price: 500 }),
      createProduct(client, 'fuzz', { available: 7, price: 250 }),
    ]);
    const customerId = newCustomer('fuzz');
    const { order } = await client.placeOrder(orderOf(customerId, [[sku, 2]]));
    victim = await client.waitForOrderStatus(order.id, 'CONFIRMED');
    await client.waitForNotification(order.id, 'ORDER_CONFIRMED');
    await waitForProduct(client, sku, { available: 18, reserved: 0 });
    // its timeline whole (projected a moment after the events), so that the snapshots compare like with like
    await client.waitForTimeline(order.id, [
      'order.placed',
      'inventory.reserved',
      'payment.captured',
      'order.confirmed',
      'notification.sent',
    ]);

    poolOrderIds = fc.sample(fc.uuid({ version: 4 }), { seed: SEED, numRuns: 6 });
    poolCustomerIds = Array.from({ length: 4 }, (_, i) => `c-fuzz-pool-${SEED}-${i}`);
    world = {
      orderIds: [victim.id, ...poolOrderIds],
      customerIds: [customerId, ...poolCustomerIds],
      skus: [sku, otherSku, 'SKU-NOBODY-HAS'],
    };
  }, 180_000);

  afterAll(async () => {
    await Promise.allSettled(connections.map((connection) => connection.close()));
    await system?.stop();
  }, 60_000);

  it('the four apps connect to the broker as four distinct users of their own', async () => {
    const appUsers = APPS.map(userOf);
    const admin = decodeURIComponent(new URL(system.brokerUrl).username);
    expect(new Set(appUsers).size).toBe(APPS.length);
    expect(appUsers).not.toContain(admin);
    // Before this file opens any connection of its own: every one on the vhost is an app's.
    const seen = await waitFor(
      async () => {
        const open = (await broker.listConnections(system.vhost)).map((connection) => connection.user);
        return appUsers.every((user) => open.includes(user)) ? open : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 500, description: `connections of ${appUsers.join(', ')}` },
    );
    expect([...new Set(seen)].sort()).toEqual([...appUsers].sort());
  });

  it("binds every event type to queues of exactly its contract's consumers, each with a dead-letter queue", async () => {
    const names = new Set((await broker.listQueues(system.vhost)).map((q) => q.name));
    for (const event of EVENTS.all) {
      const apps = [...new Set(queuesReached(queues, event.producer, event.type).map((q) => q.app))].sort();
      expect({ type: event.type, apps }).toEqual({ type: event.type, apps: [...event.consumers].sort() });
    }
    for (const queue of queues)
      expect(names.has(`${queue.name}.dlq`) ? queue.name : `${queue.name} (no .dlq)`).toBe(queue.name);
    // the event archive: bound with # to every producer's exchange, it keeps every type
    const archive = (await broker.listBindings(system.vhost)).filter(
      (b) => b.destination === ARCHIVE.name && b.source !== '',
    );
    expect(archive.map((b) => `${b.source} ${b.routingKey}`).sort()).toEqual(
      PRODUCER_NAMES.map((producer) => `${producer} #`).sort(),
    );
  });

  it(`dead-letters every invalid message with its reason, handles the valid ones, and changes nothing (seed ${SEED})`, async () => {
    const before = await snapshot();
    const published = generate();
    const summary = summarize(published);
    console.log(`event-fuzz seed ${SEED}: ${summary}`);

    const covered = new Set(
      published.flatMap((p) => [
        ...p.expected.map(({ outcome }) => (outcome.kind === 'handled' ? 'handled' : outcome.reason)),
        // the timeline, folded from the archive, handles what is valid and authentic
        ...(p.folded ? ['handled'] : []),
        // ... compressed as the relay sends a large event, too
        ...(p.folded && /^(x-)?gzip$|^br$/i.test(String(p.message.properties.contentEncoding))
          ? ['handled compressed']
          : []),
      ]),
    );
    const publishProblems = [...CONTRACT_REASONS, 'handled', 'handled compressed']
      .filter((reason) => !covered.has(reason))
      .map((reason) => `the messages of this seed exercise no "${reason}": raise the counts or pick another seed`);
    publishProblems.push(...(await publishAll(published)));
    const settled = await settle(published);
    const deadLetters = await drainDeadLetters();
    const problems = [
      ...publishProblems,
      ...settled.problems,
      ...checkDeadLetters(published, deadLetters),
      ...(await checkAppsUp()),
      ...(await checkNothingChanged(before, handledOnVictim(published))),
    ];
    report(problems, summary);
  }, 150_000);

  it('dead-letters, and ignores, otherwise valid events from a producer that does not own them', async () => {
    const before = await snapshot();
    const cancelled = (): CloudEvent =>
      OrderCancelled.create({
        orderId: victim.id,
        customerId: victim.customerId,
        reason: 'CUSTOMER_REQUEST',
        previousStatus: 'CONFIRMED',
      });
    const confirmed = (): CloudEvent =>
      OrderConfirmed.create({
        orderId: victim.id,
        customerId: victim.customerId,
        total: victim.total ?? 0,
        currency: 'USD',
      });
    const cases: Array<{
      label: string;
      as: AppName | 'admin';
      exchange: AppName;
      routingKey: string;
      event: CloudEvent;
    }> = [
      {
        label: 'the vhost admin, without user-id',
        as: 'admin',
        exchange: 'orders',
        routingKey: 'order.cancelled',
        event: cancelled(),
      },
      {
        label: 'the vhost admin, confirmation',
        as: 'admin',
        exchange: 'orders',
        routingKey: 'order.confirmed',
        event: confirmed(),
      },
      {
        label: 'payments, order.cancelled as payment.captured',
        as: 'payments',
        exchange: 'payments',
        routingKey: 'payment.captured',
        event: cancelled(),
      },
      {
        label: 'payments, order.confirmed as payment.declined',
        as: 'payments',
        exchange: 'payments',
        routingKey: 'payment.declined',
        event: confirmed(),
      },
      {
        label: 'notifications, order.cancelled as notification.sent',
        as: 'notifications',
        exchange: 'notifications',
        routingKey: 'notification.sent',
        event: cancelled(),
      },
      {
        label: 'inventory, order.cancelled as inventory.released',
        as: 'inventory',
        exchange: 'inventory',
        routingKey: 'inventory.released',
        event: cancelled(),
      },
    ];
    const published: Published[] = [];
    for (const [i, c] of cases.entries()) {
      const url = c.as === 'admin' ? system.brokerUrl : system.brokerUrlOf(c.as);
      const userId = c.as === 'admin' ? undefined : userOf(c.as);
      const connection = await connect(url);
      const channel = await connection.createConfirmChannel();
      const seq = `impostor-${i}`;
      const body = serializeEvent(c.event);
      await publishConfirmed(channel, c.exchange, c.routingKey, body, {
        persistent: true,
        messageId: c.event.id,
        type: c.event.type,
        appId: c.as === 'admin' ? 'orders' : c.as,
        contentType: 'application/cloudevents+json',
        ...(userId !== undefined && { userId }),
        headers: { [FUZZ_SEQ_HEADER]: seq, traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
      });
      await channel.close();
      const decoded = decodeBody(body);
      const expected = queuesReached(queues, c.exchange, c.routingKey).map((queue) => ({
        queue,
        outcome: expectedOutcome(queue, decoded, userId, userOf),
      }));
      // Every impostor is refused by the queues it reaches and left out of the timeline the archive feeds.
      const folded = expectedOutcome(ARCHIVE, decoded, userId, userOf).kind === 'handled';
      expect({ case: c.label, folded }).toEqual({ case: c.label, folded: false });
      for (const { queue, outcome } of expected) {
        expect({
          case: c.label,
          queue: queue.name,
          outcome: outcome.kind === 'dead-letter' ? outcome.reason : 'handled',
        }).toEqual({
          case: c.label,
          queue: queue.name,
          outcome: 'unauthenticated-producer',
        });
      }
      published.push({
        seq,
        message: { family: 'data', type: c.routingKey, body, properties: {}, note: c.label },
        owner: c.exchange,
        userId,
        exchange: c.exchange,
        expected,
        folded,
      });
    }

    // What the broker itself refuses: a forged user-id, another app's exchange, a type it does not own.
    const payments = await connect(system.brokerUrlOf('payments'));
    const refusals = [
      {
        exchange: 'payments',
        routingKey: 'payment.captured',
        userId: userOf('orders'),
        refused: /PRECONDITION_FAILED|user_id/i,
      },
      { exchange: 'orders', routingKey: 'order.cancelled', userId: userOf('payments'), refused: /ACCESS_REFUSED/i },
      { exchange: 'payments', routingKey: 'order.cancelled', userId: userOf('payments'), refused: /ACCESS_REFUSED/i },
    ];
    for (const refusal of refusals) {
      const channel = await payments.createConfirmChannel();
      const closed = new Promise<string>((resolve) => {
        channel.on('error', (error: Error) => resolve(error.message));
        channel.on('close', () => resolve('closed'));
      });
      const event = cancelled();
      channel.publish(refusal.exchange, refusal.routingKey, serializeEvent(event), {
        persistent: true,
        messageId: event.id,
        type: event.type,
        contentType: 'application/cloudevents+json',
        userId: refusal.userId,
      });
      await channel.waitForConfirms().catch(() => undefined);
      expect({ ...refusal, refused: String(refusal.refused), answer: await closed }).toEqual({
        ...refusal,
        refused: String(refusal.refused),
        answer: expect.stringMatching(refusal.refused),
      });
    }

    const settled = await settle(published, 30_000);
    const deadLetters = await drainDeadLetters();
    const problems = [
      ...settled.problems,
      ...checkDeadLetters(published, deadLetters),
      ...(await checkAppsUp()),
      ...(await checkNothingChanged(before, new Set())),
    ];
    report(problems, `${published.length} impostor events`);
    expect((await system.client.getOrder(victim.id)).status).toBe('CONFIRMED');
  }, 90_000);

  it('still takes a new order through the saga to CONFIRMED afterwards', async () => {
    const order = await runSentinelOrder(system.client, 30_000);
    expect(order.status).toBe('CONFIRMED');
    expect(await checkAppsUp()).toEqual([]);
  }, 60_000);

  // -------------------------------------------------------------------------------------------------

  /** The messages, from the seed: per event type and family, the accidentally valid ones left out (see below). */
  function generate(): Published[] {
    const published: Published[] = [];
    const timelineOnly = (type: string) =>
      queuesReached(queues, EVENTS.find(type)?.producer as ProducerName, type).every(
        (q) => q.accepts.size === EVENTS.all.length,
      );
    const families: Array<[Family, (d: EventDefinition, w: FuzzWorld) => fc.Arbitrary<FuzzMessage>, number]> = [
      ['data', dataFuzz, PER_TYPE.data],
      ['envelope', envelopeFuzz, PER_TYPE.envelope],
      ['body', bodyFuzz, PER_TYPE.body],
      ['properties', propertiesFuzz, PER_TYPE.properties],
      ['valid', validFuzz, VALID_PER_TYPE],
    ];
    EVENTS.all.forEach((definition, t) => {
      families.forEach(([family, arbitrary, count], f) => {
        if (family === 'valid' && !timelineOnly(definition.type)) return;
        // A valid event of a saga type about an order the saga does not expect is retried (events may
        // come out of order) and would change real state: only the timeline may handle what is valid.
        const arb = arbitrary(definition, world)
          .map((message) => plan(message))
          .filter((p) =>
            p.expected.every(
              ({ queue, outcome }) => outcome.kind === 'dead-letter' || queue.accepts.size === EVENTS.all.length,
            ),
          );
        const samples = fc.sample(arb, { seed: SEED + t * 100 + f, numRuns: count });
        for (const p of samples) {
          p.seq = `${published.length}`;
          published.push(p);
        }
      });
    });
    return published;
  }

  function plan(message: FuzzMessage): Published {
    // The exchange is the type's producer's; the user that publishes there is its app's, the bridge's for the ERP.
    const producer = EVENTS.find(message.type)?.producer as ProducerName;
    const owner = publisherOf(producer);
    const decoded = decodeBody(message.body, message.properties.contentEncoding);
    return {
      seq: '',
      message,
      owner,
      userId: userOf(owner),
      exchange: producer,
      expected: queuesReached(queues, producer, message.type).map((queue) => ({
        queue,
        outcome: expectedOutcome(queue, decoded, userOf(owner), userOf),
      })),
      decodedSubject: decoded.subject,
      decodedId: decoded.id,
      folded: expectedOutcome(ARCHIVE, decoded, userOf(owner), userOf).kind === 'handled',
    };
  }

  /** Publishes each message as its owner, waiting for the broker's confirm; what could not be published. */
  async function publishAll(published: Published[]): Promise<string[]> {
    const problems: string[] = [];
    const channels = new Map<AppName, amqp.ConfirmChannel>();
    const channelOf = async (app: AppName) => {
      let channel = channels.get(app);
      if (!channel) {
        channel = await (await connect(system.brokerUrlOf(app))).createConfirmChannel();
        channel.on('error', () => undefined);
        channel.on('close', () => channels.delete(app));
        channels.set(app, channel);
      }
      return channel;
    };
    for (const p of published) {
      const channel = await channelOf(p.owner);
      try {
        await publishConfirmed(channel, p.exchange, p.message.type, p.message.body, {
          ...p.message.properties,
          persistent: true,
          mandatory: true,
          userId: p.userId,
          headers: { ...p.message.properties.headers, [FUZZ_SEQ_HEADER]: p.seq },
        });
      } catch (error) {
        if (carriesDecimal(p.message.properties.headers)) {
          // RabbitMQ 3.10 cannot append a message with a decimal header to a stream: it closes the
          // publisher's connection (541), after routing the message to the other queues or not. The
          // event archive is bound to every exchange, so such a message has no defined outcome there.
          p.refusedByStream = true;
          p.folded = false;
          continue;
        }
        problems.push(`#${p.seq} could not be published (${(error as Error).message}): ${describeMessage(p)}`);
        p.expected = [];
      }
    }
    await Promise.allSettled([...channels.values()].map((channel) => channel.close()));
    return problems;
  }

  /**
   * Waits until every dead-letter queue holds at least the messages expected there and no other
   * queue of the vhost (consumer queues, retry delay queues) has a message ready or unacknowledged,
   * twice in a row.
   */
  async function settle(published: Published[], timeoutMs = SETTLE_TIMEOUT_MS): Promise<{ problems: string[] }> {
    const expectedDead = new Map<string, number>();
    for (const p of published) {
      for (const { queue, outcome } of p.expected) {
        if (outcome.kind === 'dead-letter') expectedDead.set(queue.name, (expectedDead.get(queue.name) ?? 0) + 1);
      }
    }
    const connection = await connect(system.brokerUrl);
    const deadline = Date.now() + timeoutMs;
    let quiet = 0;
    let last = '';
    try {
      while (Date.now() < deadline) {
        const channel = await connection.createChannel();
        const short: string[] = [];
        for (const queue of queues) {
          const { messageCount } = await channel.checkQueue(`${queue.name}.dlq`);
          const wanted = expectedDead.get(queue.name) ?? 0;
          if (messageCount < wanted) short.push(`${queue.name}.dlq ${messageCount}/${wanted}`);
        }
        await channel.close();
        if (short.length) {
          last = `dead-letter queues short: ${short.join(', ')}`;
          quiet = 0;
          await sleep(250);
          continue;
        }
        const busy = (await broker.listQueues(system.vhost)).filter(
          // a stream keeps what it holds: the archive is never "drained"
          (q) => !q.name.endsWith('.dlq') && q.name !== ARCHIVE.name && q.ready + q.unacked > 0,
        );
        if (busy.length) {
          last = `still busy: ${busy.map((q) => `${q.name} ready=${q.ready} unacked=${q.unacked}`).join(', ')}`;
          quiet = 0;
          await sleep(500);
          continue;
        }
        if (++quiet >= 2) return { problems: [] };
      }
    } finally {
      await connection.close().catch(() => undefined);
    }
    return { problems: [`not settled after ${timeoutMs} ms: ${last}`] };
  }

  /** Takes every message out of every consumer queue's dead-letter queue. */
  async function drainDeadLetters(): Promise<DeadLetter[]> {
    const connection = await connect(system.brokerUrl);
    const found: DeadLetter[] = [];
    try {
      const channel = await connection.createChannel();
      for (const queue of queues) {
        for (;;) {
          const message = await channel.get(`${queue.name}.dlq`, { noAck: true });
          if (!message) break;
          const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
          const seq = headers[FUZZ_SEQ_HEADER];
          found.push({
            queue: queue.name,
            seq: seq === undefined ? undefined : String(seq),
            reason:
              headers[DeadLetterHeaders.reason] === undefined ? undefined : String(headers[DeadLetterHeaders.reason]),
            headers,
            content: message.content,
            messageId: message.properties.messageId,
          });
        }
      }
      await channel.close();
    } finally {
      await connection.close().catch(() => undefined);
    }
    return found;
  }

  /** Every expected dead letter is there, once or more, as expected; nothing else is. */
  function checkDeadLetters(published: Published[], deadLetters: DeadLetter[]): string[] {
    const problems: string[] = [];
    const bySeqAndQueue = new Map<string, DeadLetter[]>();
    for (const letter of deadLetters) {
      const key = `${letter.seq}|${letter.queue}`;
      bySeqAndQueue.set(key, [...(bySeqAndQueue.get(key) ?? []), letter]);
    }
    const accounted = new Set<string>();
    for (const p of published) {
      for (const { queue, outcome } of p.expected) {
        const key = `${p.seq}|${queue.name}`;
        accounted.add(key);
        if (p.refusedByStream) continue;
        const copies = bySeqAndQueue.get(key) ?? [];
        if (outcome.kind === 'handled') {
          for (const copy of copies) {
            problems.push(
              `#${p.seq} is valid (${outcome.type}) but ${queue.name} dead-lettered it: ${letterSummary(copy)} — ${describeMessage(p)}`,
            );
          }
          continue;
        }
        if (copies.length === 0) {
          problems.push(
            `#${p.seq} should be in ${queue.name}.dlq (${outcome.reason}: ${outcome.detail}) but is not — ${describeMessage(p)}`,
          );
          continue;
        }
        for (const copy of copies) {
          const wrong: string[] = [];
          if (copy.reason !== outcome.reason)
            wrong.push(`reason ${copy.reason ?? '(none)'}, expected ${outcome.reason}`);
          if (copy.reason !== undefined && !(CONTRACT_REASONS as readonly string[]).includes(copy.reason)) {
            wrong.push(`${copy.reason} is no contract reason`);
          }
          if (copy.headers[DeadLetterHeaders.queue] !== queue.name)
            wrong.push(`x-consumer-queue ${preview(copy.headers[DeadLetterHeaders.queue])}`);
          if (copy.headers[DeadLetterHeaders.originalExchange] !== p.exchange) {
            wrong.push(`x-original-exchange ${preview(copy.headers[DeadLetterHeaders.originalExchange])}`);
          }
          if (copy.headers[DeadLetterHeaders.originalRoutingKey] !== p.message.type) {
            wrong.push(`x-original-routing-key ${preview(copy.headers[DeadLetterHeaders.originalRoutingKey])}`);
          }
          if (copy.headers[DeadLetterHeaders.originalUserId] !== p.userId) {
            wrong.push(
              `x-original-user-id ${preview(copy.headers[DeadLetterHeaders.originalUserId])}, expected ${p.userId}`,
            );
          }
          if (!copy.content.equals(p.message.body))
            wrong.push(`body changed (${copy.content.length} B, sent ${p.message.body.length} B)`);
          if (p.message.properties.messageId !== undefined && copy.messageId !== p.message.properties.messageId) {
            wrong.push(`messageId ${preview(copy.messageId)}`);
          }
          if (wrong.length)
            problems.push(
              `#${p.seq} in ${queue.name}.dlq: ${wrong.join('; ')} — ${letterSummary(copy)} — ${describeMessage(p)}`,
            );
        }
      }
    }
    for (const letter of deadLetters) {
      if (!accounted.has(`${letter.seq}|${letter.queue}`)) {
        problems.push(`unexpected dead letter in ${letter.queue}.dlq: ${letterSummary(letter)}`);
      }
    }
    return problems;
  }

  async function checkAppsUp(): Promise<string[]> {
    const problems: string[] = [];
    for (const app of APPS) {
      if (!system.running(app)) {
        problems.push(`${app} is no longer running; its output ends with:\n${system.output(app).slice(-3000)}`);
        continue;
      }
      const response = await fetch(`${system.url(app)}/health/ready`, { signal: AbortSignal.timeout(10_000) }).catch(
        (error: Error) => error,
      );
      if (response instanceof Error || response.status !== 200) {
        problems.push(
          `${app} /health/ready: ${response instanceof Error ? response.message : `${response.status} ${await response.text()}`}`,
        );
      }
    }
    return problems;
  }

  async function snapshot(): Promise<Snapshot> {
    const client = system.client;
    const products = (await client.listProducts())
      .filter((p) => world.skus.includes(p.sku))
      .sort((a, b) => a.sku.localeCompare(b.sku));
    return {
      products: JSON.stringify(products),
      victim: await client.getOrder(victim.id),
      victimPayments: JSON.stringify(await client.payments(victim.id)),
      victimNotifications: JSON.stringify(await client.notifications({ orderId: victim.id })),
      timeline: (await client.timeline(victim.id)).events.map((e) => e.id),
    };
  }

  /** The ids of the valid events about the fuzzed (CONFIRMED) order: the timeline may, and must, show those. */
  function handledOnVictim(published: Published[]): Set<string> {
    return new Set(
      published
        .filter((p) => p.folded)
        .filter((p) => p.decodedSubject?.toLowerCase() === victim.id)
        .map((p) => p.decodedId as string),
    );
  }

  async function checkNothingChanged(before: Snapshot, handled: Set<string>): Promise<string[]> {
    const problems: string[] = [];
    const after = await snapshot();
    const client = system.client;
    if (after.products !== before.products)
      problems.push(`stock changed: before ${before.products}, after ${after.products}`);
    if (after.victim.status !== 'CONFIRMED' || after.victim.updatedAt !== before.victim.updatedAt) {
      problems.push(`order ${victim.id} changed: ${JSON.stringify(after.victim)}`);
    }
    if (after.victimPayments !== before.victimPayments)
      problems.push(`payments of ${victim.id} changed: ${after.victimPayments}`);
    if (after.victimNotifications !== before.victimNotifications) {
      problems.push(`notifications of ${victim.id} changed: ${after.victimNotifications}`);
    }
    const added = after.timeline.filter((id) => !before.timeline.includes(id));
    const unexpected = added.filter((id) => !handled.has(id));
    const missing = [...handled].filter((id) => !after.timeline.includes(id));
    if (unexpected.length)
      problems.push(
        `timeline of ${victim.id} shows events it must not: ${unexpected.map((id) => preview(id)).join(', ')}`,
      );
    if (missing.length)
      problems.push(`timeline of ${victim.id} lacks valid events: ${missing.map((id) => preview(id)).join(', ')}`);
    for (const orderId of poolOrderIds) {
      const payments = await client.payments(orderId);
      if (payments.length) problems.push(`payments appeared for fuzzed order ${orderId}: ${JSON.stringify(payments)}`);
      const notifications = await client.notifications({ orderId });
      if (notifications.length)
        problems.push(`notifications appeared for fuzzed order ${orderId}: ${JSON.stringify(notifications)}`);
    }
    for (const customerId of poolCustomerIds) {
      const orders = await client.listOrders({ customerId });
      if (orders.items.length)
        problems.push(`orders appeared for fuzzed customer ${customerId}: ${JSON.stringify(orders.items)}`);
      const notifications = await client.notifications({ customerId });
      if (notifications.length)
        problems.push(`notifications appeared for ${customerId}: ${JSON.stringify(notifications)}`);
    }
    return problems;
  }

  function report(problems: string[], summary: string): void {
    if (problems.length === 0) return;
    const shown = problems.slice(0, 40).map((p) => `- ${p}`);
    throw new Error(
      `event fuzz (seed ${SEED}; rerun with FUZZ_SEED=${SEED}): ${problems.length} problem(s) with ${summary}\n` +
        `${shown.join('\n')}${problems.length > shown.length ? `\n… and ${problems.length - shown.length} more` : ''}`,
    );
  }
});

function publishConfirmed(
  channel: amqp.ConfirmChannel,
  exchange: string,
  routingKey: string,
  body: Buffer,
  options: amqp.Options.Publish,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    try {
      channel.publish(exchange, routingKey, body, options, (error: unknown) =>
        error ? reject(error instanceof Error ? error : new Error('nacked')) : resolve(),
      );
    } catch (error) {
      reject(error as Error);
    }
  });
}

function summarize(published: Published[]): string {
  const byFamily = new Map<string, number>();
  const byReason = new Map<string, number>();
  let deliveries = 0;
  for (const p of published) {
    byFamily.set(p.message.family, (byFamily.get(p.message.family) ?? 0) + 1);
    for (const { outcome } of p.expected) {
      deliveries++;
      const key = outcome.kind === 'handled' ? 'handled' : outcome.reason;
      byReason.set(key, (byReason.get(key) ?? 0) + 1);
    }
  }
  const list = (map: Map<string, number>) => [...map].map(([k, v]) => `${k} ${v}`).join(', ');
  return `${published.length} messages (${list(byFamily)}), ${deliveries} deliveries (${list(byReason)})`;
}

function describeMessage(p: Published): string {
  const hazards = unencodableHeaderValues(p.message.properties.headers as Record<string, unknown> | undefined);
  return (
    `${p.message.family} ${p.message.type} [${p.message.note.slice(0, 300)}] body ${preview(p.message.body.toString('utf8'), 120)}` +
    (hazards.length ? ` — headers amqplib cannot encode again: ${hazards.join(', ')}` : '')
  );
}

function letterSummary(letter: DeadLetter): string {
  const h = letter.headers;
  const death = (h['x-death'] as Array<Record<string, unknown>> | undefined)?.[0];
  return (
    `reason=${letter.reason ?? '(none)'}${death ? ` x-death=${String(death['reason'])}` : ''} ` +
    `attempt=${preview(h[DeadLetterHeaders.attempt])} error=${preview(h['x-exception-message'], 160)}`
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
