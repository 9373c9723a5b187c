import { Logger } from '@nestjs/common';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import type { ArchivedEvent, ArchiveFollower, ArchiveReader } from './archive-reader';
import type { ProjectionMetrics } from './projection-metrics';
import type { Projection, ProjectionStatus } from './projection';

interface ProjectionRow {
  position: string | null;
  events: string;
  state: 'live' | 'rebuilding';
  rebuild_position: string | null;
  rebuild_events: string;
  started_at: Date | null;
  finished_at: Date | null;
}

/** Raised inside a batch's transaction when the stored position is not where this runner left it. */
class PositionMoved extends Error {}

const LEADER_RETRY_MS = 2000;
/**
 * How long the live follower gathers events into one batch (one transaction) before it folds them: at
 * 10 orders/s, about one commit per two orders instead of one per event, for a read model that may lag
 * the events by a moment anyway.
 */
const LIVE_LINGER_MS = 250;
const POLL_MS = 500;

/**
 * Runs one projection on the replica that holds its PostgreSQL advisory lock (the others wait for
 * it): follows the archive from the stored position into the live table and, when a rebuild is asked
 * for (in the database, by any replica), folds the archive from its beginning into a fresh table,
 * then switches it in. Every batch commits its rows with its position, and checks that position
 * first, so no event is applied twice or skipped, whatever dies when.
 *
 * The switch: once the rebuild has reached the live table's position, the live follower stops (its
 * position is then fixed), the rebuild folds up to at least that position, and one transaction drops
 * the live table, renames the rebuilt one (with its indexes) into its place and moves its position to
 * the live row. Readers see the old table or the new one, each whole; the live follower then goes on
 * from the new position, so nothing published meanwhile is lost or shown twice.
 */
export class ProjectionRunner {
  private readonly logger: Logger;
  private readonly lockKey: string;
  private stopping = false;
  private running?: Promise<void>;
  private wake?: () => void;
  private readonly rebuildTable: string;
  private rebuildStartedMs?: number;

