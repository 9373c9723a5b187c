import { Injectable } from '@nestjs/common';
import { NotificationSent, type NotificationKind } from '@shop/contracts';
import { Outbox } from '@shop/messaging';
import { randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { toView, type NotificationRow, type NotificationView } from './notification';

export const CHANNEL = 'notifications';

/** The newest this many, oldest first: a customer's or an order's history is far shorter. */
const LIST_LIMIT = 500;

/** One notification per order and kind: the unique (order_id, type) decides, whatever the deliveries. */
@Injectable()
export class NotificationsService {
  constructor(
    private readonly outbox: Outbox,
    private readonly db: DataSource,
  ) {}

  async notify(
    tx: EntityManager,
    notification: { customerId: string; orderId: string; type: NotificationKind; message: string },
  ): Promise<void> {
    const [row] = (await tx.query(
      `INSERT INTO notifications (id, customer_id, order_id, type, message) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (order_id, type) DO NOTHING RETURNING *`,
      [randomUUID(), notification.customerId, notification.orderId, notification.type, notification.message],
    )) as NotificationRow[];
    if (!row) return;
    // "Sending" is recording it: the stream's listeners on every replica hear of it once this commits.
    await tx.query(`SELECT pg_notify($1, $2)`, [CHANNEL, JSON.stringify(row)]);
    await this.outbox.publish(
      tx,
      NotificationSent.create({
        orderId: row.order_id,
        notificationId: row.id,
        customerId: row.customer_id,
        kind: row.type,
      }),
    );
  }

  /** The newest notifications of a customer, of an order, or both (all when neither), oldest first. */
  async list(filter: { customerId?: string; orderId?: string }): Promise<NotificationView[]> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    if (filter.customerId !== undefined) conditions.push(`customer_id = $${params.push(filter.customerId)}`);
    if (filter.orderId !== undefined) conditions.push(`order_id = $${params.push(filter.orderId)}`);
    const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
    const rows = (await this.db.query(
      `SELECT * FROM (SELECT * FROM notifications ${where} ORDER BY created_at DESC, id LIMIT ${LIST_LIMIT}) newest
       ORDER BY created_at, id`,
      params,
    )) as NotificationRow[];
    return rows.map(toView);
  }
}
