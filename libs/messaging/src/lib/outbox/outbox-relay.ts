import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { CLOUDEVENTS_CONTENT_TYPE } from '@shop/contracts';
import type { MessagingMetrics } from '../metrics/messaging-metrics';
import {
  contextOf,
  failSpan,
  formatSpanContext,
  messagingAttributes,
  SemConv,
  SpanKind,
  startSpan,
} from '../tracing/otel';
import { preparedQuery, preparedQueryOn } from '../sql/prepared';
import { ConfirmPublisher, NotConnectedError, UnroutableError, type PublishOptions } from '../broker/confirm-publisher';
import {
  encodePayload,
  PLAIN_ENCODING,
  type CompressionOptions,
  type EncodedPayload,
} from '../broker/payload-encoding';

export interface OutboxRow {
  id: string;
  exchange: string;
  routing_key: string;
  body: string;
  subject: string;
  traceparent: string | null;
  tracestate: string | null;
  created_at: Date;
  attempts: number;
}

export interface RelayOptions {
  app: string;
  pollIntervalMs: number;
  batchSize: number;
  maxBackoffMs: number;
  unroutableAllowed: string[];
  /** Confirmed rows wait this long to be deleted together (at once when DELETE_BATCH wait); 0: at once. */
  deleteDelayMs?: number;
  metrics?: MessagingMetrics;
  /** Bodies larger than its `minBytes` go compressed; none when undefined. */
  compression?: CompressionOptions;
}

type Executor = Pick<DataSource, 'query'>;

const DELETE_OUTBOX_ROWS = {
  name: 'shop_messaging_outbox_delete',
  text: `DELETE FROM messaging_outbox WHERE id = ANY($1::uuid[])`,
};

/** Due rows, oldest first, but those this process holds (`$2`: handed to the broker, not deleted yet). */
const CLAIM_OUTBOX_ROWS = {
  name: 'shop_messaging_outbox_claim',
  text: `SELECT id, exchange, routing_key, body, subject, traceparent, tracestate, created_at, attempts
           FROM messaging_outbox
          WHERE next_attempt_at <= clock_timestamp() AND id <> ALL($2::uuid[])
          ORDER BY created_at
          LIMIT $1
          FOR UPDATE SKIP LOCKED`,
};

/** Confirmed rows that are deleted at once, without waiting for `deleteDelayMs`. */
const DELETE_BATCH = 500;

/**
 * Publishes committed outbox rows with publisher confirms and deletes them once confirmed.
 *
 * Fast path: the process that committed a row publishes it right after the commit, from memory, and
 * deletes it once confirmed, with the others confirmed within `deleteDelayMs` in one statement: no
 * claim transaction between the commit and the broker, and one DELETE commit for many events.
 * The row was written with a lease (`next_attempt_at` in the future), so no other relay takes it
 * meanwhile.
 *
 * Safety net: a poll (and every kick) claims due rows with FOR UPDATE SKIP LOCKED, so any number of
 * replicas can relay side by side: rows whose lease ran out (their process died between commit and
 * publish) and rows whose publish failed, each with a growing delay before its next attempt.
 *
 * A row this process has handed to the broker is its own until deleted, lease or no lease: the poll
 * skips it while its confirm is awaited (a broker that answers late) and while its DELETE waits to be
 * retried (a database that refused it); a published row is sent again only when its process died
 * before deleting it (consumers drop the repeat).
 */
export class OutboxRelay {
  private readonly logger = new Logger('OutboxRelay');
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = true;
  /** Rows committed by this process, published on the next turn of the event loop. */
  private committed: OutboxRow[] = [];
  private committedFlush?: NodeJS.Immediate;
  private readonly publishing = new Set<Promise<void>>();
  private confirmed: string[] = [];
  private deleting?: Promise<boolean>;
  private deleteTimer?: NodeJS.Timeout;
  /** Rows handed to the broker and not deleted yet (in flight, or confirmed): never claimed by the poll. */
  private readonly held = new Set<string>();
  /** DELETEs refused in a row: the next attempt waits for a backoff that grows with them. */
  private deleteFailures = 0;

