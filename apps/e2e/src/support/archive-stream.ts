import type { CloudEvent } from '@shop/contracts';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { connect, type MessageProperties } from 'amqplib';

/** The event archive: the stream every app's exchange is bound to. */
export const ARCHIVE_STREAM = 'shop.events';

export interface ArchiveEntry {
  offset: number;
  /** The body, decompressed when it was (a large event) and parsed: the CloudEvent as published. */
  event: CloudEvent<Record<string, unknown>> & { [extension: string]: unknown };
  /** The message's AMQP properties as the broker stored them (app-id, timestamp, the publish's traceparent header). */
  properties: MessageProperties;
}

/**
 * Reads the archive from its first offset over AMQP 0-9-1 (`x-stream-offset: first`), as `url`'s user,
 * handing each entry to `take` until it answers false or nothing more arrives for `idleMs`. Bodies that
 * are not JSON objects are passed over.
 */
export async function readArchive(
  url: string,
  take: (entry: ArchiveEntry) => boolean | void,
  idleMs = 1000,
): Promise<void> {
  const connection = await connect(url);
  try {
    const channel = await connection.createChannel();
    await channel.prefetch(2000);
    let last = Date.now();
    let done = false;
    await channel.consume(
      ARCHIVE_STREAM,
      (message) => {
        if (!message || done) return;
        channel.ack(message);
        last = Date.now();
        const event = eventOf(message.content, message.properties.contentEncoding);
        if (!event) return;
        const entry = {
          offset: Number(message.properties.headers?.['x-stream-offset']),
          event,
          properties: message.properties,
        };
        if (take(entry) === false) done = true;
      },
      { noAck: false, arguments: { 'x-stream-offset': 'first' } },
    );
    while (!done && Date.now() - last < idleMs) await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/**
 * The CloudEvent of an archived body; undefined for a body that is no JSON object (a poison message a
 * test published to an exchange is archived too): such an entry is passed over, not a reader's crash.
 */
function eventOf(content: Buffer, contentEncoding: unknown): ArchiveEntry['event'] | undefined {
  try {
    const parsed: unknown = JSON.parse(plain(content, contentEncoding));
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as ArchiveEntry['event'])
      : undefined;
  } catch {
    return undefined;
  }
}

/** A body as the relay compressed it (a large event: gzip or br in `contentEncoding`), as text. */
function plain(content: Buffer, contentEncoding: unknown): string {
  const coding = typeof contentEncoding === 'string' ? contentEncoding.toLowerCase() : '';
  if (coding === 'gzip' || coding === 'x-gzip') return gunzipSync(content).toString('utf8');
  if (coding === 'br') return brotliDecompressSync(content).toString('utf8');
  return content.toString('utf8');
}
