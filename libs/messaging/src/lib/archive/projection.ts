import type { EntityManager } from 'typeorm';
import type { ArchivedEvent } from './archive-reader';

/**
 * A read model folded from the archive. The runner hands it each archived event once, in stream
 * order, in batches; each batch is applied in one transaction together with the projection's
 * position, so the table always holds exactly the events up to its position (no inbox needed).
 *
 * A rebuild creates a fresh table with `createTable(tx, '<table>_rebuild')`, folds the archive into it
 * from the beginning, and switches it in for `table` once it has caught up. Name the table's indexes
 * and constraints after the table name you are given (`${table}_pkey`, `${table}_by_order`): the
 * switch renames them with the table.
 */
export interface Projection {
  /** Stable name: the key of its position, and of `/admin/projections/{name}`. */
  readonly name: string;
  /** The table the app reads. */
  readonly table: string;
  /** Creates an empty table named `table` with the read model's columns and indexes. */
  createTable(tx: EntityManager, table: string): Promise<void>;
  /** Folds `events` (never empty, ascending offsets, each with its CloudEvent) into `table`. */
  apply(tx: EntityManager, table: string, events: ArchivedEvent[]): Promise<void>;
}

/** What `GET /admin/projections/{name}` answers. */
export interface ProjectionStatus {
  name: string;
  state: 'live' | 'rebuilding';
  /** Offset of the last archived event folded into the table being served (live) or built (rebuilding). */
  position: number | null;
  /** Events folded into that table since it was started. */
  events: number;
  /** While rebuilding: events folded per second since the rebuild started. */
  eventsPerSecond?: number;
  /** While rebuilding: where the live table is, which the rebuild must reach before the switch. */
  livePosition?: number | null;
  startedAt: string | null;
  finishedAt: string | null;
}