  constructor(
    private readonly dataSource: DataSource,
    private readonly publisher: ConfirmPublisher,
    private readonly options: RelayOptions,
  ) {}

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.kick(), this.options.pollIntervalMs);
    this.timer.unref();
    this.kick();
  }

  /** Claim and publish what is due now; coalesces with a run already under way. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  /**
   * Rows this process has just committed (still under their lease): published on the next turn of the
   * event loop, all of one turn together.
   */
  publishCommitted(rows: OutboxRow[]): void {
    for (const row of rows) this.held.add(row.id);
    this.committed.push(...rows);
    this.committedFlush ??= setImmediate(() => this.publishPending());
  }

  private publishPending(): void {
    if (this.committedFlush) clearImmediate(this.committedFlush);
    this.committedFlush = undefined;
    const batch = this.committed;
    this.committed = [];
    if (batch.length === 0) return;
    const work = this.publishOwn(batch);
    this.publishing.add(work);
    void work.finally(() => this.publishing.delete(work));
  }

  /** Stop polling, and publish what is left once more (bounded by the caller's timeout). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.stopped = true;
    await this.settleOwn();
    await this.running;
    if (this.publisher.connected && this.dataSource.isInitialized) await this.drain();
  }

  /** Resolves when nothing is due any more (tests, shutdown). */
  async flush(): Promise<void> {
    await this.settleOwn();
    await this.running;
    await this.drain();
  }

  /**
   * Waits for this process's own rows: published (or handed to the safety net) and deleted, or one
   * DELETE refused (a database outage: they are published again after their lease).
   */
  private async settleOwn(): Promise<void> {
    this.publishPending();
    while (this.publishing.size > 0) await Promise.allSettled([...this.publishing]);
    while (this.deleting || this.confirmed.length > 0) {
      if (!(await this.flushDeletes())) break;
    }
  }

  private async publishOwn(rows: OutboxRow[]): Promise<void> {
    const errors = await this.publishAll(rows);
    const failed: Array<[OutboxRow, Error]> = [];
    for (const [i, error] of errors.entries()) {
      if (error === undefined) this.confirmed.push(rows[i].id);
      else failed.push([rows[i], error]);
    }
    // Not published: the safety net's (this process's poll's too) to publish again.
    for (const [row] of failed) this.held.delete(row.id);
    try {
      // Due again after a backoff instead of after the lease.
      for (const [row, error] of failed) await this.reschedule(this.dataSource, row, error);
    } catch (err) {
      this.logger.warn(`outbox rows left for the poll after their lease: ${(err as Error).message}`);
    }
    this.scheduleDeletes();
  }

  /**
   * The confirmed rows are deleted after `deleteDelayMs`, together with those confirmed meanwhile;
   * after a refused DELETE, after a backoff instead.
   */
  private scheduleDeletes(): void {
    const delay = this.deleteFailures
      ? Math.min(100 * 2 ** this.deleteFailures, this.options.maxBackoffMs)
      : (this.options.deleteDelayMs ?? 0);
    if (delay <= 0 || (this.confirmed.length >= DELETE_BATCH && !this.deleteFailures)) {
      void this.flushDeletes();
      return;
    }
    if (this.deleteTimer || this.confirmed.length === 0) return;
    this.deleteTimer = setTimeout(() => {
      this.deleteTimer = undefined;
      void this.flushDeletes();
    }, delay);
    this.deleteTimer.unref();
  }

  /**
   * Deletes confirmed rows now, many in one statement (one DELETE at a time). Resolves with whether
   * the database took the DELETEs.
   */
  private flushDeletes(): Promise<boolean> {
    if (this.deleteTimer) {
      clearTimeout(this.deleteTimer);
      this.deleteTimer = undefined;
    }
    if (!this.deleting && this.confirmed.length > 0) {
      this.deleting = this.deleteConfirmed().finally(() => {
        this.deleting = undefined;
        if (this.confirmed.length > 0) this.scheduleDeletes();
      });
    }
    return this.deleting ?? Promise.resolve(true);
  }

  private async deleteConfirmed(): Promise<boolean> {
    while (this.confirmed.length > 0) {
      const ids = this.confirmed.splice(0, 2 * DELETE_BATCH);
      try {
        await preparedQueryOn(this.dataSource, DELETE_OUTBOX_ROWS, [ids]);
      } catch (err) {
        // Published, not deleted: kept (and skipped by the poll) until a DELETE is taken, not sent again.
        this.confirmed.unshift(...ids);
        if (this.deleteFailures++ === 0) {
          this.logger.warn(`could not delete published outbox rows, retrying: ${(err as Error).message}`);
        }
        return false;
      }
      for (const id of ids) this.held.delete(id);
      this.deleteFailures = 0;
      // what was confirmed meanwhile waits for its own batch, unless a batch is full already
      if (this.confirmed.length < DELETE_BATCH) break;
    }
    return true;
  }

  private async drain(): Promise<void> {
    try {
      while (this.publisher.connected) {
        const { claimed, published } = await this.relayBatch();
        if (claimed < this.options.batchSize || published === 0) break;
      }
    } catch (err) {
      this.logger.warn(`outbox relay paused: ${(err as Error).message}`);
    }
  }

  private relayBatch(): Promise<{ claimed: number; published: number }> {
    let confirmed: string[] = [];
    return this.dataSource
      .transaction(async (tx) => {
        const rows: OutboxRow[] = await preparedQuery(tx, CLAIM_OUTBOX_ROWS, [this.options.batchSize, [...this.held]]);
        if (rows.length === 0) return { claimed: 0, published: 0 };

        const errors = await this.publishAll(rows);
        confirmed = rows.filter((_, i) => errors[i] === undefined).map((row) => row.id);
        if (confirmed.length > 0) {
          await preparedQuery(tx, DELETE_OUTBOX_ROWS, [confirmed]);
        }
        for (const [i, error] of errors.entries()) {
          if (error !== undefined) await this.reschedule(tx, rows[i], error);
        }
        return { claimed: rows.length, published: confirmed.length };
      })
      .catch((error: unknown) => {
        // Published, and the transaction that was to delete them failed: deleted as the fast path's are.
        if (confirmed.length > 0) {
          for (const id of confirmed) this.held.add(id);
          this.confirmed.push(...confirmed);
          this.scheduleDeletes();
        }
        throw error;
      });
  }

  /** A failed publish: the row is due again after a backoff that grows with its attempts. */
  private async reschedule(executor: Executor, row: OutboxRow, error: Error): Promise<void> {
    const backoff =
      error instanceof NotConnectedError ? 0 : Math.min(1000 * 2 ** row.attempts, this.options.maxBackoffMs);
    await executor.query(
      `UPDATE messaging_outbox
          SET attempts = attempts + 1, last_error = $2,
              next_attempt_at = clock_timestamp() + $3 * interval '1 millisecond'
        WHERE id = $1`,
      [row.id, error.message, backoff],
    );
    if (error instanceof UnroutableError) {
      this.logger.warn(`event ${row.id} (${row.routing_key}) is unroutable, kept in the outbox: ${error.message}`);
    } else if (!(error instanceof NotConnectedError)) {
      this.logger.warn(`event ${row.id} (${row.routing_key}) not confirmed, will retry: ${error.message}`);
    }
  }

  /**
   * Publishes `rows` in their order and resolves, once the broker answered for each, with each one's
   * error (undefined: confirmed). One promise for the batch, none per row.
   */
  private publishAll(rows: OutboxRow[]): Promise<Array<Error | undefined>> {
    return new Promise((resolve) => {
      const errors = new Array<Error | undefined>(rows.length);
      let waiting = rows.length;
      if (waiting === 0) return resolve(errors);
      rows.forEach((row, i) =>
        // appId names the producer: the app itself, or the HTTP producer the bridge publishes for.
        publishRow(this.publisher, row, row.exchange, this.options.metrics, this.options.compression, (error) => {
          if (error && !(error instanceof UnroutableError && this.options.unroutableAllowed.includes(row.routing_key)))
            errors[i] = error;
          if (--waiting === 0) resolve(errors);
        }),
      );
    });
  }
}

