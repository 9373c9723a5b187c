import type { Channel } from 'amqplib';
import { PRODUCER_NAMES, type AppName } from '@shop/contracts';
import { Topology } from '../topology/topology';

/**
 * The event archive: one RabbitMQ stream bound to every app's exchange with `#`, so the broker itself
 * appends every event any app publishes, in the order the broker routed them. Retry, delay and
 * dead-letter copies go through other exchanges and are not archived; nobody publishes to the stream
 * directly. Readers consume it over AMQP 0-9-1 with `x-stream-offset` (ArchiveReader).
 */
export const ARCHIVE_STREAM = 'shop.events';

/** The apps whose broker users may read the archive (orders: audit and its projections). */
export const ARCHIVE_READERS: readonly AppName[] = ['orders'];

/** How much the stream keeps: whichever limit is reached first truncates its oldest segments. */
export interface ArchiveRetention {
  /** `x-max-length-bytes`. */
  maxBytes: number;
  /** `x-max-age`, in the broker's syntax: a number and one of Y, M, D, h, m, s (`30D`). */
  maxAge: string;
}

export const DEFAULT_ARCHIVE_RETENTION: ArchiveRetention = { maxBytes: 5_000_000_000, maxAge: '30D' };

/** The broker's `x-max-age` syntax. */
export const ARCHIVE_MAX_AGE_PATTERN = /^[1-9][0-9]*(Y|M|D|h|m|s)$/;

/**
 * Segments of 100 MB rather than the broker's 500 MB: retention drops whole segments, so smaller ones
 * keep the stream closer to its limits (a 5 GB stream would otherwise shed a tenth of itself at once).
 */
const SEGMENT_BYTES = 100_000_000;

export function archiveArguments(retention: ArchiveRetention): Record<string, unknown> {
  return {
    'x-queue-type': 'stream',
    'x-max-length-bytes': Math.min(retention.maxBytes, Number.MAX_SAFE_INTEGER),
    'x-max-age': retention.maxAge,
    'x-stream-max-segment-size-bytes': Math.min(SEGMENT_BYTES, retention.maxBytes),
  };
}

/** The stream's bindings: routing key `#` on each app's exchange. */
export function archiveBindings(): Array<{ exchange: string; routingKey: string }> {
  return PRODUCER_NAMES.map((producer) => ({ exchange: Topology.exchange(producer), routingKey: '#' }));
}

/**
 * How long `ensureArchive` waits for an archive the broker has but cannot serve yet (it is recovering
 * it after a restart, or the nodes of its replicas are down) before the setup gives up and reconnects.
 */
export const ARCHIVE_AVAILABLE_WITHIN_MS = 30_000;
const ARCHIVE_RETRY_MS = 100;

/**
 * The broker's answer for a durable queue it has but cannot serve now: after a restart it accepts
 * connections before it has recovered every queue, and answers so until it has ("home node ... of
 * durable queue ... is down or inaccessible").
 */
export function queueUnavailable(message: string | undefined): boolean {
  return !!message && /\bNOT_FOUND\b.*durable queue .* is down or inaccessible/.test(message);
}

/**
 * Makes sure the archive exists and takes what is routed to it, before the first publish, as
 * `declareTopology` does for another app's exchange: an existing stream is left as it is (its retention
 * then changes through a policy, not by redeclaring); a missing one is declared and bound, which the app
 * can only do where its user may (the broker's definitions create it for least-privilege users).
 *
 * A stream the broker has but has not recovered yet after a restart is waited for (up to `availableWithinMs`,
 * then this throws and the connection is set up again): RabbitMQ routes a publish to the exchanges'
 * other queues meanwhile and confirms it, without the stream storing it, so events published then would
 * be missing from the archive for good (seen with 3.10: 50 to 700 confirmed events of a burst right
 * after a restart, broker-recovery.int-spec.ts). Each attempt runs on a channel of its own, since a
 * refused check or declaration closes its channel. Answers whether the archive exists afterwards.
 */
export async function ensureArchive(
  openChannel: () => Promise<Channel>,
  retention: ArchiveRetention,
  availableWithinMs = ARCHIVE_AVAILABLE_WITHIN_MS,
): Promise<{
  exists: boolean;
  declared: boolean;
  error?: string;
  /** How long it waited for the broker to recover the archive, when it did. */
  waitedMs?: number;
}> {
  const started = Date.now();
  let waited = false;
  for (;;) {
    const check = await openChannel();
    let refusal: string | undefined;
    check.on('error', (error: Error) => (refusal ??= error.message));
    try {
      await check.checkQueue(ARCHIVE_STREAM);
      await check.close().catch(() => undefined);
      return { exists: true, declared: false, ...(waited && { waitedMs: Date.now() - started }) };
    } catch (error) {
      // 404 (missing, or not recovered yet) or 403 (not ours to see): the broker closed the channel
      refusal ??= (error as Error).message;
    }
    if (!queueUnavailable(refusal)) break;
    const waitedMs = Date.now() - started;
    if (waitedMs >= availableWithinMs) {
      throw new Error(`the event archive ${ARCHIVE_STREAM} is still unavailable after ${waitedMs} ms: ${refusal}`);
    }
    waited = true;
    await new Promise((resolve) => setTimeout(resolve, ARCHIVE_RETRY_MS));
  }
  const declare = await openChannel();
  declare.on('error', () => undefined);
  try {
    await declare.assertQueue(ARCHIVE_STREAM, { durable: true, arguments: archiveArguments(retention) });
    for (const { exchange } of archiveBindings()) {
      await declare.assertExchange(exchange, 'topic', { durable: true });
      await declare.bindQueue(ARCHIVE_STREAM, exchange, '#');
    }
    return { exists: true, declared: true };
  } catch (error) {
    return { exists: false, declared: false, error: (error as Error).message };
  } finally {
    await declare.close().catch(() => undefined);
  }
}
