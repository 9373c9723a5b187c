import 'reflect-metadata';
import { Logger, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { CLOUDEVENTS_CONTENT_TYPE, OrderPlaced, serializeEvent, type CloudEvent } from '@shop/contracts';
import { EventTransport, MessagingService, Outbox } from '@shop/messaging';
import { loadSettings } from '@shop/platform';
import { waitFor } from '@shop/testing';
import { connect, type ConfirmChannel, type ChannelModel } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { AppModule } from '../../src/app.module';
import { inventorySettings } from '../../src/config/inventory.settings';
import type { ReservationLine } from '../../src/stock/reservation.entity';
import { StockService } from '../../src/stock/stock.service';

/** The inventory app as main.ts runs it (its module, migrations, handlers on the transport), without HTTP. */
export interface InventoryApp {
  app: INestApplication;
  db: DataSource;
  stock: StockService;
  messaging: MessagingService;
  /** Runs `work` in a transaction of its own, as a handler's (its events go out once it commits). */
  transaction<T>(work: (tx: EntityManager) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function startInventory(brokerUrl: string, databaseUrl: string): Promise<InventoryApp> {
  Logger.overrideLogger(process.env['DEBUG_MESSAGING'] ? ['log', 'warn', 'error'] : false);
  const settings = loadSettings(inventorySettings, {
    DATABASE_URL: databaseUrl,
    RABBITMQ_URL: brokerUrl,
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
    stock: app.get(StockService),
    messaging,
    transaction: (work) => outbox.transaction(work),
    close: () => app.close(),
  };
}

export interface ProductStock {
  available: number;
  reserved: number;
  sold: number;
}

/** A product of the test's own: `available` units at 250 cents each. */
export async function stockProduct(db: DataSource, available: number): Promise<string> {
  const sku = `SKU-T-${randomUUID().slice(0, 8)}`;
  await db.query(`INSERT INTO products (sku, name, price, available) VALUES ($1, $2, 250, $3)`, [
    sku,
    `Test product ${sku}`,
    available,
  ]);
  return sku;
}

export async function stockOf(db: DataSource, sku: string): Promise<ProductStock> {
  const [row] = (await db.query(`SELECT available, reserved, sold FROM products WHERE sku = $1`, [sku])) as [
    ProductStock,
  ];
  return row;
}

/** The status of each order's reservation, in the order of `orderIds` (undefined: inventory has not seen it). */
export async function reservationStatuses(db: DataSource, orderIds: string[]): Promise<(string | undefined)[]> {
  const rows = (await db.query(`SELECT order_id, status FROM reservations WHERE order_id = ANY($1)`, [orderIds])) as {
    order_id: string;
    status: string;
  }[];
  const byOrder = new Map(rows.map((row) => [row.order_id, row.status]));
  return orderIds.map((id) => byOrder.get(id));
}

/**
 * Sessions of this database waiting for a lock while running a statement that contains `sql`: how a
 * test knows that a transaction has reached the lock it is meant to queue on.
 */
export async function sessionsWaitingIn(db: DataSource, sql: string): Promise<number> {
  const [{ n }] = (await db.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock' AND position($1 in query) > 0`,
    [sql],
  )) as [{ n: number }];
  return n;
}

/**
 * The broker seen from outside: publishes order.placed as orders' outbox relay would, and records
 * every event inventory publishes (a queue of its own bound to `#` on the inventory exchange).
 */
export class Broker {
  private readonly seen: CloudEvent<{ orderId: string }>[] = [];

  private constructor(
    private readonly model: ChannelModel,
    private readonly channel: ConfirmChannel,
    private readonly tap: string,
  ) {}

  static async open(url: string): Promise<Broker> {
    const model = await connect(url);
    const channel = await model.createConfirmChannel();
    await channel.assertExchange('inventory', 'topic', { durable: true });
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, 'inventory', '#');
    return new Broker(model, channel, queue);
  }

  async placeOrder(orderId: string, items: ReservationLine[]): Promise<void> {
    const event = OrderPlaced.create({ orderId, customerId: 'c-int', items, paymentToken: 'tok_visa' });
    this.channel.publish('orders', event.type, serializeEvent(event), {
      persistent: true,
      contentType: CLOUDEVENTS_CONTENT_TYPE,
      messageId: event.id,
      type: event.type,
      appId: 'orders',
    });
    await this.channel.waitForConfirms();
  }

  /**
   * The types of the events inventory published about `orderId`, in the order published. Waits for
   * its outbox to be empty first: the relay deletes a row once the broker confirmed it, so by then
   * every event committed so far is in the tap's queue.
   */
  async eventsOf(inventory: InventoryApp, orderId: string): Promise<string[]> {
    await this.settle(inventory);
    return this.seen.filter((event) => event.data.orderId === orderId).map((event) => event.type);
  }

  /** Every event inventory published about `orderId`, as received. */
  async received(inventory: InventoryApp, orderId: string): Promise<CloudEvent<{ orderId: string }>[]> {
    await this.settle(inventory);
    return this.seen.filter((event) => event.data.orderId === orderId);
  }

  private async settle(inventory: InventoryApp): Promise<void> {
    await inventory.messaging.flushOutbox();
    await waitFor(
      async () => {
        const [{ n }] = (await inventory.db.query(`SELECT count(*)::int AS n FROM messaging_outbox`)) as [
          { n: number },
        ];
        return n === 0;
      },
      { description: "inventory's outbox to be relayed to the broker" },
    );
    for (;;) {
      const message = await this.channel.get(this.tap, { noAck: true });
      if (!message) return;
      this.seen.push(JSON.parse(message.content.toString()) as CloudEvent<{ orderId: string }>);
    }
  }

  async close(): Promise<void> {
    await this.model.close().catch(() => undefined);
  }
}
