import { Controller, Injectable } from '@nestjs/common';
import { Ctx, Payload } from '@nestjs/microservices';
import { InventoryReserved, OrderPlaced } from '@shop/contracts';
import { ConsumeEvent, EventContext, Outbox, type EventOf } from '../../src';
import { startApp, type RunningApp } from './harness';

export interface Call {
  messageId: string;
  attempt: number;
  at: number;
  event: EventOf<typeof OrderPlaced>;
}

/** What the test handler does and saw: set per test. */
@Injectable()
export class Probe {
  calls: Call[] = [];
  /** Thrown inside the handler's transaction, after its effect was written (so rollback is visible). */
  failWith: (call: Call) => Error | undefined = () => undefined;
  /** Awaited inside the transaction, to hold a handler in flight. */
  hold: (call: Call) => Promise<void> = async () => undefined;

  reset(): void {
    this.calls = [];
    this.failWith = () => undefined;
    this.hold = async () => undefined;
  }
}

export const STOCK_QUEUE = 'inventory.reserve-stock-on-order-placed';

export const STOCK_HANDLER_RETRY = { maxAttempts: 4, initialDelayMs: 200, factor: 2, maxDelayMs: 5000 };

/** A business handler as the apps write them: one transaction with its effect and the event it publishes. */
@Controller()
export class ReserveStockOnOrderPlaced {
  constructor(
    private readonly probe: Probe,
    private readonly outbox: Outbox,
  ) {}

  @ConsumeEvent(OrderPlaced, { queue: STOCK_QUEUE, retry: STOCK_HANDLER_RETRY, prefetch: 20, concurrency: 10 })
  async handle(@Payload() event: EventOf<typeof OrderPlaced>, @Ctx() ctx: EventContext): Promise<void> {
    const call: Call = { messageId: ctx.messageId, attempt: ctx.attempt, at: Date.now(), event };
    this.probe.calls.push(call);
    await ctx.transaction(async (tx) => {
      await tx.query(`INSERT INTO test_reservations (order_id, message_id) VALUES ($1, $2)`, [
        event.data.orderId,
        ctx.messageId,
      ]);
      await this.probe.hold(call);
      const failure = this.probe.failWith(call);
      if (failure) throw failure;
      await this.outbox.publish(
        tx,
        InventoryReserved.create({
          orderId: event.data.orderId,
          lines: event.data.items.map((item) => ({ ...item, unitPrice: 100 })),
          total: event.data.items.reduce((sum, item) => sum + item.quantity * 100, 0),
          currency: 'USD',
        }),
      );
    });
  }
}

export const RESERVATIONS_TABLE = `CREATE TABLE IF NOT EXISTS test_reservations (
  order_id uuid NOT NULL, message_id text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`;

/** An inventory app running ReserveStockOnOrderPlaced on its table: what the consumer tests drive. */
export interface StockApp extends RunningApp {
  probe: Probe;
  /** Rows the handler committed for the order: 1 once it was applied, never 2. */
  reservations(orderId: string): Promise<number>;
}

export async function startStockApp(options: { brokerUrl: string; databaseUrl: string }): Promise<StockApp> {
  const app = await startApp({
    app: 'inventory',
    brokerUrl: options.brokerUrl,
    databaseUrl: options.databaseUrl,
    handlers: [ReserveStockOnOrderPlaced],
    providers: [Probe],
  });
  await app.dataSource.query(RESERVATIONS_TABLE);
  return {
    ...app,
    probe: app.module.get(Probe),
    reservations: async (orderId) =>
      Number(
        (await app.dataSource.query(`SELECT count(*) AS n FROM test_reservations WHERE order_id = $1`, [orderId]))[0].n,
      ),
  };
}
