import { Injectable } from '@nestjs/common';
import { PaymentCaptured, PaymentDeclined, PaymentRefunded } from '@shop/contracts';
import { Outbox } from '@shop/messaging';
import { randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { CardProvider } from './card-provider';
import type { PaymentOrderRow, PaymentOrderStatus, PaymentRow, PaymentStatus } from './payment';

/**
 * One payment per order, whatever the interleaving: every step locks the order's row, and the
 * provider is called with an idempotency key derived from the order, so a retried step cannot charge
 * or refund twice.
 */
@Injectable()
export class PaymentsService {
  constructor(
    private readonly provider: CardProvider,
    private readonly outbox: Outbox,
    private readonly db: DataSource,
  ) {}

  /** The payments of an order, oldest first (at most one). */
  async findByOrder(orderId: string): Promise<PaymentRow[]> {
    return (await this.db.query(
      `SELECT id, order_id, amount, status, reason FROM payments WHERE order_id = $1 ORDER BY created_at`,
      [orderId],
    )) as PaymentRow[];
  }

  /** order.placed: remember how to charge it (an order cancelled before stays cancelled). */
  async remember(tx: EntityManager, orderId: string, customerId: string, token: string): Promise<void> {
    await tx.query(
      `INSERT INTO payment_orders (order_id, customer_id, payment_token, status) VALUES ($1, $2, $3, 'AWAITING')
       ON CONFLICT (order_id) DO UPDATE SET customer_id = $2, payment_token = COALESCE(payment_orders.payment_token, $3)`,
      [orderId, customerId, token],
    );
  }

  /** inventory.reserved: capture the priced total, or record the decline. */
  async capture(tx: EntityManager, orderId: string, total: number): Promise<void> {
    const order = await lockOrder(tx, orderId);
    // inventory.reserved can overtake order.placed (another exchange, another queue): retry until it arrives.
    if (!order || order.payment_token === null) {
      if (order?.status === 'CANCELLED') return;
      throw new Error(`order ${orderId} reserved before payments saw it placed`);
    }
    if (order.status !== 'AWAITING') return;

    const outcome = await this.provider.charge(chargeKey(orderId), order.payment_token, total);
    const paymentId = randomUUID();
    if (outcome.approved) {
      await insertPayment(tx, paymentId, orderId, total, 'CAPTURED', null, outcome.reference);
      await setOrderStatus(tx, orderId, 'CHARGED');
      await this.outbox.publish(tx, PaymentCaptured.create({ orderId, paymentId, amount: total, currency: 'USD' }));
    } else {
      await insertPayment(tx, paymentId, orderId, total, 'DECLINED', outcome.reason, null);
      await setOrderStatus(tx, orderId, 'DECLINED');
      await this.outbox.publish(
        tx,
        PaymentDeclined.create({ orderId, paymentId, amount: total, reason: outcome.reason }),
      );
    }
  }

  /** order.cancelled: refund what was captured; an order not charged yet never will be. */
  async cancel(tx: EntityManager, orderId: string, customerId: string): Promise<void> {
    const tombstone = (await tx.query(
      `INSERT INTO payment_orders (order_id, customer_id, status) VALUES ($1, $2, 'CANCELLED')
       ON CONFLICT (order_id) DO NOTHING RETURNING order_id`,
      [orderId, customerId],
    )) as unknown[];
    if (tombstone.length > 0) return;
    const order = await lockOrder(tx, orderId);
    if (!order) throw new Error(`order ${orderId} vanished while locked`);

    if (order.status === 'CHARGED') {
      const [payment] = (await tx.query(`SELECT id, amount, status FROM payments WHERE order_id = $1 FOR UPDATE`, [
        orderId,
      ])) as Pick<PaymentRow, 'id' | 'amount' | 'status'>[];
      if (!payment || payment.status !== 'CAPTURED') return;
      await this.refund(tx, orderId, customerId, payment.id, Number(payment.amount));
    } else if (order.status === 'AWAITING') {
      // A charge attempt whose answer was lost may have gone through: ask the provider, refund if so.
      const charged = await this.provider.findApprovedCharge(chargeKey(orderId));
      if (charged) {
        const paymentId = randomUUID();
        await insertPayment(tx, paymentId, orderId, charged.amount, 'CAPTURED', null, charged.reference);
        await this.refund(tx, orderId, customerId, paymentId, charged.amount);
      }
    }
    await setOrderStatus(tx, orderId, 'CANCELLED');
  }

  private async refund(
    tx: EntityManager,
    orderId: string,
    customerId: string,
    paymentId: string,
    amount: number,
  ): Promise<void> {
    await this.provider.refund(`refund:${orderId}`, amount);
    await tx.query(`UPDATE payments SET status = 'REFUNDED', updated_at = now() WHERE id = $1`, [paymentId]);
    await this.outbox.publish(tx, PaymentRefunded.create({ orderId, paymentId, customerId, amount, currency: 'USD' }));
  }
}

const chargeKey = (orderId: string) => `charge:${orderId}`;

async function lockOrder(tx: EntityManager, orderId: string): Promise<PaymentOrderRow | undefined> {
  const [row] = (await tx.query(
    `SELECT order_id, customer_id, payment_token, status FROM payment_orders WHERE order_id = $1 FOR UPDATE`,
    [orderId],
  )) as PaymentOrderRow[];
  return row;
}

async function setOrderStatus(tx: EntityManager, orderId: string, status: PaymentOrderStatus): Promise<void> {
  await tx.query(`UPDATE payment_orders SET status = $2, updated_at = now() WHERE order_id = $1`, [orderId, status]);
}

async function insertPayment(
  tx: EntityManager,
  id: string,
  orderId: string,
  amount: number,
  status: Exclude<PaymentStatus, 'REFUNDED'>,
  reason: string | null,
  reference: string | null,
): Promise<void> {
  await tx.query(
    `INSERT INTO payments (id, order_id, amount, status, reason, provider_reference) VALUES ($1, $2, $3, $4, $5, $6)`,
    [id, orderId, amount, status, reason, reference],
  );
}
