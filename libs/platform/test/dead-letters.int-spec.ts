import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Controller, Logger } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Test } from '@nestjs/testing';
import { TypeOrmModule } from '@nestjs/typeorm';
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { SignJWT } from 'jose';
import { OrderPlaced, serializeEvent } from '@shop/contracts';
import {
  ConsumeEvent,
  EventContext,
  MessagingModule,
  MessagingService,
  messagingMigrations,
  NonRetryableError,
  startEventTransport,
  type EventOf,
} from '@shop/messaging';
import { createTestDatabase, createTestVhost, waitFor, type TestBroker, type TestDatabase } from '@shop/testing';
import { PlatformModule } from '../src';
import { configureHttp } from '../src/lib/http/bootstrap';
import { HttpSecurityModule } from '../src/lib/http/http-security.module';

const SECRET = 'a-shared-secret-of-32-characters!';
const QUEUE = 'inventory.dead-letters-admin-probe';

/** Orders whose handling fails (dead-lettered at once) until the test removes them; those applied. */
const broken = new Set<string>();
const applied: string[] = [];

@Controller()
class ReserveOnOrderPlaced {
  @ConsumeEvent(OrderPlaced, { queue: QUEUE })
  handle(@Payload() event: EventOf<typeof OrderPlaced>, @Ctx() ctx: EventContext) {
    return ctx.transaction(async () => {
      if (broken.has(event.data.orderId)) throw new NonRetryableError(`sku of ${event.data.orderId} unknown`);
      applied.push(event.data.orderId);
    });
  }
}

const token = (scope: string) =>
  new SignJWT({ scope })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('operator')
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(SECRET));

