import { brotliCompressSync, gzipSync } from 'node:zlib';
import { dataSchemaUri, type EventDefinition } from '@shop/contracts';
import type { Options } from 'amqplib';
import * as fc from 'fast-check';
import type { Json, JsonObject } from './fuzz-message';

// The parts every family of fuzzed messages is built from, as the producers build them.

/** A random event id. */
export const uuid = () => fc.uuid({ version: 4 });

/** An event time between 2020 and 2030, as a producer writes it. */
export const eventTime = fc
  .date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2030-01-01T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString());

/** The CloudEvents envelope the producer of `definition` would send around `data`. */
export function envelopeOf(
  definition: EventDefinition,
  data: Json,
  subject: Json,
  id: string,
  time: string,
): JsonObject {
  return {
    specversion: '1.0',
    id,
    source: `urn:shop:${definition.producer}`,
    type: definition.type,
    time,
    subject,
    datacontenttype: 'application/json',
    dataschema: dataSchemaUri(definition.type, definition.version),
    data,
  };
}

/** The AMQP properties the producer sets, but `userId` and `persistent`. */
export const publishProps = (definition: EventDefinition, id: string): Options.Publish => ({
  messageId: id,
  type: definition.type,
  appId: definition.producer,
  contentType: 'application/cloudevents+json',
});

/** The body of a JSON value. */
export const json = (value: Json): Buffer => Buffer.from(JSON.stringify(value) ?? 'undefined', 'utf8');

/**
 * `body` compressed as a `content-encoding` says, when it names a compression consumers read (gzip,
 * x-gzip or br, in any case), as @shop/messaging's relay compresses a large event; undefined otherwise.
 */
export function compressedAs(contentEncoding: unknown, body: Buffer): Buffer | undefined {
  const coding = typeof contentEncoding === 'string' ? contentEncoding.toLowerCase() : undefined;
  if (coding === 'gzip' || coding === 'x-gzip') return gzipSync(body);
  if (coding === 'br') return brotliCompressSync(body);
  return undefined;
}
