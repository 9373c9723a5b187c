import { DynamicModule, Module, type ModuleMetadata, type Provider } from '@nestjs/common';
import { MESSAGING_OPTIONS } from './messaging.constants';
import type { MessagingOptions } from './messaging.options';
import { MessagingService } from './messaging.service';
import { MessagingMetrics } from './metrics/messaging-metrics';
import { Outbox } from './outbox/outbox';
import { EventsClient } from './transport/events-client';
import { EventTransport } from './transport/event-transport';

export interface MessagingModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  inject?: unknown[];
  useFactory: (...args: never[]) => MessagingOptions | Promise<MessagingOptions>;
}

/**
 * RabbitMQ messaging for a Nest app: `MessagingModule.forRoot({ app: 'inventory', url })` next to
 * TypeOrmModule. Handlers are `@ConsumeEvent` methods of controllers, served by the `EventTransport`
 * microservice (`app.connectMicroservice({ strategy: app.get(EventTransport) })`); events are
 * published with `Outbox.publish(tx, event)` in the transaction of the change that causes them, or
 * with `EventsClient.emit` where there is no such transaction.
 */
@Module({})
export class MessagingModule {
  static forRoot(options: MessagingOptions): DynamicModule {
    return MessagingModule.build([{ provide: MESSAGING_OPTIONS, useValue: options }], []);
  }

  static forRootAsync(options: MessagingModuleAsyncOptions): DynamicModule {
    return MessagingModule.build(
      [{ provide: MESSAGING_OPTIONS, useFactory: options.useFactory, inject: (options.inject ?? []) as never[] }],
      options.imports ?? [],
    );
  }

  private static build(optionsProviders: Provider[], imports: ModuleMetadata['imports']): DynamicModule {
    return {
      module: MessagingModule,
      global: true,
      imports: imports ?? [],
      providers: [
        ...optionsProviders,
        MessagingService,
        EventTransport,
        {
          provide: EventsClient,
          useFactory: (messaging: MessagingService) => new EventsClient(messaging.outbox, messaging.registry),
          inject: [MessagingService],
        },
        { provide: Outbox, useFactory: (messaging: MessagingService) => messaging.outbox, inject: [MessagingService] },
        {
          provide: MessagingMetrics,
          useFactory: (messaging: MessagingService) => messaging.metrics,
          inject: [MessagingService],
        },
      ],
      exports: [MessagingService, EventTransport, EventsClient, Outbox, MessagingMetrics],
    };
  }
}
