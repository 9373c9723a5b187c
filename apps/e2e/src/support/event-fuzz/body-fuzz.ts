import type { EventDefinition } from '@shop/contracts';
import * as fc from 'fast-check';
import type { FuzzMessage, FuzzWorld, JsonObject } from './fuzz-message';
import { envelopeOf, eventTime, json, publishProps, uuid } from './message-parts';
import { preview } from './preview';
import { validData } from './valid-event-data';

/** (c) bodies that are no envelope at all: bytes, text, JSON that is no object, deep, large. */
export function bodyFuzz(definition: EventDefinition, world: FuzzWorld): fc.Arbitrary<FuzzMessage> {
  const valid = (orderId: string, id: string, time: string) =>
    validData(definition.type, orderId, world).map((data) => envelopeOf(definition, data, orderId, id, time));
  const body: fc.Arbitrary<{ body: Buffer; note: string }> = fc.oneof(
    fc
      .uint8Array({ maxLength: 2048 })
      .map((bytes) => ({ body: Buffer.from(bytes), note: `${bytes.length} random bytes` })),
    fc
      .string({ unit: 'binary', maxLength: 300 })
      .map((text) => ({ body: Buffer.from(text, 'utf8'), note: `text ${preview(text)}` })),
    fc
      .constantFrom(
        '',
        ' ',
        'null',
        'true',
        '0',
        '-1',
        '"order.placed"',
        '[]',
        '{}',
        '{"specversion":"1.0"}',
        'NaN',
        '{"a":1}{"b":2}',
      )
      .map((text) => ({ body: Buffer.from(text), note: `JSON-ish ${JSON.stringify(text)}` })),
    fc
      .jsonValue({ maxDepth: 3 })
      .filter((value) => value === null || typeof value !== 'object' || Array.isArray(value))
      .map((value) => ({ body: json(value), note: `JSON non-object ${preview(value)}` })),
    fc.integer({ min: 500, max: 20_000 }).map((depth) => ({
      body: Buffer.from(`${'['.repeat(depth)}${']'.repeat(depth)}`),
      note: `array nested ${depth} deep`,
    })),
    fc
      .tuple(fc.constantFrom(...world.orderIds), uuid(), eventTime, fc.integer({ min: 200, max: 5_000 }))
      .map(([orderId, id, time, depth]) => {
        let nested = '{}';
        for (let i = 0; i < depth; i++) nested = `{"a":${nested}}`;
        const envelope = JSON.stringify(envelopeOf(definition, '__DATA__', orderId, id, time));
        return {
          body: Buffer.from(envelope.replace('"__DATA__"', nested)),
          note: `data nested ${depth} deep`,
        };
      }),
    fc
      .tuple(fc.constantFrom(...world.orderIds), uuid(), eventTime, fc.integer({ min: 90_000, max: 120_000 }))
      .chain(([orderId, id, time, size]) =>
        valid(orderId, id, time).map((envelope) => {
          const data = envelope['data'] as JsonObject;
          const huge = { ...envelope, data: { ...data, orderId: 'f'.repeat(size) } };
          return { body: json(huge), note: `large body (${size} B orderId)` };
        }),
      ),
    fc.tuple(fc.constantFrom(...world.orderIds), uuid(), eventTime, fc.nat()).chain(([orderId, id, time, cut]) =>
      valid(orderId, id, time).map((envelope) => {
        const text = JSON.stringify(envelope);
        return { body: Buffer.from(text.slice(0, cut % text.length)), note: `valid event cut at ${cut % text.length}` };
      }),
    ),
    fc
      .tuple(
        fc.constantFrom(...world.orderIds),
        uuid(),
        eventTime,
        fc.constantFrom('utf16le', 'latin1', 'base64', 'hex', 'bom', 'trailing', 'nul'),
      )
      .chain(([orderId, id, time, encoding]) =>
        valid(orderId, id, time).map((envelope) => {
          const text = JSON.stringify(envelope);
          const body =
            encoding === 'bom'
              ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)])
              : encoding === 'trailing'
                ? Buffer.from(`${text} garbage`)
                : encoding === 'nul'
                  ? Buffer.from(`${text}\u0000`)
                  : encoding === 'utf16le' || encoding === 'latin1'
                    ? Buffer.from(text.replace('"specversion"', '"spécversion"'), encoding)
                    : Buffer.from(Buffer.from(text).toString(encoding));
          return { body, note: `valid event as ${encoding}` };
        }),
      ),
  );
  return fc.tuple(body, uuid()).map(([{ body, note }, id]) => ({
    family: 'body' as const,
    type: definition.type,
    body,
    properties: publishProps(definition, id),
    note,
  }));
}
