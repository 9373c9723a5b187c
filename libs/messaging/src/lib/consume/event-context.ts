import type { EntityManager } from 'typeorm';
import type { CloudEvent } from '@shop/contracts';
import type { Outbox } from '../outbox/outbox';
import { DuplicateDeliveryError } from './errors';
import { recordInInbox } from './inbox';

/** What a handler gets beside the event: its transaction (with the inbox) and the outbox. */
export interface EventContext {
  /** Id of the message (the CloudEvent id), the same on every redelivery. */
  readonly messageId: string;
  /** 1 on the first delivery, then 2, 3, ... on retries. */
  readonly attempt: number;
  /** Schema version the producer sent; the event itself is always upcast to the latest. */
  readonly receivedVersion: number;
  readonly queue: string;
  /**
   * Runs `work` in one database transaction together with the inbox row of this message and the
   * events it publishes: all commit, or none. When this consumer already applied the message,
   * `work` does not run and the delivery is acknowledged as a duplicate. Once per delivery.
   */
  transaction<T>(work: (tx: EntityManager) => Promise<T>): Promise<T>;
  /** Adds an event to the outbox of `tx` (caused by, and in the trace of, the event being handled). */
  publish(tx: EntityManager, event: CloudEvent): Promise<void>;
}

export class DeliveryContext implements EventContext {
  private transacted = false;

  constructor(
    readonly messageId: string,
    readonly attempt: number,
    readonly receivedVersion: number,
    readonly queue: string,
    private readonly outbox: Outbox,
  ) {}

  transaction<T>(work: (tx: EntityManager) => Promise<T>): Promise<T> {
    if (this.transacted) throw new Error('EventContext.transaction may run once per delivery');
    this.transacted = true;
    return this.outbox.transaction(async (tx) => {
      if (!(await recordInInbox(tx, this.queue, this.messageId))) {
        throw new DuplicateDeliveryError(this.messageId, this.queue);
      }
      return work(tx);
    });
  }

  publish(tx: EntityManager, event: CloudEvent): Promise<void> {
    return this.outbox.publish(tx, event);
  }
}
