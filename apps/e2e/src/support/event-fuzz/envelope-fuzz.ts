import { EVENTS, dataSchemaUri, type EventDefinition } from '@shop/contracts';
import * as fc from 'fast-check';
import type { FuzzMessage, FuzzWorld, Json, JsonObject } from './fuzz-message';
import { envelopeOf, eventTime, json, publishProps, uuid } from './message-parts';
import { extraFields, nearValidData } from './near-valid-data';
import { preview } from './preview';
import { validData } from './valid-event-data';

interface EnvelopeMutation {
  note: string;
  apply(envelope: JsonObject): Json;
}

const set =
  (key: string, value: Json) =>
  (envelope: JsonObject): Json => {
    envelope[key] = value;
    return envelope;
  };
const drop =
  (key: string) =>
  (envelope: JsonObject): Json => {
    delete envelope[key];
    return envelope;
  };

/** One change to the envelope (many of them invalidating). */
function envelopeMutation(definition: EventDefinition): fc.Arbitrary<EnvelopeMutation> {
  const type = definition.type;
  const sameOwner = EVENTS.ownedBy(definition.producer)
    .map((e) => e.type)
    .filter((t) => t !== type);
  const otherOwner = EVENTS.all.filter((e) => e.producer !== definition.producer).map((e) => e.type);
  const m = (note: string, apply: (envelope: JsonObject) => Json): EnvelopeMutation => ({ note, apply });
  const field = (key: string, values: fc.Arbitrary<Json>) =>
    values.map((value) => m(`${key}=${preview(value)}`, set(key, value)));
  return fc.oneof(
    fc.constantFrom(
      ...['specversion', 'id', 'source', 'type', 'time', 'subject', 'datacontenttype', 'dataschema', 'data'].map(
        (key) => m(`no ${key}`, drop(key)),
      ),
    ),
    field('specversion', fc.constantFrom('0.3', '1', '1.0 ', '2.0', '', 1, 1.0, null, ['1.0'])),
    field('id', fc.oneof(fc.constantFrom('', 42, null, {}, true), fc.string({ maxLength: 20 }))),
    field('source', fc.oneof(fc.constantFrom('', null, 7, 'urn:shop:nobody'), fc.string({ maxLength: 30 }))),
    {
      weight: 2,
      arbitrary: field(
        'type',
        fc.constantFrom('order.exploded', type.toUpperCase(), `${type}.v2`, ` ${type}`, `${type}\u0000`, 'constructor'),
      ),
    },
    field('type', fc.constantFrom('', 42, null, ...(sameOwner.length ? sameOwner : [type]), ...otherOwner)),
    field(
      'time',
      fc.oneof(
        fc.constantFrom(
          'yesterday',
          '',
          '2024-13-01T00:00:00Z',
          '2024-02-30T00:00:00Z',
          '2024-01-01T00:00:00',
          '2024-01-01',
          '2024-01-01T25:00:00Z',
          1700000000000,
          null,
        ),
        eventTime,
      ),
    ),
    field('subject', fc.oneof(fc.constantFrom('', 42, null, 'not-an-order'), uuid())),
    field(
      'datacontenttype',
      fc.constantFrom('text/plain', 'application/xml', 'application/json; charset=utf-8', '', null, 1),
    ),
    {
      weight: 3,
      arbitrary: field(
        'dataschema',
        fc.constantFrom(
          dataSchemaUri(type, 99),
          dataSchemaUri(type, definition.version + 1),
          dataSchemaUri(type, 999_999_999),
          dataSchemaUri(type, 0),
          dataSchemaUri(type, 1_000_000_000),
          `urn:shop:events:${type}:v01`,
          `urn:shop:events:${type}:v-1`,
          `urn:shop:events:${type}:v1.5`,
          `urn:shop:events:${type === 'order.placed' ? 'order.confirmed' : 'order.placed'}:v1`,
          `https://schemas.example/${type}.json`,
          '',
          null,
          99,
        ),
      ),
    },
    field('causationid', fc.constantFrom('', 1, null, {})),
    field('traceparent', fc.constantFrom(1, null, [], '00-zz-zz-zz', '')),
    field('tracestate', fc.constantFrom(1, null, {}, 'a=b')),
    extraFields.map((extra) =>
      m(`+${Object.keys(extra).length} extra envelope field(s)`, (envelope) => ({ ...envelope, ...extra })),
    ),
    fc.constantFrom(
      m('envelope in an array', (envelope) => [envelope]),
      m('envelope wrapped', (envelope) => ({ event: envelope })),
      m('envelope as a JSON string', (envelope) => JSON.stringify(envelope)),
    ),
  );
}

/** (b) odd envelopes, around valid or near-valid data. */
export function envelopeFuzz(definition: EventDefinition, world: FuzzWorld): fc.Arbitrary<FuzzMessage> {
  const validOrNear = fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .constantFrom(...world.orderIds)
        .chain((orderId) =>
          validData(definition.type, orderId, world).map((data) => ({ data, orderId, note: 'valid data' })),
        ),
    },
    { weight: 1, arbitrary: nearValidData(definition, world) },
  );
  // A valid event of another type under this routing key: another owner's (unauthenticated-producer),
  // or its owner's other type (unexpected-type for a queue bound to this one).
  const others = EVENTS.all.filter((e) => e.type !== definition.type);
  const retyped = fc
    .tuple(fc.constantFrom(...others), fc.constantFrom(...world.orderIds), uuid(), eventTime)
    .chain(([other, orderId, id, time]) =>
      validData(other.type, orderId, world).map((data) => ({
        family: 'envelope' as const,
        type: definition.type,
        body: json(envelopeOf(other, data, orderId, id, time)),
        properties: publishProps(definition, id),
        note: `a valid ${other.type} (owned by ${other.producer}) as ${definition.type}`,
      })),
    );
  const mutated = fc
    .tuple(validOrNear, fc.array(envelopeMutation(definition), { minLength: 1, maxLength: 2 }), uuid(), eventTime)
    .map(([{ data, orderId, note }, mutations, id, time]) => {
      let envelope: Json = envelopeOf(definition, data, orderId, id, time);
      for (const mutation of mutations) {
        if (envelope === null || typeof envelope !== 'object' || Array.isArray(envelope)) break;
        envelope = mutation.apply(envelope as JsonObject);
      }
      return {
        family: 'envelope' as const,
        type: definition.type,
        body: json(envelope),
        properties: publishProps(definition, id),
        note: `${mutations.map((m) => m.note).join('; ')} | ${note}`,
      };
    });
  return fc.oneof({ weight: 3, arbitrary: mutated }, { weight: 1, arbitrary: retyped });
}