/**
 * One publish of an outbox row, as the relay does it: a "publish" span (child of the event's "create"
 * span) from the write to the confirm, the row's body as UTF-8 with `relayProperties`, through the
 * ConfirmPublisher; `done()` once confirmed, `done(error)` when not. A body larger than
 * `compression.minBytes` goes compressed (a large one compressed off the event loop, still published in
 * call order). No promise per message on the plain path. Exported so that the messaging benchmark
 * publishes exactly what production does.
 */
export function publishRow(
  publisher: ConfirmPublisher,
  row: RelayedRow & Pick<OutboxRow, 'exchange'>,
  app: string,
  metrics: MessagingMetrics | undefined,
  compression: CompressionOptions | undefined,
  done: (error?: Error) => void,
): void {
  const span = startSpan(
    `publish ${row.exchange}`,
    SpanKind.PRODUCER,
    () => contextOf(row.traceparent ?? undefined),
    () =>
      messagingAttributes(
        { type: 'send', name: 'publish' },
        { exchange: row.exchange, routingKey: row.routing_key, id: row.id, orderId: row.subject },
        { [SemConv.bodySize]: Buffer.byteLength(row.body) },
      ),
  );
  // Consumers continue the trace from the publish (the header); the event keeps its creation's.
  const traceparent = span?.isRecording() ? formatSpanContext(span.spanContext()) : row.traceparent;
  const counted = metrics?.publishCounters(row.exchange, row.routing_key);
  counted?.published.inc();
  const answered = (failure?: unknown) => {
    if (failure === undefined) {
      counted?.confirmed.inc();
      span?.end();
      return done();
    }
    const error = failure instanceof Error ? failure : new Error(String(failure));
    const reason =
      error instanceof UnroutableError ? 'unroutable' : error instanceof NotConnectedError ? 'disconnected' : 'nacked';
    metrics?.publishFailed.inc({ exchange: row.exchange, event_type: row.routing_key, reason });
    failSpan(span, error);
    done(error);
  };
  // What is sent: the body as it is, compressed now, or compressed off the event loop.
  let content: Buffer;
  let options: PublishOptions;
  let prepared: Promise<{ content: Buffer; options: PublishOptions }> | undefined;
  try {
    content = Buffer.from(row.body, 'utf8');
    options = relayProperties(traceparent === row.traceparent ? row : { ...row, traceparent }, app);
    if (compression && content.length > compression.minBytes) {
      const plain = options;
      const message = (payload: EncodedPayload) => {
        if (payload.savedBytes > 0) {
          counted?.compressed.inc();
          counted?.compressionSavedBytes.inc(payload.savedBytes);
        }
        return { content: payload.content, options: { ...plain, contentEncoding: payload.contentEncoding } };
      };
      const encoded = encodePayload(content, compression);
      if (encoded instanceof Promise) prepared = encoded.then(message);
      else ({ content, options } = message(encoded));
    }
  } catch (error) {
    return answered(error);
  }
  if (prepared) {
    publisher.publishPrepared(row.exchange, row.routing_key, prepared).then(() => answered(), answered);
  } else {
    publisher.publishThen(row.exchange, row.routing_key, content, options, answered);
  }
}

