import { Injectable } from '@nestjs/common';
import { InventoryRejected, InventoryReleased, InventoryReserved } from '@shop/contracts';
import { NonRetryableError, Outbox } from '@shop/messaging';
import type { EntityManager } from 'typeorm';
import type { ProductRow } from '../products/product.entity';
import type { PricedLine, Reservation, ReservationLine, ReservationStatus } from './reservation.entity';

/** What a reservation reads of a product it locks. */
type LockedProduct = Pick<ProductRow, 'sku' | 'price' | 'available'>;

/**
 * Stock moves between available, reserved and sold, one order at a time per product row. Every
 * change locks the order's reservation row first, then its products in sku order (no deadlocks),
 * and publishes what happened through the outbox in the same transaction.
 */
@Injectable()
export class StockService {
  constructor(private readonly outbox: Outbox) {}

  /** order.placed: all lines reserved and priced, or none; an order cancelled before is not reserved. */
  async reserve(tx: EntityManager, orderId: string, requested: ReservationLine[]): Promise<void> {
    // The claim: a concurrent order.cancelled waits on it, and a cancel seen before leaves a CANCELLED row.
    const claimed = (await tx.query(
      `INSERT INTO reservations (order_id, status) VALUES ($1, 'CLAIMED') ON CONFLICT (order_id) DO NOTHING RETURNING order_id`,
      [orderId],
    )) as unknown[];
    if (claimed.length === 0) return;

    const lines = mergeLines(requested);
    const products = await lockProducts(
      tx,
      lines.map((line) => line.sku),
    );
    const missing = lines
      .map((line) => ({ sku: line.sku, requested: line.quantity, available: products.get(line.sku)?.available ?? 0 }))
      .filter((line) => line.available < line.requested);
    if (missing.length > 0) {
      await setReservation(tx, orderId, 'REJECTED', []);
      await this.outbox.publish(tx, InventoryRejected.create({ orderId, reason: 'OUT_OF_STOCK', missing }));
      return;
    }
    const priced: PricedLine[] = lines.map((line) => ({ ...line, unitPrice: Number(products.get(line.sku)?.price) }));
    for (const line of priced) {
      await tx.query(
        `UPDATE products SET available = available - $2, reserved = reserved + $2, updated_at = now() WHERE sku = $1`,
        [line.sku, line.quantity],
      );
    }
    await setReservation(tx, orderId, 'RESERVED', priced);
    await this.outbox.publish(
      tx,
      InventoryReserved.create({
        orderId,
        lines: priced,
        total: priced.reduce((sum, line) => sum + line.unitPrice * line.quantity, 0),
        currency: 'USD',
      }),
    );
  }

  /** order.confirmed: what was reserved is sold. */
  async sell(tx: EntityManager, orderId: string): Promise<void> {
    const reservation = await lockReservation(tx, orderId);
    // Confirmation follows inventory.reserved: no reservation yet means this copy came early, retry.
    if (!reservation) throw new Error(`order ${orderId} confirmed before its reservation was seen`);
    if (reservation.status !== 'RESERVED') return;
    await lockProducts(
      tx,
      reservation.lines.map((line) => line.sku),
    );
    for (const line of reservation.lines) {
      await tx.query(
        `UPDATE products SET reserved = reserved - $2, sold = sold + $2, updated_at = now() WHERE sku = $1`,
        [line.sku, line.quantity],
      );
    }
    await setReservation(tx, orderId, 'SOLD', reservation.lines);
  }

  /** order.cancelled: whatever is held or sold for the order goes back to available. */
  async release(tx: EntityManager, orderId: string): Promise<void> {
    const tombstone = (await tx.query(
      `INSERT INTO reservations (order_id, status) VALUES ($1, 'CANCELLED') ON CONFLICT (order_id) DO NOTHING RETURNING order_id`,
      [orderId],
    )) as unknown[];
    if (tombstone.length > 0) return; // cancelled before inventory saw the order: it never will reserve it
    const reservation = await lockReservation(tx, orderId);
    if (!reservation || (reservation.status !== 'RESERVED' && reservation.status !== 'SOLD')) return;
    const from = reservation.status === 'RESERVED' ? 'reserved' : 'sold';
    await lockProducts(
      tx,
      reservation.lines.map((line) => line.sku),
    );
    for (const line of reservation.lines) {
      await tx.query(
        `UPDATE products SET ${from} = ${from} - $2, available = available + $2, updated_at = now() WHERE sku = $1`,
        [line.sku, line.quantity],
      );
    }
    await setReservation(tx, orderId, 'RELEASED', reservation.lines);
    await this.outbox.publish(
      tx,
      InventoryReleased.create({ orderId, lines: reservation.lines.map(({ sku, quantity }) => ({ sku, quantity })) }),
    );
  }
}

/** What a stock adjustment did: the units added (negative: removed), after clamping at what was available. */
export interface AppliedAdjustment {
  sku: string;
  requested: number;
  applied: number;
  available: number;
}

/**
 * stock.adjusted (from the ERP, through the bridge): units counted in or out of a product's stock. A
 * count below what is available takes available to 0 (what is reserved or sold belongs to orders);
 * an unknown sku is refused, since only the shop prices products.
 */
export async function adjustStock(tx: EntityManager, sku: string, delta: number): Promise<AppliedAdjustment> {
  const [product] = (await tx.query(`SELECT available FROM products WHERE sku = $1 FOR UPDATE`, [sku])) as Array<
    Pick<ProductRow, 'available'>
  >;
  if (!product) throw new NonRetryableError(`stock.adjusted for an unknown sku ${JSON.stringify(sku)}`);
  const applied = Math.max(delta, -product.available);
  await tx.query(`UPDATE products SET available = available + $2, updated_at = now() WHERE sku = $1`, [sku, applied]);
  return { sku, requested: delta, applied, available: product.available + applied };
}

function mergeLines(lines: ReservationLine[]): ReservationLine[] {
  const bySku = new Map<string, number>();
  for (const line of lines) bySku.set(line.sku, (bySku.get(line.sku) ?? 0) + line.quantity);
  return [...bySku].map(([sku, quantity]) => ({ sku, quantity }));
}

async function lockProducts(tx: EntityManager, skus: string[]): Promise<Map<string, LockedProduct>> {
  const rows = (await tx.query(
    `SELECT sku, price, available FROM products WHERE sku = ANY($1) ORDER BY sku FOR UPDATE`,
    [skus],
  )) as LockedProduct[];
  return new Map(rows.map((row) => [row.sku, row]));
}

async function lockReservation(tx: EntityManager, orderId: string): Promise<Reservation | undefined> {
  const [row] = (await tx.query(`SELECT status, lines FROM reservations WHERE order_id = $1 FOR UPDATE`, [
    orderId,
  ])) as Reservation[];
  return row;
}

async function setReservation(tx: EntityManager, orderId: string, status: ReservationStatus, lines: PricedLine[]) {
  await tx.query(`UPDATE reservations SET status = $2, lines = $3, updated_at = now() WHERE order_id = $1`, [
    orderId,
    status,
    JSON.stringify(lines),
  ]);
}
