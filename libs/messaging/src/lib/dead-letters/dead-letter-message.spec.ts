import { brotliCompressSync, gzipSync } from 'node:zlib';
import type { Message } from 'amqplib';
import { EVENTS, OrderPlaced, serializeEvent } from '@shop/contracts';
import { DeadLetterMessage } from './dead-letter-message';

const QUEUE = 'inventory.reserve-stock';
const RETRY = 'inventory.retry';
const event = OrderPlaced.create({
  orderId: '00000000-0000-4000-8000-000000000001',
  customerId: 'c-1',
  items: [{ sku: 'SKU-1', quantity: 1 }],
  paymentToken: 'tok_visa',
});
const producers = { self: 'inventory', userOf: (app: string) => app };

function message(properties: Record<string, unknown>, content: Buffer = serializeEvent(event)): Message {
  return {
    content,
    fields: { deliveryTag: 7, redelivered: false, exchange: 'inventory.dlx', routingKey: QUEUE },
    properties: { messageId: event.id, type: event.type, headers: {}, ...properties },
  } as unknown as Message;
}

/** What the consumer's dead-letter copy carries (queue-consumer.ts). */
const ours = (headers: Record<string, unknown> = {}) =>
  message({
    userId: 'inventory',
    headers: {
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      'x-original-exchange': 'orders',
      'x-original-routing-key': 'order.placed',
      'x-original-user-id': 'orders',
      'x-attempt': 4,
      'x-dead-letter-reason': 'retries-exhausted',
      'x-exception-message': 'database said no',
      'x-exception-type': 'Error',
      'x-failed-at': '2026-01-02T03:04:05.000Z',
      'x-consumer-queue': QUEUE,
      ...headers,
    },
  });

/** What the broker dead-letters at the quorum queue's delivery limit: the delivery as it was, plus x-death. */
const byBroker = (exchange: string, headers: Record<string, unknown> = {}, userId: string | null = 'orders') =>
  message({
    userId: userId ?? undefined,
    headers: {
      ...headers,
      'x-death': [
        {
          count: 1,
          reason: 'delivery_limit',
          queue: QUEUE,
          time: { '!': 'timestamp', value: 1_767_323_045 },
          exchange,
          'routing-keys': [exchange === RETRY ? QUEUE : 'order.placed'],
        },
      ],
      'x-first-death-exchange': exchange,
      'x-first-death-queue': QUEUE,
      'x-first-death-reason': 'delivery_limit',
      'x-delivery-count': 3,
    },
  });

