import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { parseEnvelope, serializeEvent } from './cloud-event';
import { ContractError } from './contract-error';
import { defineEvent, type EventDefinition } from './define-event';
import { OrderPlaced, type OrderPlacedData, PaymentCaptured } from './events';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const placed = (): OrderPlacedData => ({
  orderId: randomUUID(),
  customerId: 'c-1',
  items: [{ sku: 'SKU-1', quantity: 2 }],
  paymentToken: 'tok_visa',
});

describe('create', () => {
  it('builds a CloudEvents 1.0 envelope of the latest version, subject = data.orderId', () => {
    const data = placed();
    const event = OrderPlaced.create(data);
    expect(event).toEqual({
      specversion: '1.0',
      id: expect.stringMatching(UUID),
      source: 'urn:shop:orders',
      type: 'order.placed',
      time: expect.any(String),
      subject: data.orderId,
      datacontenttype: 'application/json',
      dataschema: 'urn:shop:events:order.placed:v1',
      data,
    });
    expect(new Date(event.time).toISOString()).toBe(event.time);
    expect(
      PaymentCaptured.create({
        orderId: data.orderId,
        paymentId: randomUUID(),
        amount: 0,
        currency: 'USD',
      }).dataschema,
    ).toBe('urn:shop:events:payment.captured:v2');
  });

  it('gives every event a new id', () => {
    const data = placed();
    expect(OrderPlaced.create(data).id).not.toBe(OrderPlaced.create(data).id);
  });

  it('takes id, time, causation id and trace context from the options', () => {
    const options = {
      id: randomUUID(),
      time: new Date('2024-05-01T10:00:00Z'),
      causationId: randomUUID(),
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      tracestate: 'shop=1',
    };
    expect(OrderPlaced.create(placed(), options)).toMatchObject({
      id: options.id,
      time: '2024-05-01T10:00:00.000Z',
      causationid: options.causationId,
      traceparent: options.traceparent,
      tracestate: 'shop=1',
    });
  });

  it('creates events that parse back unchanged', () => {
    const event = OrderPlaced.create(placed());
    expect(parseEnvelope(serializeEvent(event))).toEqual(event);
  });

  it.each([
    ['a malformed order id', { orderId: 'order-1' }],
    ['no items', { items: [] }],
    [
      '51 items',
      {
        items: Array.from({ length: 51 }, () => ({
          sku: 'SKU-1',
          quantity: 1,
        })),
      },
    ],
    ['a quantity of 0', { items: [{ sku: 'SKU-1', quantity: 0 }] }],
    ['a fractional quantity', { items: [{ sku: 'SKU-1', quantity: 1.5 }] }],
    ['an empty customer id', { customerId: '' }],
    ['a payment token over 128 characters', { paymentToken: 'x'.repeat(129) }],
  ])("rejects %s as 'schema-invalid', naming the field", (_, patch) => {
    const attempt = () => OrderPlaced.create({ ...placed(), ...patch });
    expect(attempt).toThrow(ContractError);
    expect(attempt).toThrow(
      expect.objectContaining({
        reason: 'schema-invalid',
        issues: expect.any(Array),
      }),
    );
    expect(attempt).toThrow(new RegExp(Object.keys(patch)[0]));
  });

  it('is typed by the latest schema', () => {
    const base = {
      orderId: randomUUID(),
      paymentId: randomUUID(),
      amount: 100,
    };
    // @ts-expect-error v2 requires the currency
    expect(() => PaymentCaptured.create(base)).toThrow(/currency/);
    // @ts-expect-error the currency is USD
    expect(() => PaymentCaptured.create({ ...base, currency: 'EUR' })).toThrow(/currency/);
    expect(PaymentCaptured.create({ ...base, currency: 'USD' }).data.currency).toBe('USD');
    const typed: EventDefinition<'order.placed', OrderPlacedData> = OrderPlaced;
    expect(typed.type).toBe('order.placed');
  });
});

describe('upcast', () => {
  it("rejects a version the event never had as 'unknown-version'", () => {
    expect(() => OrderPlaced.upcast(2, placed())).toThrow(expect.objectContaining({ reason: 'unknown-version' }));
    expect(() => OrderPlaced.upcast(0, placed())).toThrow(expect.objectContaining({ reason: 'unknown-version' }));
  });

  it('returns latest data unchanged, minus fields it does not know', () => {
    const data = placed();
    expect(OrderPlaced.upcast(1, { ...data, giftWrap: true })).toEqual(data);
  });
});

describe('defineEvent', () => {
  const V1 = z.object({ orderId: z.uuid(), amount: z.int() });
  const V2 = z.object({ orderId: z.uuid(), cents: z.int() });
  const V3 = z.object({
    orderId: z.uuid(),
    cents: z.int(),
    currency: z.literal('USD'),
  });

  it('chains one upcaster per version step, validating every step', () => {
    const Event = defineEvent({
      type: 'test.event',
      producer: 'orders',
      description: 'A test event.',
      versions: [V1, V2, V3],
      upcasters: [({ amount, ...rest }) => ({ ...rest, cents: amount }), (v2) => ({ ...v2, currency: 'USD' as const })],
    });
    const orderId = randomUUID();
    expect(Event.version).toBe(3);
    expect(Event.upcast(1, { orderId, amount: 5 })).toEqual({
      orderId,
      cents: 5,
      currency: 'USD',
    });
    expect(Event.upcast(2, { orderId, cents: 7 })).toEqual({
      orderId,
      cents: 7,
      currency: 'USD',
    });
    expect(() => Event.upcast(2, { orderId, amount: 7 })).toThrow(
      expect.objectContaining({ reason: 'schema-invalid' }),
    );
  });

  it('refuses versions without their upcasters', () => {
    expect(() =>
      defineEvent({
        type: 'test.event',
        producer: 'orders',
        description: 'A test event.',
        versions: [V1, V2],
        // @ts-expect-error v1 -> v2 needs an upcaster
        upcasters: [],
      }),
    ).toThrow('test.event: 2 version(s) need 1 upcaster(s)');
  });
});
