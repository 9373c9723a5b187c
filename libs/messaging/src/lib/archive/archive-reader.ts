import type { Channel, ConsumeMessage, MessageProperties } from 'amqplib';
import { decodeEvent, EVENTS, parseEnvelope, type CloudEvent, type EventRegistry } from '@shop/contracts';
import { decodePayload, DEFAULT_MAX_DECOMPRESSED_BYTES } from '../broker/payload-encoding';
import { ARCHIVE_STREAM } from './archive';

/** One event of the archive, as the broker appended it. */
export interface ArchivedEvent {
  /** Its position in the stream: offsets only grow, one per message. */
  offset: number;
  /**
   * The body as published: the CloudEvent's JSON, decompressed when it was published compressed (its
   * `properties.contentEncoding` says how). A body that does not decompress (or not within the cap)
   * is as it came, and has no `event`.
   */
  content: Buffer;
  /**
   * The event of the body as a consumer gets it (validated by its contract, upcast to the latest
   * version); undefined when the body is not an event of the contracts or, where the apps have broker
   * users of their own, its `user-id` is not its owner's (projections skip it, as consumers
   * dead-letter it).
   */
  event?: CloudEvent<unknown>;
  /** The AMQP properties as published: `messageId`, `type`, `appId`, `userId`, `headers.traceparent`, ... */
  properties: MessageProperties;
}

/** Where a reader starts: the stream's first retained message, the next one appended, or an offset. */
export type ArchiveStart = 'first' | 'next' | number;

export interface FollowOptions {
  /** Events handed over at most at once. */
  batchSize?: number;
  /** How long a batch that is not full waits for more before it is handed over. */
  lingerMs?: number;
}

/** A running `follow`: `done` settles when it stops (resolves) or its channel fails (rejects). */
export interface ArchiveFollower {
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Reads the archive stream over AMQP 0-9-1 (RabbitMQ 3.9+, no stream plugin): a consumer with
 * `x-stream-offset` on a channel of its own, a prefetch (streams require one; acks only give credit,
 * nothing is removed) and each delivery's offset in its `x-stream-offset` header. The broker starts a
 * consumer at the beginning of the chunk that holds the offset asked for, so what comes before it is
 * skipped here.
 */
export class ArchiveReader {
  constructor(
    private readonly openChannel: () => Promise<Channel>,
    private readonly registry: EventRegistry = EVENTS,
    /** Whether an event of `type` published as `userId` is its owner's; every one is without it. */
    private readonly authentic: (type: string, userId: string | undefined) => boolean = () => true,
    /** The most a compressed body may decompress to, as for the consumers. */
    private readonly maxDecompressedBytes = DEFAULT_MAX_DECOMPRESSED_BYTES,
  ) {}

  /**
   * Hands the archive from `from` on to `onBatch`, in order, one batch at a time: a batch is handed
   * over once the previous one's `onBatch` resolved, and acknowledged (credit for the next) only then.
   * Runs until `stop()`; when `onBatch` throws or the channel is lost, `done` rejects and the caller
   * starts again from what it last committed.
   */
  async follow(
    from: ArchiveStart,
    onBatch: (events: ArchivedEvent[]) => Promise<void>,
    options: FollowOptions = {},
  ): Promise<ArchiveFollower> {
    const batchSize = options.batchSize ?? 500;
    const lingerMs = options.lingerMs ?? 20;
    const channel = await this.openChannel();
    await channel.prefetch(batchSize * 2);

    let settle!: { resolve: () => void; reject: (error: Error) => void };
    const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
    done.catch(() => undefined);
    let stopped = false;
    let cancelled = false;
    let failed: Error | undefined;
    // an event with a large compressed body is decoded off the event loop: a promise, in its place
    let pending: Array<{ message: ConsumeMessage; archived: ArchivedEvent | Promise<ArchivedEvent> }> = [];
    let timer: NodeJS.Timeout | undefined;
    let chain: Promise<void> = Promise.resolve();
    const minOffset = typeof from === 'number' ? from : -1;

    const fail = (error: Error) => {
      if (stopped || failed) return;
      failed = error;
      settle.reject(error);
      void channel.close().catch(() => undefined);
    };
    const flush = () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (pending.length === 0) return;
      const batch = pending;
      pending = [];
      chain = chain.then(async () => {
        if (failed || stopped) return;
        try {
          await onBatch(await Promise.all(batch.map((item) => item.archived)));
          // after a cancel the broker knows these tags no more (an ack would close the channel)
          if (!cancelled) channel.ack(batch[batch.length - 1].message, true);
        } catch (error) {
          fail(error as Error);
        }
      });
    };

    channel.on('error', (error: Error) => fail(error));
    channel.on('close', () => fail(new Error('archive channel closed')));
    const { consumerTag } = await channel.consume(
      ARCHIVE_STREAM,
      (message) => {
        if (!message) return fail(new Error('archive consumer cancelled by the broker'));
        // the rest of the chunk before the offset asked for
        if (offsetOf(message) < minOffset) return cancelled ? undefined : channel.ack(message);
        pending.push({ message, archived: this.toArchived(message) });
        if (pending.length >= batchSize) flush();
        else timer ??= setTimeout(flush, lingerMs);
      },
      { noAck: false, arguments: { 'x-stream-offset': from } },
    );