  constructor(
    readonly projection: Projection,
    private readonly db: DataSource,
    private readonly reader: ArchiveReader,
    private readonly metrics: ProjectionMetrics,
  ) {
    this.logger = new Logger(`Projection ${projection.name}`);
    this.lockKey = `messaging.projection:${projection.name}`;
    this.rebuildTable = `${projection.table}_rebuild`;
  }

  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.running;
  }

  /** Asks for a rebuild (any replica may; the leader runs it). A rebuild under way goes on. */
  async rebuild(): Promise<ProjectionStatus> {
    await this.ensureRow(this.db.manager);
    await this.db.query(
      `UPDATE messaging_projections
          SET state = 'rebuilding', rebuild_position = NULL, rebuild_events = 0, started_at = now(),
              finished_at = NULL, updated_at = now()
        WHERE name = $1 AND state = 'live'`,
      [this.projection.name],
    );
    this.wake?.();
    return this.status();
  }

  async status(): Promise<ProjectionStatus> {
    await this.ensureRow(this.db.manager);
    const row = await this.row(this.db.manager);
    const rebuilding = row.state === 'rebuilding';
    const started = row.started_at?.getTime();
    const events = Number(rebuilding ? row.rebuild_events : row.events);
    return {
      name: this.projection.name,
      state: row.state,
      position: toOffset(rebuilding ? row.rebuild_position : row.position),
      events,
      ...(rebuilding && {
        eventsPerSecond: started ? Math.round(events / Math.max((Date.now() - started) / 1000, 0.001)) : 0,
        livePosition: toOffset(row.position),
      }),
      startedAt: row.started_at?.toISOString() ?? null,
      finishedAt: row.finished_at?.toISOString() ?? null,
    };
  }

  private async run(): Promise<void> {
    let delayMs = 500;
    while (!this.stopping) {
      try {
        const led = await this.lead();
        delayMs = 500;
        if (!led) await this.sleep(LEADER_RETRY_MS);
      } catch (error) {
        if (this.stopping) break;
        this.logger.warn(`stopped (${(error as Error).message}); starting again in ${delayMs} ms`);
        await this.sleep(delayMs);
        delayMs = Math.min(delayMs * 2, 10_000);
      }
    }
  }

  /** While this replica holds the lock: the live follower, and a rebuild when one is asked for. */
  private async lead(): Promise<boolean> {
    const lock: QueryRunner = this.db.createQueryRunner();
    await lock.connect();
    try {
      const [{ locked }] = (await lock.query(`SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked`, [
        this.lockKey,
      ])) as Array<{ locked: boolean }>;
      if (!locked) return false;
      try {
        await this.follow();
      } finally {
        await lock.query(`SELECT pg_advisory_unlock(hashtextextended($1, 0))`, [this.lockKey]).catch(() => undefined);
      }
      return true;
    } finally {
      await lock.release().catch(() => undefined);
    }
  }

  private async follow(): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.ensureRow(tx);
      await this.row(tx, true);
      const [{ exists }] = (await tx.query(`SELECT to_regclass($1) IS NOT NULL AS exists`, [
        this.projection.table,
      ])) as Array<{ exists: boolean }>;
      if (exists) return;
      // A new projection, or its table dropped: fold the whole archive into a new one.
      await this.projection.createTable(tx, this.projection.table);
      await tx.query(`UPDATE messaging_projections SET position = NULL, events = 0 WHERE name = $1`, [
        this.projection.name,
      ]);
    });
    let live: ArchiveFollower | undefined;
    let rebuild: ArchiveFollower | undefined;
    let livePosition: number | null = null;
    try {
      const startLive = async () => {
        livePosition = toOffset((await this.row(this.db.manager)).position);
        live = await this.reader.follow(
          livePosition === null ? 'first' : livePosition + 1,
          async (events) => {
            livePosition = await this.applyBatch('live', livePosition, events);
          },
          { lingerMs: LIVE_LINGER_MS },
        );
      };
      await startLive();
      this.logger.log(
        `following the archive from ${livePosition === null ? 'its beginning' : `offset ${livePosition + 1}`}`,
      );

      while (!this.stopping) {
        const row = await this.row(this.db.manager);
        if (row.state === 'rebuilding' && !rebuild) {
          rebuild = await this.startRebuild(row, () => livePosition);
        }
        if (rebuild && this.rebuildReached(livePosition)) {
          // Caught up: fix the live position, let the rebuild pass it, switch.
          await live?.stop();
          live = undefined;
          const target = livePosition;
          await this.until(() => this.rebuildReached(target), rebuild.done);
          await rebuild.stop();
          rebuild = undefined;
          await this.switchIn();
          await startLive();
          continue;
        }
        await Promise.race([
          this.sleep(POLL_MS),
          (live as ArchiveFollower | undefined)?.done ?? new Promise(() => undefined),
          (rebuild as ArchiveFollower | undefined)?.done ?? new Promise(() => undefined),
        ]);
      }
    } finally {
      await (live as ArchiveFollower | undefined)?.stop();
      await (rebuild as ArchiveFollower | undefined)?.stop();
    }
  }

  private rebuildPosition: number | null = null;

  /** Whether the rebuild table holds every event the live one held at `position`. */
  private rebuildReached(position: number | null): boolean {
    return position === null || (this.rebuildPosition !== null && this.rebuildPosition >= position);
  }

  private async startRebuild(row: ProjectionRow, livePosition: () => number | null): Promise<ArchiveFollower> {
    this.rebuildPosition = toOffset(row.rebuild_position);
    if (this.rebuildPosition === null) {
      await this.db.transaction(async (tx) => {
        await tx.query(`DROP TABLE IF EXISTS ${this.rebuildTable}`);
        await this.projection.createTable(tx, this.rebuildTable);
      });
    }
    this.rebuildStartedMs = Date.now();
    this.metrics.rebuilding.set({ projection: this.projection.name }, 1);
    this.logger.log(
      `rebuilding into ${this.rebuildTable} from ${
        this.rebuildPosition === null ? 'the beginning of the archive' : `offset ${this.rebuildPosition + 1}`
      } (live table at ${livePosition() ?? 'nothing yet'})`,
    );
    let lastLog = Date.now();
    return this.reader.follow(this.rebuildPosition === null ? 'first' : this.rebuildPosition + 1, async (events) => {
      this.rebuildPosition = await this.applyBatch('rebuild', this.rebuildPosition, events);
      if (Date.now() - lastLog >= 5000) {
        lastLog = Date.now();
        const status = await this.status();
        this.logger.log(
          `rebuild at offset ${status.position} (${status.events} events, ${status.eventsPerSecond}/s; live at ${livePosition()})`,
        );
      }
    });
  }

  /**
   * One batch in one transaction: lock the row, check the position is still where this runner left
   * it, fold the events after it, move the position. Answers the new position.
   */
  private async applyBatch(
    target: 'live' | 'rebuild',
    expected: number | null,
    batch: ArchivedEvent[],
  ): Promise<number | null> {
    const last = batch[batch.length - 1].offset;
    const positionColumn = target === 'live' ? 'position' : 'rebuild_position';
    const eventsColumn = target === 'live' ? 'events' : 'rebuild_events';
    const fresh = batch.filter((item) => item.event && (expected === null || item.offset > expected));
    await this.db.transaction(async (tx) => {
      const row = await this.row(tx, true);
      const stored = toOffset(target === 'live' ? row.position : row.rebuild_position);
      if (stored !== expected || (target === 'rebuild' && row.state !== 'rebuilding')) {
        throw new PositionMoved(`${target} position moved to ${stored} (expected ${expected}): another runner?`);
      }
      if (fresh.length > 0) {
        await this.projection.apply(tx, target === 'live' ? this.projection.table : this.rebuildTable, fresh);
      }
      await tx.query(
        `UPDATE messaging_projections
            SET ${positionColumn} = $2, ${eventsColumn} = ${eventsColumn} + $3, updated_at = now()
          WHERE name = $1`,
        [this.projection.name, Math.max(last, expected ?? -1), fresh.length],
      );
    });
    this.metrics.position.set({ projection: this.projection.name, table: target }, last);
    this.metrics.events.inc({ projection: this.projection.name, table: target }, fresh.length);
    return Math.max(last, expected ?? -1);
  }

  /** Drops the live table and renames the rebuilt one, indexes included, into its place: one transaction. */
  private async switchIn(): Promise<void> {
    const { table, name } = this.projection;
    await this.db.transaction(async (tx) => {
      const row = await this.row(tx, true);
      await tx.query(`DROP TABLE IF EXISTS ${table}`);
      await tx.query(`ALTER TABLE ${this.rebuildTable} RENAME TO ${table}`);
      const indexes = (await tx.query(
        `SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1 AND indexname LIKE $2`,
        [table, `${this.rebuildTable}%`],
      )) as Array<{ indexname: string }>;
      for (const { indexname } of indexes) {
        await tx.query(`ALTER INDEX ${indexname} RENAME TO ${table}${indexname.slice(this.rebuildTable.length)}`);
      }
      await tx.query(
        `UPDATE messaging_projections
            SET position = rebuild_position, events = rebuild_events, state = 'live', rebuild_position = NULL,
                rebuild_events = 0, finished_at = now(), updated_at = now()
          WHERE name = $1`,
        [name],
      );
      const seconds = ((Date.now() - (this.rebuildStartedMs ?? Date.now())) / 1000).toFixed(1);
      this.logger.log(
        `rebuilt: ${row.rebuild_events} events up to offset ${row.rebuild_position} in ${seconds} s; switched in for ${table}`,
      );
    });
    this.rebuildPosition = null;
    this.metrics.rebuilding.set({ projection: name }, 0);
  }

  private async ensureRow(manager: EntityManager): Promise<void> {
    await manager.query(`INSERT INTO messaging_projections (name) VALUES ($1) ON CONFLICT (name) DO NOTHING`, [
      this.projection.name,
    ]);
  }

  private async row(manager: EntityManager, forUpdate = false): Promise<ProjectionRow> {
    const [row] = (await manager.query(
      `SELECT position, events, state, rebuild_position, rebuild_events, started_at, finished_at
         FROM messaging_projections WHERE name = $1${forUpdate ? ' FOR UPDATE' : ''}`,
      [this.projection.name],
    )) as ProjectionRow[];
    if (!row) throw new Error(`no row for projection ${this.projection.name}`);
    return row;
  }

  /** Resolves once `condition` holds (checked every few ms); rejects when `failed` does. */
  private async until(condition: () => boolean, failed: Promise<void>): Promise<void> {
    let stop = false;
    failed.then(
      () => (stop = true),
      () => (stop = true),
    );
    while (!condition()) {
      if (stop || this.stopping) throw new Error('the rebuild stopped before it caught up');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

function toOffset(value: string | null | undefined): number | null {
  return value === null || value === undefined ? null : Number(value);
}
