import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  brotliDecompressSync,
  createBrotliCompress,
  createGzip,
  constants as zlib,
  gunzipSync,
  gzipSync,
} from 'node:zlib';
import { Controller, Injectable } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import type { GetMessage } from 'amqplib';
import { parseEnvelope, serializeEvent, type CloudEvent } from '@shop/contracts';
import { createTestDatabase, createTestVhost, waitFor, type TestBroker, type TestDatabase } from '@shop/testing';
import {
  ConsumeEvent,
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  MessagingHeaders,
  type ArchivedEvent,
  type EventOf,
} from '../src';
import { MAX_CONCURRENT_DECOMPRESSIONS } from '../src/lib/broker/payload-encoding';
import { RawBroker, startApp, type RunningApp } from './support/harness';
import { LARGE_EVENT_REGISTRY, largeOrderData, LargeOrderPlaced } from './support/large-order';

const MiB = 2 ** 20;
const QUEUE = 'orders.large-orders';
const DLQ = `${QUEUE}.dlq`;
/**
 * The most the test process (which hosts the consumer) may grow while its consumer refuses six zip
 * bombs: a decompression holds at most the cap (16 MiB, all zlib may produce before it stops), and the
 * library decompresses at most 4 large bodies at once off the event loop, and one small one on it:
 * 80 MiB; plus 48 MiB for everything else the process does meanwhile (the bombs in amqplib's frames
 * and in the dead-letter copies, GC lag). Expanded, one gzip bomb alone would take 2 GiB.
 */
const BOMB_MEMORY_BOUND = (MAX_CONCURRENT_DECOMPRESSIONS + 1) * DEFAULT_MAX_DECOMPRESSED_BYTES + 48 * MiB;

@Injectable()
class Received {
  readonly events = new Map<string, EventOf<typeof LargeOrderPlaced>>();
  wait(id: string): Promise<EventOf<typeof LargeOrderPlaced>> {
    return waitFor(() => this.events.get(id), { timeoutMs: 20_000, description: `event ${id} handled` });
  }
}

@Controller()
class TakeLargeOrders {
  constructor(private readonly received: Received) {}

  @ConsumeEvent(LargeOrderPlaced, { queue: QUEUE, retry: { maxAttempts: 1 } })
  handle(@Payload() event: EventOf<typeof LargeOrderPlaced>): void {
    this.received.events.set(event.id, event);
  }
}