    return {
      done,
      stop: async () => {
        if (stopped) return done.catch(() => undefined);
        cancelled = true;
        await channel.cancel(consumerTag).catch(() => undefined);
        flush();
        await chain;
        stopped = true;
        await channel.close().catch(() => undefined);
        settle.resolve();
      },
    };
  }

  /**
   * The events at `offsets`, in offset order. Offsets close to each other are read by one consumer in
   * one pass; a gap wider than `maxGap` starts a new consumer at the next offset, so one order's few
   * events are found without reading what other orders published between them. An offset the stream
   * no longer holds (retention truncated it) is left out.
   */
  async read(
    offsets: readonly number[],
    options: { maxGap?: number; timeoutMs?: number } = {},
  ): Promise<ArchivedEvent[]> {
    const maxGap = options.maxGap ?? 256;
    const timeoutMs = options.timeoutMs ?? 10_000;
    const wanted = [...new Set(offsets)].sort((a, b) => a - b);
    if (wanted.length === 0) return [];
    const runs: number[][] = [];
    for (const offset of wanted) {
      const run = runs[runs.length - 1];
      if (run && offset - run[run.length - 1] <= maxGap) run.push(offset);
      else runs.push([offset]);
    }
    const found: ArchivedEvent[] = [];
    for (const run of runs) {
      // a channel per run: what a cancelled consumer was still sent stays on its channel
      const channel = await this.openChannel();
      try {
        await channel.prefetch(Math.min(maxGap * 2, 1000));
        found.push(...(await readRun(channel, run, timeoutMs, (message) => this.toArchived(message))));
      } finally {
        await channel.close().catch(() => undefined);
      }
    }
    return found;
  }

  /**
   * The archived event of a message, its body decompressed first when it says it is compressed:
   * synchronously unless it is large (decompressed off the event loop: a promise).
   */
  private toArchived(message: ConsumeMessage): ArchivedEvent | Promise<ArchivedEvent> {
    const unreadable = (): ArchivedEvent => ({
      offset: offsetOf(message),
      content: message.content,
      event: undefined,
      properties: message.properties,
    });
    let body: Buffer | Promise<Buffer>;
    try {
      body = decodePayload(message.content, message.properties.contentEncoding, this.maxDecompressedBytes);
    } catch {
      return unreadable();
    }
    if (!(body instanceof Promise)) return toArchived(message, body, this.registry, this.authentic);
    return body.then((plain) => toArchived(message, plain, this.registry, this.authentic), unreadable);
  }
}

/** One consumer from the run's first offset until past its last. */
function readRun(
  channel: Channel,
  run: number[],
  timeoutMs: number,
  archived: (message: ConsumeMessage) => ArchivedEvent | Promise<ArchivedEvent>,
): Promise<ArchivedEvent[]> {
  const wanted = new Set(run);
  const last = run[run.length - 1];
  const found: Array<ArchivedEvent | Promise<ArchivedEvent>> = [];
  return new Promise<ArchivedEvent[]>((resolve, reject) => {
    let consumerTag: string | undefined;
    let finished = false;
    const finish = (error?: Error) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      const cancelled = consumerTag ? channel.cancel(consumerTag).then(() => undefined) : Promise.resolve();
      void cancelled.catch(() => undefined).then(() => (error ? reject(error) : resolve(Promise.all(found))));
    };
    const timer = setTimeout(
      () => finish(new Error(`archive: offsets ${run[0]}..${last} not delivered within ${timeoutMs} ms`)),
      timeoutMs,
    );
    channel
      .consume(
        ARCHIVE_STREAM,
        (message) => {
          if (!message) return finish(new Error('archive consumer cancelled by the broker'));
          // Past the end: not acknowledged, since the broker forgets the tags of a cancelled stream
          // consumer and closes the channel on an ack of one it does not know.
          if (finished) return;
          channel.ack(message);
          // only what was asked for is decoded: the rest of the chunk is passed over
          const offset = offsetOf(message);
          if (wanted.has(offset)) found.push(archived(message));
          if (offset >= last) finish();
        },
        { noAck: false, arguments: { 'x-stream-offset': run[0] } },
      )
      .then(
        (ok) => {
          consumerTag = ok.consumerTag;
          if (finished) void channel.cancel(ok.consumerTag).catch(() => undefined);
        },
        (error: Error) => finish(error),
      );
  });
}

function offsetOf(message: ConsumeMessage): number {
  return Number(message.properties.headers?.['x-stream-offset']);
}

function toArchived(
  message: ConsumeMessage,
  body: Buffer,
  registry: EventRegistry,
  authentic: (type: string, userId: string | undefined) => boolean,
): ArchivedEvent {
  const offset = offsetOf(message);
  let event: CloudEvent<unknown> | undefined;
  try {
    event = decodeEvent(parseEnvelope(body), registry).event;
    if (!authentic(event.type, message.properties.userId as string | undefined)) event = undefined;
  } catch {
    event = undefined;
  }
  return { offset, content: body, event, properties: message.properties };
}
