import { BaseRpcContext } from '@nestjs/microservices';
import type { ConsumeMessage } from 'amqplib';
import type { EntityManager } from 'typeorm';
import type { Outbox } from '../outbox/outbox';
import { DuplicateDeliveryError } from './errors';
import { recordInInbox } from './inbox';

/**
 * What a handler gets beside the event (`@Ctx()`): the delivery's identity and its transaction with
 * the inbox. Events it causes are published with `Outbox.publish(tx, event)` inside that transaction,
 * like any other command's: they are stamped as caused by, and in the trace of, the event handled.
 */
export class EventContext extends BaseRpcContext<[ConsumeMessage]> {
  private transacted = false;

  constructor(
    message: ConsumeMessage,
    /** Id of the message (the CloudEvent id), the same on every redelivery. */
    readonly messageId: string,
    /** 1 on the first delivery, then 2, 3, ... on retries. */
    readonly attempt: number,
    /** Schema version the producer sent; the event itself is always upcast to the latest. */
    readonly receivedVersion: number,
    readonly queue: string,
    private readonly outbox: Pick<Outbox, 'transaction'>,
    /**
     * `@ConsumeEvent({ groupCommit: true })`: the transaction may be shared (GroupCommit), its members
     * ordered by `key`, the event's subject.
     */
    private readonly grouped?: { key: string },
  ) {
    super([message]);
  }

  /** The AMQP delivery as it arrived (headers, redelivered flag, ...). */
  getMessage(): ConsumeMessage {
    return this.args[0];
  }

  /**
   * Whether this consumer applied this message before (its inbox row exists): for a handler whose
   * effect is outside the database (an HTTP call), asked before the effect, which `transaction`
   * records after it. A crash between the two repeats the effect once: at least once, not twice in
   * the ordinary course (a redelivery, a producer's duplicate).
   */
  async handledBefore(): Promise<boolean> {
    const rows = await this.outbox.transaction(
      (tx) =>
        tx.query(`SELECT 1 FROM messaging_inbox WHERE consumer = $1 AND message_id = $2`, [
          this.queue,
          this.messageId,
        ]) as Promise<unknown[]>,
    );
    return rows.length > 0;
  }

  /**
   * Runs `work` in one database transaction together with the inbox row of this message and the
   * events it publishes: all commit, or none. When this consumer already applied the message,
   * `work` does not run and the delivery is acknowledged as a duplicate. Once per delivery.
   *
   * A handler declared with `groupCommit`: when the database is busy the transaction may be shared
   * with other handlers' (one commit for all), and when one of them fails, rolled back and `work` run
   * again in a transaction of its own.
   */
  transaction<T>(work: (tx: EntityManager) => Promise<T>): Promise<T> {
    if (this.transacted) throw new Error('EventContext.transaction may run once per delivery');
    this.transacted = true;
    // Grouped, when the database is busy one commit serves several handlers (GroupCommit).
    return this.outbox.transaction(
      async (tx) => {
        if (!(await recordInInbox(tx, this.queue, this.messageId))) {
          throw new DuplicateDeliveryError(this.messageId, this.queue);
        }
        return work(tx);
      },
      { grouped: this.grouped },
    );
  }
}
