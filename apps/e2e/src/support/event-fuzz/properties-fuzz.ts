import { EVENTS, type EventDefinition } from '@shop/contracts';
import type { Options } from 'amqplib';
import * as fc from 'fast-check';
import { FUZZ_SEQ_HEADER } from './dead-letter-headers';
import type { FuzzMessage, FuzzWorld, Json } from './fuzz-message';
import { compressedAs, envelopeOf, eventTime, json, publishProps, uuid } from './message-parts';
import { nearValidData } from './near-valid-data';
import { preview } from './preview';

/** AMQP field-table values of every kind amqplib encodes, the odd numbers included. */
const headerValue: fc.LetrecValue<{ value: Json; leaf: Json }> = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.double().map((value) => ({ '!': 'double', value })),
    fc.float().map((value) => ({ '!': 'float', value })),
    fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }).map((value) => ({ '!': 'long', value: Number(value) })),
    fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }).map((value) => ({ '!': 'timestamp', value })),
    fc
      .record({ places: fc.integer({ min: 0, max: 255 }), digits: fc.nat() })
      .map((value) => ({ '!': 'decimal', value })),
    fc.uint8Array({ maxLength: 32 }).map((bytes) => Buffer.from(bytes)),
  ),
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    tie('leaf'),
    fc.array(tie('value'), { maxLength: 3 }),
    // no `!` key: amqplib reads `{ '!': type, value }` as a typed value
    fc.dictionary(
      fc.string({ minLength: 1, maxLength: 10 }).filter((key) => key !== '!'),
      tie('value'),
      { maxKeys: 3 },
    ),
  ),
}));

/** Header names the broker gives a meaning to (sender-selected distribution) or the fuzzer needs. */
const RESERVED_HEADERS = new Set(['CC', 'BCC', FUZZ_SEQ_HEADER]);

const headerName = fc.oneof(
  fc.string({ minLength: 1, maxLength: 24 }),
  // Not x-death and the like: the broker itself reads those when it dead-letters, and it is shared.
  fc.constantFrom(
    'x-original-exchange',
    'x-original-routing-key',
    'x-original-user-id',
    'x-consumer-queue',
    'x-dead-letter-reason',
    'x-exception-message',
    'shop-delay-ms',
    'tracestate',
    '__proto__',
    'constructor',
  ),
);

const shortString = fc.string({ unit: 'binary', maxLength: 60 });

/** (d) a near-valid message with random AMQP properties and headers. */
export function propertiesFuzz(definition: EventDefinition, world: FuzzWorld): fc.Arbitrary<FuzzMessage> {
  const headers = fc
    .record(
      {
        random: fc.dictionary(headerName, headerValue.value, { maxKeys: 5 }),
        attempt: fc.oneof(
          fc.constantFrom(0, -1, 1.5, 2 ** 31 - 1, 99, '3', 'many', '', null, true, [2], { n: 2 }),
          fc.double().map((value) => ({ '!': 'double', value })),
          fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        ),
        traceparent: fc.oneof(
          fc.constantFrom(
            '',
            'garbage',
            '00-00000000000000000000000000000000-0000000000000000-01',
            'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
            '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
            '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01',
            42,
            null,
          ),
          fc.string({ maxLength: 80 }),
          fc.uint8Array({ maxLength: 55 }).map((b) => Buffer.from(b)),
        ),
      },
      { requiredKeys: ['random'] },
    )
    .map(({ random, attempt, traceparent }) => {
      const result: Record<string, Json> = {};
      for (const [key, value] of Object.entries(random)) {
        // defineProperty: a `__proto__` header is a header, not a prototype
        if (!RESERVED_HEADERS.has(key)) Object.defineProperty(result, key, { value, enumerable: true, writable: true });
      }
      if (attempt !== undefined) result['x-attempt'] = attempt;
      if (traceparent !== undefined) result['traceparent'] = traceparent;
      return result;
    });
  const property = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { freq: 2, nil: undefined });
  const properties = fc.record({
    headers,
    contentType: property(
      fc.oneof(
        fc.constantFrom(
          'application/json',
          'text/plain',
          'application/cloudevents+json; charset=utf-16',
          '',
          'application/octet-stream',
        ),
        shortString,
      ),
    ),
    contentEncoding: property(
      fc.oneof(fc.constantFrom('gzip', 'br', 'x-gzip', 'GZIP', 'identity', 'base64', 'utf-16', ''), shortString),
    ),
    messageId: property(fc.oneof(fc.constantFrom(''), shortString)),
    type: property(fc.oneof(fc.constantFrom(...EVENTS.all.map((e) => e.type)), shortString)),
    appId: property(shortString),
    correlationId: property(shortString),
    replyTo: property(shortString),
    priority: property(fc.integer({ min: 0, max: 255 })),
    timestamp: property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
  });
  return fc
    .tuple(nearValidData(definition, world), uuid(), eventTime, properties, fc.boolean(), fc.boolean())
    .map(([{ data, orderId, note }, id, time, props, keepId, compress]) => {
      const publish: Options.Publish = { ...publishProps(definition, id) };
      for (const [key, value] of Object.entries(props)) {
        if (value !== undefined) (publish as Record<string, unknown>)[key] = value;
      }
      if (keepId && props.messageId !== undefined) publish.messageId = id;
      const body = json(envelopeOf(definition, data, orderId, id, time));
      // half the time a body said to be compressed is (then its data is what the consumer judges)
      const compressed = compress ? compressedAs(publish.contentEncoding, body) : undefined;
      return {
        family: 'properties' as const,
        type: definition.type,
        body: compressed ?? body,
        properties: publish,
        note: `${describeProperties(publish)}${compressed ? ' (body compressed so)' : ''} | ${note}`,
      };
    });
}

function describeProperties(props: Options.Publish): string {
  const parts = Object.entries(props)
    .filter(([key]) => key !== 'headers')
    .map(([key, value]) => `${key}=${preview(value, 30)}`);
  const headers = Object.entries(props.headers ?? {}).map(([key, value]) => `${key}:${preview(value, 30)}`);
  return `props{${parts.join(', ')}} headers{${headers.join(', ')}}`;
}
