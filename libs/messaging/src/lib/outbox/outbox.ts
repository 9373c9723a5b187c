import type { DataSource, EntityManager, EntitySubscriberInterface, QueryRunner } from 'typeorm';
import { eventJson, publisherOf, type AppName, type CloudEvent, type EventRegistry } from '@shop/contracts';
import {
  activeSpanContext,
  contextOf,
  inSpan,
  messagingAttributes,
  otelContext,
  SemConv,
  SpanKind,
  startSpan,
  traceparentOf,
} from '../tracing/otel';
import { TraceContext } from '@shop/tracing';
import type { OutboxRow } from './outbox-relay';
import { preparedQuery } from '../sql/prepared';
import type { GroupCommit } from '../consume/group-commit';

const PENDING = Symbol.for('shop.messaging.outbox-pending');

/** A row written in a transaction not committed yet, and the nesting level (savepoint) that wrote it. */
interface Pending {
  row: OutboxRow;
  depth: number;
}

const INSERT_OUTBOX_ROW = {
  name: 'shop_messaging_outbox_insert',
  text: `INSERT INTO messaging_outbox (id, exchange, routing_key, body, subject, traceparent, tracestate, next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, clock_timestamp() + $8 * interval '1 millisecond')`,
};

/**
 * The transactional outbox: an event is written in the same database transaction as the business
 * change that caused it, and the relay publishes it once that transaction has committed.
 */
export class Outbox {
  /**
   * @param leaseMs how long the committing process has to publish its rows itself before any relay
   *   (another replica's, or its own after a restart) may take them over.
   */
  constructor(
    private readonly dataSource: DataSource,
    private readonly app: AppName,
    private readonly registry: EventRegistry,
    private readonly onCommitted: (rows: OutboxRow[]) => void,
    private readonly leaseMs = 10_000,
    /** Shares one commit among handlers' transactions that wait for a lane (`grouped`); unset: none. */
    private readonly groups?: GroupCommit,
  ) {
    // Hand the rows to the relay right after any transaction that wrote to the outbox commits: no
    // polling lag, whether the transaction came from `Outbox.transaction`, `EventContext.transaction`
    // or the app's own.
    // A nested transaction (TypeORM's savepoints: `tx.transaction(...)` inside one) commits nothing: its
    // rows wait for the outermost COMMIT; rolled back to its savepoint, it drops its own rows only.
    const subscriber: EntitySubscriberInterface = {
      afterTransactionCommit: ({ queryRunner }) => {
        if (queryRunner.isTransactionActive) return releasePending(queryRunner);
        const rows = takePending(queryRunner, 0);
        if (rows.length > 0) this.onCommitted(rows);
      },
      afterTransactionRollback: ({ queryRunner }) => {
        takePending(queryRunner, queryRunner.isTransactionActive ? depthOf(queryRunner) : 0);
      },
    };
    dataSource.subscribers.push(subscriber);
  }

  /**
   * Runs `work` in a transaction (a span when tracing); events it publishes go out once it commits.
   * `grouped` (a handler's, whose work may run again: GroupCommit): the transaction may be shared with
   * other handlers' when the database is busy, one commit for all; `key`, its subject, orders a group.
   */
  transaction<T>(work: (tx: EntityManager) => Promise<T>, options?: { grouped?: { key: string } }): Promise<T> {
    const groups = options?.grouped ? this.groups : undefined;
    const key = options?.grouped?.key;
    const run = () => (groups ? groups.run(work, key) : this.dataSource.transaction(work));
    // Inside a traced request or handler only: periodic sweeps start no trace of their own.
    if (!activeSpanContext()) return run();
    const database = (this.dataSource.options as { database?: string }).database ?? this.dataSource.driver.database;
    const span = startSpan(
      'transaction',
      SpanKind.INTERNAL,
      () => otelContext.active(),
      () => ({ [SemConv.dbSystem]: 'postgresql', ...(database ? { [SemConv.dbNamespace]: database } : {}) }),
    );
    return inSpan(span, run);
  }

