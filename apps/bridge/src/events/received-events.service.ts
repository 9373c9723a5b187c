import { ConflictException, Injectable, Logger, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { Outbox } from '@shop/messaging';
import { DataSource } from 'typeorm';
import type { AcceptedEvent } from './cloud-event-input';

/** How long a CloudEvent id is remembered: a producer's retry of the same POST comes well within it. */
export const DEDUPLICATION_WINDOW_DAYS = 7;

export interface Receipt {
  id: string;
  type: string;
  subject: string;
  /** The same event was accepted before: nothing new is published. */
  duplicate: boolean;
}

/**
 * Events accepted over HTTP: recorded by id and written to the outbox in one transaction, so a 202
 * is never lost (the relay publishes with confirms, retrying until the broker has it) and a retried
 * POST of the same event publishes nothing new.
 */
@Injectable()
export class ReceivedEventsService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('ReceivedEvents');
  private pruneTimer?: NodeJS.Timeout;

  constructor(
    private readonly outbox: Outbox,
    private readonly dataSource: DataSource,
  ) {}

  onModuleInit(): void {
    this.pruneTimer = setInterval(() => void this.prune().catch(() => undefined), 3600_000);
    this.pruneTimer.unref();
  }

  onApplicationShutdown(): void {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
  }

  /** 409 when the id was used before for another event (or by another producer). */
  async accept(producer: string, { event, digest }: AcceptedEvent): Promise<Receipt> {
    const receipt = { id: event.id, type: event.type, subject: event.subject };
    return this.outbox.transaction(async (tx) => {
      // A concurrent POST of the same id waits here for the first one's commit, then finds its row.
      const inserted: unknown[] = await tx.query(
        `INSERT INTO bridge_received_events (id, producer, type, digest) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO NOTHING RETURNING id`,
        [event.id, producer, event.type, digest],
      );
      if (inserted.length === 0) {
        const [earlier] = (await tx.query(`SELECT producer, digest FROM bridge_received_events WHERE id = $1`, [
          event.id,
        ])) as Array<{ producer: string; digest: string }>;
        if (earlier?.producer !== producer || earlier.digest !== digest) {
          throw new ConflictException([`id: event ${event.id} was received before with other content`]);
        }
        return { ...receipt, duplicate: true };
      }
      await this.outbox.publish(tx, event);
      return { ...receipt, duplicate: false };
    });
  }

  private async prune(): Promise<void> {
    // TypeORM answers a DELETE with [rows, affected count].
    const [, deleted] = (await this.dataSource.query(
      `DELETE FROM bridge_received_events WHERE received_at < now() - $1 * interval '1 day'`,
      [DEDUPLICATION_WINDOW_DAYS],
    )) as [unknown[], number];
    if (deleted > 0) this.logger.log(`forgot ${deleted} event id(s) older than ${DEDUPLICATION_WINDOW_DAYS} days`);
  }
}