describe('GET /admin/dead-letters and POST /admin/dead-letters/redrive (every app, PlatformModule)', () => {
  let broker: TestBroker;
  let database: TestDatabase;
  let app: NestExpressApplication;
  let base: string;
  let producer: ChannelModel;
  let channel: ConfirmChannel;
  let admin: Record<string, string>;

  beforeAll(async () => {
    [broker, database] = await Promise.all([createTestVhost('admin dead letters'), createTestDatabase('admin_dl')]);
    Logger.overrideLogger(false);
    const module = await Test.createTestingModule({
      imports: [
        TypeOrmModule.forRoot({
          type: 'postgres',
          url: database.url,
          migrations: messagingMigrations,
          migrationsRun: true,
        }),
        MessagingModule.forRoot({ app: 'inventory', url: broker.url }),
        HttpSecurityModule.forRoot({ secret: SECRET }, { RATE_LIMIT_MAX: 0, RATE_LIMIT_WINDOW_MS: 1000 }),
        PlatformModule,
      ],
      controllers: [ReserveOnOrderPlaced],
    }).compile();
    app = module.createNestApplication<NestExpressApplication>({ bodyParser: false, logger: false });
    configureHttp(app);
    await startEventTransport(app);
    await app.listen(0, '127.0.0.1');
    await app.get(MessagingService).whenConnected();
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    producer = await connect(broker.url);
    channel = await producer.createConfirmChannel();
    admin = { authorization: `Bearer ${await token('admin')}` };
  });

  afterAll(async () => {
    await app?.close();
    await producer?.close().catch(() => undefined);
    await Promise.all([broker?.delete(), database?.drop()]);
  });

  const call = async (path: string, init: RequestInit = {}) => {
    const response = await fetch(`${base}${path}`, init);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> & unknown[] };
  };
  const post = (body: unknown, headers: Record<string, string> = admin) =>
    call('/admin/dead-letters/redrive', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  /** order.placed events whose handling fails, once all are in the dead-letter queue. */
  async function deadLettered(count: number) {
    const events = Array.from({ length: count }, () =>
      OrderPlaced.create({
        orderId: randomUUID(),
        customerId: 'c-1',
        items: [{ sku: 'SKU-1', quantity: 1 }],
        paymentToken: 'tok_visa',
      }),
    );
    for (const event of events) {
      broken.add(event.data.orderId);
      channel.publish('orders', 'order.placed', serializeEvent(event), { messageId: event.id, type: event.type });
    }
    await channel.waitForConfirms();
    await waitFor(
      async () => {
        const { body } = await call(`/admin/dead-letters?queue=${QUEUE}&limit=1000`, { headers: admin });
        const ids = new Set(body.map((item) => (item as { messageId: string }).messageId));
        return events.every((event) => ids.has(event.id));
      },
      { description: `${count} dead letter(s)` },
    );
    return events;
  }

  it('needs a bearer token with the admin scope (401 without one, 403 without the scope)', async () => {
    expect((await call('/admin/dead-letters')).status).toBe(401);
    const reader = { authorization: `Bearer ${await token('orders:read')}` };
    const refused = await call('/admin/dead-letters', { headers: reader });
    expect(refused).toEqual({
      status: 403,
      body: { statusCode: 403, error: 'Forbidden', message: ["the token's scope lacks admin"] },
    });
    expect((await post({ queue: QUEUE, all: true }, reader)).status).toBe(403);
  });

  it('lists the dead letters with their reason, and lists them again the same', async () => {
    const [event] = await deadLettered(1);
    const { status, body } = await call(`/admin/dead-letters?queue=${QUEUE}`, { headers: admin });
    expect(status).toBe(200);
    expect(body.find((item) => (item as { messageId: string }).messageId === event.id)).toEqual({
      queue: QUEUE,
      messageId: event.id,
      type: 'order.placed',
      reason: 'rejected',
      attempts: 1,
      firstDeadLetteredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      error: `sku of ${event.data.orderId} unknown`,
      redrives: 0,
      body: JSON.parse(serializeEvent(event).toString()),
    });
    expect((await call('/admin/dead-letters', { headers: admin })).body).toEqual(body);
    expect((await call('/admin/dead-letters?limit=1', { headers: admin })).body).toHaveLength(1);
  });

  it('answers 400 for a bad limit or an unknown parameter, and 404 for a queue the app does not consume', async () => {
    for (const query of ['limit=0', 'limit=1001', 'limit=ten', 'queues=x']) {
      expect((await call(`/admin/dead-letters?${query}`, { headers: admin })).status).toBe(400);
    }
    expect(await call('/admin/dead-letters?queue=orders.confirm-order', { headers: admin })).toEqual({
      status: 404,
      body: {
        statusCode: 404,
        error: 'Not Found',
        message: ['queue "orders.confirm-order" is not one of inventory\'s (they are named inventory.<name>)'],
      },
    });
    const unknown = await post({ queue: 'inventory.unknown', all: true });
    expect(unknown.status).toBe(404);
    expect(unknown.body['message']).toEqual([
      `inventory has no consumer queue "inventory.unknown" (its queues: ${QUEUE})`,
    ]);
  });

  it.each([
    ['neither messageIds nor all', { queue: QUEUE }, 'give messageIds (a list of message ids) or all: true'],
    ['both', { queue: QUEUE, all: true, messageIds: [randomUUID()] }, 'give messageIds or all: true, not both'],
    ['all: false', { queue: QUEUE, all: false }, 'all must be true (or give messageIds instead)'],
    ['an id that is not a UUID', { queue: QUEUE, messageIds: ['x'] }, 'each value in messageIds must be a UUID'],
    ['no id', { queue: QUEUE, messageIds: [] }, 'messageIds must contain at least 1 elements'],
    ['no queue', { messageIds: [randomUUID()] }, 'queue must be a string'],
  ])('refuses a redrive with %s: a 400 naming the problem', async (_case, body, message) => {
    const answer = await post(body);
    expect(answer.status).toBe(400);
    expect(answer.body['message']).toContain(message);
  });

  it('redrives the selected messages once the cause is fixed, answers what was not found, and counts them', async () => {
    const [a, b, c] = await deadLettered(3);
    broken.delete(a.data.orderId);
    broken.delete(b.data.orderId);
    const missing = randomUUID();

    const answer = await post({ queue: QUEUE, messageIds: [a.id, b.id, missing] });

    expect(answer.status).toBe(200);
    expect({ ...answer.body, redriven: [...(answer.body['redriven'] as string[])].sort() }).toEqual({
      queue: QUEUE,
      redriven: [a.id, b.id].sort(),
      notFound: [missing],
      skipped: [],
    });
    await waitFor(() => applied.includes(a.data.orderId) && applied.includes(b.data.orderId), {
      description: 'a and b applied',
    });
    const left = (await call(`/admin/dead-letters?queue=${QUEUE}`, { headers: admin })).body.map(
      (item) => (item as { messageId: string }).messageId,
    );
    expect(left).toContain(c.id);
    expect(left).not.toContain(a.id);
    expect(left).not.toContain(b.id);
    expect(applied.filter((orderId) => orderId === a.data.orderId)).toHaveLength(1);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`messaging_redriven_total\\{queue="${QUEUE}"\\} 2`));
  });

  it('redrives all, and is documented in the OpenAPI document with the admin scope', async () => {
    const events = await deadLettered(2);
    for (const event of events) broken.delete(event.data.orderId);
    const answer = await post({ queue: QUEUE, all: true });
    expect(answer.status).toBe(200);
    expect(answer.body['redriven']).toEqual(expect.arrayContaining(events.map((event) => event.id)));
    await waitFor(() => events.every((event) => applied.includes(event.data.orderId)), {
      description: 'all applied',
    });

    const document = SwaggerModule.createDocument(app, new DocumentBuilder().build());
    expect(Object.keys(document.paths['/admin/dead-letters'])).toEqual(['get']);
    expect(document.paths['/admin/dead-letters/redrive'].post?.responses).toHaveProperty('403');
  });
});
