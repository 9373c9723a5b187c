import { randomUUID } from 'node:crypto';
import { EVENTS } from '@shop/contracts';
import { acceptEvent, attributesOf, digestOf, EventInputError } from './cloud-event-input';

const event = (overrides: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id: randomUUID(),
  source: 'urn:shop:erp',
  type: 'stock.adjusted',
  subject: 'SKU-1',
  data: { sku: 'SKU-1', delta: 5, reason: 'goods-received' },
  ...overrides,
});

const refusal = (run: () => unknown): EventInputError => {
  try {
    run();
  } catch (error) {
    if (error instanceof EventInputError) return error;
    throw error;
  }
  throw new Error('accepted');
};

describe('attributesOf', () => {
  it('reads structured mode from the body, whatever the charset', () => {
    const body = event();
    expect(attributesOf({ 'content-type': 'application/cloudevents+json; charset=utf-8' }, body)).toBe(body);
  });

  it('reads binary mode from the ce-* headers (percent-decoded) and the data from the body', () => {
    const attributes = attributesOf(
      {
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-id': 'x',
        'ce-type': 'stock.adjusted',
        'ce-subject': 'SKU%2D1',
      },
      { sku: 'SKU-1' },
    );
    expect(attributes).toEqual({
      specversion: '1.0',
      id: 'x',
      type: 'stock.adjusted',
      subject: 'SKU-1',
      datacontenttype: 'application/json',
      data: { sku: 'SKU-1' },
    });
  });

  it('refuses what is neither mode (415), batches (415), both modes at once and a non-object (400)', () => {
    expect(refusal(() => attributesOf({ 'content-type': 'text/plain' }, 'x')).status).toBe(415);
    expect(refusal(() => attributesOf({ 'content-type': 'application/json' }, {})).status).toBe(415);
    expect(refusal(() => attributesOf({ 'content-type': 'application/cloudevents-batch+json' }, [])).status).toBe(415);
    expect(
      refusal(() => attributesOf({ 'content-type': 'application/cloudevents+json', 'ce-specversion': '1.0' }, event()))
        .status,
    ).toBe(400);
    expect(refusal(() => attributesOf({ 'content-type': 'application/cloudevents+json' }, [event()])).status).toBe(400);
    expect(
      refusal(() =>
        attributesOf({ 'content-type': 'application/json', 'ce-specversion': '1.0', 'ce-id': '%E0%A4%A' }, {}),
      ).messages,
    ).toEqual(['ce-id: not a percent-encoded string']);
  });
});

describe('acceptEvent', () => {
  it('accepts an event its contract accepts, adding a time, and publishes it as sent', () => {
    const sent = event();
    const { event: accepted, definition } = acceptEvent(sent, EVENTS);
    expect(definition.type).toBe('stock.adjusted');
    expect(accepted).toMatchObject({ ...sent, dataschema: 'urn:shop:events:stock.adjusted:v1' });
    expect(Date.parse(accepted.time)).toBeGreaterThan(Date.now() - 10_000);
  });

  it('names every offending field', () => {
    expect(refusal(() => acceptEvent(event({ id: '42' }), EVENTS)).messages).toEqual(['id: must be a UUID']);
    expect(refusal(() => acceptEvent(event({ source: 'erp' }), EVENTS)).messages).toEqual([
      'source: must be "urn:shop:erp" for stock.adjusted',
    ]);
    expect(refusal(() => acceptEvent(event({ type: 'stock.counted' }), EVENTS)).messages).toEqual([
      'type: unknown event type "stock.counted"',
    ]);
    expect(
      refusal(() => acceptEvent(event({ data: { sku: 'SKU-1', delta: 0, reason: '' } }), EVENTS)).messages,
    ).toEqual([expect.stringMatching(/^data\.delta: /), expect.stringMatching(/^data\.reason: /)]);
    expect(refusal(() => acceptEvent(event({ subject: 'SKU-2' }), EVENTS)).messages).toEqual([
      expect.stringMatching(/^subject: .*data\.sku/),
    ]);
    expect(refusal(() => acceptEvent(event({ specversion: '0.3', time: 'yesterday' }), EVENTS)).messages).toEqual([
      expect.stringMatching(/^specversion: /),
      expect.stringMatching(/^time: /),
    ]);
    expect(
      refusal(() => acceptEvent(event({ dataschema: 'urn:shop:events:stock.adjusted:v9' }), EVENTS)).messages,
    ).toEqual([expect.stringMatching(/^dataschema: .*no version 9/)]);
  });
});

describe('acceptEvent and the trace context', () => {
  const parent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

  it("refuses a traceparent attribute that is not W3C's, and an oversized tracestate", () => {
    expect(refusal(() => acceptEvent(event({ traceparent: 'garbage' }), EVENTS)).messages).toEqual([
      expect.stringMatching(/^traceparent: /),
    ]);
    expect(refusal(() => acceptEvent(event({ tracestate: 'x'.repeat(513) }), EVENTS)).messages).toEqual([
      expect.stringMatching(/^tracestate: /),
    ]);
  });

  it("continues the request's traceparent over the event's own, and the event's when the request has none", () => {
    const other = '00-11111111111111111111111111111111-2222222222222222-01';
    expect(acceptEvent(event({ traceparent: other }), EVENTS, parent).event.traceparent).toBeUndefined();
    expect(acceptEvent(event({ traceparent: other }), EVENTS).event.traceparent).toBe(other);
    expect(acceptEvent(event({ traceparent: other }), EVENTS, 'not-one').event.traceparent).toBe(other);
  });
});

describe('digestOf', () => {
  it('is the same for the same content in any key order, and differs for other content', () => {
    expect(digestOf({ a: 1, b: { c: [1, 2], d: 'x' } })).toBe(digestOf({ b: { d: 'x', c: [1, 2] }, a: 1 }));
    expect(digestOf({ a: 1 })).not.toBe(digestOf({ a: 2 }));
    expect(digestOf({ a: [1, 2] })).not.toBe(digestOf({ a: [2, 1] }));
  });
});