describe('a dead-lettered message', () => {
  it('shows our reason, attempts, error and first dead-lettering, with the event as its body', () => {
    expect(new DeadLetterMessage(ours(), QUEUE, RETRY).view()).toEqual({
      queue: QUEUE,
      messageId: event.id,
      type: 'order.placed',
      reason: 'retries-exhausted',
      attempts: 4,
      firstDeadLetteredAt: '2026-01-02T03:04:05.000Z',
      error: 'database said no',
      redrives: 0,
      body: JSON.parse(serializeEvent(event).toString()),
    });
  });

  it("shows the broker's reason and time when the broker dead-lettered it, whatever headers claim", () => {
    const dead = new DeadLetterMessage(byBroker('orders', { 'x-dead-letter-reason': 'forged' }), QUEUE, RETRY);
    expect(dead.view()).toMatchObject({
      reason: 'delivery_limit',
      attempts: 1,
      firstDeadLetteredAt: new Date(1_767_323_045_000).toISOString(),
      error: null,
    });
  });

  it('keeps the first dead-lettering across redrives', () => {
    const dead = new DeadLetterMessage(ours({ 'x-first-dead-lettered-at': '2025-12-31T00:00:00.000Z' }), QUEUE, RETRY);
    expect(dead.firstDeadLetteredAt).toBe('2025-12-31T00:00:00.000Z');
  });

  it('shows a body that is not JSON as text, cut at a bound, and decompresses a gzip body', () => {
    const text = new DeadLetterMessage(message({}, Buffer.from('x'.repeat(10_000))), QUEUE, RETRY).view();
    expect(text.body).toBe(`${'x'.repeat(4096)}…`);
    expect(text.messageId).toBe(event.id);
    const gzipped = message({ contentEncoding: 'gzip' }, gzipSync(serializeEvent(event)));
    expect(new DeadLetterMessage(gzipped, QUEUE, RETRY).view().body).toMatchObject({ id: event.id });
    const brotli = message({ contentEncoding: 'br' }, brotliCompressSync(serializeEvent(event)));
    expect(new DeadLetterMessage(brotli, QUEUE, RETRY).view().body).toMatchObject({ id: event.id });
  });

  it('says so when a compressed body does not decompress, or not within the cap', () => {
    const plain = serializeEvent(event);
    const corrupt = message({ contentEncoding: 'gzip' }, plain);
    expect(new DeadLetterMessage(corrupt, QUEUE, RETRY).view()).toMatchObject({
      messageId: event.id,
      type: 'order.placed',
      body: `[gzip body of ${plain.length} bytes (content-encoding "gzip") does not decompress: incorrect header check]`,
    });
    const large = message({ contentEncoding: 'gzip' }, gzipSync(Buffer.alloc(4096, ' ')));
    expect(new DeadLetterMessage(large, QUEUE, RETRY, 1024).view().body).toMatch(
      /^\[gzip body of \d+ bytes \(content-encoding "gzip"\) decompresses to more than the cap of 1024 bytes/,
    );
    // a content-encoding no consumer reads: the body may be text all the same, and is shown as it is
    const unknown = message({ contentEncoding: 'utf-16' }, plain);
    expect(new DeadLetterMessage(unknown, QUEUE, RETRY).view().body).toMatchObject({ id: event.id });
  });

  it.each([
    ['dead-lettered by the consumer', ours()],
    ['dead-lettered by the broker on its way in', byBroker('orders')],
    [
      'dead-lettered by the broker after a retry',
      byBroker(
        RETRY,
        {
          'x-original-exchange': 'orders',
          'x-original-routing-key': 'order.placed',
          'x-original-user-id': 'orders',
          'x-attempt': 2,
        },
        'inventory',
      ),
    ],
  ])('knows where a message %s came from, and may redrive it', (_case, dead) => {
    const message = new DeadLetterMessage(dead, QUEUE, RETRY);
    expect(message.origin()).toEqual({ exchange: 'orders', routingKey: 'order.placed', userId: 'orders' });
    expect(message.unauthenticated(EVENTS, producers)).toBeUndefined();
  });

  it('refuses to redrive what the owner of its type did not publish, or what it cannot check', () => {
    const forged = ours({ 'x-original-user-id': 'payments', 'x-dead-letter-reason': 'unauthenticated-producer' });
    expect(new DeadLetterMessage(forged, QUEUE, RETRY).unauthenticated(EVENTS, producers)).toBe(
      'order.placed must come from orders, but it came from "payments"',
    );
    const anonymous = byBroker('orders', {}, null);
    expect(new DeadLetterMessage(anonymous, QUEUE, RETRY).unauthenticated(EVENTS, producers)).toMatch(
      /came from no user-id/,
    );
    const garbage = message({ headers: { 'x-original-user-id': 'orders' } }, Buffer.from('{{{'));
    expect(new DeadLetterMessage(garbage, QUEUE, RETRY).unauthenticated(EVENTS, producers)).toMatch(/not a CloudEvent/);
  });

  it('makes a redrive copy: same body and id, origin kept, failure and delivery headers dropped, counted', () => {
    const now = new Date('2026-02-03T04:05:06.000Z');
    const first = new DeadLetterMessage(ours(), QUEUE, RETRY).redriveCopy(now);
    expect(first.content.equals(serializeEvent(event))).toBe(true);
    expect(first.options).toMatchObject({ messageId: event.id, type: 'order.placed' });
    expect(first.options.headers).toEqual({
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      'x-original-exchange': 'orders',
      'x-original-routing-key': 'order.placed',
      'x-original-user-id': 'orders',
      'x-redrive-count': 1,
      'x-redriven-at': '2026-02-03T04:05:06.000Z',
      'x-first-dead-lettered-at': '2026-01-02T03:04:05.000Z',
    });

    const again = new DeadLetterMessage(
      byBroker(RETRY, { ...first.options.headers, 'x-attempt': 3 }, 'inventory'),
      QUEUE,
      RETRY,
    ).redriveCopy(new Date('2026-03-01T00:00:00.000Z'));
    expect(again.options.headers).toEqual({
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      'x-original-exchange': 'orders',
      'x-original-routing-key': 'order.placed',
      'x-original-user-id': 'orders',
      'x-redrive-count': 2,
      'x-redriven-at': '2026-03-01T00:00:00.000Z',
      'x-first-dead-lettered-at': '2026-01-02T03:04:05.000Z',
    });
  });
});
