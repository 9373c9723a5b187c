import type { CloudEvent } from '@shop/contracts';
import { connect } from 'amqplib';

/** The event archive: the stream every app's exchange is bound to. */
export const ARCHIVE_STREAM = 'shop.events';

export interface ArchiveEntry {
  offset: number;
  /** The body, parsed: the CloudEvent as published. */
  event: CloudEvent<Record<string, unknown>> & { [extension: string]: unknown };
}

/**
 * Reads the archive from its first offset over AMQP 0-9-1 (`x-stream-offset: first`), as `url`'s user,
 * handing each entry to `take` until it answers false or nothing more arrives for `idleMs`.
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
        const entry = {
          offset: Number(message.properties.headers?.['x-stream-offset']),
          event: JSON.parse(message.content.toString('utf8')) as ArchiveEntry['event'],
        };
        channel.ack(message);
        last = Date.now();
        if (take(entry) === false) done = true;
      },
      { noAck: false, arguments: { 'x-stream-offset': 'first' } },
    );
    while (!done && Date.now() - last < idleMs) await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    await connection.close().catch(() => undefined);
  }
}
