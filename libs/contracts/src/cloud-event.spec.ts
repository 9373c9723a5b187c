import { randomUUID } from 'node:crypto';
import { type CloudEvent, dataSchemaUri, parseEnvelope, serializeEvent, versionOf } from './cloud-event';
import { ContractError, type ContractErrorReason } from './contract-error';
import { PaymentCaptured } from './events';

const orderId = randomUUID();
const event = PaymentCaptured.create(
  { orderId, paymentId: randomUUID(), amount: 1299, currency: 'USD' },
  {
    causationId: randomUUID(),
    traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
  },
);
const wire = (patch: Record<string, unknown>, without: string[] = []) => {
  const body: Record<string, unknown> = { ...event, ...patch };
  for (const key of without) delete body[key];
  return JSON.stringify(body);
};
const reasonOf = (fn: () => unknown): ContractErrorReason | undefined => {
  try {
    fn();
  } catch (error) {
    if (error instanceof ContractError) return error.reason;
    throw error;
  }
  return undefined;
};

describe('serializeEvent and parseEnvelope', () => {
  it('round-trip an event through a UTF-8 JSON body', () => {
    const body = serializeEvent(event);
    expect(Buffer.isBuffer(body)).toBe(true);
    expect(parseEnvelope(body)).toEqual(event);
    expect(parseEnvelope(body.toString('utf8'))).toEqual(event);
  });

  it("reject a body that is not JSON as 'unparseable'", () => {
    expect(reasonOf(() => parseEnvelope('{"specversion":'))).toBe('unparseable');
    expect(reasonOf(() => parseEnvelope(Buffer.from([0xff, 0xfe])))).toBe('unparseable');
  });

  it.each([
    ['a JSON array', '[]'],
    ['a JSON string', '"order.placed"'],
    ['a missing specversion', wire({}, ['specversion'])],
    ['a CloudEvents 0.3 specversion', wire({ specversion: '0.3' })],
    ['a missing id', wire({}, ['id'])],
    ['an empty id', wire({ id: '' })],
    ['a missing type', wire({}, ['type'])],
    ['a missing source', wire({}, ['source'])],
    ['a missing subject', wire({}, ['subject'])],
    ['a missing time', wire({}, ['time'])],
    ['a time that is not RFC 3339', wire({ time: 'yesterday' })],
    ['missing data', wire({}, ['data'])],
    ['a non-JSON datacontenttype', wire({ datacontenttype: 'application/xml' })],
  ])("reject %s as 'invalid-envelope'", (_, body) => {
    expect(reasonOf(() => parseEnvelope(body))).toBe('invalid-envelope');
  });

  it('name the offending attribute in the error', () => {
    expect(() => parseEnvelope(wire({}, ['subject']))).toThrow(/subject/);
  });

  it('read an envelope without dataschema as version 1 and without datacontenttype as JSON', () => {
    const parsed = parseEnvelope(wire({}, ['dataschema', 'datacontenttype']));
    expect(parsed.dataschema).toBe('urn:shop:events:payment.captured:v1');
    expect(parsed.datacontenttype).toBe('application/json');
  });

  it('reject what no consumer could store: a year 0000, a UTC offset of 16 hours or more, a NUL character', () => {
    expect(reasonOf(() => parseEnvelope(wire({ time: '0000-01-01T00:00:00Z' })))).toBe('invalid-envelope');
    expect(reasonOf(() => parseEnvelope(wire({ time: '2026-01-01T00:00:00+23:59' })))).toBe('invalid-envelope');
    expect(reasonOf(() => parseEnvelope(wire({ time: '2026-01-01T00:00:00-15:59' })))).toBeUndefined();
    expect(reasonOf(() => parseEnvelope(wire({ id: 'a\u0000b' })))).toBe('invalid-envelope');
    expect(reasonOf(() => parseEnvelope(wire({ data: { ...event.data, note: '\u0000' } })))).toBe('invalid-envelope');
    // A backslash followed by the text "u0000" is no NUL.
    expect(parseEnvelope(wire({ causationid: '\\u0000' })).causationid).toBe('\\u0000');
  });

  it('accept an RFC 3339 time with an offset', () => {
    expect(parseEnvelope(wire({ time: '2024-05-01T12:00:00+02:00' })).time).toBe('2024-05-01T12:00:00+02:00');
  });
});

describe('versionOf', () => {
  const envelope = (dataschema: string | undefined) => ({ ...event, dataschema }) as CloudEvent<unknown>;

  it('reads the version from dataschema, and 1 when it is absent', () => {
    expect(versionOf(envelope(dataSchemaUri('payment.captured', 2)))).toBe(2);
    expect(versionOf(envelope(undefined))).toBe(1);
  });

  it.each([
    'urn:shop:events:payment.captured:v0',
    'urn:shop:events:payment.captured:2',
    'https://example.com/v2',
    'urn:shop:events:order.placed:v1',
  ])("rejects the malformed or foreign dataschema %s as 'invalid-envelope'", (dataschema) => {
    expect(reasonOf(() => versionOf(envelope(dataschema)))).toBe('invalid-envelope');
  });
});
