import { Injectable, Logger, type INestApplication } from '@nestjs/common';
import { Server, type CustomTransportStrategy, type MessageHandler } from '@nestjs/microservices';
import type { ConsumerHandler } from '../messaging.service';
import { MessagingService } from '../messaging.service';
import { CONSUMER_DECLARATION, EVENT_TRANSPORT, type ConsumerDeclaration } from './consume-event.decorator';

/**
 * The consuming side of the library as a Nest transport: Nest finds the `@ConsumeEvent` handlers
 * (`@EventPattern`s of this transport), wraps each in its pipeline (guards, interceptors, pipes,
 * exception filters), and hands them to this server, which gives each its queue on RabbitMQ:
 *
 *   app.connectMicroservice({ strategy: app.get(EventTransport) });
 *   await app.startAllMicroservices();
 *
 * The connection, the publisher, the outbox relay and the consumers live in MessagingService, which
 * drains them on shutdown; this class is the adapter between Nest's handlers and those consumers.
 */
@Injectable()
export class EventTransport extends Server implements CustomTransportStrategy {
  override readonly transportId = EVENT_TRANSPORT;
  protected override readonly logger = new Logger('EventTransport');

  constructor(private readonly messaging: MessagingService) {
    super();
  }

  /** Starts a consumer per handler: refuses (the app does not start) when two handlers claim a queue. */
  listen(callback: (error?: unknown) => void): void {
    let handlers: ConsumerHandler[];
    try {
      handlers = this.consumerHandlers();
    } catch (error) {
      callback(error);
      return;
    }
    this.messaging.consume(handlers).then(() => callback(), callback);
  }

  /** Nothing of its own to close: MessagingService drains the consumers before the app shuts down. */
  close(): void {
    return;
  }

  on(): void {
    throw new Error('EventTransport has no events to listen to: see MessagingService.status()');
  }

  unwrap<T>(): T {
    return this.messaging as T;
  }

  private consumerHandlers(): ConsumerHandler[] {
    const handlers: ConsumerHandler[] = [];
    for (const [queue, handler] of this.getHandlers()) {
      const declaration = declarationOf(handler);
      if (!declaration) {
        this.logger.warn(`@EventPattern("${queue}") has no @ConsumeEvent declaration: not consumed`);
        continue;
      }
      if (handler.next) {
        const claimants = [declaration.handlerName];
        for (let next = handler.next as MessageHandler | undefined; next; next = next.next as MessageHandler) {
          claimants.push(declarationOf(next)?.handlerName ?? '(an @EventPattern)');
        }
        throw new Error(`the queue "${queue}" is claimed by ${claimants.join(' and ')}: one handler per queue`);
      }
      handlers.push({ declaration, handle: (event, ctx) => handler(event, ctx) });
    }
    return handlers;
  }
}

function declarationOf(handler: MessageHandler): ConsumerDeclaration | undefined {
  return (handler.extras as Record<string, ConsumerDeclaration | undefined> | undefined)?.[CONSUMER_DECLARATION];
}

/**
 * Serves the app's `@ConsumeEvent` handlers beside whatever else it serves: connects EventTransport
 * as a microservice of the app and starts it (the consumers start as soon as the broker answers).
 * Rejects, naming the handler, when a declaration is refused (a queue claimed twice, say).
 */
export async function startEventTransport(app: INestApplication): Promise<void> {
  app.connectMicroservice({ strategy: app.get(EventTransport) });
  await app.startAllMicroservices();
}
