import 'reflect-metadata';
import { Logger, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { OrderPlaced } from '@shop/contracts';
import { MessagingService, Outbox, startEventTransport } from '@shop/messaging';
import { loadSettings } from '@shop/platform';
import { outboxDrained, PATIENT_DATABASE_ENV } from '@shop/testing';
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
  /** Until every event committed so far is on the broker: relays the outbox now, then waits for it to be empty. */
  relayed(): Promise<void>;
  close(): Promise<void>;
}

export async function startInventory(brokerUrl: string, databaseUrl: string): Promise<InventoryApp> {
  Logger.overrideLogger(process.env['DEBUG_MESSAGING'] ? ['log', 'warn', 'error'] : false);
  const settings = loadSettings(inventorySettings, {
    DATABASE_URL: databaseUrl,
    RABBITMQ_URL: brokerUrl,
    ...PATIENT_DATABASE_ENV,
  });
  const module = await Test.createTestingModule({ imports: [AppModule.forRoot(settings)] }).compile();
  const app = module.createNestApplication({ logger: false });
  await startEventTransport(app);
  await app.init();
  const messaging = app.get(MessagingService);
  await messaging.whenConnected();
  const outbox = app.get(Outbox);
  const db = app.get(DataSource);
  return {
    app,
    db,
    stock: app.get(StockService),
    messaging,
    transaction: (work) => outbox.transaction(work),
    relayed: async () => {
      await messaging.flushOutbox();
      await outboxDrained(db);
    },
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

/** The order.placed orders' outbox relay would publish for `items`. */
export const orderPlaced = (orderId: string, items: ReservationLine[]) =>
  OrderPlaced.create({ orderId, customerId: 'c-int', items, paymentToken: 'tok_visa' });
