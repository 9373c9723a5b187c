import type { SagaStep } from '../contract';

export type { SagaStep };

export interface ArchivedEvent {
  id: string;
  type: string;
  source?: string;
  time?: string;
  traceparent?: string;
  data?: Record<string, unknown>;
}

const COMPENSATION = new Set([
  'inventory.rejected',
  'payment.declined',
  'order.cancelled',
  'inventory.released',
  'payment.refunded',
]);
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

export function toStep(event: ArchivedEvent, jaegerUiUrl?: string): SagaStep {
  const match = TRACEPARENT.exec(event.traceparent ?? '');
  const traceId = match && !/^0+$/.test(match[1]) ? match[1] : null;
  const producer = /^urn:shop:(.+)$/.exec(event.source ?? '')?.[1] ?? event.source ?? 'unknown';
  const isNotification = event.type === 'notification.sent';
  return {
    id: event.id,
    type: event.type,
    producer,
    time: event.time ?? '',
    path:
      COMPENSATION.has(event.type) || (isNotification && isCancellationNotice(event.data)) ? 'compensation' : 'saga',
    summary: summarize(event),
    traceId,
    traceUrl: traceId && jaegerUiUrl ? `${jaegerUiUrl.replace(/\/+$/, '')}/trace/${traceId}` : null,
  };
}

function isCancellationNotice(data: Record<string, unknown> | undefined): boolean {
  return data?.['kind'] === 'ORDER_CANCELLED' || data?.['kind'] === 'PAYMENT_REFUNDED';
}

/** Cents as dollars: 4980 -> $49.80. */
export function money(cents: unknown): string {
  return typeof cents === 'number' ? `$${(cents / 100).toFixed(2)}` : '';
}

function summarize(event: ArchivedEvent): string {
  const data = event.data ?? {};
  const lines = Array.isArray(data['lines']) ? (data['lines'] as unknown[]).length : undefined;
  const items = Array.isArray(data['items']) ? (data['items'] as unknown[]).length : undefined;
  const plural = (n: number | undefined, what: string) => (n === undefined ? '' : `${n} ${what}${n === 1 ? '' : 's'}`);
  switch (event.type) {
    case 'order.placed':
      return `order placed: ${plural(items, 'line')}, paying with ${String(data['paymentToken'] ?? '?')}`;
    case 'inventory.reserved':
      return `stock reserved: ${plural(lines, 'line')}${data['total'] !== undefined ? `, priced ${money(data['total'])}` : ''}`;
    case 'inventory.rejected':
      return `stock refused: ${String(data['reason'] ?? '')}`;
    case 'payment.captured':
      return `payment captured: ${money(data['amount'])}`;
    case 'payment.declined':
      return `payment declined: ${String(data['reason'] ?? '')} (${money(data['amount'])})`;
    case 'order.confirmed':
      return `order confirmed: ${money(data['total'])}`;
    case 'order.cancelled':
      return `order cancelled: ${String(data['reason'] ?? '')}`;
    case 'inventory.released':
      return `stock released: ${plural(lines, 'line')}`;
    case 'payment.refunded':
      return `payment refunded: ${money(data['amount'])}`;
    case 'notification.sent':
      return `customer notified: ${String(data['kind'] ?? '')}`;
    default:
      return event.type;
  }
}
