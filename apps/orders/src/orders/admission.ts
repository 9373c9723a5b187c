import type { Provider } from '@nestjs/common';
import { AdmissionControl, admissionOptions, AdmissionGuard, outboxSignal, type LoadSignal } from '@shop/platform';
import { MessagingService } from '@shop/messaging';
import { DataSource } from 'typeorm';
import { ORDERS_SETTINGS, type OrdersSettings } from '../config/orders.settings';

/**
 * The saga's lag, end to end, as a load signal: orders in flight (PENDING) that have been for longer
 * than `ageMs`. Every event of an order waits in some queue, outbox or handler of some service until
 * the order is final, so the age of the orders in flight is the consumer lag of the whole saga, read
 * from one table that every replica shares. Full when more than `maxLate` are late: a few orders
 * waiting on a retry (a payment provider's backoff) do not refuse everyone; an order in flight for
 * more than a minute is left to its timeout and not counted.
 */
export function sagaLagSignal(dataSource: DataSource, ageMs: number, maxLate: number): LoadSignal {
  return {
    name: 'saga-lag',
    read: async () => {
      // orders_pending_created (a partial index on PENDING orders' created_at) serves this
      const [row] = (await dataSource.query(
        `SELECT count(*) FILTER (WHERE created_at < now() - $1 * interval '1 millisecond')::int AS late,
                count(*)::int AS pending
           FROM orders
          WHERE status = 'PENDING' AND created_at > now() - interval '1 minute'`,
        [ageMs],
      )) as Array<{ late: number; pending: number }>;
      return {
        overloaded: ageMs > 0 && row.late > maxLate,
        detail: `${row.late} of ${row.pending} orders in flight for more than ${ageMs} ms (at most ${maxLate})`,
      };
    },
  };
}

/** Admission control of POST /orders (AdmissionGuard): requests in flight, event loop, outbox, saga lag. */
export const ORDERS_ADMISSION: Provider[] = [
  {
    provide: AdmissionControl,
    inject: [ORDERS_SETTINGS, DataSource, MessagingService],
    useFactory: (settings: OrdersSettings, dataSource: DataSource, messaging: MessagingService) =>
      new AdmissionControl(admissionOptions(settings), [
        outboxSignal(() => messaging.outboxBacklog(), settings.ADMISSION_MAX_OUTBOX_AGE_MS),
        sagaLagSignal(dataSource, settings.ADMISSION_SAGA_AGE_MS, settings.ADMISSION_MAX_LATE_ORDERS),
      ]),
  },
  AdmissionGuard,
];
