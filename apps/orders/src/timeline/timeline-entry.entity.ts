import {
  PRODUCER_NAMES,
  EVENTS,
  parseTraceparent,
  type ProducerName,
  type CloudEvent,
  type EventData,
  type InventoryRejected,
  type InventoryReleased,
  type InventoryReserved,
  type NotificationSent,
  type OrderCancelled,
  type OrderConfirmed,
  type OrderPlaced,
  type PaymentCaptured,
  type PaymentDeclined,
  type PaymentRefunded,
} from '@shop/contracts';

/**
 * The order timeline: every event about an order, from every service, as the projection stores it
 * (one row of `order_timeline` per event id). Pure: no Nest, no database.
 */
export interface TimelineEntry {
  eventId: string;
  orderId: string;
  type: string;
  producer: ProducerName;
  /** The event's own `time` (RFC 3339). */
  occurredAt: string;
  traceId: string | null;
  spanId: string | null;
  causationId: string | null;
  summary: string | null;
}

/** One event of `GET /orders/{id}/timeline`. */
export interface TimelineEventView {
  id: string;
  type: string;
  producer: ProducerName;
  time: string;
  traceId: string | null;
  causationId?: string;
  summary?: string;
}

export interface OrderTimelineView {
  orderId: string;
  events: TimelineEventView[];
}

/** A row of `order_timeline` as read back. */
export interface TimelineRow {
  event_id: string;
  type: string;
  producer: ProducerName;
  occurred_at: Date;
  trace_id: string | null;
  causation_id: string | null;
  summary: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SOURCE = /^urn:shop:([a-z]+)$/;
export const SUMMARY_MAX_LENGTH = 200;

/** Trace and span id of a W3C `traceparent`; nulls when it is missing or malformed. */
export function traceIdsOf(traceparent: string | undefined): { traceId: string | null; spanId: string | null } {
  const tp = parseTraceparent(traceparent);
  return { traceId: tp?.traceId ?? null, spanId: tp?.spanId ?? null };
}

/** The order an event is about: its `subject`, else `data.orderId`; undefined when neither is a UUID. */
export function orderIdOf(event: CloudEvent<unknown>): string | undefined {
  if (UUID.test(event.subject)) return event.subject.toLowerCase();
  const fromData = (event.data as { orderId?: unknown } | null)?.orderId;
  return typeof fromData === 'string' && UUID.test(fromData) ? fromData.toLowerCase() : undefined;
}

/** The app that produced an event: the app its `source` (`urn:shop:<app>`) names, else the owner of its type. */
export function producerOf(event: CloudEvent<unknown>): ProducerName | undefined {
  const app = SOURCE.exec(event.source)?.[1];
  if (app && (PRODUCER_NAMES as readonly string[]).includes(app)) return app as ProducerName;
  return EVENTS.find(event.type)?.producer;
}

type Summaries = {
  [K in
    | typeof OrderPlaced
    | typeof OrderConfirmed
    | typeof OrderCancelled
    | typeof InventoryReserved
    | typeof InventoryRejected
    | typeof InventoryReleased
    | typeof PaymentCaptured
    | typeof PaymentDeclined
    | typeof PaymentRefunded
    | typeof NotificationSent as K['type']]: (data: EventData<K>) => string;
};

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const units = (lines: readonly { quantity: number }[]) => lines.reduce((sum, line) => sum + line.quantity, 0);

/** What a reader of the timeline wants at a glance, per type; money in cents as everywhere. */
const SUMMARIES: Summaries = {
  'order.placed': (d) => `${plural(d.items.length, 'line')}, ${plural(units(d.items), 'unit')}`,
  'order.confirmed': (d) => `total ${d.total} cents ${d.currency}`,
  'order.cancelled': (d) => `${d.reason}, was ${d.previousStatus}`,
  'inventory.reserved': (d) => `${plural(d.lines.length, 'line')} reserved, total ${d.total} cents ${d.currency}`,
  'inventory.rejected': (d) =>
    `${d.reason}: ${d.missing.map((m) => `${m.sku} (${m.requested} requested, ${m.available} available)`).join(', ')}`,
  'inventory.released': (d) => `${plural(d.lines.length, 'line')}, ${plural(units(d.lines), 'unit')} released`,
  'payment.captured': (d) => `captured ${d.amount} cents ${d.currency}`,
  'payment.declined': (d) => `${d.reason}, ${d.amount} cents`,
  'payment.refunded': (d) => `refunded ${d.amount} cents ${d.currency}`,
  'notification.sent': (d) => d.kind,
};

/**
 * A short line about the event's data (a cancellation's reason, a capture's amount, ...); null for a
 * type it does not know or data it cannot read. Never the payment token nor the customer.
 */
export function summarize(type: string, data: unknown): string | null {
  const summary = (SUMMARIES as Record<string, ((data: unknown) => string) | undefined>)[type];
  if (!summary) return null;
  try {
    const text = summary(data);
    return text.length > SUMMARY_MAX_LENGTH ? `${text.slice(0, SUMMARY_MAX_LENGTH - 1)}…` : text;
  } catch {
    return null;
  }
}

/** The timeline entry of an event; undefined when it names no order (it is then acknowledged and skipped). */
export function toTimelineEntry(event: CloudEvent<unknown>): TimelineEntry | undefined {
  const orderId = orderIdOf(event);
  const producer = producerOf(event);
  if (!orderId || !producer) return undefined;
  return {
    eventId: event.id,
    orderId,
    type: event.type,
    producer,
    occurredAt: event.time,
    ...traceIdsOf(event.traceparent),
    causationId: event.causationid ?? null,
    summary: summarize(event.type, event.data),
  };
}

export function toTimelineView(orderId: string, rows: readonly TimelineRow[]): OrderTimelineView {
  return {
    orderId,
    events: rows.map((row) => ({
      id: row.event_id,
      type: row.type,
      producer: row.producer,
      time: row.occurred_at.toISOString(),
      traceId: row.trace_id,
      ...(row.causation_id !== null && { causationId: row.causation_id }),
      ...(row.summary !== null && { summary: row.summary }),
    })),
  };
}