  /**
   * Adds an event to the outbox inside the caller's transaction. It continues the current trace
   * (a child span of the consumed event or HTTP request) and records the consumed event as its cause.
   */
  async publish(tx: EntityManager, event: CloudEvent): Promise<void> {
    const queryRunner = tx.queryRunner;
    if (!queryRunner?.isTransactionActive) {
      throw new Error('Outbox.publish needs the EntityManager of an open transaction');
    }
    const row = outboxRow(this.registry, this.app, event);
    await preparedQuery(tx, INSERT_OUTBOX_ROW, [
      row.id,
      row.exchange,
      row.routing_key,
      row.body,
      row.subject,
      row.traceparent,
      row.tracestate,
      this.leaseMs,
    ]);
    const data = queryRunner.data as Record<symbol, Pending[] | undefined>;
    (data[PENDING] ??= []).push({ row, depth: depthOf(queryRunner) });
  }
}

/**
 * The row `Outbox.publish` writes for `event`: the producer checked against the contracts, the
 * "create" span of the message (child of the request or handler, parent of its publish), the trace
 * context and causation stamped from the current scope, the CloudEvent serialized. Exported so that
 * the messaging benchmark builds exactly what production builds.
 */
export function outboxRow(registry: EventRegistry, app: AppName, event: CloudEvent): OutboxRow {
  const definition = registry.find(event.type);
  if (!definition) throw new Error(`unknown event type "${event.type}"`);
  // An app publishes its own events; the bridge those of the HTTP producers it authenticated.
  if (publisherOf(definition.producer) !== app) {
    throw new Error(`${app} may not publish ${event.type}: it belongs to ${definition.producer}`);
  }
  const scope = TraceContext.current();
  const span = startSpan(
    `create ${definition.producer}`,
    SpanKind.PRODUCER,
    () => parentContext(scope?.traceparent),
    () =>
      messagingAttributes(
        { type: 'create', name: 'create' },
        { exchange: definition.producer, routingKey: definition.type, id: event.id, orderId: event.subject },
        { [SemConv.cloudEventId]: event.id, [SemConv.cloudEventType]: event.type },
      ),
  );
  const traceparent = event.traceparent ?? traceparentOf(span, scope?.traceparent);
  span?.end();
  const tracestate = event.tracestate ?? scope?.tracestate;
  const causationid = event.causationid ?? scope?.causationId;
  // Field by field in the order `create` gives them: a spread copy costs more than the JSON text.
  const stamped: CloudEvent = {
    specversion: event.specversion,
    id: event.id,
    source: event.source,
    type: event.type,
    time: event.time,
    subject: event.subject,
    datacontenttype: event.datacontenttype,
    dataschema: event.dataschema,
    data: event.data,
  };
  if (causationid) stamped.causationid = causationid;
  stamped.traceparent = traceparent;
  if (tracestate) stamped.tracestate = tracestate;
  return {
    id: stamped.id,
    exchange: definition.producer,
    routing_key: definition.type,
    body: eventJson(stamped),
    subject: stamped.subject,
    traceparent,
    tracestate: tracestate ?? null,
    created_at: new Date(), // the message's timestamp; the row's own comes from the database
    attempts: 0,
  };
}

/** The active span (a traced request or handler), else the span the scope's traceparent names. */
function parentContext(traceparent: string | undefined) {
  return activeSpanContext() ? otelContext.active() : contextOf(traceparent);
}

/** Takes the pending rows written deeper than `depth` (0: all, the outermost transaction ended). */
function takePending(queryRunner: QueryRunner, depth: number): OutboxRow[] {
  const data = queryRunner.data as Record<symbol, Pending[] | undefined> | undefined;
  const pending = data?.[PENDING];
  if (!data || !pending) return [];
  const kept = pending.filter((entry) => entry.depth <= depth);
  if (kept.length > 0) data[PENDING] = kept;
  else delete data[PENDING];
  return pending.filter((entry) => entry.depth > depth).map((entry) => entry.row);
}

/** A savepoint released: its rows are the enclosing transaction's now, rolled back with it if it is. */
function releasePending(queryRunner: QueryRunner): void {
  const pending = (queryRunner.data as Record<symbol, Pending[] | undefined> | undefined)?.[PENDING];
  const depth = depthOf(queryRunner);
  for (const entry of pending ?? []) entry.depth = Math.min(entry.depth, depth);
}

/** How deep the runner's transactions are nested now (1: the outermost), as TypeORM counts its savepoints. */
function depthOf(queryRunner: QueryRunner): number {
  return (queryRunner as unknown as { transactionDepth?: number }).transactionDepth ?? 1;
}
