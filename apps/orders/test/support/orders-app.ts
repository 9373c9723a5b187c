import 'reflect-metadata';
import { Logger, type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { MessagingService, Outbox, startEventTransport } from '@shop/messaging';
import { loadSettings } from '@shop/platform';
import { PATIENT_DATABASE_ENV } from '@shop/testing';
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
    ...PATIENT_DATABASE_ENV,
  });
  const module = await Test.createTestingModule({ imports: [AppModule.forRoot(settings)] }).compile();
  const app = module.createNestApplication({ logger: false });
  await startEventTransport(app);
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
