import type { EventDefinition } from '@shop/contracts';
import * as fc from 'fast-check';
import type { FuzzMessage, FuzzWorld, JsonObject } from './fuzz-message';
import { compressedAs, envelopeOf, eventTime, json, publishProps, uuid } from './message-parts';
import { extraFields } from './near-valid-data';
import { validData } from './valid-event-data';

/**
 * Valid events of a type only the orders timeline consumes (its projection takes anything valid):
 * the envelope's free-form parts at their odd but valid values.
 */
export function validFuzz(definition: EventDefinition, world: FuzzWorld): fc.Arbitrary<FuzzMessage> {
  const anyOffset = fc
    .tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }))
    .map(([sign, h, m]) => `${sign}${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
  const time = fc.oneof(
    eventTime,
    fc
      .tuple(
        fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }),
        anyOffset,
      )
      .map(([date, offset]) => `${date.toISOString().slice(0, 19)}${offset}`),
    fc.constantFrom('0000-01-01T00:00:00Z', '2024-02-29T23:59:59.123456789Z', '2024-06-01T12:00:00+23:59'),
  );
  return fc
    .record({
      orderId: fc.constantFrom(...world.orderIds),
      id: fc.oneof(
        uuid(),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
        fc.constantFrom('nul\u0000id', ' '),
      ),
      time,
      source: fc.oneof(
        fc.constantFrom(`urn:shop:${definition.producer}`, 'urn:shop:orders', 'x'),
        fc.string({ minLength: 1, maxLength: 30 }),
      ),
      causationid: fc.option(fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), { nil: undefined }),
      traceparent: fc.option(fc.string({ maxLength: 60 }), { nil: undefined }),
      withoutSchema: fc.boolean(),
      extra: fc.option(extraFields, { nil: undefined }),
      // compressed as the relay sends a large event: consumers and the archive read it all the same
      contentEncoding: fc.constantFrom(undefined, 'gzip', 'br'),
    })
    .chain((envelope) => validData(definition.type, envelope.orderId, world).map((data) => ({ envelope, data })))
    .map(({ envelope: e, data }) => {
      const body: JsonObject = {
        ...envelopeOf(definition, { ...data, ...(e.extra ?? {}) }, e.orderId, e.id, e.time),
        source: e.source,
      };
      if (e.withoutSchema) delete body['dataschema'];
      if (e.causationid !== undefined) body['causationid'] = e.causationid;
      if (e.traceparent !== undefined) body['traceparent'] = e.traceparent;
      const plain = json(body);
      return {
        family: 'valid' as const,
        type: definition.type,
        body: compressedAs(e.contentEncoding, plain) ?? plain,
        properties: {
          ...publishProps(definition, 'set-below'),
          messageId: messageIdFor(e.id),
          ...(e.contentEncoding !== undefined && { contentEncoding: e.contentEncoding }),
        },
        note: `valid: id=${JSON.stringify(e.id)} time=${e.time} source=${JSON.stringify(e.source)}${e.withoutSchema ? ' no dataschema' : ''}${e.contentEncoding ? ` ${e.contentEncoding}-compressed` : ''}`,
      };
    });
}

/** The AMQP message id of an event id (a shortstr: at most 255 bytes). */
function messageIdFor(id: string): string {
  return Buffer.byteLength(id) < 256 ? id : id.slice(0, 60);
}
