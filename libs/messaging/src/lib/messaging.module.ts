import { DynamicModule, Module, type ModuleMetadata, type Provider } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { MESSAGING_OPTIONS } from './messaging.constants';
import type { MessagingOptions } from './messaging.options';
import { MessagingService } from './messaging.service';
import { MessagingMetrics } from './metrics/messaging-metrics';
import { Outbox } from './outbox/outbox';

export interface MessagingModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  inject?: unknown[];
  useFactory: (...args: never[]) => MessagingOptions | Promise<MessagingOptions>;
}

/**
 * RabbitMQ messaging for a Nest app: `MessagingModule.forRoot({ app: 'inventory', url })` next to
 * TypeOrmModule. Handlers are `@OnEvent` methods; commands publish with `Outbox.publish(tx, event)`.
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
      imports: [DiscoveryModule, ...(imports ?? [])],
      providers: [
        ...optionsProviders,
        MessagingService,
        { provide: Outbox, useFactory: (messaging: MessagingService) => messaging.outbox, inject: [MessagingService] },
        {
          provide: MessagingMetrics,
          useFactory: (messaging: MessagingService) => messaging.metrics,
          inject: [MessagingService],
        },
      ],
      exports: [MessagingService, Outbox, MessagingMetrics],
    };
  }
}
