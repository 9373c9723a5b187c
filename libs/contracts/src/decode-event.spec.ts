import { randomUUID } from 'node:crypto';
import { type CloudEvent, parseEnvelope } from './cloud-event';
import { decodeEvent } from './decode-event';
import { OrderCancelled, PaymentCaptured } from './events';
import { createEventRegistry } from './registry';

const orderId = randomUUID();
const cancelled = OrderCancelled.create({
  orderId,
  customerId: 'c-1',
  reason: 'TIMEOUT',
  previousStatus: 'PENDING',
});
const envelope = (patch: Partial<CloudEvent<unknown>>): CloudEvent<unknown> => ({ ...cancelled, ...patch });

describe('decodeEvent', () => {
  it('returns the definition, the received version and the event', () => {
    expect(decodeEvent(cancelled)).toEqual({
      definition: OrderCancelled,
      receivedVersion: 1,
      event: cancelled,
    });
  });

  it("rejects an unknown type as 'unknown-type'", () => {
    expect(() => decodeEvent(envelope({ type: 'order.shipped' }))).toThrow(
      expect.objectContaining({ reason: 'unknown-type' }),
    );
  });

  it("rejects a type the given registry does not know as 'unknown-type'", () => {
    expect(() => decodeEvent(cancelled, createEventRegistry([PaymentCaptured]))).toThrow(
      expect.objectContaining({ reason: 'unknown-type' }),
    );
  });

  it("rejects version 99 as 'unknown-version'", () => {
    expect(() => decodeEvent(envelope({ dataschema: 'urn:shop:events:order.cancelled:v99' }))).toThrow(
      expect.objectContaining({ reason: 'unknown-version' }),
    );
  });

  it("rejects data that does not match its version as 'schema-invalid'", () => {
    const data = { ...cancelled.data, reason: 'BORED' };
    expect(() => decodeEvent(envelope({ data }))).toThrow(expect.objectContaining({ reason: 'schema-invalid' }));
  });

  it("rejects a subject other than data.orderId as 'invalid-envelope'", () => {
    expect(() => decodeEvent(envelope({ subject: randomUUID() }))).toThrow(
      expect.objectContaining({ reason: 'invalid-envelope' }),
    );
  });

  it('treats a message without dataschema as version 1', () => {
    const { dataschema: _, ...v1 } = cancelled;
    const decoded = decodeEvent(parseEnvelope(JSON.stringify(v1)));
    expect(decoded.receivedVersion).toBe(1);
    expect(decoded.event.data).toEqual(cancelled.data);
  });

  it('tolerates fields a newer producer added to the data, and drops them', () => {
    const decoded = decodeEvent(
      envelope({
        data: { ...cancelled.data, comment: 'added in a later release' },
      }),
    );
    expect(decoded.event.data).toEqual(cancelled.data);
  });
});
