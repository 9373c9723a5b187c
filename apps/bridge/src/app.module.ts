import { Module, type DynamicModule } from '@nestjs/common';
import { MessagingModule } from '@shop/messaging';
import { brokerConnection, databaseConnection, databaseModule, PlatformModule } from '@shop/platform';
import { BRIDGE_SETTINGS, type BridgeSettings } from './config/bridge.settings';
import { EventsController } from './events/events.controller';
import { ProducerGuard } from './events/producer.guard';
import { ReceivedEventsService } from './events/received-events.service';
import { Bridge1733100000000 } from './migrations/1733100000000-bridge';
import { SubscriptionMetrics } from './subscriptions/subscription.metrics';
import { SubscriptionsController } from './subscriptions/subscriptions.controller';
import { SubscriptionsService } from './subscriptions/subscriptions.service';

/**
 * The HTTP bridge: HTTP producers publish their events through it (events), and HTTP subscribers
 * get the events they subscribed to pushed to them (subscriptions), on the same messaging library
 * as every app: the outbox and confirms one way, quorum queues, retries and dead letters the other.
 */
@Module({})
export class AppModule {
  static forRoot(settings: BridgeSettings): DynamicModule {
    return {
      module: AppModule,
      imports: [
        databaseModule({ ...databaseConnection(settings), migrations: [Bridge1733100000000] }),
        MessagingModule.forRoot({ app: 'bridge', ...brokerConnection(settings) }),
        PlatformModule,
      ],
      controllers: [EventsController, SubscriptionsController],
      providers: [
        { provide: BRIDGE_SETTINGS, useValue: settings },
        ProducerGuard,
        ReceivedEventsService,
        SubscriptionsService,
        SubscriptionMetrics,
      ],
    };
  }
}
