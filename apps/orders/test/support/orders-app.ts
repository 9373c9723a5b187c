import 'reflect-metadata';
import { Logger, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { CloudEvent } from '@shop/contracts';
import { EventTransport, MessagingService, Outbox } from '@shop/messaging';
import { loadSettings } from '@shop/platform';
import { waitFor } from '@shop/testing';
import { connect, type Channel, type ChannelModel } from 'amqplib';
import { DataSource, type EntityManager } from 'typeorm';
import { AppModule } from '../../src/app.module';
import { ordersSettings } from '../../src/config/orders.settings';
import type { PlaceOrderInput } from '../../src/orders/dto/place-order-input.dto';
import type { OrderRow } from '../../src/orders/order.entity';
import { OrdersService } from '../../src/orders/orders.service';

/** One replica of the orders app as main.ts runs it (its module, migrations, handlers on the transport), without HTTP. */
export interface OrdersReplica {
  app: INestApplication;
  db: DataSource;
  orders: OrdersService;
  messaging: MessagingService;
  /** Runs `work` in a transaction of its own, as a handler's (its events go out once it commits). */
  transaction<T>(work: (tx: EntityManager) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The periodic sweep's own timeout: long enough never to touch a test's orders. */
export const SWEEP_TIMEOUT_MS = 3_600_000;

export async function startOrders(brokerUrl: string, databaseUrl: string): Promise<OrdersReplica> {
  Logger.overrideLogger(process.env['DEBUG_MESSAGING'] ? ['log', 'warn', 'error'] : false);
  const settings = loadSettings(ordersSettings, {
    DATABASE_URL: databaseUrl,
    RABBITMQ_URL: brokerUrl,
    ORDER_TIMEOUT_MS: String(SWEEP_TIMEOUT_MS),
    // A busy 2-core machine: waiting for a pooled connection or a lock is slow, never an outage here.
    DATABASE_CONNECT_TIMEOUT_MS: '60000',
    DATABASE_STATEMENT_TIMEOUT_MS: '60000',
  });
  const module = await Test.createTestingModule({ imports: [AppModule.forRoot(settings)] }).compile();
  const app = module.createNestApplication({ logger: false });
  app.connectMicroservice({ strategy: app.get(EventTransport) });
  await app.startAllMicroservices();
  await app.init();
  const messaging = app.get(MessagingService);
  await messaging.whenConnected();
  const outbox = app.get(Outbox);
  return {
    app,
    db: app.get(DataSource),
    orders: app.get(OrdersService),
    messaging,
    transaction: (work) => outbox.transaction(work),
    close: () => app.close(),
  };
}

/** What POST /orders would carry: one line of SKU-1 for `customerId`. */
export function orderInput(customerId: string, quantity = 1): PlaceOrderInput {
  return { customerId, items: [{ sku: 'SKU-1', quantity }], paymentToken: 'tok_visa' };
}

export async function orderRow(db: DataSource, orderId: string): Promise<OrderRow> {
  const [row] = (await db.query(`SELECT * FROM orders WHERE id = $1`, [orderId])) as OrderRow[];
  return row;
}

/** Orders created this long ago, as if they had been waiting for the saga since. */
export async function backdate(db: DataSource, orderIds: string[], ms: number): Promise<void> {
  await db.query(
    `UPDATE orders SET created_at = now() - make_interval(secs => $2::double precision / 1000) WHERE id = ANY($1)`,
    [orderIds, ms],
  );
}

/** Sessions of this database waiting for a lock in a statement containing `sql`. */
export async function sessionsWaitingIn(db: DataSource, sql: string): Promise<number> {
  const [{ n }] = (await db.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock' AND position($1 in query) > 0`,
    [sql],
  )) as [{ n: number }];
  return n;
}

/** Every event orders publishes, as a subscriber gets it: a queue of the test's own bound to `#` on its exchange. */
export class OrderEvents {
  private readonly log: CloudEvent<{ orderId: string }>[] = [];

  private constructor(
    private readonly model: ChannelModel,
    private readonly channel: Channel,
    private readonly queue: string,
  ) {}

  static async subscribe(url: string): Promise<OrderEvents> {
    const model = await connect(url);
    const channel = await model.createChannel();
    await channel.assertExchange('orders', 'topic', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, 'orders', '#');
    return new OrderEvents(model, channel, queue);
  }

  /**
   * The events published about `orderId` so far, in order. The replicas' outboxes are relayed first:
   * a row is deleted once the broker confirmed it, so an empty outbox means every committed event is
   * in this queue.
   */
  async of(orderId: string, replicas: OrdersReplica[]): Promise<CloudEvent<{ orderId: string }>[]> {
    await Promise.all(replicas.map((replica) => replica.messaging.flushOutbox()));
    const [{ db }] = replicas;
    await waitFor(
      async () => ((await db.query(`SELECT count(*)::int AS n FROM messaging_outbox`)) as [{ n: number }])[0].n === 0,
      { description: "orders' outbox to be relayed to the broker" },
    );
    for (let message = await this.channel.get(this.queue, { noAck: true }); message; ) {
      this.log.push(JSON.parse(message.content.toString()) as CloudEvent<{ orderId: string }>);
      message = await this.channel.get(this.queue, { noAck: true });
    }
    return this.log.filter((event) => event.data.orderId === orderId);
  }

  async close(): Promise<void> {
    await this.model.close().catch(() => undefined);
  }
}
