import { randomUUID } from 'node:crypto';
import { parseEnvelope, serializeEvent } from '../cloud-event';
import { decodeEvent } from '../decode-event';
import { PaymentCaptured } from './payment-captured';
import { upcastPaymentCapturedV1ToV2 } from './payment-captured.v2';

const orderId = randomUUID();
const paymentId = randomUUID();

describe('payment.captured', () => {
  it('is at version 2, which states the currency', () => {
    expect(PaymentCaptured.version).toBe(2);
    expect(PaymentCaptured.schema.safeParse({ orderId, paymentId, amount: 100 }).success).toBe(false);
  });

  it('upcasts v1 data to v2 by adding currency USD (v1 producers only charged USD)', () => {
    expect(upcastPaymentCapturedV1ToV2({ orderId, paymentId, amount: 1299 })).toEqual({
      orderId,
      paymentId,
      amount: 1299,
      currency: 'USD',
    });
  });

  it('decodes a v1 message from an old producer to the v2 shape', () => {
    const v1Body = serializeEvent({
      specversion: '1.0',
      id: randomUUID(),
      source: 'urn:shop:payments',
      type: 'payment.captured',
      time: '2024-05-01T10:00:00.000Z',
      subject: orderId,
      datacontenttype: 'application/json',
      dataschema: 'urn:shop:events:payment.captured:v1',
      data: { orderId, paymentId, amount: 1299 },
    });
    const { receivedVersion, event } = decodeEvent(parseEnvelope(v1Body));
    expect(receivedVersion).toBe(1);
    expect(event.dataschema).toBe('urn:shop:events:payment.captured:v2');
    expect(event.data).toEqual({
      orderId,
      paymentId,
      amount: 1299,
      currency: 'USD',
    });
  });

  it('validates v1 data before upcasting it', () => {
    expect(() => PaymentCaptured.upcast(1, { orderId, paymentId, amount: -1 })).toThrow(
      expect.objectContaining({
        reason: 'schema-invalid',
        message: expect.stringContaining('payment.captured v1'),
      }),
    );
  });
});
