import type { Provider } from '@nestjs/common';
import {
  AdmissionControl,
  admissionOptions,
  AdmissionGuard,
  outboxSignal,
  type LoadReading,
  type LoadSignal,
} from '@shop/platform';
import { MessagingService, type MessagingStatus } from '@shop/messaging';
import { DataSource } from 'typeorm';
import { ORDERS_SETTINGS, type OrdersSettings } from '../config/orders.settings';

/**
 * How many orders may be in flight at once, learnt from the saga's lag (AIMD, as TCP's window): each
 * reading that finds more than `maxLate` orders in flight for longer than `ageMs` (queueing, not
 * work) cuts the limit to 0.7 of the orders in flight then; each reading that finds none late while
 * the limit is in use raises it by a tenth. A few orders waiting on a retry (a payment provider's
 * backoff) are below `maxLate` and refuse no one.
 */
export class SagaLimit {
  static readonly MIN = 10;
  static readonly MAX = 100_000;
  private limit = 200;

  constructor(
    private readonly ageMs: number,
    private readonly maxLate: number,
  ) {}

  /** One reading: orders in flight, and how many of them for longer than `ageMs`. */
  update(pending: number, late: number): LoadReading {
    if (late > this.maxLate) {
      this.limit = Math.max(SagaLimit.MIN, Math.min(this.limit, Math.floor(0.7 * pending)));
      return {
        overloaded: true,
        detail: `${late} of ${pending} orders in flight for more than ${this.ageMs} ms (at most ${this.maxLate})`,
      };
    }
    // At the limit with none late the saga keeps up: no room now (headroom 0), but not late either, so
    // a request may wait for the next reading's room (AdmissionControl.admitOrWait).
    const detail = `${pending} orders in flight (at most ${this.limit} now)`;
    const headroom = Math.max(0, this.limit - pending);
    if (pending >= 0.8 * this.limit) this.limit = Math.min(SagaLimit.MAX, Math.ceil(this.limit * 1.1));
    return { overloaded: false, detail, headroom };
  }

  current(): number {
    return this.limit;
  }
}

/** What the saga-lag signal reads of orders' broker connection. */
export type BrokerLink = Pick<MessagingStatus, 'connected' | 'reconnects' | 'connectedAt'>;

/**
 * The saga's lag, end to end, as a load signal: the orders in flight (PENDING) and their age. Every
 * event of an order waits in some queue, outbox or handler of some service until the order is final,
 * so the age of the orders in flight is the consumer lag of the whole saga, read from one table that
 * every replica shares (the partial index orders_pending_created serves it). An order in flight for
 * more than a minute is left to its timeout and not counted.
 *
 * A broker outage makes orders late without any load: the lag does not count while orders is cut off
 * from the broker, nor after it reconnects while orders placed before that are still in flight (the
 * outage's backlog, which the other services drain as they reconnect, each after its own backoff).
 * How long an outage is absorbed so is the outbox signal's to say (ADMISSION_MAX_OUTBOX_AGE_MS); the
 * backlog leaves the count within the minute in any case.
 */
export function sagaLagSignal(
  dataSource: DataSource,
  ageMs: number,
  maxLate: number,
  broker: () => BrokerLink = () => ({ connected: true, reconnects: 0 }),
): LoadSignal {
  const limit = new SagaLimit(ageMs, maxLate);
  return {
    name: 'saga-lag',
    read: async () => {
      if (ageMs <= 0) return { overloaded: false, detail: 'saga lag not watched (ADMISSION_SAGA_AGE_MS=0)' };
      const link = broker();
      if (!link.connected) return { overloaded: false, detail: 'broker unreachable: orders wait in the outbox' };
      // ms since the connection came back (ages relative to the database's clock, not this one's)
      const sinceReconnect =
        link.reconnects > 0 && link.connectedAt !== undefined ? Math.max(0, Date.now() - link.connectedAt) : null;
      const [row] = (await dataSource.query(
        `SELECT count(*) FILTER (WHERE created_at < now() - $1 * interval '1 millisecond')::int AS late,
                count(*) FILTER (WHERE created_at < now() - $2 * interval '1 millisecond')::int AS "heldBack",
                count(*)::int AS pending
           FROM orders
          WHERE status = 'PENDING' AND created_at > now() - interval '1 minute'`,
        [ageMs, sinceReconnect],
      )) as Array<{ late: number; heldBack: number; pending: number }>;
      if (row.heldBack > 0) {
        return {
          overloaded: false,
          detail: `${row.heldBack} orders placed before the broker came back still in flight: the outage's backlog drains`,
        };
      }
      return limit.update(row.pending, row.late);
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
        sagaLagSignal(dataSource, settings.ADMISSION_SAGA_AGE_MS, settings.ADMISSION_MAX_LATE_ORDERS, () =>
          messaging.status(),
        ),
      ]),
  },
  AdmissionGuard,
];