/** The columns of an outbox row that make up the message the relay publishes. */
export type RelayedRow = Pick<
  OutboxRow,
  'id' | 'routing_key' | 'body' | 'subject' | 'traceparent' | 'tracestate' | 'created_at'
>;

/**
 * The AMQP properties the relay publishes an outbox row with (the body is the row's `body`, UTF-8,
 * unless `publishRow` compressed it: then its `contentEncoding` is `gzip` or `br`).
 * Exported so that the messaging benchmark publishes exactly what production publishes.
 */
export function relayProperties(row: RelayedRow, app: string): PublishOptions {
  return {
    messageId: row.id,
    type: row.routing_key,
    appId: app,
    correlationId: row.subject,
    contentType: CLOUDEVENTS_CONTENT_TYPE,
    contentEncoding: PLAIN_ENCODING,
    timestamp: Math.floor(new Date(row.created_at).getTime() / 1000),
    headers: traceHeaders(row.traceparent, row.tracestate),
  };
}

/** The W3C trace context headers of a message: an object literal of one shape per case, not a spread. */
function traceHeaders(traceparent: string | null, tracestate: string | null): Record<string, string> {
  if (traceparent && tracestate) return { traceparent, tracestate };
  if (traceparent) return { traceparent };
  return tracestate ? { tracestate } : {};
}
