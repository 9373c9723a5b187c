import { Injectable } from '@nestjs/common';
import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { decodeEvent, type CloudEvent, type EventRegistry } from '@shop/contracts';
import { Outbox } from '../outbox/outbox';

/**
 * The publishing side as a Nest `ClientProxy`, for a caller with no transaction of its own:
 *
 *   await lastValueFrom(client.emit(StockCounted.type, StockCounted.create({ ... })));
 *
 * `emit` goes through the outbox all the same (a transaction of one row), so the event has the same
 * guarantees as any other: it completes once the row is committed, and the relay publishes it with
 * confirms, retrying until the broker has it. A caller that changes its own tables publishes with
 * `Outbox.publish(tx, event)` inside that transaction instead, so the change and the event commit
 * together. Events only: `send` (request-reply over the broker) answers with an error.
 */
@Injectable()
export class EventsClient extends ClientProxy {
  constructor(
    private readonly outbox: Outbox,
    private readonly registry: EventRegistry,
  ) {
    super();
  }

  /** The connection is MessagingService's, opened with the app. */
  connect(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {
    return;
  }

  unwrap<T>(): T {
    return this.outbox as T;
  }

  protected publish(packet: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    callback({
      err: new Error(`send("${String(packet.pattern)}"): this transport carries events only; use emit`),
      isDisposed: true,
    });
    return () => undefined;
  }

  /** Validates the event against its contract, then commits it to the outbox. */
  protected async dispatchEvent<T = void>(packet: ReadPacket<CloudEvent>): Promise<T> {
    const event = packet.data;
    if (typeof event !== 'object' || event === null || event.type !== packet.pattern) {
      throw new Error(`emit(pattern, event): the pattern must be the event's type (got "${String(packet.pattern)}")`);
    }
    decodeEvent(event, this.registry);
    await this.outbox.transaction((tx) => this.outbox.publish(tx, event));
    return undefined as T;
  }
}
