import { Injectable } from '@nestjs/common';
import { NotificationSent, type NotificationKind } from '@shop/contracts';
import { Outbox } from '@shop/messaging';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { NotificationRow } from './notification';

export const CHANNEL = 'notifications';

/** One notification per order and kind: the unique (order_id, type) decides, whatever the deliveries. */
@Injectable()
export class NotificationsService {
  constructor(private readonly outbox: Outbox) {}

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
}
