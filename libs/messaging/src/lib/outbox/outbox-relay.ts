import { Logger } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { CLOUDEVENTS_CONTENT_TYPE } from '@shop/contracts';
import { ConfirmPublisher, NotConnectedError, UnroutableError } from '../broker/confirm-publisher';

interface OutboxRow {
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
}

/**
 * Publishes committed outbox rows with publisher confirms and deletes them once confirmed.
 * Rows are claimed with FOR UPDATE SKIP LOCKED, so any number of replicas can relay side by side;
 * a row whose publish fails stays, with a growing delay before its next attempt.
 */
export class OutboxRelay {
  private readonly logger = new Logger('OutboxRelay');
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private stopped = true;

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

  /** Publish what is due now; coalesces with a run already under way. */
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

  /** Stop polling, and publish what is left once more (bounded by the caller's timeout). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.stopped = true;
    await this.running;
    if (this.publisher.connected && this.dataSource.isInitialized) await this.drain();
  }

  /** Resolves when nothing is due any more (tests, shutdown). */
  async flush(): Promise<void> {
    await this.running;
    await this.drain();
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
    return this.dataSource.transaction(async (tx) => {
      const rows: OutboxRow[] = await tx.query(
        `SELECT id, exchange, routing_key, body, subject, traceparent, tracestate, created_at, attempts
           FROM messaging_outbox
          WHERE next_attempt_at <= clock_timestamp()
          ORDER BY created_at
          LIMIT $1
          FOR UPDATE SKIP LOCKED`,
        [this.options.batchSize],
      );
      if (rows.length === 0) return { claimed: 0, published: 0 };

      const results = await Promise.allSettled(rows.map((row) => this.publish(row)));
      const confirmed = rows.filter((_, i) => results[i].status === 'fulfilled').map((row) => row.id);
      if (confirmed.length > 0) {
        await tx.query(`DELETE FROM messaging_outbox WHERE id = ANY($1::uuid[])`, [confirmed]);
      }
      for (const [i, result] of results.entries()) {
        if (result.status === 'fulfilled') continue;
        const row = rows[i];
        const error = result.reason as Error;
        const backoff = Math.min(1000 * 2 ** row.attempts, this.options.maxBackoffMs);
        await tx.query(
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
      return { claimed: rows.length, published: confirmed.length };
    });
  }

  private async publish(row: OutboxRow): Promise<void> {
    try {
      await this.send(row);
    } catch (error) {
      if (error instanceof UnroutableError && this.options.unroutableAllowed.includes(row.routing_key)) return;
      throw error;
    }
  }

  private send(row: OutboxRow): Promise<void> {
    return this.publisher.publish(row.exchange, row.routing_key, Buffer.from(row.body, 'utf8'), {
      messageId: row.id,
      type: row.routing_key,
      appId: this.options.app,
      correlationId: row.subject,
      contentType: CLOUDEVENTS_CONTENT_TYPE,
      contentEncoding: 'utf-8',
      timestamp: Math.floor(new Date(row.created_at).getTime() / 1000),
      headers: {
        ...(row.traceparent ? { traceparent: row.traceparent } : {}),
        ...(row.tracestate ? { tracestate: row.tracestate } : {}),
      },
    });
  }
}
