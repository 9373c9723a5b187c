import { randomUUID } from 'node:crypto';
import { OrderPlaced, serializeEvent, type CloudEvent } from '@shop/contracts';

export const orderPlaced = (orderId: string = randomUUID()) =>
  OrderPlaced.create({ orderId, customerId: 'c-1', items: [{ sku: 'SKU-1', quantity: 2 }], paymentToken: 'tok_visa' });

/** The AMQP properties a well-behaved producer sets (what the outbox relay sends). */
export function wireProperties(event: CloudEvent, appId: string) {
  return {
    messageId: event.id,
    type: event.type,
    appId,
    headers: event.traceparent ? { traceparent: event.traceparent } : {},
  };
}

export const wire = (event: CloudEvent) => serializeEvent(event);