/** `make` (a zlib compressor) fed `bytes` zeros, streaming: the expanded bytes are never held. */
async function bomb(bytes: number, make: () => NodeJS.ReadWriteStream): Promise<Buffer> {
  const zeros = Buffer.alloc(MiB);
  const source = Readable.from(
    (function* () {
      for (let left = bytes; left > 0; left -= zeros.length) yield zeros;
    })(),
  );
  const parts: Buffer[] = [];
  for await (const part of source.pipe(make())) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** The peak growth of the process's memory while `work` runs, sampled every 2 ms. */
async function peakGrowth(work: () => Promise<unknown>): Promise<{ rss: number; arrayBuffers: number }> {
  const before = process.memoryUsage();
  const peak = { rss: before.rss, arrayBuffers: before.arrayBuffers };
  const sample = () => {
    const now = process.memoryUsage();
    peak.rss = Math.max(peak.rss, now.rss);
    peak.arrayBuffers = Math.max(peak.arrayBuffers, now.arrayBuffers);
  };
  const timer = setInterval(sample, 2);
  try {
    await work();
  } finally {
    clearInterval(timer);
    sample();
  }
  return { rss: peak.rss - before.rss, arrayBuffers: peak.arrayBuffers - before.arrayBuffers };
}

const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

describe('payload compression', () => {
  let broker: TestBroker;
  let database: TestDatabase;
  let brotliDatabase: TestDatabase;
  let raw: RawBroker;
  /** Publishes with the defaults (gzip over 8 KiB) and consumes QUEUE. */
  let orders: RunningApp;
  /** Publishes with brotli; consumes nothing. */
  let brotliOrders: RunningApp;
  let received: Received;
  let tap: string;
  /** The 1 MiB event of the first test: the archive reads it back in the last. */
  let large: CloudEvent;

  beforeAll(async () => {
    [broker, database, brotliDatabase] = await Promise.all([
      createTestVhost('compression'),
      createTestDatabase('compression'),
      createTestDatabase('compression-br'),
    ]);
    orders = await startApp({
      app: 'orders',
      brokerUrl: broker.url,
      databaseUrl: database.url,
      handlers: [TakeLargeOrders],
      providers: [Received],
      messaging: { registry: LARGE_EVENT_REGISTRY },
    });
    received = orders.module.get(Received);
    brotliOrders = await startApp({
      app: 'orders',
      brokerUrl: broker.url,
      databaseUrl: brotliDatabase.url,
      messaging: { registry: LARGE_EVENT_REGISTRY, compression: { encoding: 'br' } },
    });
    raw = await RawBroker.open(broker.url);
    tap = await raw.tap('orders', LargeOrderPlaced.type);
  }, 60_000);

  afterAll(async () => {
    await orders?.close();
    await brotliOrders?.close();
    await raw?.close();
    await Promise.all([broker?.delete(), database?.drop(), brotliDatabase?.drop()]);
  });

  /** The next message on the tap queue. */
  const tapped = () =>
    waitFor(
      async () => {
        const [message] = await raw.drain(tap);
        return message;
      },
      { timeoutMs: 20_000, description: 'a message on the tap queue' },
    );

  const publish = (app: RunningApp, event: CloudEvent) => app.outbox.transaction((tx) => app.outbox.publish(tx, event));

  const deadLetters = (count: number) =>
    waitFor(async () => ((await raw.messageCount(DLQ)) >= count ? raw.drain(DLQ) : undefined), {
      timeoutMs: 20_000,
      description: `${count} message(s) in ${DLQ}`,
    });

  const header = (message: GetMessage, name: string) => message.properties.headers?.[name];

  const counter = async (name: 'compressed' | 'compressionSavedBytes') =>
    (await orders.messaging.metrics[name].get()).values.reduce((sum, sample) => sum + sample.value, 0);

  it('publishes a 1 MiB event gzip-compressed, and the consumer gets it intact', async () => {
    large = LargeOrderPlaced.create(largeOrderData(MiB, randomUUID()));
    const [compressedBefore, savedBefore] = [await counter('compressed'), await counter('compressionSavedBytes')];
    await publish(orders, large);

    const message = await tapped();
    expect(message.properties).toMatchObject({ contentEncoding: 'gzip', messageId: large.id, type: large.type });
    const plain = gunzipSync(message.content);
    expect(plain.length).toBeGreaterThan(MiB);
    expect(message.content.length).toBeLessThan(plain.length / 4);
    // the CloudEvent inside is what the outbox holds (the event, its trace stamped)
    const onWire = parseEnvelope(plain);
    expect(onWire).toMatchObject({ id: large.id, data: large.data });
    // confirmed, so the row goes (its delete is batched: a moment after the confirm)
    await waitFor(
      async () => (await orders.dataSource.query(`SELECT count(*)::int AS n FROM messaging_outbox`))[0].n === 0,
      { description: 'the outbox row deleted' },
    );

    const handled = await received.wait(large.id);
    expect(handled.data).toEqual(large.data);
    expect(handled).toEqual({ ...large, traceparent: onWire.traceparent });
    expect(await counter('compressed')).toBe(compressedBefore + 1);
    expect(await counter('compressionSavedBytes')).toBe(savedBefore + plain.length - message.content.length);
    console.log(
      `1 MiB event: ${plain.length} bytes of JSON, ${message.content.length} bytes of gzip on the wire ` +
        `(${(plain.length / message.content.length).toFixed(1)}x)`,
    );
  });

  it('publishes a 1 KB event plain', async () => {
    const small = LargeOrderPlaced.create(largeOrderData(1000, randomUUID()));
    await publish(orders, small);
    const message = await tapped();
    expect(message.properties.contentEncoding).toBe('utf-8');
    expect(message.content.length).toBeLessThan(2048); // ~1 KB of data in its envelope
    expect(parseEnvelope(message.content)).toMatchObject({ id: small.id, data: small.data });
    expect((await received.wait(small.id)).data).toEqual(small.data);
  });

  it('publishes with brotli when configured, and the consumer (configured for gzip) reads it all the same', async () => {
    const event = LargeOrderPlaced.create(largeOrderData(256 * 1024, randomUUID()));
    await publish(brotliOrders, event);
    const message = await tapped();
    expect(message.properties.contentEncoding).toBe('br');
    const plain = brotliDecompressSync(message.content);
    expect(message.content.length).toBeLessThan(plain.length / 4);
    expect((await received.wait(event.id)).data).toEqual(event.data);
  });

  it('dead-letters a corrupt gzip body and an unknown encoding as undecompressable, and keeps consuming', async () => {
    await raw.drain(DLQ);
    const event = LargeOrderPlaced.create(largeOrderData(20_000, randomUUID()));
    const plain = serializeEvent(event);
    const properties = { type: event.type, appId: 'orders' };
    await raw.publish('orders', event.type, plain, { ...properties, messageId: 'corrupt', contentEncoding: 'gzip' });
    await raw.publish('orders', event.type, plain, { ...properties, messageId: 'unknown', contentEncoding: 'zstd' });
    await raw.publish('orders', event.type, plain, { ...properties, messageId: event.id });

    expect((await received.wait(event.id)).data).toEqual(event.data);
    const letters = await deadLetters(2);
    const byId = Object.fromEntries(letters.map((letter) => [String(letter.properties.messageId), letter]));
    for (const [id, encoding, error] of [
      [
        'corrupt',
        'gzip',
        /gzip body of \d+ bytes \(content-encoding "gzip"\) does not decompress: incorrect header check/,
      ],
      ['unknown', 'zstd', /content-encoding "zstd" is not one this consumer reads/],
    ] as const) {
      const letter = byId[id];
      expect(header(letter, MessagingHeaders.reason)).toBe('undecompressable');
      expect(String(header(letter, MessagingHeaders.error))).toMatch(error);
      expect(header(letter, MessagingHeaders.errorType)).toBe('UndecompressableError');
      // the copy is the message as it came: the same bytes, the same content-encoding
      expect(letter.properties.contentEncoding).toBe(encoding);
      expect(letter.content.equals(plain)).toBe(true);
    }
    expect(received.events.has('corrupt') || received.events.has('unknown')).toBe(false);
  });

  it('lists a compressed dead letter decompressed, and says when one does not decompress', async () => {
    await raw.drain(DLQ);
    const event = LargeOrderPlaced.create(largeOrderData(20_000, randomUUID()));
    // valid gzip of an event whose data breaks its schema: dead-lettered after decompression
    const invalid = { ...event, id: 'schema-invalid', data: { ...event.data, lines: [] } };
    const properties = { type: event.type, appId: 'orders' };
    await raw.publish('orders', event.type, gzipSync(serializeEvent(invalid)), {
      ...properties,
      messageId: invalid.id,
      contentEncoding: 'gzip',
    });
    await raw.publish('orders', event.type, serializeEvent(event), {
      ...properties,
      messageId: 'corrupt',
      contentEncoding: 'br',
    });
    await waitFor(async () => (await raw.messageCount(DLQ)) === 2, { description: 'both dead-lettered' });
    const listed = await orders.messaging.deadLetters().list({ queue: QUEUE });
    expect(listed).toEqual([
      expect.objectContaining({
        messageId: 'schema-invalid',
        reason: 'schema-invalid',
        body: expect.objectContaining({ id: 'schema-invalid', data: invalid.data }),
      }),
      expect.objectContaining({
        messageId: 'corrupt',
        reason: 'undecompressable',
        body: expect.stringMatching(/^\[brotli body of \d+ bytes \(content-encoding "br"\) does not decompress/),
      }),
    ]);
    await raw.drain(DLQ);
  });

  it(`refuses zip bombs (2 GiB of zeros in ~2 MiB of gzip, 4 of them; 1 GiB in 2 KiB of brotli, 2) without growing past ${mib(BOMB_MEMORY_BOUND)}`, async () => {
    await raw.drain(DLQ);
    const gzipBomb = await bomb(2 * 2 ** 30, () => createGzip({ level: 9 }));
    const brotliBomb = await bomb(2 ** 30, () => createBrotliCompress({ params: { [zlib.BROTLI_PARAM_QUALITY]: 5 } }));
    expect(gzipBomb.length).toBeLessThan(2.5 * MiB);
    expect(brotliBomb.length).toBeLessThan(16 * 1024);
    const after = LargeOrderPlaced.create(largeOrderData(50_000, randomUUID()));

    const bombs = [
      ...[1, 2, 3, 4].map((n) => ({ id: `gzip-bomb-${n}`, content: gzipBomb, contentEncoding: 'gzip' })),
      ...[1, 2].map((n) => ({ id: `br-bomb-${n}`, content: brotliBomb, contentEncoding: 'br' })),
    ];
    const growth = await peakGrowth(async () => {
      for (const { id, content, contentEncoding } of bombs) {
        await raw.publish('orders', LargeOrderPlaced.type, content, {
          type: LargeOrderPlaced.type,
          appId: 'orders',
          messageId: id,
          contentEncoding,
        });
      }
      await publish(orders, after);
      await received.wait(after.id);
      await waitFor(async () => (await raw.messageCount(DLQ)) === bombs.length, {
        timeoutMs: 30_000,
        description: 'every bomb dead-lettered',
      });
    });
    console.log(
      `zip bombs refused: the consumer's process grew at most ${mib(growth.rss)} (rss), ` +
        `${mib(growth.arrayBuffers)} (arrayBuffers); bound ${mib(BOMB_MEMORY_BOUND)}`,
    );
    expect(growth.rss).toBeLessThan(BOMB_MEMORY_BOUND);
    expect(growth.arrayBuffers).toBeLessThan(BOMB_MEMORY_BOUND);

    const letters = await raw.drain(DLQ);
    expect(letters.map((letter) => letter.properties.messageId).sort()).toEqual(bombs.map(({ id }) => id).sort());
    for (const letter of letters) {
      expect(header(letter, MessagingHeaders.reason)).toBe('undecompressable');
      expect(String(header(letter, MessagingHeaders.error))).toMatch(
        /decompresses to more than the cap of 16777216 bytes \(16 MiB\): refused, not expanded further/,
      );
    }
    expect(letters.find((letter) => letter.properties.messageId === 'gzip-bomb-1')?.content.equals(gzipBomb)).toBe(
      true,
    );
  }, 90_000);

  it('reads a compressed event back from the archive intact (and a bomb there as no event)', async () => {
    const found = new Map<string, ArchivedEvent>();
    const follower = await orders.messaging.archive.follow('first', async (batch) => {
      for (const archived of batch) found.set(String(archived.properties.messageId), archived);
    });
    try {
      await waitFor(() => found.has(large.id) && found.has('gzip-bomb-1'), {
        timeoutMs: 30_000,
        description: 'the 1 MiB event and the bomb read from the archive',
      });
    } finally {
      await follower.stop();
    }
    const archived = found.get(large.id) as ArchivedEvent;
    expect(archived.properties.contentEncoding).toBe('gzip');
    expect(archived.event?.data).toEqual(large.data);
    expect(parseEnvelope(archived.content)).toEqual(archived.event);
    const refused = found.get('gzip-bomb-1') as ArchivedEvent;
    expect(refused.event).toBeUndefined();

    const [read] = await orders.messaging.archive.read([archived.offset]);
    expect(read.event?.data).toEqual(large.data);
  }, 60_000);
});
