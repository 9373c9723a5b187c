import { newTraceparent, OrderPlaced, type CloudEvent, type OrderPlacedData } from '@shop/contracts';

/** The data of every benchmark event: the smallest real `order.placed`. */
export const ORDER_PLACED_DATA: OrderPlacedData = Object.freeze({
  orderId: '6f1c2b9e-4d3a-4c5b-9a8e-2f7d1e0c3b4a',
  customerId: 'c-1',
  items: [{ sku: 'SKU-1', quantity: 2 }],
  paymentToken: 'tok_visa',
});

/**
 * One `order.placed` CloudEvent as the library would put it on the wire (validated, traceparent
 * stamped), built once: what raw amqplib, Nest and golevelup send, each message alike.
 */
export function prebuiltEvent(): CloudEvent<OrderPlacedData> {
  return OrderPlaced.create(ORDER_PLACED_DATA, { traceparent: newTraceparent() });
}

/**
 * Latency runs, library client: the send time travels in the event's W3C `tracestate` (the outbox
 * stamps it into the body and the `tracestate` header; the consumer puts it in the handler's
 * TraceContext), because a library handler sees the event and its trace context, not AMQP headers.
 */
export const TRACESTATE_KEY = 'bench';

export function sentAtTracestate(sentAt: number): string {
  return `${TRACESTATE_KEY}=${sentAt}`;
}

export function sentAtFromTracestate(tracestate: string | undefined): number {
  const prefix = `${TRACESTATE_KEY}=`;
  return tracestate?.startsWith(prefix) ? Number(tracestate.slice(prefix.length)) : NaN;
}
