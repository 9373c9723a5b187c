import type { DataSource, EntityManager, EntitySubscriberInterface, QueryRunner } from 'typeorm';
import { childTraceparent, type AppName, type CloudEvent, type EventRegistry, serializeEvent } from '@shop/contracts';
import { TraceContext } from '../tracing/trace-context';

const PENDING = Symbol.for('shop.messaging.outbox-pending');

/**
 * The transactional outbox: an event is written in the same database transaction as the business
 * change that caused it, and the relay publishes it once that transaction has committed.
 */
export class Outbox {
  constructor(
    private readonly dataSource: DataSource,
    private readonly app: AppName,
    private readonly registry: EventRegistry,
    private readonly onCommitted: () => void,
  ) {
    // Kick the relay right after any transaction that wrote to the outbox commits: no polling lag,
    // whether the transaction came from `Outbox.transaction`, `EventContext.transaction` or the app's own.
    const subscriber: EntitySubscriberInterface = {
      afterTransactionCommit: ({ queryRunner }) => {
        if (takePending(queryRunner)) this.onCommitted();
      },
      afterTransactionRollback: ({ queryRunner }) => {
        takePending(queryRunner);
      },
    };
    dataSource.subscribers.push(subscriber);
  }

  /** Runs `work` in a transaction; events it publishes go out once it commits. */
  transaction<T>(work: (tx: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
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
    const definition = this.registry.find(event.type);
    if (!definition) throw new Error(`unknown event type "${event.type}"`);
    if (definition.producer !== this.app) {
      throw new Error(`${this.app} may not publish ${event.type}: it belongs to ${definition.producer}`);
    }
    const scope = TraceContext.current();
    const stamped: CloudEvent = {
      ...event,
      traceparent: event.traceparent ?? childTraceparent(scope?.traceparent),
      ...((event.tracestate ?? scope?.tracestate) ? { tracestate: event.tracestate ?? scope?.tracestate } : {}),
      ...((event.causationid ?? scope?.causationId) ? { causationid: event.causationid ?? scope?.causationId } : {}),
    };
    await tx.query(
      `INSERT INTO messaging_outbox (id, exchange, routing_key, body, subject, traceparent, tracestate)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        stamped.id,
        definition.producer,
        definition.type,
        serializeEvent(stamped).toString('utf8'),
        stamped.subject,
        stamped.traceparent ?? null,
        stamped.tracestate ?? null,
      ],
    );
    (queryRunner.data as Record<symbol, boolean>)[PENDING] = true;
  }
}

function takePending(queryRunner: QueryRunner): boolean {
  const data = queryRunner.data as Record<symbol, boolean> | undefined;
  if (!data?.[PENDING]) return false;
  delete data[PENDING];
  return true;
}
