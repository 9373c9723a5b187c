import {
  BadRequestException,
  ConflictException,
  Injectable,
  NotFoundException,
  UnprocessableEntityException,
} from '@nestjs/common';
import { OrderCancelled, OrderConfirmed, OrderPlaced, type CancellationReason } from '@shop/contracts';
import { Outbox } from '@shop/messaging';
import { createHash, randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import type { ListOrdersQuery } from './dto/list-orders-query.dto';
import type { PlaceOrderInput } from './dto/place-order-input.dto';
import { toView, type OrderRow, type OrderView } from './order.entity';

export interface Placed {
  order: OrderView;
  /** False when an Idempotency-Key answered an order placed before. */
  created: boolean;
}

/**
 * The order's state machine. Every change locks the order's row, checks the state it is in and
 * publishes its event through the outbox in the same transaction: events arriving twice, late or in
 * another order than sent cannot move an order backwards or apply anything twice.
 */
@Injectable()
export class OrdersService {
  constructor(
    private readonly outbox: Outbox,
    private readonly db: DataSource,
  ) {}

  async place(input: PlaceOrderInput, idempotencyKey?: string): Promise<Placed> {
    const id = randomUUID();
    const items = input.items.map((item) => ({ sku: item.sku, quantity: item.quantity, unitPrice: null }));
    const requestHash = hashRequest(input);
    // Grouped: short work on rows of its own (the new order, its key), so under load placing shares a
    // commit with the handlers' transactions (GroupCommit); keyed by the Idempotency-Key, so that two
    // requests with the same key in two groups are taken in the same order there as everywhere.
    const grouped = { key: idempotencyKey ?? id };
    return this.outbox.transaction(
      async (tx) => {
        if (idempotencyKey !== undefined) {
          // A concurrent request with the same key waits here for the first one to commit, then sees its row.
          const claimed = (await tx.query(
            `INSERT INTO idempotency_keys (key, request_hash, order_id) VALUES ($1, $2, $3)
           ON CONFLICT (key) DO NOTHING RETURNING key`,
            [idempotencyKey, requestHash, id],
          )) as unknown[];
          if (claimed.length === 0)
            return { order: await this.replay(tx, idempotencyKey, requestHash), created: false };
        }
        const [row] = (await tx.query(
          `INSERT INTO orders (id, customer_id, status, items) VALUES ($1, $2, 'PENDING', $3) RETURNING *`,
          [id, input.customerId, JSON.stringify(items)],
        )) as OrderRow[];
        await this.outbox.publish(
          tx,
          OrderPlaced.create({
            orderId: id,
            customerId: input.customerId,
            items: input.items.map((item) => ({ sku: item.sku, quantity: item.quantity })),
            paymentToken: input.paymentToken,
          }),
        );
        return { order: toView(row as OrderRow), created: true };
      },
      { grouped },
    );
  }

  /** The order; with `customerId`, only if it is that customer's (another's is as unknown as a missing one). */
  async get(id: string, customerId?: string): Promise<OrderView> {
    const [row] = (await this.db.query(`SELECT * FROM orders WHERE id = $1`, [id])) as OrderRow[];
    if (!row || !ownedBy(row, customerId)) throw new NotFoundException([`order ${id} does not exist`]);
    return toView(row);
  }

  async list(query: ListOrdersQuery): Promise<{ items: OrderView[]; nextCursor: string | null }> {
    const limit = query.limit ?? 20;
    const conditions: string[] = [];
    const params: unknown[] = [];
    if (query.customerId !== undefined) conditions.push(`customer_id = $${params.push(query.customerId)}`);
    if (query.status !== undefined) conditions.push(`status = $${params.push(query.status)}`);
    if (query.cursor !== undefined) conditions.push(`seq < $${params.push(decodeCursor(query.cursor))}`);
    const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
    const rows = (await this.db.query(
      `SELECT * FROM orders ${where} ORDER BY seq DESC LIMIT $${params.push(limit + 1)}`,
      params,
    )) as OrderRow[];
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const nextCursor = rows.length > limit && last ? encodeCursor(last.seq) : null;
    return { items: page.map(toView), nextCursor };
  }

  /** The customer's cancel: PENDING or CONFIRMED orders only; a CANCELLED one is a conflict. */
  async cancelByCustomer(id: string, customerId?: string): Promise<OrderView> {
    return this.outbox.transaction(async (tx) => {
      const order = await lockOrder(tx, id);
      if (!order || !ownedBy(order, customerId)) throw new NotFoundException([`order ${id} does not exist`]);
      if (order.status === 'CANCELLED') throw new ConflictException([`order ${id} is already cancelled`]);
      return toView(await this.cancel(tx, order, 'CUSTOMER_REQUEST'));
    });
  }

  /** Cancels a locked PENDING or CONFIRMED order and publishes order.cancelled for the compensations. */
  async cancel(tx: EntityManager, order: OrderRow, reason: CancellationReason): Promise<OrderRow> {
    if (order.status === 'CANCELLED') return order;
    const row = await updateOrder(
      tx,
      `UPDATE orders SET status = 'CANCELLED', cancellation_reason = $2, updated_at = now() WHERE id = $1 RETURNING *`,
      [order.id, reason],
    );
    await this.outbox.publish(
      tx,
      OrderCancelled.create({
        orderId: order.id,
        customerId: order.customer_id,
        reason,
        previousStatus: order.status,
      }),
    );
    return row;
  }

  /**
   * inventory.reserved: the order's prices (each line's unitPrice, the total); confirms it, in the
   * same statement, if the payment was captured already. The UPDATE locks the row and checks the
   * state (not priced yet) itself: one round trip where a locking SELECT and two UPDATEs were.
   */
  async priced(tx: EntityManager, orderId: string, lines: { sku: string; unitPrice: number }[], total: number) {
    const prices = Object.fromEntries(lines.map((line) => [line.sku, line.unitPrice]));
    const [rows] = (await tx.query(
      `UPDATE orders
          SET items = (SELECT jsonb_agg(e.item || jsonb_build_object('unitPrice', $2::jsonb -> (e.item ->> 'sku'))
                                        ORDER BY e.n)
                         FROM jsonb_array_elements(orders.items) WITH ORDINALITY AS e(item, n)),
              total = $3, ${confirmWhen('payment_id IS NOT NULL')}, updated_at = now()
        WHERE id = $1 AND total IS NULL
       RETURNING *`,
      [orderId, JSON.stringify(prices), total],
    )) as [OrderRow[], number];
    if (rows[0]) await this.publishIfConfirmed(tx, rows[0]);
    else await requireOrder(tx, orderId); // priced before (a repeat), or an order that does not exist
  }

  /**
   * payment.captured: remembered, and the order confirmed in the same statement if it is priced. A
   * cancelled order stays cancelled (payments refunds).
   */
  async paid(tx: EntityManager, orderId: string, paymentId: string, amount: number) {
    const [rows] = (await tx.query(
      `UPDATE orders
          SET payment_id = $2, paid_amount = $3, ${confirmWhen('total IS NOT NULL')}, updated_at = now()
        WHERE id = $1 AND payment_id IS NULL
       RETURNING *`,
      [orderId, paymentId, amount],
    )) as [OrderRow[], number];
    if (rows[0]) await this.publishIfConfirmed(tx, rows[0]);
    else await requireOrder(tx, orderId); // paid before (a repeat), or an order that does not exist
  }

  /** inventory.rejected or payment.declined: a PENDING order is cancelled; any other state stays. */
  async failed(tx: EntityManager, orderId: string, reason: 'OUT_OF_STOCK' | 'PAYMENT_DECLINED') {
    const order = await requireOrder(tx, orderId);
    if (order.status === 'PENDING') await this.cancel(tx, order, reason);
  }

  /**
   * Cancels, with TIMEOUT, up to `limit` orders PENDING for longer than `timeoutMs`. Rows another
   * replica is sweeping (or a handler is changing) are skipped, not waited for.
   */
  async cancelTimedOut(timeoutMs: number, limit = 100): Promise<number> {
    return this.outbox.transaction(async (tx) => {
      const due = (await tx.query(
        `SELECT * FROM orders
         WHERE status = 'PENDING' AND created_at < now() - make_interval(secs => $1::double precision / 1000)
         ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [timeoutMs, limit],
      )) as OrderRow[];
      for (const order of due) await this.cancel(tx, order, 'TIMEOUT');
      return due.length;
    });
  }

  /** After an UPDATE that may have confirmed the order (confirmWhen): order.confirmed if it did. */
  private async publishIfConfirmed(tx: EntityManager, order: OrderRow): Promise<void> {
    if (order.status !== 'CONFIRMED') return;
    await this.outbox.publish(
      tx,
      OrderConfirmed.create({
        orderId: order.id,
        customerId: order.customer_id,
        total: Number(order.total),
        currency: 'USD',
      }),
    );
  }

  private async replay(tx: EntityManager, key: string, requestHash: string): Promise<OrderView> {
    const [earlier] = (await tx.query(
      `SELECT o.*, k.request_hash FROM idempotency_keys k JOIN orders o ON o.id = k.order_id WHERE k.key = $1`,
      [key],
    )) as (OrderRow & { request_hash: string })[];
    if (!earlier) throw new Error(`idempotency key ${key} vanished`);
    if (earlier.request_hash !== requestHash) {
      throw new UnprocessableEntityException(['Idempotency-Key was already used with another request body']);
    }
    return toView(earlier);
  }
}

function ownedBy(order: OrderRow, customerId: string | undefined): boolean {
  return customerId === undefined || order.customer_id === customerId;
}

/**
 * The SET clause that confirms a PENDING order when the other half of the saga (`other`: priced, or
 * paid) is there already. Used in UPDATEs that set one half only where it was not set (`WHERE ...
 * IS NULL`), so an order is confirmed by exactly one of them, once.
 */
function confirmWhen(other: 'payment_id IS NOT NULL' | 'total IS NOT NULL'): string {
  return `status = CASE WHEN status = 'PENDING' AND ${other} THEN 'CONFIRMED' ELSE status END`;
}

/** TypeORM answers an UPDATE ... RETURNING with [rows, affected]. */
async function updateOrder(tx: EntityManager, sql: string, params: unknown[]): Promise<OrderRow> {
  const [rows] = (await tx.query(sql, params)) as [OrderRow[], number];
  const row = rows[0];
  if (!row) throw new Error('order row vanished during its update');
  return row;
}

async function lockOrder(tx: EntityManager, id: string): Promise<OrderRow | undefined> {
  const [row] = (await tx.query(`SELECT * FROM orders WHERE id = $1 FOR UPDATE`, [id])) as OrderRow[];
  return row;
}

/** Events only ever name orders this service created: a missing one is worth a retry, then the DLQ. */
async function requireOrder(tx: EntityManager, id: string): Promise<OrderRow> {
  const order = await lockOrder(tx, id);
  if (!order) throw new Error(`order ${id} does not exist`);
  return order;
}

function hashRequest(input: PlaceOrderInput): string {
  const canonical = JSON.stringify({
    customerId: input.customerId,
    items: input.items.map((item) => ({ sku: item.sku, quantity: item.quantity })),
    paymentToken: input.paymentToken,
  });
  return createHash('sha256').update(canonical).digest('hex');
}

function encodeCursor(seq: string): string {
  return Buffer.from(`seq:${seq}`).toString('base64url');
}

function decodeCursor(cursor: string): string {
  const seq = /^seq:(\d{1,18})$/.exec(Buffer.from(cursor, 'base64url').toString())?.[1];
  if (!seq) throw new BadRequestException(['cursor is not a cursor this API returned']);
  return seq;
}
